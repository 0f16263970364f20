from django.urls import path

from tiendon.exchange import views

urlpatterns = [
    path("exchange/push", views.push, name="exchange_push"),
]
