"""Seeding the official hierarchy: ministry, military regions, 34 provincial-level commands
and the 3,321 commune boards (Ban Chỉ huy Quân sự cấp xã).

Provinces and communes come from the `vietnamadminunits` dataset; the units above them
from `units/data/` (see its README for sources). A run is idempotent: it creates what is
missing, updates what changed (audited) and leaves the rest alone, all in one transaction.
"""

from __future__ import annotations

import csv
import importlib.resources
import io
import sqlite3
import unicodedata
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import CharField, F, Value
from django.db.models.functions import Cast, Concat
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from tiendon.audit.actions import AuditEntry, do_record_batch
from tiendon.errors import TiendonError
from tiendon.units.actions import do_move_unit, unit_snapshot
from tiendon.units.models import CommuneType, Unit, UnitKind
from tiendon.units.places import default_place_name

MINISTRY_CODE = "BQP"
PROVINCE_ABBREVIATION = "BCHQS"
COMMUNE_ABBREVIATION = "BCHQS"

# The dataset's words for the three kinds of commune-level unit.
_COMMUNE_TYPES = {
    "Xã": CommuneType.XA,
    "Phường": CommuneType.PHUONG,
    "Đặc khu": CommuneType.DAC_KHU,
}
# Fields the seed owns and keeps in step with its sources.
_SYNCED_FIELDS = ("name", "short_name", "abbreviation", "latitude", "longitude")
# Filled when empty, never overwritten: an administrator may have corrected it.
_FILLED_FIELDS = ("place_name",)


class Writer(Protocol):
    """Where the summary goes: a file, sys.stdout, or a management command's `self.stdout`."""

    def write(self, text: str, /) -> Any: ...


class SeedError(TiendonError):
    """The sources or the database contradict each other; nothing was changed."""

    code = "seed_error"


def nfc(text: str) -> str:
    """Strip and NFC-normalise, so 'ồ' is one code point whatever the source used."""
    return unicodedata.normalize("NFC", text.strip())


@dataclass(frozen=True)
class UnitSpec:
    """A unit as the sources describe it, before it meets the database."""

    code: str
    name: str
    kind: str
    parent_code: str | None
    abbreviation: str
    short_name: str = ""
    commune_type: str = ""
    place_name: str = ""
    latitude: float | None = None
    longitude: float | None = None


@dataclass(frozen=True)
class ProvinceAssignment:
    """Which unit a province's command reports to, and how sure we are (see data/README.md)."""

    province_code: str
    parent_code: str
    name: str
    abbreviation: str
    basis: str
    source: str


@dataclass
class SeedReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    moved: int = 0
    by_kind: Counter[str] = field(default_factory=Counter)
    by_commune_type: Counter[str] = field(default_factory=Counter)
    # Provinces whose region no source confirms: attached directly under the ministry.
    unconfirmed: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated or self.moved)

    def lines(self) -> list[str]:
        kinds, types = self.by_kind, self.by_commune_type
        boards = kinds[UnitKind.COMMUNE_BOARD]
        lines = [
            _("Units seeded: %(created)d created, %(updated)d updated, %(unchanged)d unchanged.")
            % {
                "created": self.created,
                "updated": self.updated + self.moved,
                "unchanged": self.unchanged,
            },
            "  "
            + ngettext("%(n)d ministry", "%(n)d ministries", kinds[UnitKind.MINISTRY])
            % {"n": kinds[UnitKind.MINISTRY]},
            "  "
            + ngettext(
                "%(n)d military region", "%(n)d military regions", kinds[UnitKind.MILITARY_REGION]
            )
            % {"n": kinds[UnitKind.MILITARY_REGION]},
            "  "
            + ngettext(
                "%(n)d provincial-level command",
                "%(n)d provincial-level commands",
                kinds[UnitKind.PROVINCIAL_COMMAND],
            )
            % {"n": kinds[UnitKind.PROVINCIAL_COMMAND]},
            "  "
            + ngettext(
                "%(n)d commune board (%(xa)d xã, %(phuong)d phường, %(dac_khu)d đặc khu)",
                "%(n)d commune boards (%(xa)d xã, %(phuong)d phường, %(dac_khu)d đặc khu)",
                boards,
            )
            % {
                "n": boards,
                "xa": types[CommuneType.XA],
                "phuong": types[CommuneType.PHUONG],
                "dac_khu": types[CommuneType.DAC_KHU],
            },
        ]
        if self.unconfirmed:
            lines.append(
                _("Region not confirmed, attached directly under the ministry: %(provinces)s")
                % {"provinces": ", ".join(self.unconfirmed)}
            )
        return lines


# ---------------------------------------------------------------- reading the sources


def _read_data_csv(name: str) -> list[dict[str, str]]:
    text = importlib.resources.files("tiendon.units.data").joinpath(name).read_text("utf-8")
    return [
        {key: nfc(value or "") for key, value in row.items()}
        for row in csv.DictReader(io.StringIO(text))
    ]


def read_higher_units() -> list[UnitSpec]:
    """The ministry and the military regions, parents first."""
    return [
        UnitSpec(
            code=row["code"],
            name=row["name"],
            kind=row["kind"],
            parent_code=row["parent_code"] or None,
            abbreviation=row["abbreviation"],
            place_name=row["place_name"],
        )
        for row in _read_data_csv("higher_units.csv")
    ]


def read_province_assignments() -> dict[str, ProvinceAssignment]:
    rows = _read_data_csv("provincial_commands.csv")
    return {
        row["province_code"]: ProvinceAssignment(
            province_code=row["province_code"],
            parent_code=row["parent_code"],
            name=row["name"],
            abbreviation=row["abbreviation"] or PROVINCE_ABBREVIATION,
            basis=row["basis"],
            source=row["source"],
        )
        for row in rows
    }


@dataclass(frozen=True)
class AdminUnitRow:
    """One row of the dataset's `admin_units` table: a commune-level unit and its province."""

    province: str
    province_short: str
    province_code: str
    province_lat: float | None
    province_lon: float | None
    ward: str
    ward_type: str
    ward_code: str
    ward_lat: float | None
    ward_lon: float | None


def read_admin_units() -> list[AdminUnitRow]:
    """The 3,321 commune-level units after the 2025 reorganisation, with their provinces."""
    resource = importlib.resources.files("vietnamadminunits").joinpath("data/dataset.db")
    with importlib.resources.as_file(resource) as path:
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            rows = connection.execute(
                "SELECT province, provinceShort, provinceCode, provinceLat, provinceLon,"
                " ward, wardType, wardCode, wardLat, wardLon"
                " FROM admin_units ORDER BY provinceCode, wardCode"
            ).fetchall()
        finally:
            connection.close()
    return [
        AdminUnitRow(
            province=nfc(r[0]),
            province_short=nfc(r[1]),
            province_code=nfc(r[2]),
            province_lat=r[3],
            province_lon=r[4],
            ward=nfc(r[5]),
            ward_type=nfc(r[6]),
            ward_code=nfc(r[7]),
            ward_lat=r[8],
            ward_lon=r[9],
        )
        for r in rows
    ]


def _split_type(full_name: str, types: Iterable[str]) -> tuple[str, str]:
    """'Thành phố Huế' → ('Thành phố', 'Huế'); the longest matching type wins."""
    for kind in sorted(types, key=len, reverse=True):
        if full_name.startswith(kind + " "):
            return kind, full_name[len(kind) + 1 :]
    raise SeedError(f"cannot tell the type of the administrative unit {full_name!r}")


def _lower_first(word: str) -> str:
    """'Thành phố' → 'thành phố', for the middle of a unit name."""
    return word[:1].lower() + word[1:]


def build_specs() -> list[UnitSpec]:
    """Every unit the seed owns, parents before children."""
    higher = read_higher_units()
    higher_codes = {spec.code for spec in higher}
    assignments = read_province_assignments()
    admin_units = read_admin_units()

    specs = list(higher)
    provinces: dict[str, AdminUnitRow] = {}
    for row in admin_units:
        provinces.setdefault(row.province_code, row)
    for code, row in provinces.items():
        assignment = assignments.get(code)
        if assignment is None:
            raise SeedError(
                f"province {code} ({row.province}) is missing from "
                "units/data/provincial_commands.csv"
            )
        parent = assignment.parent_code
        if assignment.basis == "not_confirmed":
            parent = MINISTRY_CODE
        if parent not in higher_codes:
            raise SeedError(f"province {code}: parent {parent} is not in higher_units.csv")
        kind_word, _short = _split_type(row.province, ["Tỉnh", "Thành phố"])
        name = assignment.name or (
            f"Bộ Chỉ huy Quân sự {_lower_first(kind_word)} {row.province_short}"
        )
        specs.append(
            UnitSpec(
                code=code,
                name=name,
                kind=UnitKind.PROVINCIAL_COMMAND,
                parent_code=parent,
                abbreviation=assignment.abbreviation,
                short_name=row.province_short,
                place_name=default_place_name(
                    UnitKind.PROVINCIAL_COMMAND,
                    code=code,
                    name=name,
                    short_name=row.province_short,
                ),
                latitude=row.province_lat,
                longitude=row.province_lon,
            )
        )
    unknown = set(assignments) - set(provinces)
    if unknown:
        raise SeedError(f"provincial_commands.csv names unknown provinces: {sorted(unknown)}")

    for row in admin_units:
        # The full name decides the type: the dataset's wardType contradicts it in four rows
        # (see data/README.md), and "Ban Chỉ huy Quân sự xã …" must be a xã.
        type_word, short = _split_type(row.ward, _COMMUNE_TYPES)
        name = f"Ban Chỉ huy Quân sự {_lower_first(type_word)} {short}"
        specs.append(
            UnitSpec(
                code=row.ward_code,
                name=name,
                kind=UnitKind.COMMUNE_BOARD,
                commune_type=_COMMUNE_TYPES[type_word],
                parent_code=row.province_code,
                abbreviation=COMMUNE_ABBREVIATION,
                short_name=row.ward,
                place_name=default_place_name(
                    UnitKind.COMMUNE_BOARD, code=row.ward_code, name=name, short_name=row.ward
                ),
                latitude=row.ward_lat,
                longitude=row.ward_lon,
            )
        )
    return specs


def unconfirmed_provinces() -> list[str]:
    return sorted(
        code for code, a in read_province_assignments().items() if a.basis == "not_confirmed"
    )


# ---------------------------------------------------------------- writing to the database


def _check(unit: Unit) -> None:
    """Field validators only: uniqueness is the seed's own business and costs a query per row."""
    try:
        unit.clean_fields(exclude=["parent", "path", "depth"])
    except ValidationError as exc:
        field_name, messages = next(iter(exc.message_dict.items()))
        raise SeedError(f"unit {unit.code}, {field_name}: {' '.join(messages)}") from exc


def _fill_paths(parents: list[Unit]) -> None:
    """Give the units just created under these parents their path and depth.

    One UPDATE per parent ("/1/7/" + id + "/"), instead of one per unit.
    """
    for parent in parents:
        Unit.objects.filter(parent=parent, path="").update(
            path=Concat(Value(parent.path), Cast(F("pk"), CharField()), Value("/")),
            depth=parent.depth + 1,
        )


@transaction.atomic
def seed_units(stdout: Writer | None = None) -> SeedReport:
    """Create or bring up to date the official hierarchy; return what was done.

    `seed-demo` calls this too. With `stdout`, the summary is written there.
    """
    specs = build_specs()
    report = SeedReport()
    report.unconfirmed = unconfirmed_provinces()
    existing: dict[str, Unit] = {u.code: u for u in Unit.objects.select_for_update()}
    by_id = {u.pk: u for u in existing.values()}
    for known in existing.values():
        if known.parent_id is not None:
            known.parent = by_id[known.parent_id]  # cached: no query per unit below
    entries: list[AuditEntry] = []
    moves: list[tuple[Unit, str]] = []
    by_level: dict[int, list[Unit]] = {}
    level_of: dict[str, int] = {}

    for spec in specs:
        report.by_kind[spec.kind] += 1
        if spec.commune_type:
            report.by_commune_type[spec.commune_type] += 1
        level = 0 if spec.parent_code is None else level_of[spec.parent_code] + 1
        level_of[spec.code] = level
        parent = existing.get(spec.parent_code) if spec.parent_code else None
        unit = existing.get(spec.code)
        if unit is None:
            unit = Unit(
                code=spec.code,
                name=spec.name,
                short_name=spec.short_name,
                kind=spec.kind,
                commune_type=spec.commune_type,
                parent=parent,
                abbreviation=spec.abbreviation,
                place_name=spec.place_name,
                latitude=spec.latitude,
                longitude=spec.longitude,
            )
            _check(unit)
            existing[spec.code] = unit
            by_level.setdefault(level, []).append(unit)
            continue
        if unit.kind != spec.kind or unit.commune_type != spec.commune_type:
            raise SeedError(
                f"unit {spec.code} exists as {unit.kind}/{unit.commune_type or '-'}, "
                f"but the official list makes it {spec.kind}/{spec.commune_type or '-'}"
            )
        changed = [f for f in _SYNCED_FIELDS if getattr(unit, f) != getattr(spec, f)]
        changed += [f for f in _FILLED_FIELDS if not getattr(unit, f) and getattr(spec, f)]
        if changed:
            old = unit_snapshot(unit)
            for name in changed:
                setattr(unit, name, getattr(spec, name))
            _check(unit)
            unit.save(update_fields=changed)
            entries.append(
                AuditEntry(
                    action="unit.updated", unit=unit, obj=unit, old=old, new=unit_snapshot(unit)
                )
            )
            report.updated += 1
        if (unit.parent.code if unit.parent else None) != spec.parent_code:
            if spec.parent_code is None:
                raise SeedError(
                    f"unit {spec.code} is the root of the official list, "
                    "but has a parent in the database"
                )
            moves.append((unit, spec.parent_code))
        elif not changed:
            report.unchanged += 1

    # Parents first: each level is one INSERT (ids come back) and a few path UPDATEs.
    for level in sorted(by_level):
        created = by_level[level]
        for unit in created:
            unit.fill_search_name()  # bulk_create does not call save()
        # Children hold their parent objects, which have ids by now (an earlier level).
        Unit.objects.bulk_create(created, batch_size=500)
        roots = [u for u in created if u.parent is None]
        for unit in roots:
            unit.path, unit.depth = f"/{unit.pk}/", 0
            unit.save(update_fields=["path", "depth"])
        _fill_paths(list({u.parent.pk: u.parent for u in created if u.parent}.values()))
        for unit in created:
            if unit.parent is not None:
                unit.path = f"{unit.parent.path}{unit.pk}/"
                unit.depth = unit.parent.depth + 1
        entries.extend(
            AuditEntry(action="unit.created", unit=u, obj=u, new=unit_snapshot(u)) for u in created
        )
        report.created += len(created)

    if entries:
        do_record_batch(entries)
    # A changed region assignment re-attaches the command with its whole subtree (audited).
    for unit, parent_code in moves:
        # Fetched afresh: an earlier move may have changed the new parent's path.
        do_move_unit(unit, Unit.objects.get(code=parent_code), actor=None)
        report.moved += 1
    if report.changed:
        do_record_batch(
            [
                AuditEntry(
                    action="units.seeded",
                    object_type="units.seed",
                    new=_summary(report),
                )
            ]
        )
    if stdout is not None:
        for line in report.lines():
            stdout.write(line + "\n")
    return report


def _summary(report: SeedReport) -> dict[str, Any]:
    return {
        "created": report.created,
        "updated": report.updated,
        "moved": report.moved,
        "unchanged": report.unchanged,
        "by_kind": dict(report.by_kind),
        "by_commune_type": dict(report.by_commune_type),
        "source": "vietnamadminunits + tiendon/units/data",
    }
