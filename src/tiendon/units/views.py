"""Login (password, then TOTP), own account pages, and administrators' people pages.

Thin views: input is parsed by `forms`, state changes go through `actions` and
`actions_auth`, people and units are fetched through `queries` (scope enforced there;
OutOfScope becomes an audited 404 in `tiendon.web.middleware`).
"""

from __future__ import annotations

import csv
import io
import time
from typing import Any
from urllib.parse import quote

from django.contrib import messages
from django.contrib.auth import authenticate, login, logout, update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from tiendon.errors import InvalidInput, OutOfScope
from tiendon.units import auth, queries
from tiendon.units.actions import (
    do_change_own_password,
    do_move_person,
    do_set_password_by_admin,
    do_update_person,
)
from tiendon.units.actions_auth import (
    TotpResult,
    do_confirm_totp,
    do_login_failed,
    do_login_refused,
    do_login_succeeded,
    do_login_with_totp,
    do_logout,
    do_replace_one_time_password,
    do_reset_totp,
    do_unlock_account,
)
from tiendon.units.forms import (
    ActingPositionForm,
    AdminSetPasswordForm,
    ChangeOwnPasswordForm,
    CodeForm,
    LoginForm,
    MovePersonForm,
    PeopleImportForm,
)
from tiendon.units.importers_people import PeopleFileError, PeopleImportRejected, import_people
from tiendon.units.models import LoginThrottle, Person

MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"


def _lock_message(lock: auth.Lock) -> str:
    if lock.scope == LoginThrottle.Scope.ADDRESS:
        return _(
            "Too many failed logins from this computer. Logins from it are locked until %(time)s."
        ) % {"time": lock.until_display()}
    return _("This account is locked after too many failed logins, until %(time)s.") % {
        "time": lock.until_display()
    }


def _safe_next(request: HttpRequest, candidate: str | None) -> str:
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return reverse("home")


def _me(request: HttpRequest) -> Person:
    user = request.user
    assert isinstance(user, Person)
    return user


# ---------------------------------------------------------------- login, second step, logout


def _check_password(
    request: HttpRequest, person: Person | None, username: str, password: str
) -> tuple[Person | None, bool]:
    """The person if the password is right, and whether it was a one-time password."""
    if person is not None and auth.has_one_time_password(person):
        ok = person.is_active and auth.check_one_time_password(person, password)
        return (person if ok else None), True
    user = authenticate(request, username=username, password=password)
    return (user if isinstance(user, Person) else None), False


def _finish_login(request: HttpRequest, person: Person, *, verified: bool) -> None:
    login(request, person, backend=MODEL_BACKEND)
    request.session[auth.SESSION_OTP_VERIFIED] = verified


def _after_login(request: HttpRequest) -> HttpResponseRedirect:
    next_url = request.session.pop(auth.SESSION_NEXT, None)
    return redirect(_safe_next(request, next_url))


@sensitive_post_parameters("password")
@never_cache
def login_view(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated and request.method == "GET":
        return redirect(_safe_next(request, request.GET.get("next")))
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    form = LoginForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        username = form.cleaned_data["username"].strip().lower()
        password = form.cleaned_data["password"]
        person = Person.objects.select_related("unit").filter(username=username).first()
        lock = auth.active_lock(username, auth.client_key(request))
        if lock is not None:
            do_login_refused(username=username, person=person, request=request, lock=lock)
            form.add_error(None, _lock_message(lock))
        else:
            accepted, one_time = _check_password(request, person, username, password)
            if accepted is None:
                lock = do_login_failed(
                    username=username, person=person, request=request, reason="password"
                )
                form.add_error(
                    None, _lock_message(lock) if lock else _("Wrong username or password.")
                )
            else:
                return _password_accepted(request, accepted, next_url, one_time=one_time)
    return render(request, "units/login.html", {"form": form, "next": next_url})


def _password_accepted(
    request: HttpRequest, person: Person, next_url: str, *, one_time: bool
) -> HttpResponse:
    if request.user.is_authenticated:
        logout(request)
    request.session.cycle_key()
    request.session[auth.SESSION_NEXT] = _safe_next(request, next_url)
    if one_time:
        request.session[auth.SESSION_MUST_CHANGE_PASSWORD] = True
    if person.has_totp:
        # Not logged in yet: the session only remembers who typed a right password.
        request.session[auth.SESSION_PENDING_PERSON] = person.pk
        request.session[auth.SESSION_PENDING_SINCE] = int(time.time())
        return redirect("login_verify")
    if auth.needs_totp(person):
        do_login_succeeded(person, request=request, second_factor="enrolment_required")
        _finish_login(request, person, verified=False)
        return redirect("totp_enrol")
    do_login_succeeded(person, request=request, second_factor="none")
    _finish_login(request, person, verified=False)
    return _after_login(request)


def _pending_person(request: HttpRequest) -> Person | None:
    """Who is between the password and the code: pending in the session, or logged in
    with a second factor not yet passed in this session."""
    user = request.user
    if user.is_authenticated:
        assert isinstance(user, Person)
        return user if user.has_totp else None
    pk = request.session.get(auth.SESSION_PENDING_PERSON)
    since = int(request.session.get(auth.SESSION_PENDING_SINCE, 0))
    if pk is None or time.time() - since > auth.PENDING_LOGIN_SECONDS:
        return None
    return Person.objects.select_related("unit").filter(pk=pk, is_active=True).first()


def _drop_pending(request: HttpRequest) -> None:
    for key in (auth.SESSION_PENDING_PERSON, auth.SESSION_PENDING_SINCE):
        request.session.pop(key, None)


@never_cache
def login_verify(request: HttpRequest) -> HttpResponse:
    person = _pending_person(request)
    if person is None or not person.has_totp:
        _drop_pending(request)
        messages.info(request, _("Please log in again."))
        return redirect("login")
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        lock = auth.active_lock(person.username, auth.client_key(request))
        if lock is not None:
            do_login_refused(username=person.username, person=person, request=request, lock=lock)
            return _back_to_login_locked(request, lock)
        result = do_login_with_totp(person, form.cleaned_data["code"], request=request)
        if result is TotpResult.ACCEPTED:
            _drop_pending(request)
            _finish_login(request, person, verified=True)
            return _after_login(request)
        lock = do_login_failed(
            username=person.username, person=person, request=request, reason=result.value
        )
        if lock is not None:
            return _back_to_login_locked(request, lock)
        form.add_error(
            "code",
            _("This code has already been used. Wait for the next code.")
            if result is TotpResult.REUSED
            else _("Wrong code. Check that the time on your phone is correct."),
        )
    return render(request, "units/login_verify.html", {"form": form, "person": person})


def _back_to_login_locked(request: HttpRequest, lock: auth.Lock) -> HttpResponse:
    if request.user.is_authenticated:
        logout(request)
    _drop_pending(request)
    messages.error(request, _lock_message(lock))
    return redirect("login")


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        do_logout(_me(request), request=request)
    logout(request)
    messages.info(request, _("You have logged out."))
    return redirect("login")


# ---------------------------------------------------------------- own account


@login_required
@never_cache
def totp_enrol(request: HttpRequest) -> HttpResponse:
    person = _me(request)
    secret = request.session.get(auth.SESSION_ENROL_SECRET)
    if not secret:
        secret = auth.new_totp_secret()
        request.session[auth.SESSION_ENROL_SECRET] = secret
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if do_confirm_totp(person, secret, form.cleaned_data["code"], request=request):
            request.session.pop(auth.SESSION_ENROL_SECRET, None)
            request.session[auth.SESSION_OTP_VERIFIED] = True
            messages.success(request, _("Two-step login is on for your account."))
            return _after_login(request)
        form.add_error("code", _("Wrong code. Check that the time on your phone is correct."))
    uri = auth.provisioning_uri(person, secret)
    return render(
        request,
        "units/totp_enrol.html",
        {
            "form": form,
            "secret": auth.grouped_secret(secret),
            "qr_svg": auth.qr_svg(uri),
            "forced": auth.needs_totp(person) and not person.has_totp,
            "replacing": person.has_totp,
        },
    )


@sensitive_post_parameters("old_password", "new_password", "new_password_again")
@login_required
@never_cache
def password_change(request: HttpRequest) -> HttpResponse:
    person = _me(request)
    one_time = auth.has_one_time_password(person)
    form = ChangeOwnPasswordForm(request.POST or None, one_time=one_time)
    if request.method == "POST" and form.is_valid():
        new = form.cleaned_data["new_password"]
        try:
            if one_time:
                do_replace_one_time_password(person, new, request=request)
            else:
                do_change_own_password(
                    person, form.cleaned_data["old_password"], new, request=request
                )
        except InvalidInput as exc:
            if exc.code == "wrong_password":
                form.add_error("old_password", _("The current password is wrong."))
            else:
                form.add_error("new_password", exc.message)
        else:
            update_session_auth_hash(request, person)
            request.session.pop(auth.SESSION_MUST_CHANGE_PASSWORD, None)
            messages.success(request, _("Your password has been changed."))
            return _after_login(request)
    return render(request, "units/password_change.html", {"form": form, "one_time": one_time})


# ---------------------------------------------------------------- administrators' people pages


def _admin(request: HttpRequest) -> Person:
    """The administrator making the request; anyone else gets the same 404 as out of scope."""
    person = _me(request)
    if not person.is_admin:
        raise OutOfScope("page", request.path)
    return person


@login_required
def people_home(request: HttpRequest) -> HttpResponse:
    admin = _admin(request)
    return redirect("unit_people", code=admin.unit.code)


@login_required
def unit_people(request: HttpRequest, code: str) -> HttpResponse:
    admin = _admin(request)
    unit = queries.get_visible_unit(admin, code)
    people = Paginator(
        queries.order_people_vi(Person.objects.filter(unit=unit).select_related("unit")), 100
    ).get_page(request.GET.get("page"))
    usernames = [auth.account_key(p.username) for p in people]
    locked = set(
        LoginThrottle.objects.filter(
            scope=LoginThrottle.Scope.ACCOUNT, key__in=usernames, locked_until__gt=timezone.now()
        ).values_list("key", flat=True)
    )
    parent = unit.parent if unit.parent and queries.can_see_unit(admin, unit.parent) else None
    return render(
        request,
        "units/people_list.html",
        {
            "unit": unit,
            "parent": parent,
            "people": people,
            "locked": locked,
            "children": queries.children_in_vietnamese_order(unit)[:200],
        },
    )


def _render_person(
    request: HttpRequest, admin: Person, person: Person, status: int = 200, **forms: Any
) -> HttpResponse:
    context: dict[str, Any] = {
        "person": person,
        "lock": auth.account_lock(person),
        "moves": person.moves.select_related("from_unit", "to_unit", "moved_by"),
        "password_form": forms.get("password_form") or AdminSetPasswordForm(),
        "move_form": forms.get("move_form") or MovePersonForm(admin=admin),
        "acting_form": forms.get("acting_form")
        or ActingPositionForm(initial={"acting_position": person.acting_position}),
        "is_self": person.pk == admin.pk,
    }
    return render(request, "units/person_detail.html", context, status=status)


@login_required
def person_detail(request: HttpRequest, username: str) -> HttpResponse:
    admin = _admin(request)
    person = queries.get_visible_person(admin, username)
    return _render_person(request, admin, person)


@sensitive_post_parameters("new_password", "new_password_again")
@require_POST
@login_required
def person_password_reset(request: HttpRequest, username: str) -> HttpResponse:
    admin = _admin(request)
    person = queries.get_visible_person(admin, username)
    form = AdminSetPasswordForm(request.POST)
    if form.is_valid():
        try:
            do_set_password_by_admin(
                person, form.cleaned_data["new_password"], actor=admin, request=request
            )
        except InvalidInput as exc:
            form.add_error("new_password", exc.message)
        else:
            messages.success(
                request, _("The password of %(name)s has been reset.") % {"name": person.full_name}
            )
            return redirect("person_detail", username=person.username)
    return _render_person(request, admin, person, status=400, password_form=form)


@require_POST
@login_required
def person_totp_reset(request: HttpRequest, username: str) -> HttpResponse:
    admin = _admin(request)
    person = queries.get_visible_person(admin, username)
    do_reset_totp(person, actor=admin, request=request)
    messages.success(
        request,
        _("The second factor of %(name)s has been removed; they will enrol again.")
        % {"name": person.full_name},
    )
    return redirect("person_detail", username=person.username)


@require_POST
@login_required
def person_unlock(request: HttpRequest, username: str) -> HttpResponse:
    admin = _admin(request)
    person = queries.get_visible_person(admin, username)
    do_unlock_account(person, actor=admin, request=request)
    messages.success(
        request, _("The account of %(name)s is unlocked.") % {"name": person.full_name}
    )
    return redirect("person_detail", username=person.username)


@require_POST
@login_required
def person_move(request: HttpRequest, username: str) -> HttpResponse:
    admin = _admin(request)
    person = queries.get_visible_person(admin, username)
    form = MovePersonForm(request.POST, admin=admin)
    if form.is_valid() and form.unit is not None:
        try:
            do_move_person(
                person, form.unit, actor=admin, note=form.cleaned_data["note"], request=request
            )
        except InvalidInput:
            form.add_error("unit_code", _("This person already belongs to that unit."))
        else:
            messages.success(
                request,
                _("%(name)s now belongs to %(unit)s.")
                % {"name": person.full_name, "unit": form.unit.name},
            )
            return redirect("person_detail", username=person.username)
    return _render_person(request, admin, person, status=400, move_form=form)


@require_POST
@login_required
def person_acting_position(request: HttpRequest, username: str) -> HttpResponse:
    admin = _admin(request)
    person = queries.get_visible_person(admin, username)
    form = ActingPositionForm(request.POST)
    if form.is_valid():
        try:
            do_update_person(
                person,
                actor=admin,
                request=request,
                acting_position=form.cleaned_data["acting_position"].strip(),
            )
        except InvalidInput as exc:
            form.add_error("acting_position", exc.message)
        else:
            messages.success(request, _("The acting position has been saved."))
            return redirect("person_detail", username=person.username)
    return _render_person(request, admin, person, status=400, acting_form=form)


@login_required
@never_cache
def people_import(request: HttpRequest) -> HttpResponse:
    admin = _admin(request)
    form = PeopleImportForm(request.POST or None, request.FILES or None)
    context: dict[str, Any] = {"form": form}
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            issued = import_people(
                upload, actor=admin, source=upload.name, size=upload.size, request=request
            )
        except PeopleFileError as exc:
            form.add_error("file", exc.message)
        except PeopleImportRejected as exc:
            context["problems"] = exc.problems
        else:
            out = io.StringIO()
            writer = csv.writer(out)
            writer.writerow(["username", "full_name", "unit_code", "one_time_password"])
            for item in issued:
                writer.writerow([item.username, item.full_name, item.unit_code, item.password])
            context.update(
                issued=issued,
                csv_href="data:text/csv;charset=utf-8," + quote("\ufeff" + out.getvalue()),
            )
            # never_cache marks the page no-store: the passwords are shown once.
            return render(request, "units/people_import_done.html", context)
    status = 400 if request.method == "POST" else 200
    return render(request, "units/people_import.html", context, status=status)
