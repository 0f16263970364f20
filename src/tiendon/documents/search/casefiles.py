"""Case files (hồ sơ công việc): a unit's documents of one matter grouped under a file code
(mã hồ sơ, the file code of the Appendix VI metadata), with a title, a year and a keeper.

Reads check scope here (a unit sees its own case files; the documents inside go through
`queries`, so clearance applies to them one by one); changes are the audited `do_*`s.
"""

from __future__ import annotations

import re

from django.db import IntegrityError, transaction
from django.db.models import Max, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from tiendon.audit.actions import do_record
from tiendon.documents import queries
from tiendon.documents.errors import DocumentError
from tiendon.documents.models import CaseFile, CaseFileEntry, Document
from tiendon.documents.pdf import layout
from tiendon.errors import InvalidInput, OutOfScope
from tiendon.units.models import Person

CODE_MAX_LENGTH = 64
TITLE_MAX_LENGTH = 500
# Letters, digits and the separators of a file code such as "G01.2027.01.TM".
_CODE = re.compile(r"^[\w.\-/]+$")


def case_files_visible_to(viewer: Person) -> QuerySet[CaseFile]:
    """The viewer's unit's case files, newest year first, then by code."""
    return (
        CaseFile.objects.filter(unit=viewer.unit_id)
        .select_related("keeper", "unit")
        .order_by("-year", "code")
    )


def get_visible_case_file(viewer: Person, case_file_id: int | str) -> CaseFile:
    """The case file if it is the viewer's unit's; OutOfScope otherwise (a 404 on pages)."""
    try:
        key = int(str(case_file_id))
    except ValueError as exc:
        raise OutOfScope("case_file", str(case_file_id)) from exc
    case_file = case_files_visible_to(viewer).filter(pk=key).first()
    if case_file is None:
        raise OutOfScope("case_file", str(case_file_id))
    return case_file


def documents_in(viewer: Person, case_file: CaseFile) -> list[tuple[int, Document]]:
    """(ordinal, document) of the documents in the case file that the viewer may see."""
    visible = queries.documents_visible_to(viewer).defer("pdf", "uploaded_pdf")
    by_id = {d.pk: d for d in visible.filter(pk__in=case_file.entries.values("document_id"))}
    return [
        (entry.ordinal, by_id[entry.document_id])
        for entry in case_file.entries.order_by("ordinal")
        if entry.document_id in by_id
    ]


def case_files_of(viewer: Person, document: Document) -> list[CaseFile]:
    """The viewer's case files holding the document (its file code in the metadata)."""
    return list(case_files_visible_to(viewer).filter(entries__document=document))


def _clean_code(code: str) -> str:
    code = code.strip()
    if not code:
        raise InvalidInput(_("The file code is required."), code="code_required", field="code")
    if len(code) > CODE_MAX_LENGTH or not _CODE.match(code):
        raise InvalidInput(
            _("The file code has at most %(max)s letters, digits, dots, dashes or slashes.")
            % {"max": CODE_MAX_LENGTH},
            code="bad_code",
            field="code",
        )
    return code


@transaction.atomic
def do_create_case_file(
    actor: Person,
    *,
    code: str,
    title: str,
    year: int | str | None = None,
    keeper: Person | None = None,
    request: HttpRequest | None = None,
) -> CaseFile:
    """A new case file of the actor's unit; the code is unique in the unit and year."""
    code = _clean_code(code)
    title = layout.nfc(title).strip()
    if not title:
        raise InvalidInput(_("The title is required."), code="title_required", field="title")
    if len(title) > TITLE_MAX_LENGTH:
        raise InvalidInput(
            _("The title has at most %(max)s characters.") % {"max": TITLE_MAX_LENGTH},
            code="title_too_long",
            field="title",
        )
    if year is None or year == "":
        year = timezone.localtime(timezone.now()).year
    try:
        year = int(year)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(_("The year is a number."), code="bad_year", field="year") from exc
    if not 1945 <= year <= 2100:
        raise InvalidInput(_("The year is out of range."), code="bad_year", field="year")
    keeper = keeper or actor
    if keeper.unit_id != actor.unit_id or not keeper.is_active:
        raise InvalidInput(
            _("The keeper must be an active person of your unit."),
            code="keeper_outside_unit",
            field="keeper",
        )
    try:
        with transaction.atomic():
            case_file = CaseFile.objects.create(
                unit=actor.unit, code=code, title=title, year=year, keeper=keeper, created_by=actor
            )
    except IntegrityError as exc:
        raise InvalidInput(
            _("Your unit already has a case file %(code)s in %(year)s.")
            % {"code": code, "year": year},
            code="duplicate_code",
            field="code",
        ) from exc
    do_record(
        "documents.case_file_created",
        actor=actor,
        obj=case_file,
        unit=actor.unit,
        new={"code": code, "title": title, "year": year, "keeper": keeper.username},
        request=request,
    )
    return case_file


@transaction.atomic
def do_add_to_case_file(
    case_file: CaseFile,
    document: Document,
    actor: Person,
    *,
    request: HttpRequest | None = None,
) -> CaseFileEntry:
    """Put a document the actor may see into one of the actor's unit's case files; it gets
    the next ordinal in the file."""
    case_file = get_visible_case_file(actor, case_file.pk)
    document = queries.get_visible_document(actor, document.pk, request=request)
    locked = CaseFile.objects.select_for_update().get(pk=case_file.pk)
    if CaseFileEntry.objects.filter(case_file=locked, document=document).exists():
        raise DocumentError(
            _("The document is in this case file already."), code="already_in_case_file"
        )
    last = CaseFileEntry.objects.filter(case_file=locked).aggregate(m=Max("ordinal"))["m"] or 0
    entry = CaseFileEntry.objects.create(
        case_file=locked, document=document, ordinal=last + 1, added_by=actor
    )
    do_record(
        "documents.case_file_document_added",
        actor=actor,
        obj=locked,
        unit=actor.unit,
        new={"document": str(document.pk), "ordinal": entry.ordinal, "code": locked.code},
        request=request,
    )
    return entry


@transaction.atomic
def do_remove_from_case_file(
    case_file: CaseFile,
    document: Document,
    actor: Person,
    *,
    request: HttpRequest | None = None,
) -> None:
    """Take a document out of one of the actor's unit's case files; the documents after it
    move up one place, so the ordinals stay 1, 2, 3… as the file is kept."""
    case_file = get_visible_case_file(actor, case_file.pk)
    document = queries.get_visible_document(actor, document.pk, request=request)
    locked = CaseFile.objects.select_for_update().get(pk=case_file.pk)
    entry = CaseFileEntry.objects.filter(case_file=locked, document=document).first()
    if entry is None:
        raise DocumentError(_("The document is not in this case file."), code="not_in_case_file")
    removed = entry.ordinal
    entry.delete()
    # One by one, lowest first, so the (case file, ordinal) constraint holds at every step.
    for later in CaseFileEntry.objects.filter(case_file=locked, ordinal__gt=removed).order_by(
        "ordinal"
    ):
        later.ordinal -= 1
        later.save(update_fields=["ordinal"])
    do_record(
        "documents.case_file_document_removed",
        actor=actor,
        obj=locked,
        unit=actor.unit,
        old={"document": str(document.pk), "ordinal": removed, "code": locked.code},
        request=request,
    )
