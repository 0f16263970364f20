from django.urls import path

from tiendon.units import views

urlpatterns = [
    path("login/", views.login_view, name="login"),
]
