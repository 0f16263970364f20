from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DocumentsConfig(AppConfig):
    name = "tiendon.documents"
    label = "documents"
    verbose_name = _("Official documents")

    def ready(self) -> None:
        """Declare to the exchange the payload kinds documents owns, with their handlers,
        and the statuses recipients report on them (docs/architecture.md, "Adding an app")."""
        from tiendon import shell
        from tiendon.documents import statuses, worklist
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
                record=receiving.record_statuses,
            )
        )
        shell.add_queue(self.label, worklist.work_of, worklist.work_counts)
        for entry in (
            shell.Entry(
                "incoming",
                _("Incoming documents"),
                "incoming_list",
                order=20,
                queue_steps=frozenset({"register", "assign", "recall", "process"}),
            ),
            shell.Entry(
                "outgoing",
                _("Outgoing documents"),
                "document_list",
                order=30,
                queue_steps=frozenset({"review", "sign", "issue"}),
            ),
            shell.Entry("registers", _("Registers"), "outgoing_register", order=40),
            shell.Entry("case_files", _("Case files"), "case_file_list", order=45),
            shell.Entry("copies", _("Certified copies"), "copy_list", order=48),
            shell.Entry("search", _("Search"), "document_search", order=50),
            shell.Entry(
                "reminders",
                _("Reminders"),
                "deadlines_dashboard",
                order=60,
                count=worklist.unread_count,
            ),
        ):
            shell.add_entry(entry)
