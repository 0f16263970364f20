"""URLs of the registers (before the documents' own `documents/<id>/`)."""

from django.urls import path

from tiendon.documents.registers import views

urlpatterns = [
    path("documents/registers/outgoing/", views.outgoing_register, name="outgoing_register"),
]
