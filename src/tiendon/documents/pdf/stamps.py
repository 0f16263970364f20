"""The organisation's signature top right of page 1, without image (Decree 30, Appendix I):
on attachments at issuing, and on certified copies (sao y, trích sao, sao lục).

The visible part is text only: the unit's name, the number and symbol (of the document the
attachment belongs to, or of the copy) and the signing time in ISO 8601 with Vietnam's
offset, in Liberation Serif 10 pt (metric-compatible with Times New Roman). The same
instant is the signature's signing time, so what the page says is what the CMS says.

Also here: flattening a signed PDF into plain pages (poppler's `pdftocairo`), which a copy
starts from, and choosing pages for a trích sao.
"""

from __future__ import annotations

import datetime as dt
import io
import subprocess
import zoneinfo
from collections.abc import Callable
from typing import Any

from PIL import Image, ImageSequence
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.generic import pdf_name
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.pdf_utils.writer import PdfFileWriter
from pyhanko.sign import fields, signers
from pyhanko_certvalidator import ValidationContext

from tiendon.documents.errors import DocumentError
from tiendon.documents.pdf import layout, pades
from tiendon.pki.models import Certificate
from tiendon.pki.validation import validation_context

VIETNAM = zoneinfo.ZoneInfo("Asia/Ho_Chi_Minh")
STAMP_FIELD = "chu_ky_co_quan_goc_phai"
STAMP_SIZE = 10.0  # points: Times New Roman 10 pt, as Decree 30 says
STAMP_WIDTH = 230.0
STAMP_MARGIN = 12.0
LINE_HEIGHT = 12.0
SCAN_DPI = 200  # an image scan that does not say its resolution


def signing_time_now() -> dt.datetime:
    """Now in Vietnam's time zone, to the second (the stamp prints seconds)."""
    return dt.datetime.now(tz=VIETNAM).replace(microsecond=0)


def iso_time(moment: dt.datetime) -> str:
    """ "2026-11-22T23:05:09+07:00": ISO 8601 with Vietnam's offset."""
    return moment.astimezone(VIETNAM).isoformat(timespec="seconds")


def stamp_lines(unit_name: str, reference: str, moment: dt.datetime) -> list[str]:
    return [layout.nfc(unit_name), layout.nfc(reference), iso_time(moment)]


def _text_box(lines: list[str], width: float, height: float) -> bytes:
    """One page the size of the stamp, the lines drawn as text (no image)."""
    layout.register_fonts()
    buffer = io.BytesIO()
    canvas = layout.new_canvas(buffer, pagesize=(width, height))
    canvas.setFont(layout.SERIF, STAMP_SIZE)
    y = height - LINE_HEIGHT + 2
    for line in lines:
        canvas.drawString(3, y, layout.nfc(line))
        y -= LINE_HEIGHT
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


class _TimedPdfSigner(signers.PdfSigner):
    """pyHanko's signer with the signing time fixed beforehand, so the time printed on the
    stamp and the signing time in the signature are the same instant."""

    def __init__(self, *args: Any, signing_time: dt.datetime, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._signing_time = signing_time

    def init_signing_session(self, *args: Any, **kwargs: Any) -> Any:
        session = super().init_signing_session(*args, **kwargs)
        session.system_time = self._signing_time
        return session


def _first_page_box(
    writer: IncrementalPdfFileWriter, lines: int, slot: int
) -> tuple[int, int, int, int]:
    """Top right of page 1; a copy of a copy puts its stamp in the next slot to the left
    (then a row lower), so the earlier copier's stamp stays readable."""
    page = writer.root["/Pages"]
    while "/Kids" in page:
        page = page["/Kids"][0].get_object()
    x1, _y1, x2, y2 = (float(v) for v in page.get("/CropBox", page["/MediaBox"]))
    height = LINE_HEIGHT * lines + 6
    per_row = max(1, int((x2 - x1 - STAMP_MARGIN) // (STAMP_WIDTH + STAMP_MARGIN)))
    row, column = divmod(slot, per_row)
    right = x2 - STAMP_MARGIN - column * (STAMP_WIDTH + STAMP_MARGIN)
    top = y2 - STAMP_MARGIN - row * (height + 4)
    box = (max(x1, right - STAMP_WIDTH), top - height, right, top)
    return (round(box[0]), round(box[1]), round(box[2]), round(box[3]))


def sign_top_right(
    pdf_bytes: bytes,
    *,
    certificate: Certificate,
    sign: Callable[[bytes], bytes],
    unit_name: str,
    reference: str,
    signing_time: dt.datetime | None = None,
    slot: int = 0,
    context: ValidationContext | None = None,
) -> bytes:
    """Add the organisation's signature top right of page 1 in an incremental update, its
    appearance the text stamp: unit, `reference` (number and symbol) and signing time.
    `slot` > 0 moves it aside for the stamps of earlier copies (a sao lục). `context`:
    the node's validation context, when the caller signs several files at one moment."""
    moment = signing_time or signing_time_now()
    lines = stamp_lines(unit_name, reference, moment)
    try:
        writer = IncrementalPdfFileWriter(io.BytesIO(pdf_bytes), strict=False)
        box = _first_page_box(writer, len(lines), slot)
    except (PdfError, ValueError, KeyError, TypeError) as exc:
        raise DocumentError("the PDF cannot be read", code="corrupt_pdf") from exc
    name = STAMP_FIELD
    existing = {
        str(ref.get_object().get("/T"))
        for ref in (writer.root.get("/AcroForm") or {}).get("/Fields", [])
    }
    suffix = 1
    while name in existing:  # a copy of a copy: each unit's stamp gets its own field
        suffix += 1
        name = f"{STAMP_FIELD}_{suffix}"
    metadata = signers.PdfSignatureMetadata(
        field_name=name,
        md_algorithm="sha256",
        subfilter=fields.SigSeedSubFilter.PADES,
        embed_validation_info=True,
        validation_context=context or validation_context(),
        reason=lines[1],
        name=layout.nfc(unit_name),
    )
    pdf_signer = _TimedPdfSigner(
        metadata,
        signer=pades.KeystoreSigner(certificate, sign),
        stamp_style=pades.stamp_style(_text_box(lines, box[2] - box[0], box[3] - box[1])),
        new_field_spec=fields.SigFieldSpec(name, on_page=0, box=box),
        timestamper=pades.timestamper(),
        signing_time=moment,
    )
    return pades.write_signature(writer, pdf_signer)


def page_count(pdf_bytes: bytes) -> int:
    try:
        reader = PdfFileReader(io.BytesIO(pdf_bytes), strict=False)
        return int(reader.root["/Pages"]["/Count"])
    except (PdfError, ValueError, KeyError, TypeError) as exc:
        raise DocumentError("the PDF cannot be read", code="corrupt_pdf") from exc


def scan_as_pdf(data: bytes, content_type: str) -> bytes:
    """A paper document's scan as a PDF: a PDF scan as it is; an image (PNG, JPEG, or TIFF
    with every frame) one page per frame, at the resolution the scanner recorded."""
    if content_type == "application/pdf":
        return data
    try:
        with Image.open(io.BytesIO(data)) as image:
            dpi = image.info.get("dpi", (SCAN_DPI, SCAN_DPI))[0] or SCAN_DPI
            frames = [frame.convert("RGB") for frame in ImageSequence.Iterator(image)]
            out = io.BytesIO()
            frames[0].save(
                out, format="PDF", save_all=True, append_images=frames[1:], resolution=float(dpi)
            )
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        raise DocumentError("the scan cannot be read", code="corrupt_scan") from exc
    return out.getvalue()


def flatten(pdf_bytes: bytes) -> bytes:
    """The PDF as it looks, annotations (filled fields, signature appearances) drawn into
    the page content, as plain vector pages with their fonts (poppler's `pdftocairo`).
    Through pipes, never a file: the content may be secret."""
    try:
        done = subprocess.run(
            ["pdftocairo", "-pdf", "-", "-"], input=pdf_bytes, capture_output=True, timeout=300
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise DocumentError("the PDF could not be copied", code="copy_failed") from exc
    if done.returncode != 0 or not done.stdout.startswith(b"%PDF-"):
        raise DocumentError("the PDF could not be copied", code="copy_failed")
    return done.stdout


def select_pages(pdf_bytes: bytes, pages: list[int]) -> bytes:
    """A new PDF of the chosen pages (1-based, in the order given), each imported whole."""
    try:
        source = PdfFileReader(io.BytesIO(pdf_bytes), strict=False)
    except (PdfError, ValueError) as exc:
        raise DocumentError("the PDF cannot be read", code="corrupt_pdf") from exc
    writer = PdfFileWriter()
    for number in pages:
        xobject = writer.import_page_as_xobject(source, page_ix=number - 1)
        x1, y1, x2, y2 = (float(v) for v in xobject.get_object()["/BBox"])
        content = generic.StreamObject(stream_data=b"q /Page Do Q")
        page = generic.DictionaryObject(
            {
                pdf_name("/Type"): pdf_name("/Page"),
                pdf_name("/MediaBox"): generic.ArrayObject(
                    [generic.FloatObject(v) for v in (x1, y1, x2, y2)]
                ),
                pdf_name("/Resources"): generic.DictionaryObject(
                    {pdf_name("/XObject"): generic.DictionaryObject({pdf_name("/Page"): xobject})}
                ),
                pdf_name("/Contents"): writer.add_object(content),
            }
        )
        writer.insert_page(page)
    output = io.BytesIO()
    writer.write(output)
    return output.getvalue()
