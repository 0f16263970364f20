from django.urls import path

from tiendon.exchange import pages, views

urlpatterns = [
    path("exchange/node/", pages.node_status, name="node_status"),
    path("exchange/push", views.push, name="exchange_push"),
    path("exchange/pull", views.pull, name="exchange_pull"),
    path("exchange/ack", views.ack, name="exchange_ack"),
    path("exchange/announce", views.announce, name="exchange_announce"),
    path("exchange/resend", views.resend, name="exchange_resend"),
]
