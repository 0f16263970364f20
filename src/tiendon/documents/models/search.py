"""The search entries of documents sent and received, and the queue of the Tantivy indexer."""

from __future__ import annotations

from django.db import models


class SearchEntry(models.Model):
    """The searchable text of one document: an outgoing `Document` (kept in step with it by
    `search.index_document`) or a received `IncomingDocument` (`search.index_incoming`),
    exactly one of the two (docs/adr/0012-received-documents-in-the-search-entries.md).

    `exact` is the text in NFC, lower case, diacritics kept; `folded` is the same text with
    every diacritic removed and đ folded to d. SQLite indexes both in an FTS5 table kept in
    sync by triggers; PostgreSQL indexes `tiendon_fold(exact)` with a GIN index that carries
    the issuing unit too (btree_gin), and both vectors with RUM indexes where the extension
    is installed (migration 0007, ADR 0009). A secret document's entry holds its number and symbol
    only (and a received one's issuer and số đến; DESIGN.md: secret documents are indexed by
    number, issuer and date), never its subject or content.
    """

    document = models.OneToOneField(
        "documents.Document",
        on_delete=models.CASCADE,
        related_name="search_entry",
        null=True,
        blank=True,
    )
    incoming = models.OneToOneField(
        "documents.IncomingDocument",
        on_delete=models.CASCADE,
        related_name="search_entry",
        null=True,
        blank=True,
    )
    exact = models.TextField(blank=True)
    folded = models.TextField(blank=True)
    # Text of the uploaded PDF (pdftotext), kept so a re-index does not extract again.
    pdf_text = models.TextField(blank=True)
    pdf_sha256 = models.CharField(max_length=64, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Copied from the document (by `index_document`, and by a database trigger whenever a
    # document's unit, secrecy or date changes) so that a search ranks inside this table
    # alone: the scope and clearance of `queries.search_entries_visible_to` and the
    # newest-first tie-break. docs/adr/0008-search-scope-in-the-index.md says why. For a
    # received document: the receiving unit, its secrecy and its arrival time.
    issuing_unit = models.ForeignKey(
        "units.Unit", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    secrecy = models.PositiveSmallIntegerField(default=0)
    document_created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(document__isnull=False, incoming__isnull=True)
                | models.Q(document__isnull=True, incoming__isnull=False),
                name="searchentry_document_or_incoming",
            )
        ]

    def __str__(self) -> str:
        return f"search entry of {self.document_id or f'incoming {self.incoming_id}'}"


class SearchQueueItem(models.Model):
    """A document (sent or received) whose change has not reached the node's Tantivy index
    yet (written in the transaction of the change; the indexer deletes it once the index
    holds the change). Only written when the node has the index (`search_index`, ADR 0011)."""

    # Not foreign keys: a removed document is queued too. One of the two is set.
    document_id = models.UUIDField(null=True)
    incoming_id = models.PositiveBigIntegerField(null=True)
    queued_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"search queue {self.pk}: {self.document_id or self.incoming_id}"
