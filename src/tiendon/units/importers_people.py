"""Reading a people list (CSV or XLSX) and creating its accounts, all or nothing.

The file is read whole, every row is checked against the database in bulk (one query
for the units, one for the usernames already taken), and only a file without a single
problem is imported. The slow part of creating accounts is password hashing: imported
accounts get one-time passwords hashed cheaply and must choose a real password (hashed
with Argon2) at first login; see `tiendon.units.auth.OneTimePasswordHasher`.
"""

from __future__ import annotations

import csv
import io
import unicodedata
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import IO, Any

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils.translation import gettext as _

from tiendon.errors import TiendonError
from tiendon.units.actions_auth import IssuedPassword, do_import_people
from tiendon.units.models import Clearance, Person, Role, Unit, username_validator

MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_ROWS = 100_000
LOOKUP_CHUNK = 5000

REQUIRED_COLUMNS = ("unit_code", "username", "full_name", "rank", "position", "role", "clearance")
OPTIONAL_COLUMNS = ("password",)
MAX_LENGTHS = {"full_name": 200, "rank": 64, "position": 200}

ROLE_WORDS = {
    "clerk": Role.CLERK,
    "văn thư": Role.CLERK,
    "commander": Role.COMMANDER,
    "chỉ huy": Role.COMMANDER,
    "staff": Role.STAFF,
    "cán bộ": Role.STAFF,
    "admin": Role.ADMIN,
    "quản trị": Role.ADMIN,
}
CLEARANCE_WORDS = {
    "0": Clearance.NONE,
    "none": Clearance.NONE,
    "không": Clearance.NONE,
    "1": Clearance.MAT,
    "mật": Clearance.MAT,
    "2": Clearance.TOI_MAT,
    "tối mật": Clearance.TOI_MAT,
    "3": Clearance.TUYET_MAT,
    "tuyệt mật": Clearance.TUYET_MAT,
}


class PeopleFileError(TiendonError):
    """The file as a whole cannot be read: not a spreadsheet, wrong header, too large."""

    code = "bad_file"


@dataclass(frozen=True)
class Problem:
    row: int  # as the spreadsheet numbers it: the header is row 1
    column: str
    reason: str
    code: str

    def __str__(self) -> str:
        return _("row %(row)s, column %(column)s: %(reason)s [%(code)s]") % {
            "row": self.row,
            "column": self.column,
            "reason": self.reason,
            "code": self.code,
        }


class PeopleImportRejected(TiendonError):
    """At least one row is wrong; nothing was stored."""

    code = "import_rejected"

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(_("%(count)s problems, nothing imported") % {"count": len(problems)})
        self.problems = problems


@dataclass(frozen=True)
class PersonRow:
    """One valid row, ready for `do_import_people`."""

    row: int
    unit: Unit
    username: str
    full_name: str
    rank: str
    position: str
    role: str
    clearance: int
    password: str


def normalise(value: Any) -> str:
    """A cell as NFC text without surrounding or repeated spaces ("1.0" from XLSX → "1")."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return " ".join(unicodedata.normalize("NFC", str(value)).split())


# ---------------------------------------------------------------- reading the file


def _csv_rows(data: bytes) -> Iterator[list[Any]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise PeopleFileError(
            _("The file is neither an XLSX spreadsheet nor a UTF-8 CSV file.")
        ) from exc
    if "\x00" in text:
        raise PeopleFileError(_("The file is neither an XLSX spreadsheet nor a UTF-8 CSV file."))
    try:
        dialect: Any = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text, newline=""), dialect)  # \r, \n or \r\n ends a row
    try:
        yield from reader
    except csv.Error as exc:
        raise PeopleFileError(
            _("Row %(row)d of the CSV file cannot be read: %(reason)s")
            % {"row": reader.line_num, "reason": exc}
        ) from exc


def _xlsx_rows(data: bytes) -> Iterator[list[Any]]:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise PeopleFileError(_("The XLSX file is damaged and cannot be read.")) from exc
    try:
        sheet = workbook.worksheets[0]
        for values in sheet.iter_rows(values_only=True):
            yield list(values)
    finally:
        workbook.close()


def read_rows(stream: IO[bytes], size: int | None = None) -> Iterator[list[Any]]:
    """The rows of a CSV or XLSX file, whatever its name says; one clear error otherwise."""
    if size is not None and size > MAX_FILE_BYTES:
        raise PeopleFileError(_file_too_large())
    data = stream.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise PeopleFileError(_file_too_large())
    if not data.strip():
        raise PeopleFileError(_("The file is empty."))
    if data[:4] == b"PK\x03\x04":
        return _xlsx_rows(data)
    if data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        raise PeopleFileError(_("Old .xls files are not supported: save the list as XLSX or CSV."))
    return _csv_rows(data)


def _file_too_large() -> str:
    return _("The file is larger than %(size)s MB; split the list into several files.") % {
        "size": MAX_FILE_BYTES // (1024 * 1024)
    }


def _columns(header: list[Any]) -> dict[str, int]:
    names = [normalise(cell).casefold() for cell in header]
    while names and not names[-1]:
        names.pop()
    expected = ", ".join((*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS))
    missing = [name for name in REQUIRED_COLUMNS if name not in names]
    unknown = [name for name in names if name not in (*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS)]
    duplicated = {name for name in names if names.count(name) > 1}
    if missing or unknown or duplicated:
        raise PeopleFileError(
            _(
                "The first row must name the columns %(expected)s "
                "(missing: %(missing)s; unknown or repeated: %(unknown)s)."
            )
            % {
                "expected": expected,
                "missing": ", ".join(missing) or "-",
                "unknown": ", ".join(sorted({*unknown, *duplicated})) or "-",
            }
        )
    return {name: index for index, name in enumerate(names)}


# ---------------------------------------------------------------- checking the rows


def _chunks(values: list[str]) -> Iterator[list[str]]:
    for start in range(0, len(values), LOOKUP_CHUNK):
        yield values[start : start + LOOKUP_CHUNK]


def check_rows(rows: Iterable[list[Any]], actor: Person) -> tuple[list[PersonRow], list[Problem]]:
    """Every row as a PersonRow, and every problem found (all of them, not just the first)."""
    iterator = iter(rows)
    header = next(iterator, None)
    if header is None:
        raise PeopleFileError(_("The file is empty."))
    columns = _columns(header)
    records: list[tuple[int, dict[str, str]]] = []
    for number, values in enumerate(iterator, start=2):
        record = {
            name: normalise(values[index]) if index < len(values) else ""
            for name, index in columns.items()
        }
        if not any(record.values()):
            continue
        if len(records) >= MAX_ROWS:
            raise PeopleFileError(
                _("The file has more than %(max)s people; split it.") % {"max": MAX_ROWS}
            )
        # Passwords keep their exact characters; everything else is normalised text.
        if "password" in columns and columns["password"] < len(values):
            raw = values[columns["password"]]
            record["password"] = "" if raw is None else str(raw).strip()
        records.append((number, record))
    if not records:
        raise PeopleFileError(_("The file has a header but no people."))

    codes = sorted({record["unit_code"] for _, record in records if record["unit_code"]})
    units: dict[str, Unit] = {}
    for chunk in _chunks(codes):
        units.update((unit.code, unit) for unit in Unit.objects.filter(code__in=chunk))
    usernames = sorted({record["username"].lower() for _, record in records})
    taken: set[str] = set()
    for chunk in _chunks(usernames):
        taken.update(Person.objects.filter(username__in=chunk).values_list("username", flat=True))

    problems: list[Problem] = []
    valid: list[PersonRow] = []
    first_row_of: dict[str, int] = {}
    scope = actor.unit.path
    for number, record in records:
        found: list[Problem] = []

        def problem(
            column: str, reason: str, code: str, number: int = number, found: list[Problem] = found
        ) -> None:
            found.append(Problem(number, column, reason, code))

        unit = units.get(record["unit_code"])
        if not record["unit_code"]:
            problem("unit_code", _("the unit code is empty"), "required")
        elif unit is None:
            problem("unit_code", _("no unit has the code %s") % record["unit_code"], "unknown_unit")
        elif not unit.path.startswith(scope):
            problem(
                "unit_code",
                _("unit %s is outside your scope") % record["unit_code"],
                "out_of_scope",
            )

        username = record["username"].lower()
        if not username:
            problem("username", _("the username is empty"), "required")
        else:
            try:
                username_validator(username)
            except ValidationError:
                problem(
                    "username",
                    _("use 3-64 lower-case letters, digits, '.', '_' or '-'"),
                    "invalid_username",
                )
            if username in first_row_of:
                problem(
                    "username",
                    _("%(username)s already appears in row %(row)s")
                    % {"username": username, "row": first_row_of[username]},
                    "duplicate_in_file",
                )
            else:
                first_row_of[username] = number
            if username in taken:
                problem("username", _("%s already exists") % username, "duplicate_username")

        if not record["full_name"]:
            problem("full_name", _("the full name is empty"), "required")
        for column, limit in MAX_LENGTHS.items():
            if len(record[column]) > limit:
                problem(column, _("longer than %s characters") % limit, "too_long")

        role = ROLE_WORDS.get(record["role"].casefold())
        if role is None:
            problem(
                "role",
                _("%s is not a role (clerk, commander, staff, admin)") % (record["role"] or '""'),
                "bad_role",
            )
        clearance = CLEARANCE_WORDS.get(record["clearance"].casefold())
        if clearance is None:
            problem(
                "clearance",
                _("%s is not a clearance (0-3, none, Mật, Tối mật, Tuyệt mật)")
                % (record["clearance"] or '""'),
                "bad_clearance",
            )

        password = record.get("password", "")
        if password and not found:
            try:
                validate_password(
                    password, Person(username=username, full_name=record["full_name"])
                )
            except ValidationError as exc:
                problem("password", " ".join(exc.messages), "weak_password")

        if found or unit is None or role is None or clearance is None:
            problems.extend(found)
            continue
        valid.append(
            PersonRow(
                row=number,
                unit=unit,
                username=username,
                full_name=record["full_name"],
                rank=record["rank"],
                position=record["position"],
                role=role,
                clearance=int(clearance),
                password=password,
            )
        )
    return valid, problems


def import_people(
    stream: IO[bytes],
    *,
    actor: Person,
    source: str,
    size: int | None = None,
    request: HttpRequest | None = None,
) -> list[IssuedPassword]:
    """Check the whole file and create everyone in it, or raise and change nothing.

    Raises PeopleFileError for a file that cannot be read as a people list, and
    PeopleImportRejected (with every problem) when any row is wrong.
    """
    if not actor.is_admin:
        raise PeopleFileError(_("Only administrators import people."), code="not_admin")
    rows = read_rows(stream, size)
    with transaction.atomic():
        valid, problems = check_rows(rows, actor)
        if problems:
            raise PeopleImportRejected(problems)
        return do_import_people(valid, actor=actor, source=source, request=request)
