"""Outgoing official documents (văn bản đi): drafts with their versions, the signing and
issuing states, and the per-issuer number counters of Decree 30/2020/NĐ-CP."""

from __future__ import annotations

import uuid

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from tiendon.documents.models.casefiles import CaseFileEntry

SUBJECT_MAX_LENGTH = 500


class DocumentType(models.TextChoices):
    """Appendix III of Decree 30 (tên loại văn bản), plus công văn, which has no abbreviation."""

    CONG_VAN = "cong_van", "Công văn"
    NGHI_QUYET = "nghi_quyet", "Nghị quyết"
    QUYET_DINH = "quyet_dinh", "Quyết định"
    CHI_THI = "chi_thi", "Chỉ thị"
    QUY_CHE = "quy_che", "Quy chế"
    QUY_DINH = "quy_dinh", "Quy định"
    THONG_CAO = "thong_cao", "Thông cáo"
    THONG_BAO = "thong_bao", "Thông báo"
    HUONG_DAN = "huong_dan", "Hướng dẫn"
    CHUONG_TRINH = "chuong_trinh", "Chương trình"
    KE_HOACH = "ke_hoach", "Kế hoạch"
    PHUONG_AN = "phuong_an", "Phương án"
    DE_AN = "de_an", "Đề án"
    DU_AN = "du_an", "Dự án"
    BAO_CAO = "bao_cao", "Báo cáo"
    BIEN_BAN = "bien_ban", "Biên bản"
    TO_TRINH = "to_trinh", "Tờ trình"
    HOP_DONG = "hop_dong", "Hợp đồng"
    CONG_DIEN = "cong_dien", "Công điện"
    BAN_GHI_NHO = "ban_ghi_nho", "Bản ghi nhớ"
    BAN_THOA_THUAN = "ban_thoa_thuan", "Bản thỏa thuận"
    GIAY_UY_QUYEN = "giay_uy_quyen", "Giấy ủy quyền"
    GIAY_MOI = "giay_moi", "Giấy mời"
    GIAY_GIOI_THIEU = "giay_gioi_thieu", "Giấy giới thiệu"
    GIAY_NGHI_PHEP = "giay_nghi_phep", "Giấy nghỉ phép"
    PHIEU_GUI = "phieu_gui", "Phiếu gửi"
    PHIEU_CHUYEN = "phieu_chuyen", "Phiếu chuyển"
    PHIEU_BAO = "phieu_bao", "Phiếu báo"


# The abbreviation in the symbol (ký hiệu), Appendix III; công văn has none.
TYPE_ABBREVIATIONS: dict[str, str] = {
    DocumentType.CONG_VAN: "",
    DocumentType.NGHI_QUYET: "NQ",
    DocumentType.QUYET_DINH: "QĐ",
    DocumentType.CHI_THI: "CT",
    DocumentType.QUY_CHE: "QC",
    DocumentType.QUY_DINH: "QyĐ",
    DocumentType.THONG_CAO: "TC",
    DocumentType.THONG_BAO: "TB",
    DocumentType.HUONG_DAN: "HD",
    DocumentType.CHUONG_TRINH: "CTr",
    DocumentType.KE_HOACH: "KH",
    DocumentType.PHUONG_AN: "PA",
    DocumentType.DE_AN: "ĐA",
    DocumentType.DU_AN: "DA",
    DocumentType.BAO_CAO: "BC",
    DocumentType.BIEN_BAN: "BB",
    DocumentType.TO_TRINH: "TTr",
    DocumentType.HOP_DONG: "HĐ",
    DocumentType.CONG_DIEN: "CĐ",
    DocumentType.BAN_GHI_NHO: "BGN",
    DocumentType.BAN_THOA_THUAN: "BTT",
    DocumentType.GIAY_UY_QUYEN: "GUQ",
    DocumentType.GIAY_MOI: "GM",
    DocumentType.GIAY_GIOI_THIEU: "GGT",
    DocumentType.GIAY_NGHI_PHEP: "GNP",
    DocumentType.PHIEU_GUI: "PG",
    DocumentType.PHIEU_CHUYEN: "PC",
    DocumentType.PHIEU_BAO: "PB",
}


class Urgency(models.TextChoices):
    """Độ khẩn; ordered so that a higher rank is handled first."""

    NORMAL = "normal", _("Normal")
    KHAN = "khan", "Khẩn"
    THUONG_KHAN = "thuong_khan", "Thượng khẩn"
    HOA_TOC = "hoa_toc", "Hỏa tốc"


class Secrecy(models.IntegerChoices):
    """Độ mật; the levels match `units.Clearance`, so clearance >= secrecy opens a document."""

    NONE = 0, _("Not secret")
    MAT = 1, "Mật"
    TOI_MAT = 2, "Tối mật"
    TUYET_MAT = 3, "Tuyệt mật"


class SigningMode(models.TextChoices):
    """Thẩm quyền ký: directly, or on behalf (Decree 30, Appendix I, section II)."""

    DIRECT = "direct", _("Signs directly")
    KT = "KT.", _("KT. (signs for the head, as deputy)")
    TL = "TL.", _("TL. (signs by order of the head)")
    TUQ = "TUQ.", _("TUQ. (signs by authorisation)")
    Q = "Q.", _("Q. (acting head)")


class Series(models.TextChoices):
    """Number series of an issuer: secret documents are numbered apart."""

    ORDINARY = "ordinary", _("Ordinary")
    SECRET = "secret", _("Secret")
    # Số đến: the incoming numbers of a receiving unit, through the year (incoming.py).
    INCOMING = "incoming", _("Incoming")


class Document(models.Model):
    """An outgoing document of one issuing unit, from first draft to issued.

    `id` is the document's unique identifier across nodes; `pdf` holds the newest PDF
    (signed by the signer, then issued with the organisation's signature), so a document
    can later travel as its bytes plus `metadata()`.
    """

    class State(models.TextChoices):
        DRAFT = "draft", _("Draft")
        IN_REVIEW = "in_review", _("In review")
        SIGNED = "signed", _("Signed")
        # "Issued" alone is a certificate's state in the main catalogue (cấp phát).
        ISSUED = "issued", pgettext_lazy("document state", "Issued")
        # The sender asked its recipients to give the document back: its copy is frozen.
        RECALLED = "recalled", _("Recalled")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    issuing_unit = models.ForeignKey(
        "units.Unit", on_delete=models.PROTECT, related_name="issued_documents"
    )
    doc_type = models.CharField(max_length=24, choices=DocumentType.choices)
    # Abbreviation of the drafting office (e.g. "TM", tham mưu): a công văn's symbol ends with it.
    drafting_office = models.CharField(max_length=16, blank=True)
    subject = models.CharField(max_length=SUBJECT_MAX_LENGTH)  # trích yếu
    body = models.TextField(blank=True)
    uploaded_pdf = models.BinaryField(null=True, blank=True)
    urgency = models.CharField(max_length=16, choices=Urgency.choices, default=Urgency.NORMAL)
    secrecy = models.PositiveSmallIntegerField(choices=Secrecy.choices, default=Secrecy.NONE)
    place = models.CharField(max_length=100)  # địa danh in "Thanh Hóa, ngày … tháng … năm …"
    recipients_text = models.TextField(blank=True)  # "Nơi nhận", one per line
    # Who receives it through the exchange (recipients.py): [{"unit": "15853"},
    # {"group": 4}, {"set": "communes_of", "province": "38"}, {"set": "all_communes"},
    # {"set": "children"}]; resolved to units at issuing.
    recipient_spec = models.JSONField(default=list, blank=True)
    # The envelope that carried the issued document (exchange.Envelope id).
    envelope_id = models.UUIDField(null=True, blank=True, unique=True)
    recall_envelope_id = models.UUIDField(null=True, blank=True)
    recall_reason = models.TextField(blank=True)
    recalled_at = models.DateTimeField(null=True, blank=True)
    drafter = models.ForeignKey("units.Person", on_delete=models.PROTECT, related_name="+")
    signer = models.ForeignKey("units.Person", on_delete=models.PROTECT, related_name="+")
    signing_mode = models.CharField(
        max_length=8, choices=SigningMode.choices, default=SigningMode.DIRECT
    )
    # The head's title for KT./TL./TUQ. ("CHỈ HUY TRƯỞNG"), and the signer's own title.
    head_title = models.CharField(max_length=200, blank=True)
    signer_title = models.CharField(max_length=200)
    signer_rank = models.CharField(max_length=64, blank=True)
    state = models.CharField(max_length=16, choices=State.choices, default=State.DRAFT)
    version = models.PositiveIntegerField(default=1)
    series = models.CharField(max_length=16, choices=Series.choices, default=Series.ORDINARY)
    year = models.PositiveSmallIntegerField(null=True, blank=True)
    number = models.PositiveIntegerField(null=True, blank=True)
    symbol = models.CharField(max_length=64, blank=True)  # "QĐ-BCHQS", "BCHQS-TM"
    pdf = models.BinaryField(null=True, blank=True)
    signed_at = models.DateTimeField(null=True, blank=True)
    issued_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("document")
        verbose_name_plural = _("documents")
        constraints = [
            models.UniqueConstraint(
                fields=["issuing_unit", "year", "series", "number"],
                condition=models.Q(number__isnull=False),
                name="document_number_unique_per_issuer_year_series",
            ),
            models.CheckConstraint(
                condition=~models.Q(state="issued") | models.Q(number__isnull=False),
                name="document_issued_has_number",
            ),
        ]
        indexes = [models.Index(fields=["issuing_unit", "state"])]

    def __str__(self) -> str:
        return self.number_and_symbol or f"{self.get_doc_type_display()} (draft {self.pk})"

    @property
    def number_and_symbol(self) -> str:
        """ "05/QĐ-BCHQS": the number, with a leading zero below 10, then the symbol."""
        if self.number is None:
            return ""
        return f"{self.number:02d}/{self.symbol}"

    def case_file_entry(self) -> CaseFileEntry | None:
        """The issuing unit's case file entry holding this document (the oldest, if it was
        filed twice): its code is the file code (mã hồ sơ) of the metadata."""
        return (
            CaseFileEntry.objects.filter(document=self, case_file__unit=self.issuing_unit_id)
            .select_related("case_file")
            .order_by("added_at", "pk")
            .first()
        )

    def metadata(self) -> dict[str, object]:
        """Plain-JSON metadata (Appendix VI names where they exist), for export and sending."""
        entry = self.case_file_entry()
        return {
            "identifier": str(self.id),
            "file_code": entry.case_file.code if entry else "",
            "ordinal": entry.ordinal if entry else None,
            "type": self.doc_type,
            "type_name": self.get_doc_type_display(),
            "number": self.number,
            "notation": self.symbol,
            # The day in Vietnam, as printed on the PDF (not the UTC day of `issued_at`).
            "issue_date": (
                timezone.localtime(self.issued_at).date().isoformat() if self.issued_at else None
            ),
            "issuer": self.issuing_unit.code,
            "issuer_name": self.issuing_unit.name,
            "subject": self.subject,
            "language": "vi",
            "signer": {
                "full_name": self.signer.full_name,
                "position": self.signer_title,
                "rank": self.signer_rank,
                "mode": self.signing_mode,
            },
            "urgency": self.urgency,
            "secrecy": self.secrecy,
            "series": self.series,
            "state": self.state,
            "version": self.version,
            "recipients": self.recipients_text.splitlines(),
        }


class DocumentVersion(models.Model):
    """One saved state of a draft: every edit adds a row, none is changed afterwards."""

    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    subject = models.CharField(max_length=SUBJECT_MAX_LENGTH)
    body = models.TextField(blank=True)
    uploaded_pdf = models.BinaryField(null=True, blank=True)
    fields = models.JSONField(default=dict)  # the other drafting fields at that moment
    edited_by = models.ForeignKey("units.Person", on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["document", "number"]
        constraints = [
            models.UniqueConstraint(fields=["document", "number"], name="document_version_unique")
        ]

    def __str__(self) -> str:
        return f"{self.document_id} v{self.number}"


class NumberCounter(models.Model):
    """The last number given by an issuer in a year and series; locked while issuing, so
    numbers are gapless and unique (a failed issuing rolls the increment back)."""

    issuing_unit = models.ForeignKey("units.Unit", on_delete=models.PROTECT, related_name="+")
    year = models.PositiveSmallIntegerField()
    series = models.CharField(max_length=16, choices=Series.choices)
    last_number = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["issuing_unit", "year", "series"], name="number_counter_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.issuing_unit_id} {self.year} {self.series}: {self.last_number}"


class RecipientGroup(models.Model):
    """A saved list of recipient units of one unit ("các xã phía Tây"), chosen on drafts."""

    owner = models.ForeignKey("units.Unit", on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=200)
    members = models.ManyToManyField("units.Unit", related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["owner", "name"], name="recipient_group_unique_name")
        ]

    def __str__(self) -> str:
        return self.name


class IncomingDocument(models.Model):
    """A document received by one unit (văn bản đến): from an exchange envelope, or from a
    paper scan. Metadata is kept in the clear (as for search); the PDF of an exchanged
    document stays inside its encrypted envelope and is decrypted at each opening."""

    class Source(models.TextChoices):
        EXCHANGE = "exchange", _("Electronic (exchange)")
        PAPER = "paper", _("Paper (scanned)")

    class State(models.TextChoices):
        ARRIVED = "arrived", _("Arrived")
        REFUSED = "refused", _("Refused")
        REGISTERED = "registered", _("Registered")
        ASSIGNED = "assigned", _("Assigned")
        IN_PROGRESS = "in_progress", _("In progress")
        DONE = "done", _("Done")
        RECALLED = "recalled", _("Recalled")

    class RecallAnswer(models.TextChoices):
        NONE = "", _("No recall")
        PENDING = "pending", _("Recall requested")
        ACCEPTED = "accepted", _("Recall accepted")
        REFUSED = "refused", _("Recall refused")

    unit = models.ForeignKey("units.Unit", on_delete=models.PROTECT, related_name="+")
    source = models.CharField(max_length=16, choices=Source.choices)
    # One envelope may carry the document to several units of this node: one row per unit.
    envelope = models.ForeignKey(
        "exchange.Envelope", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    state = models.CharField(max_length=16, choices=State.choices, default=State.ARRIVED)
    # From the sender's metadata (Appendix VI) or typed in from paper.
    identifier = models.CharField(max_length=64, blank=True, db_index=True)
    issuer_code = models.CharField(max_length=32, blank=True)
    issuer_name = models.CharField(max_length=200)
    number = models.PositiveIntegerField(null=True, blank=True)
    notation = models.CharField(max_length=64, blank=True)
    issue_date = models.DateField(null=True, blank=True)
    doc_type = models.CharField(max_length=24, choices=DocumentType.choices)
    subject = models.CharField(max_length=SUBJECT_MAX_LENGTH)
    signer_name = models.CharField(max_length=200, blank=True)
    urgency = models.CharField(max_length=16, choices=Urgency.choices, default=Urgency.NORMAL)
    secrecy = models.PositiveSmallIntegerField(choices=Secrecy.choices, default=Secrecy.NONE)
    due_date = models.DateField(null=True, blank=True)
    scan = models.BinaryField(null=True, blank=True)  # a paper document's scan (PDF or image)
    scan_type = models.CharField(max_length=64, blank=True)
    # The result of pades.verify at opening: one dict per signature.
    verification = models.JSONField(default=list, blank=True)
    # False while only the envelope's signed label is known (a secret document, until a
    # cleared person opens it; a refused delivery): no subject, no verification yet.
    content_recorded = models.BooleanField(default=True)
    # Pages of the PDF (the reader's pictures), counted when the content is taken in.
    page_count = models.PositiveSmallIntegerField(default=0)
    arrived_at = models.DateTimeField()
    opened_by = models.ForeignKey(
        "units.Person", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # Số đến: per receiving unit, gapless through the year (NumberCounter, series incoming).
    year = models.PositiveSmallIntegerField(null=True, blank=True)
    arrival_number = models.PositiveIntegerField(null=True, blank=True)
    registered_at = models.DateTimeField(null=True, blank=True)
    registered_by = models.ForeignKey(
        "units.Person", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    refused_reason = models.TextField(blank=True)
    result_note = models.TextField(blank=True)
    done_at = models.DateTimeField(null=True, blank=True)
    # Recall (13/15/16): the request's envelope, reason and this unit's answer; kept after
    # the copy is removed.
    recall_envelope = models.ForeignKey(
        "exchange.Envelope", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    recall_reason = models.TextField(blank=True)
    recall_answer = models.CharField(
        max_length=16, choices=RecallAnswer.choices, default=RecallAnswer.NONE, blank=True
    )
    recall_note = models.TextField(blank=True)
    recall_answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["unit", "year", "arrival_number"],
                condition=models.Q(arrival_number__isnull=False),
                name="incoming_arrival_number_unique",
            ),
            models.UniqueConstraint(
                fields=["unit", "envelope"],
                condition=models.Q(envelope__isnull=False),
                name="incoming_once_per_unit_and_envelope",
            ),
        ]
        indexes = [
            models.Index(fields=["unit", "state"]),
            models.Index(fields=["unit", "issuer_code", "number", "notation"]),
        ]

    def __str__(self) -> str:
        return f"{self.number_and_symbol or self.subject[:40]} → {self.unit_id}"

    @property
    def number_and_symbol(self) -> str:
        if self.number is None:
            return self.notation
        return f"{self.number:02d}/{self.notation}"

    @property
    def arrival_text(self) -> str:
        return "" if self.arrival_number is None else f"{self.arrival_number:02d}"


class Assignment(models.Model):
    """The commander hands an incoming document to a staff officer, with a deadline."""

    class State(models.TextChoices):
        ASSIGNED = "assigned", _("Assigned")
        IN_PROGRESS = "in_progress", _("In progress")
        DONE = "done", _("Done")

    incoming = models.ForeignKey(
        IncomingDocument, on_delete=models.CASCADE, related_name="assignments"
    )
    assignee = models.ForeignKey("units.Person", on_delete=models.PROTECT, related_name="+")
    assigned_by = models.ForeignKey("units.Person", on_delete=models.PROTECT, related_name="+")
    deadline = models.DateField()
    state = models.CharField(max_length=16, choices=State.choices, default=State.ASSIGNED)
    assigned_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    done_at = models.DateTimeField(null=True, blank=True)
    result_note = models.TextField(blank=True)
    result_file = models.BinaryField(null=True, blank=True)
    result_file_name = models.CharField(max_length=200, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["incoming", "assignee"], name="assignment_unique_per_person"
            )
        ]

    def __str__(self) -> str:
        return f"{self.incoming_id} → {self.assignee_id}"
