"""Importing units above the provinces (regions, ministry agencies, regional defence commands)
from a CSV file.

Every row is checked before anything is written; one bad row refuses the whole file, and
each problem names its row and column. Rows are numbered as a spreadsheet shows them: the
header is row 1, the first unit row 2.
"""

from __future__ import annotations

import csv
import io
import unicodedata
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from tiendon.errors import InvalidInput, TiendonError
from tiendon.units.actions import do_create_unit
from tiendon.units.models import Person, Unit, UnitKind, code_validator, org_id_validator

COLUMNS = ("code", "name", "kind", "parent_code", "abbreviation", "org_id", "place_name")
REQUIRED_COLUMNS = ("code", "name", "kind", "parent_code")
# Headers accepted in Vietnamese too (lower case, NFC) for the columns that have them.
HEADER_ALIASES = {"địa danh": "place_name"}
# These come from the official list (`seed-units`), never from a hand-made file.
_NOT_IMPORTABLE = {UnitKind.COMMUNE_BOARD, UnitKind.PROVINCIAL_COMMAND}
_MAX_LENGTH = {"code": 32, "name": 200, "abbreviation": 32, "place_name": 100}


class UnitImportRefused(TiendonError):
    """The file was refused as a whole; `problems` lists every reason, by row and column."""

    code = "import_refused"

    def __init__(self, problems: list[InvalidInput]) -> None:
        super().__init__(_("the file was refused: %(n)d problem(s)") % {"n": len(problems)})
        self.problems = problems

    def lines(self) -> list[str]:
        return [describe(problem) for problem in self.problems]


def describe(problem: InvalidInput) -> str:
    """'row 4, column parent_code: no unit has the code QK8 [missing_parent]'."""
    if problem.row is None:
        return f"{problem.message} [{problem.code}]"
    return _("row %(row)d, column %(column)s: %(reason)s [%(code)s]") % {
        "row": problem.row,
        "column": problem.field,
        "reason": problem.message,
        "code": problem.code,
    }


@dataclass
class UnitRow:
    row: int
    code: str
    name: str
    kind: str
    parent_code: str
    abbreviation: str
    org_id: str
    place_name: str = ""  # empty: the default of `units.places`


@dataclass
class ImportPlan:
    """What applying the file would do: rows to create, and rows already present as they are."""

    to_create: list[UnitRow] = field(default_factory=list)
    unchanged: list[UnitRow] = field(default_factory=list)


def _clean(value: str | None) -> str:
    return unicodedata.normalize("NFC", (value or "").strip())


def read_rows(data: bytes) -> list[UnitRow]:
    """Decode and parse the file; a file that is not a CSV of units is refused in one message."""
    if b"\x00" in data[:4096]:
        raise UnitImportRefused(
            [
                InvalidInput(
                    _(
                        "this is not a CSV file (it looks like a binary file, e.g. a spreadsheet "
                        "or a PDF); save it as 'CSV UTF-8' and try again"
                    ),
                    code="not_csv",
                )
            ]
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise UnitImportRefused(
            [
                InvalidInput(
                    _(
                        "the file is not UTF-8 text; save it as 'CSV UTF-8' so Vietnamese letters "
                        "survive, and try again"
                    ),
                    code="bad_encoding",
                )
            ]
        ) from None
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
        if header is None or not any(cell.strip() for cell in header):
            raise UnitImportRefused(
                [
                    InvalidInput(
                        _("the file is empty; the first line must be the header: %(columns)s")
                        % {"columns": ",".join(COLUMNS)},
                        code="empty_file",
                    )
                ]
            )
        names = [_clean(cell).lower() for cell in header]
        names = [HEADER_ALIASES.get(name, name) for name in names]
        missing = [c for c in REQUIRED_COLUMNS if c not in names]
        unknown = [c for c in names if c not in COLUMNS]
        if missing or unknown or len(set(names)) != len(names):
            raise UnitImportRefused(
                [
                    InvalidInput(
                        _("the first line must be the header %(columns)s (found: %(found)s)")
                        % {"columns": ",".join(COLUMNS), "found": ",".join(header)},
                        code="bad_header",
                    )
                ]
            )
        rows: list[UnitRow] = []
        for cells in reader:
            if not any(cell.strip() for cell in cells):
                continue
            values = dict(zip(names, cells, strict=False))
            rows.append(
                UnitRow(
                    row=reader.line_num,
                    code=_clean(values.get("code")),
                    name=_clean(values.get("name")),
                    kind=_clean(values.get("kind")).lower(),
                    parent_code=_clean(values.get("parent_code")),
                    abbreviation=_clean(values.get("abbreviation")),
                    org_id=_clean(values.get("org_id")),
                    place_name=_clean(values.get("place_name")),
                )
            )
    except csv.Error as exc:
        raise UnitImportRefused(
            [
                InvalidInput(
                    _("this is not a readable CSV file: %(error)s") % {"error": str(exc)},
                    code="not_csv",
                )
            ]
        ) from None
    if not rows:
        raise UnitImportRefused(
            [InvalidInput(_("the file has a header but no units"), code="empty_file")]
        )
    return rows


def _validator_message(exc: ValidationError) -> str:
    return " ".join(str(m) for m in exc.messages)


def plan_import(rows: list[UnitRow]) -> ImportPlan:
    """Check every row against the others and the database; refuse with all problems at once."""
    problems: list[InvalidInput] = []

    def problem(row: UnitRow, column: str, message: str, code: str) -> None:
        problems.append(InvalidInput(message, code=code, field=column, row=row.row))

    codes = {r.code for r in rows if r.code} | {r.parent_code for r in rows if r.parent_code}
    existing = {u.code: u for u in Unit.objects.filter(code__in=codes).select_related("parent")}
    org_ids = {r.org_id for r in rows if r.org_id}
    org_id_owner = dict(Unit.objects.filter(org_id__in=org_ids).values_list("org_id", "code"))
    importable = [k.value for k in UnitKind if k not in _NOT_IMPORTABLE]
    seen_code: dict[str, int] = {}
    seen_org_id: dict[str, int] = {}
    kind_in_file: dict[str, str] = {}
    plan = ImportPlan()

    for row in rows:
        before = len(problems)
        # code
        if not row.code:
            problem(row, "code", _("the code is empty"), "required")
        else:
            try:
                code_validator(row.code)
            except ValidationError as exc:
                problem(row, "code", _validator_message(exc), "invalid_unit_code")
            if row.code in seen_code:
                problem(
                    row,
                    "code",
                    _("the code %(code)s is already used in row %(other)d of this file")
                    % {"code": row.code, "other": seen_code[row.code]},
                    "duplicate_code",
                )
            else:
                seen_code[row.code] = row.row
        # name
        if not row.name:
            problem(row, "name", _("the name is empty"), "required")
        elif len(row.name) > _MAX_LENGTH["name"]:
            problem(
                row,
                "name",
                _("the name is longer than %(n)d characters") % {"n": _MAX_LENGTH["name"]},
                "too_long",
            )
        # kind
        if row.kind in {k.value for k in _NOT_IMPORTABLE}:
            problem(
                row,
                "kind",
                _(
                    "%(kind)s units come from the official list (run seed-units), "
                    "not from this import"
                )
                % {"kind": row.kind},
                "kind_not_allowed",
            )
        elif row.kind not in importable:
            problem(
                row,
                "kind",
                _("unknown kind %(kind)r; use one of: %(kinds)s")
                % {"kind": row.kind, "kinds": ", ".join(importable)},
                "unknown_kind",
            )
        # parent
        if row.kind == UnitKind.MINISTRY:
            if row.parent_code:
                problem(row, "parent_code", _("a ministry has no parent unit"), "invalid_parent")
        elif not row.parent_code:
            problem(row, "parent_code", _("the parent unit is missing"), "missing_parent")
        elif row.parent_code == row.code:
            problem(row, "parent_code", _("a unit cannot be its own parent"), "invalid_parent")
        else:
            parent_kind = kind_in_file.get(row.parent_code)
            if parent_kind is None and row.parent_code in existing:
                parent_kind = existing[row.parent_code].kind
            if parent_kind is None:
                later = next((r.row for r in rows if r.code == row.parent_code), None)
                if later is not None:
                    problem(
                        row,
                        "parent_code",
                        _(
                            "the parent %(code)s comes later, in row %(other)d; "
                            "put parents before their children"
                        )
                        % {"code": row.parent_code, "other": later},
                        "parent_order",
                    )
                else:
                    problem(
                        row,
                        "parent_code",
                        _(
                            "no unit has the code %(code)s, neither in the database nor "
                            "in an earlier row"
                        )
                        % {"code": row.parent_code},
                        "missing_parent",
                    )
            elif parent_kind == UnitKind.COMMUNE_BOARD:
                problem(
                    row,
                    "parent_code",
                    _("%(code)s is a commune board, which has no units below it")
                    % {"code": row.parent_code},
                    "invalid_parent",
                )
        # abbreviation
        if len(row.abbreviation) > _MAX_LENGTH["abbreviation"]:
            problem(
                row,
                "abbreviation",
                _("the abbreviation is longer than %(n)d characters")
                % {"n": _MAX_LENGTH["abbreviation"]},
                "too_long",
            )
        if len(row.place_name) > _MAX_LENGTH["place_name"]:
            problem(
                row,
                "place_name",
                _("the place name is longer than %(n)d characters")
                % {"n": _MAX_LENGTH["place_name"]},
                "too_long",
            )
        # org_id
        if row.org_id:
            try:
                org_id_validator(row.org_id)
            except ValidationError as exc:
                problem(row, "org_id", _validator_message(exc), "invalid_org_id")
            if row.org_id in seen_org_id:
                problem(
                    row,
                    "org_id",
                    _("the identifier %(org_id)s is already used in row %(other)d")
                    % {"org_id": row.org_id, "other": seen_org_id[row.org_id]},
                    "duplicate_org_id",
                )
            else:
                seen_org_id[row.org_id] = row.row
            owner = org_id_owner.get(row.org_id)
            if owner is not None and owner != row.code:
                problem(
                    row,
                    "org_id",
                    _("the identifier %(org_id)s already belongs to unit %(code)s")
                    % {"org_id": row.org_id, "code": owner},
                    "duplicate_org_id",
                )
        # against the database
        current = existing.get(row.code)
        if len(problems) == before and current is not None:
            differences = _differences(current, row)
            if differences:
                problem(
                    row,
                    differences[0],
                    _("unit %(code)s already exists with different data (%(fields)s)")
                    % {"code": row.code, "fields": ", ".join(differences)},
                    "conflict",
                )
            else:
                plan.unchanged.append(row)
        elif len(problems) == before:
            plan.to_create.append(row)
        if row.code and row.kind:
            kind_in_file.setdefault(row.code, row.kind)

    if problems:
        raise UnitImportRefused(problems)
    return plan


def _differences(unit: Unit, row: UnitRow) -> list[str]:
    """Columns whose value in the file differs from the unit already stored."""
    stored = {
        "name": unit.name,
        "kind": unit.kind,
        "parent_code": unit.parent.code if unit.parent else "",
        "abbreviation": unit.abbreviation,
        "org_id": unit.org_id,
    }
    if row.place_name:  # a file without places leaves the stored ones alone
        stored["place_name"] = unit.place_name
    return [column for column, value in stored.items() if getattr(row, column) != value]


@transaction.atomic
def apply_import(plan: ImportPlan, *, actor: Person | None = None) -> list[Unit]:
    """Create the planned units through `do_create_unit` (one audit record each)."""
    created: dict[str, Unit] = {}
    parents = {r.parent_code for r in plan.to_create if r.parent_code}
    known = {u.code: u for u in Unit.objects.filter(code__in=parents)}
    for row in plan.to_create:
        parent = created.get(row.parent_code) or known.get(row.parent_code)
        try:
            unit = do_create_unit(
                code=row.code,
                name=row.name,
                kind=row.kind,
                parent=parent,
                abbreviation=row.abbreviation,
                org_id=row.org_id,
                place_name=row.place_name,
                actor=actor,
            )
        except InvalidInput as exc:
            # Checked above; this only fires on a race with another writer.
            exc.row = row.row
            raise UnitImportRefused([exc]) from exc
        created[row.code] = unit
    return list(created.values())


def import_units(data: bytes, *, dry_run: bool = False, actor: Person | None = None) -> ImportPlan:
    """Read, check and (unless `dry_run`) apply a CSV of units; all or nothing."""
    plan = plan_import(read_rows(data))
    if not dry_run:
        apply_import(plan, actor=actor)
    return plan
