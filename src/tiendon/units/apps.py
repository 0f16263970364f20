from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class UnitsConfig(AppConfig):
    name = "tiendon.units"
    label = "units"
    verbose_name = _("Units and people")

    def ready(self) -> None:
        from tiendon.units import collation  # noqa: F401  (registers the SQLite collation)
