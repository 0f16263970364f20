"""PAdES signatures on documents with pyHanko, keys staying in the PKI keystores.

Two signatures, in two revisions:
1. the signer's (personal certificate, blue signature image): certifies the document with
   DocMDP "fill forms" and locks every field except the number, the date and the
   organisation's signature field, which the same revision creates empty;
2. at issuing, an incremental update fills the number and the date (new appearance
   streams, read-only) and signs the organisation's field (unit certificate, red seal
   over the left third of the signer's image).
Both embed their validation data (chain and CRLs in the DSS: PAdES B-LT).

pyHanko signs in a coroutine; the keystore and the audit use Django's ORM, which is
synchronous. `async_to_sync` runs pyHanko's loop in a helper thread while this thread
waits, and the signing call comes back to this thread (`sync_to_async`,
thread-sensitive), so it runs on the caller's database connection and transaction.
"""

from __future__ import annotations

import asyncio
import io
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from asgiref.sync import async_to_sync, sync_to_async
from asn1crypto import algos
from asn1crypto import x509 as asn1_x509
from django.conf import settings
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.content import PdfContent
from pyhanko.pdf_utils.generic import pdf_name
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.layout import BoxConstraints
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers, timestamps
from pyhanko.sign.general import SigningError
from pyhanko.sign.validation import async_validate_pdf_signature
from pyhanko.sign.validation.errors import SignatureValidationError
from pyhanko.stamp import StaticStampStyle
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.registry import SimpleCertificateStore
from reportlab.lib import colors
from reportlab.pdfgen.canvas import Canvas

from tiendon.documents.errors import DocumentError
from tiendon.documents.pdf import layout
from tiendon.pki.models import Certificate, CertificateAuthority
from tiendon.pki.validation import validation_context

# An ECDSA P-256 signature in DER is at most 72 bytes: what a dry run reserves.
_P256_DER_MAX = 72


class _OfflineByDesign(logging.Filter):
    """pyHanko warns on every signature that it may not fetch revocation data; this node
    never fetches (it embeds its own CRLs), so that warning says nothing here."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "fetching is not allowed" not in record.getMessage()


logging.getLogger("pyhanko.sign.signers.pdf_signer").addFilter(_OfflineByDesign())


class BytesPdfPage(PdfContent):
    """The first page of a PDF held in memory, as content of a stamp (a form XObject)."""

    def __init__(self, data: bytes) -> None:
        super().__init__()
        self._data = data

    def render(self) -> bytes:
        writer = self._ensure_writer
        xobject = writer.import_page_as_xobject(PdfFileReader(io.BytesIO(self._data)))
        name = "/Img" + uuid.uuid4().hex
        self.resources.xobject[name] = xobject
        x1, y1, x2, y2 = xobject.get_object()["/BBox"]
        self.box = BoxConstraints(width=abs(x2 - x1), height=abs(y2 - y1))
        return name.encode("ascii") + b" Do"


class KeystoreSigner(signers.Signer):
    """A pyHanko signer whose raw signature comes from `sign` (ECDSA-SHA256, DER): the
    PKI keystore (software or PKCS#11), through whatever authorisation wraps it."""

    def __init__(
        self,
        certificate: Certificate,
        sign: Callable[[bytes], bytes],
    ) -> None:
        chain = _chain_of(certificate)
        super().__init__(
            signing_cert=asn1_x509.Certificate.load(bytes(certificate.certificate_der)),
            cert_registry=SimpleCertificateStore.from_certs(chain),
            signature_mechanism=algos.SignedDigestAlgorithm({"algorithm": "sha256_ecdsa"}),
            embed_roots=True,
        )
        self.write_signature = sign

    async def async_sign_raw(
        self, data: bytes, digest_algorithm: str, dry_run: bool = False
    ) -> bytes:
        if digest_algorithm != "sha256":
            raise SigningError(f"only SHA-256 is used here, not {digest_algorithm}")
        if dry_run:
            return bytes(_P256_DER_MAX)
        signature: bytes = await sync_to_async(self.write_signature, thread_sensitive=True)(data)
        return signature


def _chain_of(certificate: Certificate) -> list[asn1_x509.Certificate]:
    chain = []
    authority: CertificateAuthority | None = certificate.issuer
    while authority is not None:
        chain.append(asn1_x509.Certificate.load(bytes(authority.certificate_der)))
        authority = authority.parent
    return chain


def with_appended_pages(pdf_bytes: bytes, extra: bytes) -> bytes:
    """`pdf_bytes` followed by every page of `extra` (an uploaded content PDF), each page
    imported whole as a form XObject, so the signatures cover the uploaded content too."""
    try:
        source = PdfFileReader(io.BytesIO(extra), strict=False)
        count = int(source.root["/Pages"]["/Count"])
    except (PdfError, ValueError, KeyError, TypeError) as exc:
        raise DocumentError("the uploaded PDF cannot be read", code="corrupt_pdf") from exc
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf_bytes))
    for index in range(count):
        xobject = writer.import_page_as_xobject(source, page_ix=index)
        x1, y1, x2, y2 = (float(v) for v in xobject.get_object()["/BBox"])
        content = generic.StreamObject(stream_data=b"q /Uploaded Do Q")
        page = generic.DictionaryObject(
            {
                pdf_name("/Type"): pdf_name("/Page"),
                pdf_name("/MediaBox"): generic.ArrayObject(
                    [generic.FloatObject(v) for v in (x1, y1, x2, y2)]
                ),
                pdf_name("/Resources"): generic.DictionaryObject(
                    {
                        pdf_name("/XObject"): generic.DictionaryObject(
                            {pdf_name("/Uploaded"): xobject}
                        )
                    }
                ),
                pdf_name("/Contents"): writer.add_object(content),
            }
        )
        writer.insert_page(page)
    output = io.BytesIO()
    writer.write(output)
    return output.getvalue()


def signature_image(name: str, width: float, height: float) -> bytes:
    """A blue hand-style stroke with the signer's name under it (drawn, no artwork)."""
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=(width, height), initialFontName=layout.SERIF)
    blue = colors.Color(0.05, 0.15, 0.65)
    canvas.setStrokeColor(blue)
    canvas.setFillColor(blue)
    canvas.setLineWidth(1.6)
    path = canvas.beginPath()
    base = height * 0.45
    path.moveTo(width * 0.12, base)
    path.curveTo(width * 0.25, height * 0.95, width * 0.32, height * 0.05, width * 0.42, base)
    path.curveTo(width * 0.52, height * 0.85, width * 0.6, height * 0.2, width * 0.7, base + 6)
    path.curveTo(width * 0.78, height * 0.75, width * 0.82, height * 0.3, width * 0.9, base + 10)
    canvas.drawPath(path, stroke=1, fill=0)
    layout.register_fonts()
    canvas.setFont(layout.SERIF_ITALIC, 9)
    canvas.drawCentredString(width / 2, height * 0.12, layout.nfc(name))
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def seal_image(unit_name: str, size: float) -> bytes:
    """A round red seal: two rings, the unit's name along the top, a star in the middle."""
    import math

    layout.register_fonts()
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=(size, size), initialFontName=layout.SERIF)
    red = colors.Color(0.85, 0.05, 0.05)
    canvas.setStrokeColor(red)
    canvas.setFillColor(red)
    c = size / 2
    canvas.setLineWidth(1.5)
    canvas.circle(c, c, c - 2, stroke=1, fill=0)
    canvas.setLineWidth(0.6)
    canvas.circle(c, c, c * 0.62, stroke=1, fill=0)
    text = layout.nfc(unit_name.upper())
    font_size = 6.5
    radius = c * 0.74
    span = math.radians(300)
    start = math.pi / 2 + span / 2
    step = span / max(len(text), 1)
    canvas.setFont(layout.SERIF_BOLD, font_size)
    for i, char in enumerate(text):
        angle = start - (i + 0.5) * step
        canvas.saveState()
        canvas.translate(c + radius * math.cos(angle), c + radius * math.sin(angle))
        canvas.rotate(math.degrees(angle) - 90)
        canvas.drawCentredString(0, -font_size / 3, char)
        canvas.restoreState()
    star = canvas.beginPath()
    for k in range(10):
        r = c * 0.3 if k % 2 == 0 else c * 0.12
        a = math.pi / 2 + k * math.pi / 5
        point = (c + r * math.cos(a), c + r * math.sin(a))
        if k == 0:
            star.moveTo(*point)
        else:
            star.lineTo(*point)
    star.close()
    canvas.drawPath(star, stroke=0, fill=1)
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def stamp_style(image: bytes) -> StaticStampStyle:
    return StaticStampStyle(background=BytesPdfPage(image), border_width=0, background_opacity=1.0)


def _metadata(field_name: str, context: ValidationContext, *, certify: bool) -> Any:
    return signers.PdfSignatureMetadata(
        field_name=field_name,
        md_algorithm="sha256",
        subfilter=fields.SigSeedSubFilter.PADES,
        embed_validation_info=True,
        validation_context=context,
        certify=certify,
        docmdp_permissions=fields.MDPPerm.FILL_FORMS,
    )


def timestamper() -> timestamps.TimeStamper | None:
    """The configured RFC 3161 authority; its certificate must validate like any other."""
    url = getattr(settings, "TIENDON_TSA_URL", "")
    return timestamps.HTTPTimeStamper(url, timeout=20) if url else None


def write_signature(writer: IncrementalPdfFileWriter, pdf_signer: signers.PdfSigner) -> bytes:
    output = io.BytesIO()

    async def run() -> None:
        await pdf_signer.async_sign_pdf(writer, output=output)

    try:
        async_to_sync(run)()
    except timestamps.TimestampRequestError as exc:
        raise DocumentError(
            f"the time-stamping authority did not answer: {exc}", code="timestamp_failed"
        ) from exc
    except (SigningError, PdfError) as exc:
        raise DocumentError(f"the PDF could not be signed: {exc}", code="signing_failed") from exc
    return output.getvalue()


def sign_as_signer(
    rendered: layout.Rendered,
    *,
    certificate: Certificate,
    signer_name: str,
    sign: Callable[[bytes], bytes],
    seal_unit_name: str,
) -> bytes:
    """The signer's signature on a freshly rendered document; creates the organisation's
    empty field in the same revision. `sign` is the authorised personal signing call."""
    context = validation_context()
    writer = IncrementalPdfFileWriter(io.BytesIO(rendered.pdf))
    seal = rendered.seal_box
    fields.append_signature_field(
        writer,
        fields.SigFieldSpec(layout.ORGANISATION_FIELD, on_page=seal.page, box=seal.as_tuple()),
    )
    box = rendered.signer_box
    lock = fields.FieldMDPSpec(
        fields.FieldMDPAction.EXCLUDE,
        fields=[layout.NUMBER_FIELD, layout.DATE_FIELD, layout.ORGANISATION_FIELD],
    )
    spec = fields.SigFieldSpec(
        layout.SIGNER_FIELD,
        on_page=box.page,
        box=box.as_tuple(),
        field_mdp_spec=lock,
        doc_mdp_update_value=fields.MDPPerm.FILL_FORMS,
    )
    width, height = box.x2 - box.x1, box.y2 - box.y1
    pdf_signer = signers.PdfSigner(
        _metadata(layout.SIGNER_FIELD, context, certify=True),
        signer=KeystoreSigner(certificate, sign),
        stamp_style=stamp_style(signature_image(signer_name, width, height)),
        new_field_spec=spec,
        timestamper=timestamper(),
    )
    return write_signature(writer, pdf_signer)


def _field(writer: IncrementalPdfFileWriter, name: str) -> generic.DictionaryObject:
    form = writer.root["/AcroForm"]
    for ref in form["/Fields"]:
        candidate = ref.get_object()
        if candidate.get("/T") == name:
            return candidate
    raise DocumentError(f"the signed PDF has no field {name}", code="field_missing")


def _fill_text_field(writer: IncrementalPdfFileWriter, name: str, value: str) -> None:
    """Set the value, a new appearance (the text in Liberation Serif), and read-only."""
    target = _field(writer, name)
    x1, y1, x2, y2 = (float(v) for v in target["/Rect"])
    # The date goes on in italics, like the place before it (Decree 30, Appendix I).
    font = layout.SERIF_ITALIC if name == layout.DATE_FIELD else layout.SERIF
    appearance = writer.import_page_as_xobject(
        PdfFileReader(io.BytesIO(layout.render_line(value, x2 - x1, y2 - y1, font=font)))
    )
    target[pdf_name("/V")] = generic.TextStringObject(layout.nfc(value))
    target[pdf_name("/Ff")] = generic.NumberObject(int(target.get("/Ff", 0)) | 1)
    target[pdf_name("/AP")] = generic.DictionaryObject({pdf_name("/N"): appearance})
    writer.update_container(target)


def issue_pdf(
    signed_pdf: bytes,
    *,
    number_text: str,
    date_text: str,
    certificate: Certificate,
    sign: Callable[[bytes], bytes],
    seal_unit_name: str,
) -> bytes:
    """Fill the number and the date, then the organisation's signature, in one update."""
    context = validation_context()
    try:
        writer = IncrementalPdfFileWriter(io.BytesIO(signed_pdf))
    except (PdfError, ValueError) as exc:
        raise DocumentError("the signed PDF cannot be read", code="corrupt_pdf") from exc
    _fill_text_field(writer, layout.NUMBER_FIELD, number_text)
    _fill_text_field(writer, layout.DATE_FIELD, date_text)
    seal = _field(writer, layout.ORGANISATION_FIELD)
    kids = seal.get("/Kids")
    widget = kids[0].get_object() if kids else seal
    x1, y1, x2, y2 = (float(v) for v in widget["/Rect"])
    pdf_signer = signers.PdfSigner(
        _metadata(layout.ORGANISATION_FIELD, context, certify=False),
        signer=KeystoreSigner(certificate, sign),
        stamp_style=stamp_style(seal_image(seal_unit_name, min(x2 - x1, y2 - y1))),
        timestamper=timestamper(),
    )
    return write_signature(writer, pdf_signer)


@dataclass(frozen=True)
class SignatureReport:
    """What the validator says of one embedded signature."""

    field_name: str
    signer_subject: str
    signer_name: str  # the certificate's common name
    signer_unit: str  # its organisational unit (the signer's unit), if it names one
    signer_title: str  # the position it names, if any
    signed_at: str  # ISO time the signer's software reported, "" if none
    intact: bool
    valid: bool
    trusted: bool
    revoked: bool
    modification_level: str  # pyHanko's ModificationLevel name, e.g. "FORM_FILLING"
    docmdp_ok: bool
    bottom_line: bool
    timestamp_trusted: bool | None  # None: no RFC 3161 time-stamp in the signature


def verify(
    pdf_bytes: bytes, context: ValidationContext | None = None, *, skip_diff: bool = False
) -> list[SignatureReport]:
    """Every signature of the PDF, validated against the node's trust anchors and CRLs.

    `skip_diff` leaves out pyHanko's analysis of later revisions (the costly part on a
    file of many objects): for a check of a signature this node has just made, whose only
    later revision is its own validation data; a received file is always analysed."""
    context = context or validation_context()
    try:
        reader = PdfFileReader(io.BytesIO(pdf_bytes))
        embedded = list(reader.embedded_signatures)
    except (PdfError, ValueError) as exc:
        raise DocumentError("the PDF cannot be read", code="corrupt_pdf") from exc

    async def run() -> list[SignatureReport]:
        reports = []
        for sig in embedded:
            try:
                status = await async_validate_pdf_signature(
                    sig, signer_validation_context=context, skip_diff=skip_diff
                )
            except (SignatureValidationError, PdfError) as exc:
                raise DocumentError(
                    f"signature {sig.field_name} cannot be validated: {exc}",
                    code="signature_unreadable",
                ) from exc
            level = status.modification_level
            subject = status.signing_cert.subject.native
            reported = getattr(status, "signer_reported_dt", None)
            reports.append(
                SignatureReport(
                    field_name=sig.field_name,
                    signer_subject=status.signing_cert.subject.human_friendly,
                    signer_name=str(subject.get("common_name", "")),
                    signer_unit=str(subject.get("organizational_unit_name", "")),
                    signer_title=str(subject.get("title", "")),
                    signed_at=reported.isoformat() if reported is not None else "",
                    intact=status.intact,
                    valid=status.valid,
                    trusted=status.trusted,
                    revoked=status.revoked,
                    modification_level=level.name if level is not None else "",
                    docmdp_ok=bool(status.docmdp_ok),
                    bottom_line=status.bottom_line,
                    timestamp_trusted=None
                    if status.timestamp_validity is None
                    else bool(
                        status.timestamp_validity.intact
                        and status.timestamp_validity.valid
                        and status.timestamp_validity.trusted
                    ),
                )
            )
        return reports

    return asyncio.run(run())
