"""`tiendon pki …`: set up the CA, issue, export and revoke certificates."""

from __future__ import annotations

import base64
import json
import os
import sys
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from tiendon.errors import TiendonError
from tiendon.pki import actions
from tiendon.pki.actions import authorities_document, ensure_fresh_crl
from tiendon.pki.actions_tokens import do_issue_token, do_register_token, do_report_token_lost
from tiendon.pki.issuer import current_issuer
from tiendon.pki.models import CertificateAuthority, CertPurpose, RevocationReason, Token
from tiendon.pki.queries import current_for_unit
from tiendon.units.models import Person, Unit


def _passphrase(options: dict[str, Any]) -> bytes | None:
    if options.get("passphrase_file"):
        try:
            return Path(options["passphrase_file"]).read_bytes().strip()
        except OSError as exc:
            raise CommandError(f"cannot read the passphrase file: {exc.strerror}") from exc
    value = os.environ.get("TIENDON_ROOT_PASSPHRASE")
    return value.encode() if value else None


def _pem(der: bytes) -> bytes:
    return x509.load_der_x509_certificate(der).public_bytes(serialization.Encoding.PEM)


class Command(BaseCommand):
    help = (
        "PKI: init, issue-units, issue-person, export, revoke, crl, publish-crl, root-crl, "
        "token-register, token-issue, token-lost"
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="subcommand", required=True)
        init = sub.add_parser("init", help="create the root CA and this node's issuing CA")
        init.add_argument("--root-key-out", type=Path, help="write the root key here (offline)")
        init.add_argument("--passphrase-file", help="passphrase for the offline root key")
        init.add_argument("--root-cert", type=Path, help="an existing (national) root: its cert")
        init.add_argument("--root-key", type=Path, help="…and its key, used once to sign")
        issue = sub.add_parser("issue-units", help="issue keys for units that lack them")
        issue.add_argument("--all", action="store_true", required=True)
        issue.add_argument("--batch-size", type=int, default=200)
        one = sub.add_parser("issue-unit", help="issue (or rotate) one unit's keys")
        one.add_argument("--unit", required=True)
        person = sub.add_parser("issue-person", help="issue a personal signing certificate")
        person.add_argument("username")
        export = sub.add_parser("export", help="write cert.pem, chain.pem and crl.pem")
        export.add_argument("--unit", required=True)
        export.add_argument("--out", required=True, type=Path)
        revoke = sub.add_parser("revoke", help="revoke a unit's current certificates")
        revoke.add_argument("--unit", required=True)
        revoke.add_argument("--reason", required=True, choices=RevocationReason.values)
        root_crl = sub.add_parser("root-crl", help="re-sign the root CRL with the offline key")
        root_crl.add_argument("--root-key", required=True, type=Path)
        root_crl.add_argument("--passphrase-file")
        sub.add_parser("publish-crl", help="publish a fresh CRL of the issuing CA now")
        register = sub.add_parser("token-register", help="add a crypto token to the inventory")
        register.add_argument("serial")
        register.add_argument("--label", default="")
        give = sub.add_parser("token-issue", help="issue a token to a unit (and person)")
        give.add_argument("serial")
        give.add_argument("--unit", required=True)
        give.add_argument("--person")
        lost = sub.add_parser("token-lost", help="report a token lost: revokes its keys at once")
        lost.add_argument("serial")
        out = sub.add_parser("export-authorities", help="write this node's CAs and CRLs (JSON)")
        out.add_argument("--out", required=True, type=Path)
        into = sub.add_parser(
            "import-authorities", help="trust another node's CAs (under our root) and CRLs"
        )
        into.add_argument("file", type=Path)
        into.add_argument("--node", required=True, help="the node they come from")
        crl = sub.add_parser("crl", help="write the issuing CA's current CRL (PEM)")
        crl.add_argument("--out", required=True, type=Path)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            getattr(self, "_" + options["subcommand"].replace("-", "_"))(options)
        except TiendonError as exc:
            raise CommandError(f"{exc.message} [{exc.code}]") from exc

    def _init(self, options: dict[str, Any]) -> None:
        national = None
        if options["root_cert"] or options["root_key"]:
            if not (options["root_cert"] and options["root_key"]):
                raise CommandError("--root-cert and --root-key go together")
            national = (
                actions.load_certificate_file(options["root_cert"]),
                actions.load_offline_root_key(options["root_key"], _passphrase(options) or b""),
            )
        result = actions.do_init_pki(
            root_key_out=options["root_key_out"],
            passphrase=_passphrase(options),
            national_root=national,
        )
        self.stdout.write(f"root CA:    {result.root.fingerprint}")
        self.stdout.write(f"issuing CA: {result.issuing.fingerprint}")
        if result.root_key_file:
            self.stdout.write(f"root key written to {result.root_key_file}: keep it offline")
        elif national is not None:
            self.stdout.write("issuing CA signed by the existing root; its key was not stored")
        else:
            self.stdout.write("root key kept in the software keystore (demo set-up)")

    def _issue_units(self, options: dict[str, Any]) -> None:
        lacking = actions.units_lacking_keys().count()
        with tqdm(total=lacking, unit="unit", file=sys.stderr, disable=lacking == 0) as bar:
            done = actions.issue_missing_unit_keys(
                batch_size=options["batch_size"], on_batch=bar.update
            )
        self.stdout.write(f"issued keys and certificates for {done} units")

    def _issue_unit(self, options: dict[str, Any]) -> None:
        unit = self._unit(options["unit"])
        certs = actions.do_issue_unit_keys(unit)
        self.stdout.write(f"issued {len(certs)} certificates for {unit.code}")

    def _issue_person(self, options: dict[str, Any]) -> None:
        person = Person.objects.select_related("unit").filter(username=options["username"]).first()
        if person is None:
            raise CommandError(f"no person with username {options['username']!r}")
        cert = actions.do_issue_person_key(person)
        self.stdout.write(f"issued personal certificate {cert.serial} for {person.full_name}")

    def _unit(self, code: str) -> Unit:
        unit = Unit.objects.filter(code=code).first()
        if unit is None:
            raise CommandError(f"no unit with code {code!r}")
        return unit

    def _export(self, options: dict[str, Any]) -> None:
        unit = self._unit(options["unit"])
        cert = current_for_unit(unit).filter(purpose=CertPurpose.UNIT_SIGNING).first()
        if cert is None:
            raise CommandError(f"unit {unit.code} has no current signing certificate")
        chain: list[bytes] = []
        authority: CertificateAuthority | None = cert.issuer
        while authority is not None:
            chain.append(_pem(bytes(authority.certificate_der)))
            authority = authority.parent
        out: Path = options["out"]
        try:
            out.mkdir(parents=True, exist_ok=True)
            (out / "cert.pem").write_bytes(_pem(bytes(cert.certificate_der)))
            (out / "chain.pem").write_bytes(b"".join(chain))
            crl = x509.load_der_x509_crl(bytes(ensure_fresh_crl(cert.issuer).crl_der))
            (out / "crl.pem").write_bytes(crl.public_bytes(serialization.Encoding.PEM))
        except OSError as exc:
            raise CommandError(f"cannot write to {out}: {exc.strerror}") from exc
        self.stdout.write(f"wrote cert.pem, chain.pem and crl.pem for {unit.code} to {out}")

    def _revoke(self, options: dict[str, Any]) -> None:
        unit = self._unit(options["unit"])
        revoked = actions.do_revoke_unit(unit, reason=options["reason"])
        for cert in revoked:
            self.stdout.write(f"revoked {cert.purpose} certificate {cert.serial}")
        self.stdout.write("a new CRL is published")

    def _root_crl(self, options: dict[str, Any]) -> None:
        passphrase = _passphrase(options)
        key = actions.load_offline_root_key(options["root_key"], passphrase or b"")
        crl = actions.do_publish_root_crl(key)
        self.stdout.write(f"root CRL number {crl.number} published")

    def _publish_crl(self, options: dict[str, Any]) -> None:
        crl = actions.do_publish_crl(current_issuer().authority)
        self.stdout.write(f"CRL number {crl.number} published")

    def _crl(self, options: dict[str, Any]) -> None:
        crl = x509.load_der_x509_crl(bytes(ensure_fresh_crl(current_issuer().authority).crl_der))
        try:
            options["out"].write_bytes(crl.public_bytes(serialization.Encoding.PEM))
        except OSError as exc:
            raise CommandError(f"cannot write {options['out']}: {exc.strerror}") from exc
        number = crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number
        self.stdout.write(f"wrote CRL number {number} to {options['out']}")

    def _token(self, serial: str) -> Token:
        token = Token.objects.select_related("unit", "person").filter(serial=serial).first()
        if token is None:
            raise CommandError(f"no token with serial {serial!r} in the inventory")
        return token

    def _token_register(self, options: dict[str, Any]) -> None:
        token = do_register_token(options["serial"], label=options["label"])
        self.stdout.write(f"token {token.serial} registered (in stock)")

    def _token_issue(self, options: dict[str, Any]) -> None:
        unit = self._unit(options["unit"])
        person = None
        if options["person"]:
            person = Person.objects.filter(username=options["person"]).first()
            if person is None:
                raise CommandError(f"no person with username {options['person']!r}")
        token = do_issue_token(self._token(options["serial"]), unit=unit, person=person)
        self.stdout.write(f"token {token.serial} issued to {unit.code}")

    def _token_lost(self, options: dict[str, Any]) -> None:
        token = do_report_token_lost(self._token(options["serial"]))
        self.stdout.write(f"token {token.serial} reported lost; its certificates are revoked")

    def _export_authorities(self, options: dict[str, Any]) -> None:
        document = authorities_document()
        try:
            options["out"].write_text(json.dumps(document))
        except OSError as exc:
            raise CommandError(f"cannot write {options['out']}: {exc.strerror}") from exc
        self.stdout.write(f"wrote {len(document['authorities'])} CAs to {options['out']}")

    def _import_authorities(self, options: dict[str, Any]) -> None:
        try:
            document = json.loads(options["file"].read_text())
            entries = [
                (
                    base64.b64decode(e["certificate"]),
                    base64.b64decode(e["crl"]) if e.get("crl") else None,
                )
                for e in document["authorities"]
            ]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise CommandError(f"{options['file']} is not an authorities file: {exc}") from exc
        result = actions.do_import_authorities(entries, via=options["node"])
        self.stdout.write(f"{len(result.added)} CAs added, {result.crls} newer CRLs")
