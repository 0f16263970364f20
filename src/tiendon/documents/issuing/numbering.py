"""Numbers and symbols of outgoing documents (số, ký hiệu), Decree 30 Appendix I and III.

A number runs from 01 each year per issuer and per series. It is taken from a counter row
locked with SELECT … FOR UPDATE inside the issuing transaction: two issuings of one
issuer wait for each other, and an issuing that fails rolls its number back (no gap).
"""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _

from tiendon.documents.errors import DocumentError
from tiendon.documents.models import TYPE_ABBREVIATIONS, DocumentType, NumberCounter, Series
from tiendon.units.models import Unit


def series_for(secrecy: int) -> str:
    """Secret documents (any level) have their own series."""
    return Series.SECRET if secrecy > 0 else Series.ORDINARY


def symbol_for(doc_type: str, issuer_abbreviation: str, drafting_office: str = "") -> str:
    """ "QĐ-BCHQS" for a decision; "BCHQS-TM" for a công văn (issuer, then drafting office)."""
    if doc_type not in TYPE_ABBREVIATIONS:
        raise DocumentError(
            _("Unknown document type: %(type)s.") % {"type": doc_type}, code="unknown_type"
        )
    if not issuer_abbreviation:
        raise DocumentError(
            _("The issuing unit has no abbreviation for document symbols."),
            code="issuer_without_abbreviation",
        )
    if doc_type == DocumentType.CONG_VAN:
        if not drafting_office:
            raise DocumentError(
                _("A công văn needs the abbreviation of its drafting office."),
                code="drafting_office_required",
            )
        return f"{issuer_abbreviation}-{drafting_office}"
    return f"{TYPE_ABBREVIATIONS[doc_type]}-{issuer_abbreviation}"


def format_number(number: int, symbol: str) -> str:
    """ "05/QĐ-BCHQS": a leading zero below 10."""
    return f"{number:02d}/{symbol}"


def take_next_number(unit: Unit, year: int, series: str) -> int:
    """The next number of the issuer's series in `year`; must run inside the issuing
    transaction, which holds the counter row locked until it commits or rolls back."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("take_next_number must run inside the issuing transaction")
    counter, _created = NumberCounter.objects.select_for_update().get_or_create(
        issuing_unit=unit, year=year, series=series
    )
    counter.last_number += 1
    counter.save(update_fields=["last_number"])
    return counter.last_number
