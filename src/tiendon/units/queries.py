"""Reads of units and people, with unit scope enforced here and only here.

A person sees their own unit and every unit below it, at any depth. Views and APIs
fetch units and people through these functions, never through `objects` directly.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import Case, CharField, Count, F, Q, QuerySet, Value, When
from django.db.models.functions import Substr
from django.utils.translation import gettext as _

from tiendon.errors import InvalidInput, OutOfScope
from tiendon.units import folding
from tiendon.units.collation import vi_collate
from tiendon.units.models import Person, Unit, UnitKind, code_validator


def subtree(unit: Unit) -> QuerySet[Unit]:
    """The unit and all units below it."""
    return Unit.objects.filter(path__startswith=unit.path)


def units_visible_to(person: Person) -> QuerySet[Unit]:
    return subtree(person.unit)


def can_see_unit(person: Person, unit: Unit) -> bool:
    return unit.path.startswith(person.unit.path)


def get_visible_unit(person: Person, code: str) -> Unit:
    """The unit with this code, if the person may see it; OutOfScope otherwise."""
    unit = Unit.objects.filter(code=code).first()
    if unit is None or not can_see_unit(person, unit):
        raise OutOfScope("unit", code)
    return unit


def people_visible_to(person: Person) -> QuerySet[Person]:
    return Person.objects.filter(unit__path__startswith=person.unit.path)


def get_visible_person(viewer: Person, username: str) -> Person:
    target = Person.objects.select_related("unit").filter(username=username).first()
    if target is None or not can_see_unit(viewer, target.unit):
        raise OutOfScope("person", username)
    return target


def children_in_vietnamese_order(unit: Unit) -> QuerySet[Unit]:
    return Unit.objects.filter(parent=unit).order_by(vi_collate("name", connection.vendor))


def order_units_vi(queryset: QuerySet[Unit]) -> QuerySet[Unit]:
    return queryset.order_by(vi_collate("name", connection.vendor), "code")


def order_people_vi(queryset: QuerySet[Person]) -> QuerySet[Person]:
    return queryset.order_by(vi_collate("full_name", connection.vendor), "username")


# ---------------------------------------------------------------- the unit picker
#
# Every active unit, by name: the ministry, regions, provinces and the 3,321 communes.
# Units are not secret and a document may go to any of them, so the search is national
# unless the caller narrows it (`within`). It reads the folded `Unit.search_name` column
# (units.folding): a LIKE over ~3,500 short strings on either engine, no function per row.

PICK_LIMIT = 20
MAX_QUERY_LENGTH = 100
MAX_CODES = 600
# The common name in SQL, for ordering: the short name without its commune type word, the
# short name, or the name (units.folding.common_name is the same rule in Python).
COMMON_NAME_SQL = Case(
    *(
        When(short_name__startswith=word + " ", then=Substr("short_name", len(word) + 2))
        for word in folding.COMMUNE_TYPE_WORDS
    ),
    When(short_name="", then=F("name")),
    default=F("short_name"),
    output_field=CharField(),
)


@dataclass(frozen=True)
class PickedUnit:
    """A unit as the picker shows it: 'Xã Mường Lát' beside 'Thanh Hóa'."""

    unit: Unit
    child_count: int = 0

    @property
    def code(self) -> str:
        return self.unit.code

    @property
    def label(self) -> str:
        """A commune by its short name (its full name is 'Ban Chỉ huy Quân sự xã …'),
        anything else by its name."""
        if self.unit.kind == UnitKind.COMMUNE_BOARD and self.unit.short_name:
            return self.unit.short_name
        return self.unit.name

    @property
    def common_name(self) -> str:
        """'Mường Lát', 'Thanh Hóa', 'Quân khu 4' (units.folding.common_name)."""
        return folding.common_name(self.unit.name, self.unit.short_name)

    @property
    def parent_name(self) -> str:
        """Where it belongs ('Thanh Hóa' for a commune): names repeat across provinces."""
        parent = self.unit.parent
        return folding.common_name(parent.name, parent.short_name) if parent else ""

    @property
    def is_province(self) -> bool:
        return self.unit.kind == UnitKind.PROVINCIAL_COMMAND


@dataclass(frozen=True)
class UnitMatches:
    query: str
    units: list[PickedUnit]
    total: int

    @property
    def more(self) -> int:
        return self.total - len(self.units)


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def clean_unit_query(text: str) -> str:
    """The query as typed, NFC, trimmed; refused (InvalidInput, field `q`) when too long or
    holding control characters (a NUL would also stop PostgreSQL)."""
    if len(text) > MAX_QUERY_LENGTH:
        raise InvalidInput(
            _("Type at most %(n)d characters of the unit's name.") % {"n": MAX_QUERY_LENGTH},
            code="query_too_long",
            field="q",
        )
    if _CONTROL.search(text):
        raise InvalidInput(
            _("The search holds characters that are not letters; type the unit's name."),
            code="bad_query",
            field="q",
        )
    return unicodedata.normalize("NFC", text).strip()


def search_units(text: str, *, within: Unit | None = None, limit: int = PICK_LIMIT) -> UnitMatches:
    """Active units whose names hold every word typed, diacritics, đ and case ignored.

    Every word must appear in the unit's own names or code, or in its parent's names
    ("tân thành long an" narrows to a province). Ranked: what was typed with its tones
    first (when it was typed with tones), then the common name equal to the query, starting
    with it, a word starting with it, the query anywhere in the unit's own names, and last
    units matched only through their parent; within a rank the higher unit first (the
    province before a commune of the same name), then Vietnamese order. Two queries:
    the count and one page of `limit` rows with their parents.
    """
    typed = clean_unit_query(text).replace(folding.SEGMENT_SEPARATOR, " ")
    phrase = folding.fold(typed)
    if not phrase:
        return UnitMatches(query=typed, units=[], total=0)
    units = Unit.objects.filter(is_active=True)
    if within is not None:
        units = units.filter(path__startswith=within.path)
    for word in phrase.split():
        units = units.filter(Q(search_name__contains=word) | Q(parent__search_name__contains=word))
    total = units.count()
    if total == 0:
        return UnitMatches(query=typed, units=[], total=0)
    rank = Case(
        When(Q(search_name=phrase) | Q(search_name__startswith=phrase + "|"), then=Value(0)),
        When(search_name__startswith=phrase, then=Value(1)),
        When(
            Q(search_name__contains=" " + phrase) | Q(search_name__contains="|" + phrase),
            then=Value(2),
        ),
        When(search_name__contains=phrase, then=Value(3)),
        default=Value(4),
    )
    with_tones = folding.lower_exact(typed)
    tone = (
        Case(When(search_name__contains=with_tones, then=Value(0)), default=Value(1))
        if with_tones != phrase
        else Value(0)
    )
    page = (
        units.select_related("parent")
        .annotate(pick_tone=tone, pick_rank=rank)
        .order_by(
            "pick_tone",
            "pick_rank",
            "depth",
            vi_collate(COMMON_NAME_SQL, connection.vendor),
            "code",
        )
    )
    return UnitMatches(query=typed, units=[PickedUnit(u) for u in page[:limit]], total=total)


def tree_children(parent: Unit) -> list[PickedUnit]:
    """The active units directly below `parent`, each with its count of active children,
    in Vietnamese order of their common names (one query)."""
    rows = (
        Unit.objects.filter(parent=parent, is_active=True)
        .select_related("parent")
        .annotate(
            active_children=Count("children", filter=Q(children__is_active=True), distinct=True)
        )
        .order_by(vi_collate(COMMON_NAME_SQL, connection.vendor), "code")
    )
    return [PickedUnit(u, child_count=u.active_children) for u in rows]


def tree_top(within: Unit | None = None) -> Unit | None:
    """Where the picker's tree starts: `within`, or the root of the hierarchy."""
    if within is not None:
        return within
    return Unit.objects.filter(parent__isnull=True, is_active=True).order_by("pk").first()


def split_unit_codes(text: str) -> list[str]:
    """Codes as a form holds them: separated by spaces, commas or semicolons, each once."""
    codes: list[str] = []
    for code in re.split(r"[\s,;]+", text or ""):
        if code and code not in codes:
            codes.append(code)
    return codes


def units_for_codes(codes: list[str]) -> list[tuple[str, PickedUnit | None]]:
    """Each code with its active unit, or None for a code that names none (a malformed one,
    a NUL included, is never sent to the database); in the order given, at most MAX_CODES."""
    wellformed = [c for c in codes[:MAX_CODES] if _is_code(c)]
    found = {
        u.code: PickedUnit(u)
        for u in Unit.objects.filter(code__in=wellformed, is_active=True).select_related("parent")
    }
    return [(code, found.get(code)) for code in codes[:MAX_CODES]]


def _is_code(text: str) -> bool:
    try:
        code_validator(text)
    except ValidationError:
        return False
    return True
