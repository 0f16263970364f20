"""`tiendon seed-demo`: the real unit hierarchy plus demo accounts, their logins printed.

Safe to run again: units are seeded idempotently and existing accounts are kept as they are.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction
from django.utils.translation import gettext as _

from tiendon.pki.actions import do_init_pki, do_issue_person_key, issue_missing_unit_keys
from tiendon.pki.models import CertificateAuthority
from tiendon.units.actions import do_create_person
from tiendon.units.models import Clearance, Person, Role, Unit
from tiendon.units.seed import seed_units

DEMO_PASSWORD = "TienDon-demo-2026"  # noqa: S105  (printed for the demo; never a real account)


@dataclass(frozen=True)
class DemoAccount:
    username: str
    full_name: str
    unit_code: str
    role: str
    rank: str
    position: str
    clearance: int = Clearance.NONE


DEMO_ACCOUNTS = [
    DemoAccount(
        "quantri.bqp",
        "Nguyễn Quốc Trị",
        "BQP",
        Role.ADMIN,
        "Trung tá",
        "Trợ lý công nghệ thông tin",
        Clearance.TOI_MAT,
    ),
    DemoAccount(
        "vanthu.bqp",
        "Trần Thị Hồng Nhung",
        "BQP",
        Role.CLERK,
        "Thiếu tá",
        "Văn thư Văn phòng Bộ Quốc phòng",
        Clearance.TOI_MAT,
    ),
    DemoAccount(
        "chihuy.bqp",
        "Lê Đức Thắng",
        "BQP",
        Role.COMMANDER,
        "Thượng tướng",
        "Thứ trưởng",
        Clearance.TUYET_MAT,
    ),
    DemoAccount(
        "vanthu.thanhhoa",
        "Phạm Thị Thu Hà",
        "38",
        Role.CLERK,
        "Đại úy",
        "Văn thư Bộ Chỉ huy",
        Clearance.MAT,
    ),
    DemoAccount(
        "chihuy.thanhhoa",
        "Hoàng Văn Dũng",
        "38",
        Role.COMMANDER,
        "Đại tá",
        "Chỉ huy trưởng",
        Clearance.TOI_MAT,
    ),
    DemoAccount(
        "vanthu.muonglat", "Lò Thị Ánh", "14845", Role.CLERK, "", "Văn thư Ban Chỉ huy Quân sự xã"
    ),
    DemoAccount(
        "chihuy.muonglat",
        "Hà Văn Đức",
        "14845",
        Role.COMMANDER,
        "Thiếu tá",
        "Chỉ huy trưởng Ban Chỉ huy Quân sự xã",
        Clearance.MAT,
    ),
    DemoAccount(
        "canbo.muonglat", "Vi Văn Thắng", "14845", Role.STAFF, "Trung úy", "Trợ lý quân sự xã"
    ),
]


class Command(BaseCommand):
    help = "Seed the unit hierarchy and the demo accounts (prints their logins)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--accounts-only", action="store_true", help="only print the demo accounts"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not options["accounts_only"]:
            seed_units(stdout=self.stdout)
            created = self._create_accounts()
            self.stdout.write(_("Demo accounts created: %(n)d") % {"n": created})
            self._seed_pki()
            self._seed_readiness()
            self._seed_documents()
        self._print_accounts()

    @transaction.atomic
    def _create_accounts(self) -> int:
        created = 0
        units = Unit.objects.in_bulk([a.unit_code for a in DEMO_ACCOUNTS], field_name="code")
        existing = set(
            Person.objects.filter(username__in=[a.username for a in DEMO_ACCOUNTS]).values_list(
                "username", flat=True
            )
        )
        for account in DEMO_ACCOUNTS:
            if account.username in existing:
                continue
            do_create_person(
                username=account.username,
                full_name=account.full_name,
                unit=units[account.unit_code],
                role=account.role,
                rank=account.rank,
                position=account.position,
                clearance=account.clearance,
                password=DEMO_PASSWORD,
                check_password=False,
            )
            created += 1
        return created

    def _seed_pki(self) -> None:
        """The node's CAs (root key kept on the node: demo only) and every unit's keys."""
        if not CertificateAuthority.objects.exists():
            do_init_pki()
        issued = issue_missing_unit_keys()
        self.stdout.write(_("Units given keys and certificates: %(n)d") % {"n": issued})
        signers = Person.objects.filter(role=Role.COMMANDER, certificates__isnull=True)
        for person in signers.select_related("unit"):
            do_issue_person_key(person)

    def _seed_readiness(self) -> None:
        """Plausible survey data for every commune board, and today's snapshot."""
        from tiendon.readiness.demo import seed_demo_readiness

        seed_demo_readiness(self.stdout)

    def _seed_documents(self) -> None:
        """Signed documents from the ministry through Thanh Hóa to communes, in several states."""
        from tiendon.documents.demo import seed_demo_documents

        seed_demo_documents(self.stdout.write)

    def _print_accounts(self) -> None:
        units = Unit.objects.in_bulk([a.unit_code for a in DEMO_ACCOUNTS], field_name="code")
        self.stdout.write("")
        self.stdout.write(
            _("Demo accounts (password for all: %(password)s):") % {"password": DEMO_PASSWORD}
        )
        for account in DEMO_ACCOUNTS:
            unit = units.get(account.unit_code)
            role = Role(account.role).label
            self.stdout.write(f"  {account.username:<18} {role:<32} {unit.name if unit else '?'}")
        self.stdout.write(
            _(
                "  (the administrator enrols a TOTP second factor at first login: any "
                "authenticator app, or `oathtool --totp -b SECRET`)"
            )
        )
