from django.urls import path

from tiendon.web import views

urlpatterns = [
    path("", views.home, name="home"),
    path("units/<str:code>/", views.unit_detail, name="unit_detail"),
]
