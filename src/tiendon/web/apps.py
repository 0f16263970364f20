from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WebConfig(AppConfig):
    name = "tiendon.web"
    label = "web"
    verbose_name = _("Web shell")

    def ready(self) -> None:
        from tiendon import shell

        shell.add_entry(shell.Entry("work", _("To do"), "home", order=10, counts_queue=True))
        shell.add_entry(
            shell.Entry(
                "unit", _("Units"), "unit_detail", order=80, url_args=lambda p: [p.unit.code]
            )
        )
        shell.add_entry(
            shell.Entry(
                "admin", _("Administration"), "admin:index", order=90, roles=frozenset({"admin"})
            )
        )
