"""Holding a logged-in person at the step they still owe: TOTP code, enrolment, new password.

Runs after AuthenticationMiddleware. While a step is owed, every other page redirects
to it; only that page, logging out, language switching and static files stay open.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse

from tiendon.units import auth
from tiendon.units.models import Person


def owed_step(request: HttpRequest) -> str | None:
    """The URL name of the step the logged-in person must complete first, if any."""
    user = getattr(request, "user", None)
    if not isinstance(user, Person):
        return None
    verified = bool(request.session.get(auth.SESSION_OTP_VERIFIED, False))
    if user.has_totp and not verified:
        return "login_verify"
    if auth.needs_totp(user) and not user.has_totp:
        return "totp_enrol"
    if request.session.get(auth.SESSION_MUST_CHANGE_PASSWORD):
        return "password_change"
    return None


class SecondFactorMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        step = owed_step(request)
        if step is not None and not self._open(request.path, step):
            if request.method == "GET" and auth.SESSION_NEXT not in request.session:
                request.session[auth.SESSION_NEXT] = request.get_full_path()
            response = redirect(step)
            if request.headers.get("HX-Request"):
                response["HX-Redirect"] = response["Location"]
            return response
        return self.get_response(request)

    @staticmethod
    def _open(path: str, step: str) -> bool:
        if path == reverse(step) or path == reverse("logout"):
            return True
        if path.startswith(reverse("set_language")):
            return True
        static = settings.STATIC_URL or "/static/"
        return path.startswith(static)
