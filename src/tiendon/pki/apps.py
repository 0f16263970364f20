from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PkiConfig(AppConfig):
    name = "tiendon.pki"
    label = "pki"
    verbose_name = _("Certificates and keys")

    def ready(self) -> None:
        from tiendon import shell

        shell.add_entry(
            shell.Entry(
                "certificates",
                _("Certificates"),
                "unit_certificates",
                order=92,
                roles=frozenset({"admin"}),
                url_args=lambda p: [p.unit.code],
            )
        )
