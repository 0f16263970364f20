"""Export of one document to a folder: the signed PDF, its attachments, and its metadata as
JSON and as XML with the field names of Appendix VI of Decree 30/2020/NĐ-CP.

Everything is read (through `queries`, so unit scope and clearance apply) and built in
memory first; only then is the folder written, so a refused export writes nothing.
"""

from __future__ import annotations

import hashlib
import io
import json
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader

from tiendon.audit.actions import do_record
from tiendon.documents import queries
from tiendon.documents.delivery import history
from tiendon.documents.errors import DocumentError
from tiendon.documents.models import Document, DueDate
from tiendon.documents.registers.outgoing import recipient_names
from tiendon.exchange.queries import deliveries_of
from tiendon.units.models import Person

XML_NAMESPACE = "urn:tiendon:document-metadata:1"
PDF_NAME = "document.pdf"
ATTACHMENTS_FOLDER = "attachments"

# (JSON key, XML element, the field's name in Appendix VI), in the appendix's order.
APPENDIX_VI_FIELDS: list[tuple[str, str, str]] = [
    ("identifier", "Identifier", "Mã định danh văn bản"),
    ("file_code", "FileCode", "Mã hồ sơ"),
    ("ordinal", "Ordinal", "Số thứ tự văn bản trong hồ sơ"),
    ("type_name", "TypeName", "Tên loại văn bản"),
    ("number", "Number", "Số của văn bản"),
    ("notation", "Notation", "Ký hiệu của văn bản"),
    ("issue_date", "IssuedDate", "Ngày, tháng, năm văn bản"),
    ("issuer_name", "OrganName", "Tên cơ quan, tổ chức ban hành văn bản"),
    ("subject", "Subject", "Trích yếu nội dung"),
    ("language", "Language", "Ngôn ngữ"),
    ("page_count", "PageAmount", "Số lượng trang của văn bản"),
    ("description", "Description", "Ghi chú"),
    ("signer_position", "SignerPosition", "Chức vụ của người ký"),
    ("signer_full_name", "SignerFullName", "Họ tên của người ký"),
    ("recipients", "Recipients", "Nơi nhận"),
    ("urgency", "Priority", "Mức độ khẩn"),
    ("secrecy", "Confidentiality", "Độ mật"),
    ("copies_issued", "IssuedAmount", "Số lượng bản phát hành"),
    ("due_date", "DueDate", "Hạn xử lý"),
]


@dataclass(frozen=True)
class ExportFile:
    """One file of an export: its path inside the folder and its bytes."""

    name: str
    data: bytes


def files_to_export(document: Document) -> list[ExportFile]:
    """The files a document's export carries: the signed PDF, then its attachments.

    The one place that lists them; attachments go under `attachments/`.
    """
    if document.pdf is None:
        raise DocumentError(
            _("The document is not signed yet; only a signed document is exported."),
            code="not_signed",
        )
    files = [ExportFile(PDF_NAME, bytes(document.pdf))]
    for name, data in _attachments_of(document):
        files.append(ExportFile(f"{ATTACHMENTS_FOLDER}/{name}", data))
    return files


def _attachments_of(document: Document) -> list[tuple[str, bytes]]:
    """(file name, bytes) of the document's attachments, in their order: as the unit signed
    them at issuing, as uploaded while the document is not issued yet (names were made
    plain file names when they were attached)."""
    from tiendon.documents.models import Attachment

    return [
        (
            attachment.name,
            bytes(attachment.signed if attachment.signed is not None else attachment.content),
        )
        for attachment in Attachment.objects.filter(document=document).order_by("position")
    ]


def _page_count(pdf: bytes) -> int | None:
    try:
        return int(PdfFileReader(io.BytesIO(pdf), strict=False).root["/Pages"]["/Count"])
    except (PdfError, KeyError, ValueError, TypeError):
        return None


def export_metadata(document: Document, files: list[ExportFile]) -> dict[str, Any]:
    """`Document.metadata()` plus what only an export knows: pages, copies issued, the due
    date, the signer's fields flattened as Appendix VI names them, and the files' hashes."""
    metadata: dict[str, Any] = dict(document.metadata())
    signer = metadata.get("signer") or {}
    copies = 0
    if document.envelope_id is not None:
        copies = deliveries_of(document.envelope_id).count()
    due = DueDate.objects.filter(document=document).first()
    metadata.update(
        {
            "signer_position": signer.get("position", ""),
            "signer_full_name": signer.get("full_name", ""),
            "page_count": _page_count(files[0].data),
            "description": "",
            "copies_issued": copies,
            # The units (or sets) named, never "Như trên".
            "recipients": recipient_names([document])[document.pk],
            "due_date": due.due_date.isoformat() if due is not None else None,
            "number_and_symbol": document.number_and_symbol,
            "urgency_name": document.get_urgency_display(),
            "secrecy_name": document.get_secrecy_display(),
            "files": [
                {"name": f.name, "size": len(f.data), "sha256": hashlib.sha256(f.data).hexdigest()}
                for f in files
            ],
            "status_history": _status_history(document),
        }
    )
    return metadata


def _status_history(document: Document) -> dict[str, list[dict[str, str]]]:
    """Per recipient unit's code, every status it reported, with its time (ISO 8601 in
    Vietnam's zone) and note (JSON only: Appendix VI has no field for it)."""
    if document.envelope_id is None:
        return {}
    units = dict(deliveries_of(document.envelope_id).values_list("unit_id", "unit__code"))
    return {
        units[unit_id]: [
            {"code": s.code, "at": timezone.localtime(s.at).isoformat(), "note": s.note}
            for s in steps
        ]
        for unit_id, steps in sorted(
            history.history_of(document.envelope_id, None).items(), key=lambda i: units[i[0]]
        )
    }


def _text(value: object) -> str:
    if value is None:
        return ""
    return str(value)


def metadata_xml(metadata: dict[str, Any]) -> bytes:
    """The metadata as XML: one element per Appendix VI field, each carrying the field's
    Vietnamese name in `name`; the recipients one `Recipient` each, the files one `File`."""
    ET.register_namespace("", XML_NAMESPACE)

    def tag(name: str) -> str:
        return f"{{{XML_NAMESPACE}}}{name}"

    root = ET.Element(tag("DocumentMetadata"))
    for key, element, vietnamese in APPENDIX_VI_FIELDS:
        node = ET.SubElement(root, tag(element), {"name": vietnamese})
        value = metadata.get(key)
        if key == "recipients":
            for recipient in value or []:
                ET.SubElement(node, tag("Recipient")).text = _text(recipient)
        elif key == "urgency":
            node.set("code", _text(value))
            node.text = _text(metadata.get("urgency_name"))
        elif key == "secrecy":
            node.set("code", _text(value))
            node.text = _text(metadata.get("secrecy_name"))
        else:
            node.text = _text(value)
    files = ET.SubElement(root, tag("Files"))
    for entry in metadata.get("files", []):
        ET.SubElement(
            files,
            tag("File"),
            {"name": entry["name"], "size": str(entry["size"]), "sha256": entry["sha256"]},
        )
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


@dataclass(frozen=True)
class Export:
    document: Document
    written: list[Path]


def do_export_document(
    viewer: Person,
    document_id: str,
    out_dir: Path,
    *,
    request: HttpRequest | None = None,
) -> Export:
    """Write the document's files and metadata into `out_dir` (created if needed) as the
    viewer: another unit's document, or one above the viewer's clearance, is refused
    before anything is written. The export is audited."""
    document = queries.get_visible_document(viewer, document_id, request=request)
    files = files_to_export(document)
    metadata = export_metadata(document, files)
    contents = [
        *files,
        ExportFile(
            "metadata.json",
            json.dumps(metadata, ensure_ascii=False, indent=2, sort_keys=True).encode(),
        ),
        ExportFile("metadata.xml", metadata_xml(metadata)),
    ]
    if out_dir.exists() and not out_dir.is_dir():
        raise DocumentError(_("%(path)s is not a folder.") % {"path": out_dir}, code="bad_out")
    clashes = [f.name for f in contents if (out_dir / f.name).exists()]
    if clashes:
        raise DocumentError(
            _("The folder already holds %(names)s; choose an empty folder.")
            % {"names": ", ".join(clashes)},
            code="out_not_empty",
        )
    written = []
    try:
        for item in contents:
            path = out_dir / item.name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(item.data)
            written.append(path)
    except OSError as exc:
        raise DocumentError(
            _("Cannot write %(path)s: %(reason)s") % {"path": out_dir, "reason": exc.strerror},
            code="write_failed",
        ) from exc
    do_record(
        "documents.exported",
        actor=viewer,
        obj=document,
        unit=viewer.unit,
        new={
            "number": document.number_and_symbol,
            "files": [
                {"name": f.name, "sha256": hashlib.sha256(f.data).hexdigest()} for f in files
            ],
        },
        request=request,
    )
    return Export(document, written)
