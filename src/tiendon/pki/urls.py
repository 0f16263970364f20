from django.urls import path

from tiendon.pki import views

urlpatterns = [
    path("pki/crl/<str:key_identifier>.crl", views.crl, name="pki_crl"),
    path("pki/directory/<str:code>/", views.directory, name="pki_directory"),
]
