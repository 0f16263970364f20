"""The survey spreadsheet: the template and export (XLSX), and reading a filled-in one.

Written in the reader's language (Vietnamese by default): headers with diacritics, link
kinds and blocking reasons by their labels. Reading accepts the headers and values in
Vietnamese, in English, or as the codes of earlier templates (`commune_code`,
`civil_line`), so every file ever handed out still imports.

Reading reuses the people import's file handling (`units.importers_people.read_rows`:
XLSX or UTF-8 CSV whatever the name says, a size limit, one clear error for anything
else). Every row is checked and every problem reported with row, column and reason
code; nothing is stored unless all rows are valid, or the person asked to apply only
the valid ones.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import IO, Any

from django.http import HttpRequest
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from tiendon.errors import TiendonError
from tiendon.readiness.actions import SurveyValues, do_apply_surveys, survey_problems
from tiendon.readiness.models import BlockingReason, CommuneReadiness, LinkKind
from tiendon.readiness.queries import communes_under
from tiendon.units.importers_people import PeopleFileError, Problem, normalise, read_rows
from tiendon.units.models import Person, Unit, UnitKind

COLUMNS = (
    "commune_code",
    "commune_name",
    "link_kind",
    "bandwidth_kbps",
    "provider",
    "computers",
    "computer_serials",
    "trained_operators",
    "operator_names",
    "planned_go_live",
    "actual_go_live",
    "blocking_reasons",
    "notes",
)
SURVEY_COLUMNS = COLUMNS[2:]  # a row with all of these empty is not a survey: skipped
# The header of each column as people read it (the codes are accepted too).
HEADERS: dict[str, Promise] = {
    "commune_code": gettext_lazy("Commune board code"),
    "commune_name": gettext_lazy("Commune board"),
    "link_kind": gettext_lazy("Link"),
    "bandwidth_kbps": gettext_lazy("Bandwidth (kbit/s)"),
    "provider": gettext_lazy("Provider"),
    "computers": gettext_lazy("Military computers"),
    "computer_serials": gettext_lazy("Computer serial numbers"),
    "trained_operators": gettext_lazy("Trained operators"),
    "operator_names": gettext_lazy("Trained operators' names"),
    "planned_go_live": gettext_lazy("Planned go-live"),
    "actual_go_live": gettext_lazy("Actual go-live"),
    "blocking_reasons": gettext_lazy("Blocking reasons"),
    "notes": gettext_lazy("Notes"),
}
LIST_SEPARATOR = ";"
DATE_FORMAT = "%d/%m/%Y"
MAX_ROWS = 20_000


class SurveyFileError(TiendonError):
    """The file as a whole is not a survey: not a spreadsheet, wrong template, too large."""

    code = "bad_file"


class SurveyImportRejected(TiendonError):
    """At least one row is wrong and the person did not ask to apply the valid rows only."""

    code = "import_rejected"

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(_("%(count)s problems, nothing imported") % {"count": len(problems)})
        self.problems = problems


@dataclass
class ImportResult:
    applied: int
    skipped_rows: list[int] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


# ---------------------------------------------------------------- cells


def _words(choices: Iterable[tuple[str, Any]]) -> dict[str, str]:
    """Code → code and label (both languages' labels are accepted) → code, case-folded."""
    from django.utils import translation

    words: dict[str, str] = {}
    for code, label in choices:
        words[code.casefold()] = code
        for language in ("vi", "en"):
            with translation.override(language):
                words[normalise(str(label)).casefold()] = code
    return words


def _int(text: str) -> int | None:
    if text == "":
        return None
    try:
        return int(text.replace(" ", ""))
    except ValueError:
        return None


def _date(raw: Any) -> tuple[dt.date | None, bool]:
    """The date and whether the cell was acceptable (empty is acceptable)."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None, True
    if isinstance(raw, dt.datetime):
        return raw.date(), True
    if isinstance(raw, dt.date):
        return raw, True
    try:
        return dt.datetime.strptime(normalise(raw), DATE_FORMAT).date(), True
    except ValueError:
        return None, False


def _list(text: str) -> list[str]:
    return [item.strip() for item in text.split(LIST_SEPARATOR) if item.strip()]


def _columns(header: list[Any]) -> tuple[dict[str, int], dict[str, str]]:
    """Where each column is, and its header as the file writes it (for the problems)."""
    words = _words((code, HEADERS[code]) for code in COLUMNS)
    cells = [normalise(cell) for cell in header]
    while cells and not cells[-1]:
        cells.pop()
    names = [words.get(cell.casefold(), cell.casefold()) for cell in cells]
    missing = [str(HEADERS[name]) for name in COLUMNS if name not in names]
    unknown = sorted(
        {c for c, n in zip(cells, names, strict=True) if n not in COLUMNS or names.count(n) > 1}
    )
    if missing or unknown:
        raise SurveyFileError(
            _(
                "This is not the readiness survey template: the first row must name the "
                "columns %(expected)s (missing: %(missing)s; unknown or repeated: "
                "%(unknown)s). Download the template and fill it in."
            )
            % {
                "expected": ", ".join(str(HEADERS[name]) for name in COLUMNS),
                "missing": ", ".join(missing) or "-",
                "unknown": ", ".join(unknown) or "-",
            },
            code="wrong_template",
        )
    return {name: names.index(name) for name in COLUMNS}, {
        name: cells[names.index(name)] for name in COLUMNS
    }


# ---------------------------------------------------------------- checking rows


def check_rows(
    rows: Iterable[list[Any]], actor: Person
) -> tuple[list[tuple[int, Unit, SurveyValues]], list[Problem]]:
    """Every valid row (row number, commune, values) and every problem of the others."""
    iterator = iter(rows)
    header = next(iterator, None)
    if header is None:
        raise SurveyFileError(_("The file is empty."))
    columns, shown = _columns(header)
    records: list[tuple[int, dict[str, Any]]] = []
    for number, cells in enumerate(iterator, start=2):
        raw = {name: cells[i] if i < len(cells) else None for name, i in columns.items()}
        if not any(normalise(raw[name]) for name in SURVEY_COLUMNS):
            continue
        if len(records) >= MAX_ROWS:
            raise SurveyFileError(
                _("The file has more than %(max)s rows; split it.") % {"max": MAX_ROWS}
            )
        records.append((number, raw))
    if not records:
        raise SurveyFileError(_("The file has a header but no survey rows."))

    codes = {normalise(raw["commune_code"]) for _n, raw in records}
    units = {u.code: u for u in Unit.objects.filter(code__in=codes)}
    link_words = _words(LinkKind.choices)
    reason_words = _words(BlockingReason.choices)
    scope = actor.unit.path
    first_row_of: dict[str, int] = {}
    valid: list[tuple[int, Unit, SurveyValues]] = []
    problems: list[Problem] = []
    for number, raw in records:
        found: list[Problem] = []

        def problem(column: str, reason: str, code: str, n: int = number) -> None:
            # The column named as the file's header names it.
            found.append(Problem(n, shown.get(column, column), reason, code))  # noqa: B023

        text = {name: normalise(raw[name]) for name in COLUMNS}
        code = text["commune_code"]
        unit = units.get(code)
        if not code:
            problem("commune_code", _("the commune code is empty"), "required")
        elif unit is None:
            problem("commune_code", _("no unit has the code %s") % code, "unknown_unit")
        elif unit.kind != UnitKind.COMMUNE_BOARD:
            problem("commune_code", _("%s is not a commune board") % code, "not_commune")
        elif not unit.path.startswith(scope):
            problem("commune_code", _("unit %s is outside your scope") % code, "out_of_scope")
        elif code in first_row_of:
            problem(
                "commune_code",
                _("%(code)s already appears in row %(row)s")
                % {"code": code, "row": first_row_of[code]},
                "duplicate_in_file",
            )
        if code and code not in first_row_of:
            first_row_of[code] = number

        link = link_words.get(text["link_kind"].casefold() or LinkKind.NONE)
        if link is None:
            problem(
                "link_kind",
                _("%(word)s is not a link kind (%(kinds)s)")
                % {"word": text["link_kind"], "kinds": "; ".join(map(str, LinkKind.labels))},
                "bad_link_kind",
            )
        numbers: dict[str, int | None] = {}
        for name in ("bandwidth_kbps", "computers", "trained_operators"):
            number_value = _int(text[name])
            if text[name] and number_value is None:
                problem(name, _("%s is not a whole number") % text[name], "not_a_number")
            elif number_value is not None and number_value < 0:
                problem(name, _("must not be negative"), "negative")
            numbers[name] = number_value
        dates: dict[str, dt.date | None] = {}
        for name in ("planned_go_live", "actual_go_live"):
            date_value, ok = _date(raw[name])
            if not ok:
                problem(
                    name,
                    _("%s is not a date in the form dd/mm/yyyy") % text[name],
                    "bad_date",
                )
            dates[name] = date_value
        reasons: list[str] = []
        for word in _list(text["blocking_reasons"]):
            reason = reason_words.get(word.casefold())
            if reason is None:
                problem(
                    "blocking_reasons",
                    _("%(word)s is not a blocking reason (%(codes)s)")
                    % {"word": word, "codes": "; ".join(map(str, BlockingReason.labels))},
                    "bad_reason",
                )
            else:
                reasons.append(reason)
        survey = SurveyValues(
            link_kind=link or LinkKind.NONE,
            bandwidth_kbps=numbers["bandwidth_kbps"],
            provider=text["provider"],
            computers=numbers["computers"] or 0,
            computer_serials=_list(text["computer_serials"]),
            trained_operators=numbers["trained_operators"] or 0,
            operator_names=_list(text["operator_names"]),
            planned_go_live=dates["planned_go_live"],
            actual_go_live=dates["actual_go_live"],
            blocking_reasons=reasons,
            notes=text["notes"],
        )
        if not found:
            for name, reason, reason_code in survey_problems(survey):
                problem(name, reason, reason_code)
        if found or unit is None:
            problems.extend(found)
            continue
        valid.append((number, unit, survey))
    return valid, problems


def import_surveys(
    stream: IO[bytes],
    *,
    actor: Person,
    source: str,
    size: int | None = None,
    apply_valid_only: bool = False,
    request: HttpRequest | None = None,
) -> ImportResult:
    """Check the whole file; store it, or only its valid rows if asked, or nothing.

    Raises SurveyFileError for a file that is not a survey, and SurveyImportRejected
    (with every problem) when a row is wrong and `apply_valid_only` is not set.
    """
    try:
        rows = read_rows(stream, size)
        valid, problems = check_rows(rows, actor)
    except PeopleFileError as exc:
        raise SurveyFileError(exc.message) from exc
    except csv.Error as exc:  # the CSV reader gives up on stray carriage returns and the like
        raise SurveyFileError(
            _("The file is neither an XLSX spreadsheet nor a UTF-8 CSV file.")
        ) from exc
    if problems and not apply_valid_only:
        raise SurveyImportRejected(problems)
    applied = 0
    if valid:
        applied = do_apply_surveys(
            [(unit, values) for _n, unit, values in valid],
            actor=actor,
            source=source,
            request=request,
        )
    return ImportResult(
        applied=applied,
        skipped_rows=sorted({p.row for p in problems}),
        problems=problems,
    )


# ---------------------------------------------------------------- writing


def _row(unit: Unit, survey: CommuneReadiness | None) -> list[Any]:
    if survey is None:
        return [unit.code, unit.name, *([None] * len(SURVEY_COLUMNS))]
    return [
        unit.code,
        unit.name,
        survey.get_link_kind_display(),
        survey.bandwidth_kbps,
        survey.provider,
        survey.computers,
        LIST_SEPARATOR.join(survey.serial_list()),
        survey.trained_operators,
        LIST_SEPARATOR.join(survey.operator_list()),
        survey.planned_go_live.strftime(DATE_FORMAT) if survey.planned_go_live else None,
        survey.actual_go_live.strftime(DATE_FORMAT) if survey.actual_go_live else None,
        f"{LIST_SEPARATOR} ".join(survey.reason_labels()),
        survey.notes,
    ]


def workbook_bytes(unit: Unit, *, filled: bool) -> bytes:
    """The communes under `unit` as a survey sheet: blank (the template) or as stored."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook(write_only=False)
    sheet = book.active
    assert sheet is not None
    sheet.title = _("Survey")
    sheet.append([str(HEADERS[name]) for name in COLUMNS])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    communes = communes_under(unit).order_by("parent__code", "code")
    surveys = (
        {s.unit_id: s for s in CommuneReadiness.objects.filter(unit__path__startswith=unit.path)}
        if filled
        else {}
    )
    for commune in communes:
        sheet.append(_row(commune, surveys.get(commune.pk)))
    sheet.freeze_panes = "C2"
    for index, name in enumerate(COLUMNS):
        letter = chr(ord("A") + index)
        sheet.column_dimensions[letter].width = max(14, len(str(HEADERS[name])) + 2)
    sheet.column_dimensions["B"].width = 40

    help_sheet = book.create_sheet(_("Help"))
    help_sheet.append([_("Column"), _("What to enter")])
    lines = [
        ("commune_code", _("Code of the commune board (do not change)")),
        ("commune_name", _("Name, for reading only (ignored on import)")),
        ("link_kind", f"{LIST_SEPARATOR} ".join(map(str, LinkKind.labels))),
        ("bandwidth_kbps", _("Whole number, kbit/s")),
        ("computers", _("Number of military computers (0 or more)")),
        ("computer_serials", _("Serial numbers separated by ';'")),
        ("trained_operators", _("Number of trained operators (0 or more)")),
        ("operator_names", _("Names separated by ';'")),
        ("planned_go_live", _("Date dd/mm/yyyy")),
        ("actual_go_live", _("Date dd/mm/yyyy")),
        ("blocking_reasons", f"{LIST_SEPARATOR} ".join(map(str, BlockingReason.labels))),
        ("notes", _("Free text")),
    ]
    for name, text in lines:
        help_sheet.append([str(HEADERS[name]), str(text)])
    help_sheet.column_dimensions["A"].width = 34
    help_sheet.column_dimensions["B"].width = 100
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
