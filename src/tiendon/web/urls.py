from django.urls import path

from tiendon.web import views

urlpatterns = [
    path("", views.home, name="home"),
]
