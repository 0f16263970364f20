from django.urls import path

from tiendon.pki import views, views_admin

urlpatterns = [
    path("pki/crl/<str:key_identifier>.crl", views.crl, name="pki_crl"),
    path("pki/directory/<str:code>/", views.directory, name="pki_directory"),
    path("pki/authorities", views.authorities, name="pki_authorities"),
    path("pki/directory", views.directory_all, name="pki_directory_all"),
    path("pki/crl.pem", views_admin.current_crl_pem, name="pki_crl_pem"),
    path(
        "units/<str:code>/certificates/",
        views_admin.unit_certificates,
        name="unit_certificates",
    ),
    path(
        "units/<str:code>/certificates/issue/",
        views_admin.unit_certificates_issue,
        name="unit_certificates_issue",
    ),
    path(
        "person/<str:username>/certificate/issue/",
        views_admin.person_certificate_issue,
        name="person_certificate_issue",
    ),
    path(
        "certificates/<str:serial>/revoke/",
        views_admin.certificate_revoke,
        name="certificate_revoke",
    ),
    path(
        "certificates/<str:serial>/chain.pem",
        views_admin.certificate_chain_pem,
        name="certificate_chain_pem",
    ),
    path("certificates/<str:serial>.pem", views_admin.certificate_pem, name="certificate_pem"),
]
