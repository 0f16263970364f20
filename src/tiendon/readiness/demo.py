"""Plausible, deterministic survey data for every commune board (`tiendon seed-demo`).

The same database gets the same data on every run: a fixed seed over the communes in
code order. Communes that already have a survey are left alone. Certificates and tokens
are not invented here: they come from PKI as they are.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

from django.utils.translation import gettext as _

from tiendon.readiness.actions import SurveyValues, do_apply_surveys, do_take_snapshot
from tiendon.readiness.models import BlockingReason, CommuneReadiness, LinkKind
from tiendon.units.models import Unit, UnitKind

SEED = 20260
FAMILY = ("Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Đặng", "Bùi", "Đỗ", "Hồ", "Lò", "Hà")
MIDDLE = ("Văn", "Thị", "Đức", "Minh", "Thu", "Quốc", "Hữu", "Ngọc")
GIVEN = (
    *("An", "Bình", "Cường", "Dũng", "Hà", "Hải", "Hạnh", "Hùng", "Lan", "Long", "Mai"),
    *("Nam", "Nga", "Phúc", "Quang", "Sơn", "Tâm", "Thắng", "Trang", "Tuấn", "Yến"),
)
PROVIDERS = {
    LinkKind.CIVIL_LINE: ("VNPT", "Viettel", "FPT Telecom"),
    LinkKind.MILITARY_NETWORK: ("Binh chủng Thông tin liên lạc",),
    LinkKind.PRIVATE_5G: ("Viettel", "MobiFone"),
}
BANDWIDTHS = {
    LinkKind.CIVIL_LINE: (256, 512, 2048, 10240),
    LinkKind.MILITARY_NETWORK: (2048, 10240, 20480),
    LinkKind.PRIVATE_5G: (51200, 102400),
}
PLANNED_FROM = dt.date(2026, 1, 15)
LIVE_BEFORE = dt.date(2026, 10, 31)


def _name(rng: random.Random) -> str:
    return f"{rng.choice(FAMILY)} {rng.choice(MIDDLE)} {rng.choice(GIVEN)}"


def _values(rng: random.Random, code: str) -> SurveyValues:
    roll = rng.random()
    planned = PLANNED_FROM + dt.timedelta(days=rng.randrange(0, 330))
    if roll < 0.55:  # equipped
        link = rng.choice([LinkKind.CIVIL_LINE, LinkKind.MILITARY_NETWORK, LinkKind.PRIVATE_5G])
        computers = rng.randint(1, 3)
        trained = rng.randint(1, 3)
        live = planned if planned < LIVE_BEFORE and rng.random() < 0.6 else None
        reasons: list[str] = []
    elif roll < 0.80:  # partly equipped, nothing blocking yet
        link = rng.choice([LinkKind.NONE, LinkKind.CIVIL_LINE, LinkKind.CIVIL_LINE])
        computers = rng.randint(0, 1)
        trained = rng.randint(0, 2)
        live = None
        reasons = []
    else:  # blocked
        link = rng.choice([LinkKind.NONE, LinkKind.NONE, LinkKind.CIVIL_LINE])
        computers = rng.choice([0, 0, 1])
        trained = rng.choice([0, 1])
        live = None
        pool = [BlockingReason.NO_BUDGET, BlockingReason.POWER_SUPPLY, BlockingReason.PREMISES]
        if link == LinkKind.NONE:
            pool.append(BlockingReason.NO_LINK)
        if computers == 0:
            pool.append(BlockingReason.NO_COMPUTER)
        if trained == 0:
            pool.append(BlockingReason.NO_TRAINED_STAFF)
        reasons = sorted(set(rng.sample(pool, k=min(len(pool), rng.randint(1, 2)))))
    return SurveyValues(
        link_kind=link,
        bandwidth_kbps=rng.choice(BANDWIDTHS[link]) if link != LinkKind.NONE else None,
        provider=rng.choice(PROVIDERS[link]) if link != LinkKind.NONE else "",
        computers=computers,
        computer_serials=[f"MTQS-{code}-{i + 1:02d}" for i in range(computers)],
        trained_operators=trained,
        operator_names=[_name(rng) for _ in range(trained)],
        planned_go_live=planned,
        actual_go_live=live,
        blocking_reasons=reasons,
        notes="",
    )


def seed_demo_surveys() -> int:
    """Survey every commune board that has none yet; returns how many were added."""
    rng = random.Random(SEED)  # noqa: S311  (demo data, not secrets)
    communes = list(Unit.objects.filter(kind=UnitKind.COMMUNE_BOARD).order_by("code"))
    surveyed = set(CommuneReadiness.objects.values_list("unit_id", flat=True))
    rows = []
    for unit in communes:
        values = _values(rng, unit.code)  # drawn for every commune, so the data stays stable
        if unit.pk not in surveyed:
            rows.append((unit, values))
    if not rows:
        return 0
    return do_apply_surveys(rows, actor=None, source="seed-demo")


def seed_demo_readiness(stdout: Any) -> None:
    """`seed-demo`'s readiness step: the surveys, then today's snapshot for the trend."""
    added = seed_demo_surveys()
    stdout.write(_("Commune readiness surveys added: %(n)d") % {"n": added})
    do_take_snapshot()
