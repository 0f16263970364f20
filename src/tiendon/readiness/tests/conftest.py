"""Fixtures of the readiness tests: surveyed communes in two provinces, one with its unit
certificate on a real (SoftHSM2) token, so every state appears."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pytest

from tiendon.pki.tests.softhsm import softhsm_token  # noqa: F401


@dataclass
class Surveyed:
    tree: Any
    hac_thanh: Any  # a third commune of Thanh Hóa: in progress
    cua_lo: Any  # a second commune of Nghệ An: blocked


def _commune(code: str, name: str, short: str, parent: Any) -> Any:
    from tiendon.units.actions import do_create_unit
    from tiendon.units.models import CommuneType, UnitKind

    return do_create_unit(
        code=code,
        name=name,
        short_name=short,
        kind=UnitKind.COMMUNE_BOARD,
        commune_type=CommuneType.PHUONG,
        parent=parent,
        abbreviation="BCHQS",
    )


@pytest.fixture
def surveyed(tree: Any, softhsm_token: Any) -> Surveyed:  # noqa: F811
    """Nation: 4 communes. Thanh Hóa: Đông Tiến ready, Hạc Thành in progress.
    Nghệ An: Trường Vinh and Cửa Lò blocked."""
    from tiendon.pki.actions import do_init_pki, do_issue_unit_keys
    from tiendon.pki.actions_tokens import do_issue_token, do_register_token
    from tiendon.pki.keystore_pkcs11 import Pkcs11Keystore
    from tiendon.readiness.actions import SurveyValues, do_update_survey
    from tiendon.readiness.models import BlockingReason, LinkKind

    hac_thanh = _commune(
        "15900", "Ban Chỉ huy Quân sự phường Hạc Thành", "Phường Hạc Thành", tree.province
    )
    cua_lo = _commune(
        "16701", "Ban Chỉ huy Quân sự phường Cửa Lò", "Phường Cửa Lò", tree.other_province
    )
    do_init_pki()
    token = do_register_token(softhsm_token.serial, label=softhsm_token.label)
    do_issue_token(token, unit=tree.commune_a)
    do_issue_unit_keys(
        tree.commune_a,
        signing_keystore=Pkcs11Keystore.from_settings(token=token),
        token=token,
    )
    admin = tree.ministry_admin
    do_update_survey(
        tree.commune_a,
        SurveyValues(
            link_kind=LinkKind.MILITARY_NETWORK,
            bandwidth_kbps=2048,
            provider="Binh chủng Thông tin liên lạc",
            computers=2,
            computer_serials=["MTQS-01", "MTQS-02"],
            trained_operators=1,
            operator_names=["Phạm Thị Ánh"],
            planned_go_live=dt.date(2026, 3, 1),
            actual_go_live=dt.date(2026, 3, 5),
        ),
        actor=admin,
    )
    do_update_survey(
        hac_thanh,
        SurveyValues(link_kind=LinkKind.CIVIL_LINE, bandwidth_kbps=512, provider="VNPT"),
        actor=admin,
    )
    do_update_survey(
        tree.commune_b,
        SurveyValues(blocking_reasons=[BlockingReason.NO_LINK, BlockingReason.NO_BUDGET]),
        actor=admin,
    )
    do_update_survey(
        cua_lo,
        SurveyValues(
            link_kind=LinkKind.CIVIL_LINE,
            bandwidth_kbps=256,
            computers=1,
            blocking_reasons=[BlockingReason.POWER_SUPPLY],
        ),
        actor=admin,
    )
    return Surveyed(tree=tree, hac_thanh=hac_thanh, cua_lo=cua_lo)
