"""The outgoing register page (sổ văn bản đi) and its XLSX and PDF exports."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from tiendon.documents import queries
from tiendon.documents.models import Series
from tiendon.documents.pages import person_of
from tiendon.documents.registers import outgoing as registers
from tiendon.errors import InvalidInput


@login_required
def outgoing_register(request: HttpRequest) -> HttpResponse:
    """Sổ văn bản đi of the person's unit: ?date_from=&date_to=&series=&format=xlsx|pdf."""
    person = person_of(request)
    fmt = request.GET.get("format", "html")
    unknown = set(request.GET) - {"date_from", "date_to", "series", "format"}
    try:
        if unknown or fmt not in ("html", "xlsx", "pdf"):
            raise InvalidInput(
                _("Unknown parameter: %(name)s.") % {"name": (sorted(unknown) or [fmt])[0][:40]},
                code="unknown_filter",
            )
        register = registers.outgoing_register(
            person,
            date_from=request.GET.get("date_from"),
            date_to=request.GET.get("date_to"),
            series=request.GET.get("series", "ordinary"),
        )
    except queries.ClearanceRequired as exc:
        raise PermissionDenied("clearance required") from exc
    except InvalidInput as exc:
        return render(request, "documents/error.html", {"error": exc}, status=400)
    if fmt != "html" or register.series == Series.SECRET:
        registers.do_record_register_read(person, register, fmt, request=request)
    if fmt == "html":
        return render(
            request,
            "documents/register_outgoing.html",
            {"register": register, "columns": registers.OUTGOING_COLUMNS},
        )
    name = (
        f"so-van-ban-di-{register.unit.code}-{register.date_from:%Y%m%d}-{register.date_to:%Y%m%d}"
    )
    if fmt == "xlsx":
        response = HttpResponse(
            registers.to_xlsx(register),
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
    else:
        response = HttpResponse(registers.to_pdf(register), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{name}.{fmt}"'
    return response
