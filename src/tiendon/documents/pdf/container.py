"""The payload a document travels in, inside an exchange envelope (kind "document"), and
the recall request (kind "document.recall"). Specified in docs/documents.md.

A document payload is a ZIP archive (stored, not compressed: PDFs are compressed already)
holding `metadata.json` first (canonical JSON: UTF-8, keys sorted, no whitespace), then
the files it lists with their SHA-256: `document.pdf` (the issued PDF, both signatures),
any attachments (`attachments/NAME`, each signed by the issuing unit) and, for a certified
copy, `original.pdf` (the original as its issuer signed it). A reader checks the format
name, the version, the sizes and every hash before using anything.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from dataclasses import dataclass
from typing import Any

from tiendon.documents.errors import DocumentError

DOCUMENT_KIND = "document"
RECALL_KIND = "document.recall"
FORMAT = "tiendon-document"
RECALL_FORMAT = "tiendon-document-recall"
VERSION = 1
MAX_FILES = 64
MAX_TOTAL = 60 * 1024 * 1024  # below the envelope's 64 MiB


def canonical_json(value: object) -> bytes:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


@dataclass(frozen=True)
class DocumentPayload:
    metadata: dict[str, Any]
    pdf: bytes
    attachments: dict[str, bytes]
    # A certified copy carries the original's PDF too, byte for byte (its signatures intact).
    original: bytes | None = None


def pack_document(
    metadata: dict[str, Any],
    pdf: bytes,
    attachments: dict[str, bytes] | None = None,
    *,
    original: bytes | None = None,
) -> bytes:
    files = {"document.pdf": pdf, **{f"attachments/{n}": d for n, d in (attachments or {}).items()}}
    if original is not None:
        files["original.pdf"] = original
    head = {
        "format": FORMAT,
        "v": VERSION,
        "metadata": metadata,
        "files": [
            {"name": name, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
            for name, data in files.items()
        ],
    }
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED) as archive:
        archive.writestr("metadata.json", canonical_json(head))
        for name, data in files.items():
            archive.writestr(name, data)
    return out.getvalue()


def _bad(what: str) -> DocumentError:
    return DocumentError(f"the document payload is not valid: {what}", code="bad_payload")


def unpack_document(data: bytes) -> DocumentPayload:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
        if len(infos) > MAX_FILES + 1 or sum(i.file_size for i in infos) > MAX_TOTAL:
            raise _bad("too large")
        head = json.loads(archive.read("metadata.json"))
        if head.get("format") != FORMAT or head.get("v") != VERSION:
            raise _bad("unknown format or version")
        files: dict[str, bytes] = {}
        for entry in head["files"]:
            name = str(entry["name"])
            content = archive.read(name)
            if len(content) != entry["size"] or (
                hashlib.sha256(content).hexdigest() != entry["sha256"]
            ):
                raise _bad(f"{name} does not match its hash")
            files[name] = content
        metadata = head["metadata"]
        if not isinstance(metadata, dict) or "document.pdf" not in files:
            raise _bad("metadata or document.pdf missing")
    except (zipfile.BadZipFile, KeyError, ValueError, TypeError) as exc:
        raise _bad(str(exc)[:100]) from exc
    prefix = "attachments/"
    return DocumentPayload(
        metadata=metadata,
        pdf=files["document.pdf"],
        attachments={n[len(prefix) :]: d for n, d in files.items() if n.startswith(prefix)},
        original=files.get("original.pdf"),
    )


def pack_recall(*, original_envelope: str, identifier: str, reason: str) -> bytes:
    return canonical_json(
        {
            "format": RECALL_FORMAT,
            "v": VERSION,
            "original_envelope": original_envelope,
            "identifier": identifier,
            "reason": reason,
        }
    )


def unpack_recall(data: bytes) -> dict[str, str]:
    try:
        value = json.loads(data)
        if value.get("format") != RECALL_FORMAT or value.get("v") != VERSION:
            raise _bad("unknown recall format")
        return {
            "original_envelope": str(value["original_envelope"]),
            "identifier": str(value["identifier"]),
            "reason": str(value.get("reason", ""))[:1000],
        }
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise _bad(str(exc)[:100]) from exc
