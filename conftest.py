"""Shared test fixtures: a small unit tree built through the real actions, and browser setup."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import settings as hypothesis_settings

# CI runs the property-based tests on a fixed sequence of examples (a random find there would
# stop a whole submission); developers' runs keep exploring new ones.
hypothesis_settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    hypothesis_settings.load_profile("ci")

PASSWORD = "Mat-khau-thu-nghiem-2026"
PRODUCTION_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]


@dataclass
class Tree:
    """Ministry → region → province → two communes, with people in each."""

    ministry: Any
    region: Any
    province: Any
    other_province: Any
    commune_a: Any
    commune_b: Any
    ministry_admin: Any
    ministry_clerk: Any
    province_commander: Any
    clerk_a: Any
    commander_a: Any
    clerk_b: Any


@pytest.fixture
def tree(db: Any) -> Tree:
    from tiendon.units.actions import do_create_person, do_create_unit
    from tiendon.units.models import Clearance, CommuneType, Role, UnitKind

    ministry = do_create_unit(
        code="BQP", name="Bộ Quốc phòng", kind=UnitKind.MINISTRY, parent=None, abbreviation="BQP"
    )
    region = do_create_unit(
        code="QK4",
        name="Quân khu 4",
        kind=UnitKind.MILITARY_REGION,
        parent=ministry,
        abbreviation="QK4",
    )
    province = do_create_unit(
        code="38",
        name="Bộ Chỉ huy Quân sự tỉnh Thanh Hóa",
        short_name="Thanh Hóa",
        kind=UnitKind.PROVINCIAL_COMMAND,
        parent=region,
        abbreviation="BCHQS",
    )
    other_province = do_create_unit(
        code="40",
        name="Bộ Chỉ huy Quân sự tỉnh Nghệ An",
        short_name="Nghệ An",
        kind=UnitKind.PROVINCIAL_COMMAND,
        parent=region,
        abbreviation="BCHQS",
    )
    commune_a = do_create_unit(
        code="15853",
        name="Ban Chỉ huy Quân sự phường Đông Tiến",
        short_name="Phường Đông Tiến",
        kind=UnitKind.COMMUNE_BOARD,
        commune_type=CommuneType.PHUONG,
        parent=province,
        abbreviation="BCHQS",
    )
    commune_b = do_create_unit(
        code="16690",
        name="Ban Chỉ huy Quân sự phường Trường Vinh",
        short_name="Phường Trường Vinh",
        kind=UnitKind.COMMUNE_BOARD,
        commune_type=CommuneType.PHUONG,
        parent=other_province,
        abbreviation="BCHQS",
    )

    def person(username: str, name: str, unit: Any, role: str, **extra: Any) -> Any:
        return do_create_person(
            username=username, full_name=name, unit=unit, role=role, password=PASSWORD, **extra
        )

    return Tree(
        ministry=ministry,
        region=region,
        province=province,
        other_province=other_province,
        commune_a=commune_a,
        commune_b=commune_b,
        ministry_admin=person(
            "qt.bqp", "Nguyễn Văn Quản", ministry, Role.ADMIN, clearance=Clearance.TOI_MAT
        ),
        ministry_clerk=person("vt.bqp", "Trần Thị Thư", ministry, Role.CLERK),
        province_commander=person(
            "ch.thanhhoa",
            "Lê Văn Chỉ",
            province,
            Role.COMMANDER,
            rank="Đại tá",
            position="Chỉ huy trưởng",
            clearance=Clearance.MAT,
        ),
        clerk_a=person("vt.dongtien", "Phạm Thị Ánh", commune_a, Role.CLERK),
        commander_a=person(
            "ch.dongtien",
            "Hoàng Văn Đức",
            commune_a,
            Role.COMMANDER,
            rank="Thiếu tá",
            position="Chỉ huy trưởng",
        ),
        clerk_b=person("vt.truongvinh", "Đỗ Thị Bình", commune_b, Role.CLERK),
    )


@pytest.fixture
def pki(db: Any) -> Any:
    """The node's root and issuing CAs (root key in the software keystore, as in the demo)."""
    from tiendon.pki.actions import do_init_pki

    return do_init_pki()


@pytest.fixture(autouse=True)
def fast_hashing(settings: Any) -> None:
    """Argon2 is slow by design; tests use MD5 unless they are about hashing
    (those restore `PRODUCTION_HASHERS`)."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def log_in_with_totp(client: Any, person: Any) -> Any:
    """Enrol `person` in TOTP and log the test client in with password and code."""
    from django.test import RequestFactory
    from django.urls import reverse

    from tiendon.units import auth
    from tiendon.units.actions_auth import do_confirm_totp

    secret = auth.new_totp_secret()
    step = auth.current_step()
    request = RequestFactory().get("/")
    do_confirm_totp(person, secret, auth.code_for_step(secret, step), request=request)
    client.post(reverse("login"), {"username": person.username, "password": PASSWORD})
    client.post(reverse("login_verify"), {"code": auth.code_for_step(secret, step + 1)})
    return client


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    """Drive Debian's Chromium; Playwright's own browser download cannot work here."""
    return {
        **browser_type_launch_args,
        "executable_path": os.environ.get("TIENDON_CHROMIUM", "/usr/bin/chromium"),
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--no-first-run",
            "--disable-sync",
            "--disable-quic",
        ],
    }


def pytest_collection_modifyitems(config: Any, items: list[Any]) -> None:
    """Browser tests run last, whichever app they are in: pytest-playwright keeps an event
    loop running in the main thread for the rest of the session, and any later test that
    signs a PDF (pyHanko runs its validation through `async_to_sync`) would then fail."""
    items.sort(key=lambda item: item.get_closest_marker("browser") is not None)
