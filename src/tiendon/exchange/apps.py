from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ExchangeConfig(AppConfig):
    name = "tiendon.exchange"
    label = "exchange"
    verbose_name = _("Secure exchange")

    def ready(self) -> None:
        from tiendon import shell

        shell.add_entry(
            shell.Entry(
                "node", _("Node status"), "node_status", order=94, roles=frozenset({"admin"})
            )
        )
        from tiendon.exchange import registry

        # `tiendon exchange send`'s message: it travels, arrives, and asks nothing more.
        registry.register_kind(registry.PING_KIND, None, app=self.label, label=_("Test messages"))
