from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DocumentsConfig(AppConfig):
    name = "tiendon.documents"
    label = "documents"
    verbose_name = _("Official documents")

    def ready(self) -> None:
        """Declare to the exchange the payload kinds documents owns, with their handlers,
        and the statuses recipients report on them (docs/architecture.md, "Adding an app")."""
        from tiendon.documents import statuses
        from tiendon.documents.delivery import history
        from tiendon.documents.incoming import receiving
        from tiendon.documents.pdf import container
        from tiendon.exchange import registry

        registry.register_kind(
            container.DOCUMENT_KIND,
            receiving.take_in_documents,
            app=self.label,
            label=_("Documents"),
        )
        registry.register_kind(
            container.RECALL_KIND, receiving.take_in_recall, app=self.label, label=_("Recalls")
        )
        registry.register_statuses(
            registry.Vocabulary(
                app=self.label,
                kinds=frozenset({container.DOCUMENT_KIND}),
                labels=statuses.LABELS,
                after=statuses.AFTER,
                rank=statuses.RANK,
                final=statuses.FINAL,
                record=history.record_reported,
            )
        )
