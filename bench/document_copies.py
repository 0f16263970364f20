"""A province's certified copy (sao y) of a ministry directive to all its commune boards,
and the unit's signature on an attachment, beside the bare tools doing the same PDF work.

    python bench/document_copies.py                  # SQLite in a temporary folder
    python bench/document_copies.py --pages 40 --rounds 5
    DATABASE_URL=postgresql://… python bench/document_copies.py

Set-up (not timed): the seeded units, the node's CAs, keys for the ministry, province 38
and its commune boards, a ministry directive with a `--pages`-page content PDF signed,
issued to province 38, opened and registered there.

Ours, each the median of `--rounds`:
  copy        `copies.do_make_copy(form="SY")` to "all commune boards of province 38"
              (166 in the seeded data):
              decrypt the received envelope, flatten it (pdftocairo), number, stamp and sign
              top right (pyHanko, the unit's key from the keystore, B-LT with the node's
              CRLs), verify, store, seal one envelope for every commune and enqueue it;
  attachment  `stamps.sign_top_right` on a `--pages`-page attachment, plus its check with
              `pades.verify` (what issuing does per attachment).
Engine, same run, same PDFs: `pdftocairo -pdf` alone, then pyHanko's own `sign_pdf` with an
in-memory P-256 key and a self-signed certificate (no chain, no CRLs, no database), and
pyHanko's validator on it.

The same copy to one commune is timed too: the PDF work with a one-wrap envelope.

Goal: the copy under 3 s for a 20-page directive to a province's communes; the copy to one
commune, and the attachment's signature, within 3x the bare tools (the rest: decrypting
the received envelope, the chain and CRLs embedded, the check before storing, the rows).
The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from benchenv import start_django

GOAL = {"copy_s_max": 3.0, "vs_engine_max_ratio": 3.0}


def content_pdf(pages: int) -> bytes:
    """A text PDF of `pages` pages in Liberation Serif (Vietnamese), like a real annex."""
    from reportlab.pdfgen.canvas import Canvas

    from tiendon.documents.pdf.layout import SERIF, register_fonts

    register_fonts()
    buffer = io.BytesIO()
    canvas = Canvas(buffer, initialFontName=SERIF)
    line = "Danh sách dân quân thường trực, vũ khí, trang bị và kế hoạch huấn luyện năm 2027."
    for page in range(pages):
        canvas.setFont(SERIF, 12)
        for row in range(45):
            canvas.drawString(60, 780 - row * 16, f"{page + 1}.{row + 1} {line}")
        canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def engine_sign(pdf: bytes, *, flatten: bool = True) -> tuple[float, float, float]:
    """pdftocairo (unless `flatten` is false: an attachment is signed as it is), then
    pyHanko signing with an in-memory key, then its validator."""
    from asn1crypto import keys as asn1_keys
    from asn1crypto import x509 as asn1_x509
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign import fields, signers
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext
    from pyhanko_certvalidator.registry import SimpleCertificateStore

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Bench")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    signer = signers.SimpleSigner(
        signing_cert=asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER)),
        signing_key=asn1_keys.PrivateKeyInfo.load(
            key.private_bytes(
                serialization.Encoding.DER,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        ),
        cert_registry=SimpleCertificateStore(),
    )
    start = time.perf_counter()
    flat = (
        subprocess.run(
            ["pdftocairo", "-pdf", "-", "-"], input=pdf, capture_output=True, check=True
        ).stdout
        if flatten
        else pdf
    )
    flatten_s = time.perf_counter() - start
    start = time.perf_counter()
    out = io.BytesIO()
    signers.sign_pdf(
        IncrementalPdfFileWriter(io.BytesIO(flat)),
        signers.PdfSignatureMetadata(field_name="Sig", subfilter=fields.SigSeedSubFilter.PADES),
        signer=signer,
        new_field_spec=fields.SigFieldSpec("Sig", on_page=0, box=(353, 788, 583, 830)),
        output=out,
    )
    sign_s = time.perf_counter() - start
    start = time.perf_counter()
    (sig,) = PdfFileReader(io.BytesIO(out.getvalue())).embedded_signatures
    validate_pdf_signature(
        sig, signer_validation_context=ValidationContext(trust_roots=[signer.signing_cert])
    )
    verify_s = time.perf_counter() - start
    return flatten_s, sign_s, verify_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--province", default="38")
    args = parser.parse_args()

    start_django()
    from django.core.management import call_command
    from django.db import connection
    from django.test import RequestFactory

    from tiendon.documents import queries
    from tiendon.documents.copies.actions import do_make_copy
    from tiendon.documents.drafting.actions import (
        do_create_draft,
        do_issue,
        do_sign,
        do_submit_for_review,
    )
    from tiendon.documents.incoming.actions import do_open_incoming, do_register_incoming
    from tiendon.documents.pdf import pades, stamps
    from tiendon.pki.actions import do_init_pki, do_issue_person_key, do_issue_unit_keys
    from tiendon.pki.keystore import keystore_for
    from tiendon.pki.validation import validation_context
    from tiendon.units import auth
    from tiendon.units.actions import do_create_person
    from tiendon.units.actions_auth import do_confirm_totp
    from tiendon.units.models import Person, Role, Unit, UnitKind
    from tiendon.units.seed import seed_units

    call_command("migrate", verbosity=0)
    seed_units()
    do_init_pki()
    ministry = Unit.objects.get(kind=UnitKind.MINISTRY)
    province = Unit.objects.get(code=args.province)
    communes = list(Unit.objects.filter(parent=province, kind=UnitKind.COMMUNE_BOARD))
    for unit in (ministry, province, *communes):
        do_issue_unit_keys(unit)
    password = "Mat-khau-bench-2026-rat-dai"  # noqa: S105  (a throwaway bench database)
    signer = do_create_person(
        username="bench.signer",
        full_name="Nguyễn Văn Ký",
        unit=ministry,
        role=Role.COMMANDER,
        position="Thứ trưởng",
        password=password,
    )
    clerk = do_create_person(
        username="bench.clerk",
        full_name="Trần Thị Thư",
        unit=ministry,
        role=Role.CLERK,
        password=password,
    )
    province_clerk = do_create_person(
        username="bench.clerk38",
        full_name="Vũ Thị Hằng",
        unit=province,
        role=Role.CLERK,
        password=password,
    )
    secret = auth.new_totp_secret()
    step = auth.current_step()
    do_confirm_totp(
        signer, secret, auth.code_for_step(secret, step - 1), request=RequestFactory().get("/")
    )
    Person.objects.filter(pk=signer.pk).update(totp_last_step=step - 2)
    do_issue_person_key(signer)
    signer.refresh_from_db()
    body = content_pdf(args.pages)
    document = do_create_draft(
        clerk,
        doc_type="chi_thi",
        subject="Về việc tổ chức huấn luyện dân quân tự vệ năm 2027",
        uploaded_pdf=body,
        signer=signer,
        recipient_spec=[{"unit": province.code}],
    )
    document = do_submit_for_review(document, clerk)
    document = do_sign(document, signer, totp_code=auth.code_for_step(secret, auth.current_step()))
    document = do_issue(document, clerk)
    (waiting,) = queries.waiting_envelopes(province_clerk)
    incoming = do_register_incoming(
        do_open_incoming(province_clerk, str(waiting.envelope_id)), province_clerk
    )

    copy_times = []
    for _round in range(args.rounds):
        start = time.perf_counter()
        copy = do_make_copy(
            province_clerk,
            form="SY",
            incoming=incoming,
            recipient_spec=[{"set": "communes_of", "province": province.code}],
        )
        copy_times.append(time.perf_counter() - start)
    copy_s = statistics.median(copy_times)
    # The same copy to one commune: the PDF work plus an envelope with one wrap.
    one_times = []
    for _round in range(args.rounds):
        start = time.perf_counter()
        do_make_copy(
            province_clerk,
            form="SY",
            incoming=incoming,
            recipient_spec=[{"unit": communes[0].code}],
        )
        one_times.append(time.perf_counter() - start)
    one_s = statistics.median(one_times)

    from tiendon.documents.drafting.actions import unit_signing_certificate

    certificate = unit_signing_certificate(province)
    keystore = keystore_for(certificate.key)
    attachment_times = []
    for _round in range(args.rounds):
        start = time.perf_counter()
        context = validation_context()  # what issuing builds once for its attachments
        signed = stamps.sign_top_right(
            body,
            certificate=certificate,
            sign=lambda data: keystore.sign(certificate.key, data),
            unit_name=province.name,
            reference=f"Số: {document.number_and_symbol}",
            context=context,
        )
        assert pades.verify(signed, context, skip_diff=True)[-1].bottom_line
        attachment_times.append(time.perf_counter() - start)
    attachment_s = statistics.median(attachment_times)

    engine = [engine_sign(bytes(document.pdf)) for _round in range(args.rounds)]
    flatten_s = statistics.median(e[0] for e in engine)
    sign_s = statistics.median(e[1] for e in engine)
    verify_s = statistics.median(e[2] for e in engine)
    engine_copy_s = flatten_s + sign_s + verify_s
    engine_attachment = [engine_sign(body, flatten=False) for _round in range(args.rounds)]
    engine_attachment_s = statistics.median(e[1] + e[2] for e in engine_attachment)

    print(
        f"engine: {connection.vendor}; directive {len(bytes(document.pdf)):,} bytes, "
        f"{args.pages + 1} pages; {len(communes)} commune boards of province {province.code}"
    )
    print(f"copy (sao y) to the communes, ours:   {copy_s:.3f} s  (rounds {copy_times})")
    print(f"same copy to one commune, ours:       {one_s:.3f} s")
    print(
        f"  bare tools: pdftocairo {flatten_s:.3f} s + pyHanko sign {sign_s:.3f} s "
        f"+ validate {verify_s:.3f} s = {engine_copy_s:.3f} s"
    )
    print(f"attachment stamp + verify, ours:      {attachment_s:.3f} s")
    print(f"  bare pyHanko sign + validate:       {engine_attachment_s:.3f} s")
    print(f"last copy: {copy.number_and_symbol}, {len(bytes(copy.pdf)):,} bytes")
    result = {
        "engine": connection.vendor,
        "pages": args.pages + 1,
        "recipients": len(communes),
        "copy_s": round(copy_s, 3),
        "copy_engine_s": round(engine_copy_s, 3),
        "copy_one_recipient_s": round(one_s, 3),
        "copy_ratio": round(one_s / engine_copy_s, 2),
        "attachment_s": round(attachment_s, 3),
        "attachment_engine_s": round(engine_attachment_s, 3),
        "attachment_ratio": round(attachment_s / engine_attachment_s, 2),
        "goal": GOAL,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
