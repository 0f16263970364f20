"""Login, own account, administrators' people pages, and the unit picker's fragments."""

from django.urls import path

from tiendon.units import views, views_picker

urlpatterns = [
    path("login/", views.login_view, name="login"),
    path("login/verify/", views.login_verify, name="login_verify"),
    path("logout/", views.logout_view, name="logout"),
    path("account/totp/", views.totp_enrol, name="totp_enrol"),
    path("account/password/", views.password_change, name="password_change"),
    path("people/", views.people_home, name="people"),
    path("people/import/", views.people_import, name="people_import"),
    path("units/<str:code>/people/", views.unit_people, name="unit_people"),
    path("person/<str:username>/", views.person_detail, name="person_detail"),
    path(
        "person/<str:username>/password/",
        views.person_password_reset,
        name="person_password_reset",
    ),
    path("person/<str:username>/totp-reset/", views.person_totp_reset, name="person_totp_reset"),
    path("person/<str:username>/unlock/", views.person_unlock, name="person_unlock"),
    path("person/<str:username>/move/", views.person_move, name="person_move"),
    path(
        "person/<str:username>/acting-position/",
        views.person_acting_position,
        name="person_acting_position",
    ),
    # Outside units/<code>/: a unit's code could be "pick".
    path("pick/units/", views_picker.unit_pick, name="unit_pick"),
    path("pick/units/tree/", views_picker.unit_pick_tree, name="unit_pick_tree"),
    path("pick/units/chips/", views_picker.unit_pick_chips, name="unit_pick_chips"),
]
