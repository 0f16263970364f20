"""Case files (hồ sơ công việc) of a unit and the documents in them."""

from __future__ import annotations

from django.db import models


class CaseFile(models.Model):
    """A case file (hồ sơ công việc) of a unit: documents of one matter, under a file code."""

    unit = models.ForeignKey("units.Unit", on_delete=models.PROTECT, related_name="+")
    code = models.CharField(max_length=64)  # mã hồ sơ, the file code of the metadata
    title = models.CharField(max_length=500)
    year = models.PositiveSmallIntegerField()
    keeper = models.ForeignKey("units.Person", on_delete=models.PROTECT, related_name="+")
    created_by = models.ForeignKey("units.Person", on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["unit", "year", "code"], name="case_file_code_unique")
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.title}"


class CaseFileEntry(models.Model):
    """A document in a case file, with its ordinal (số thứ tự) inside the file."""

    case_file = models.ForeignKey(CaseFile, on_delete=models.CASCADE, related_name="entries")
    document = models.ForeignKey("documents.Document", on_delete=models.PROTECT, related_name="+")
    ordinal = models.PositiveIntegerField()
    added_by = models.ForeignKey("units.Person", on_delete=models.PROTECT, related_name="+")
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["case_file", "ordinal"]
        constraints = [
            models.UniqueConstraint(
                fields=["case_file", "document"], name="case_file_document_unique"
            ),
            models.UniqueConstraint(
                fields=["case_file", "ordinal"], name="case_file_ordinal_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.case_file_id} #{self.ordinal}"
