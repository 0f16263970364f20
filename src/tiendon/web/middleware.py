"""Turning scope and permission refusals into audited 404/403 answers, in one place."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, HttpResponseNotFound
from django.middleware.locale import LocaleMiddleware
from django.template import loader
from django.utils import translation
from django.utils.translation import gettext as _

from tiendon.audit.actions import do_record
from tiendon.errors import OutOfScope


class ControlCharacterMiddleware:
    """A NUL in the path or the query string is refused at once with 400 (PostgreSQL cannot
    store or compare it, so it would otherwise end as a 500 deep in a query)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        query = request.META.get("QUERY_STRING", "")
        if "\x00" in request.path or "%00" in query or "\x00" in query:
            return HttpResponseBadRequest(
                _("The address holds a character that is not allowed (NUL).") + " (nul_byte)",
                content_type="text/plain; charset=utf-8",
            )
        return self.get_response(request)


class DenialAuditMiddleware:
    """Audits every refusal; OutOfScope answers 404 so other units' objects stay invisible."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        actor = request.user if request.user.is_authenticated else None
        if isinstance(exception, OutOfScope):
            do_record(
                "permission.denied",
                actor=actor,
                object_type=exception.object_type,
                object_id=exception.object_id[:64],
                new={"path": request.path[:300], "reason": "out_of_scope"},
                request=request,
            )
            body = loader.render_to_string("404.html", {"request_path": request.path}, request)
            return HttpResponseNotFound(body)
        if isinstance(exception, PermissionDenied):
            do_record(
                "permission.denied",
                actor=actor,
                object_type="url",
                object_id=request.path[:64],
                new={"path": request.path[:300], "reason": str(exception)[:200] or "forbidden"},
                request=request,
            )
        return None


class VietnameseFirstLocaleMiddleware(LocaleMiddleware):
    """Vietnamese unless the person chose otherwise (the language cookie).

    Many of the ministry's computers run English-language browsers; their Accept-Language
    header must not switch a Vietnamese system to English.
    """

    def process_request(self, request: HttpRequest) -> None:
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME, "")
        supported = {code for code, _name in settings.LANGUAGES}
        language = chosen if chosen in supported else settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = language
