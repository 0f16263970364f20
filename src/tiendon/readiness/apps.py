from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReadinessConfig(AppConfig):
    name = "tiendon.readiness"
    label = "readiness"
    verbose_name = _("Readiness")

    def ready(self) -> None:
        from tiendon import shell

        shell.add_entry(shell.Entry("readiness", _("Readiness"), "readiness", order=70))
