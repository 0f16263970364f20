"""Every change made by logging in and out, second factors, lock-outs and people imports.

Each action runs in one transaction and writes its audit record; passwords and TOTP
secrets never reach the audit log.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from tiendon.audit.actions import do_record
from tiendon.errors import InvalidInput
from tiendon.units import auth
from tiendon.units.actions import do_create_person
from tiendon.units.models import LoginThrottle, Person

if TYPE_CHECKING:
    from tiendon.units.importers_people import PersonRow

PERSON_TYPE = "units.person"
USERNAME_IN_AUDIT = 64  # AuditRecord.object_id length


def _typed_username(username: str) -> str:
    return username.strip()[:USERNAME_IN_AUDIT]


# ---------------------------------------------------------------- failed and refused logins


def _count_failure(scope: str, key: str, now: datetime) -> tuple[LoginThrottle, bool]:
    """Add one failure to a counter; True when this failure locked it."""
    row, _created = LoginThrottle.objects.select_for_update().get_or_create(
        scope=scope, key=key, defaults={"window_start": now}
    )
    lock_over = row.locked_until is not None and row.locked_until <= now
    if lock_over or row.window_start + auth.lockout_window() < now:
        row.failures, row.window_start, row.locked_until = 0, now, None
    row.failures += 1
    newly_locked = False
    if row.locked_until is None and row.failures >= auth.threshold_for(scope):
        row.locked_until = now + auth.lockout_duration()
        newly_locked = True
    row.save()
    return row, newly_locked


def _audit_target(person: Person | None, typed: str) -> dict[str, Any]:
    """Audit a login attempt against the person, or against the name typed if none exists."""
    if person is not None:
        return {"obj": person, "unit": person.unit}
    return {"object_type": PERSON_TYPE, "object_id": typed}


@transaction.atomic
def do_login_failed(
    *, username: str, person: Person | None, request: HttpRequest, reason: str
) -> auth.Lock | None:
    """Count a wrong password or code against the account and the address; lock at threshold.

    `reason` is "password", "totp" or "totp_reused". Returns the lock now in force, if
    this failure caused one.
    """
    now = timezone.now()
    address = auth.client_key(request)
    typed = _typed_username(username)
    target = _audit_target(person, typed)
    do_record(
        "auth.login_failed", new={"username": typed, "reason": reason}, request=request, **target
    )
    lock: auth.Lock | None = None
    for scope, key in (
        (LoginThrottle.Scope.ACCOUNT, auth.account_key(username)),
        (LoginThrottle.Scope.ADDRESS, address),
    ):
        row, newly_locked = _count_failure(scope, key, now)
        if not newly_locked or row.locked_until is None:
            continue
        lock = lock or auth.Lock(scope, row.locked_until)
        where: dict[str, Any] = (
            target
            if scope == LoginThrottle.Scope.ACCOUNT
            else {"object_type": "address", "object_id": address[:USERNAME_IN_AUDIT]}
        )
        do_record(
            "auth.locked",
            new={"scope": scope, "key": key, "failures": row.failures, "until": row.locked_until},
            request=request,
            **where,
        )
    return lock


@transaction.atomic
def do_login_refused(
    *, username: str, person: Person | None, request: HttpRequest, lock: auth.Lock
) -> None:
    """Audit an attempt made while the account or address is locked (not counted again)."""
    typed = _typed_username(username)
    target = _audit_target(person, typed)
    do_record(
        "auth.login_failed",
        new={"username": typed, "reason": f"{lock.scope}_locked", "until": lock.until},
        request=request,
        **target,
    )


# ---------------------------------------------------------------- successful login, logout


@transaction.atomic
def do_login_succeeded(
    person: Person,
    *,
    request: HttpRequest,
    second_factor: str,
    totp_step: int | None = None,
) -> None:
    """Clear the account's failure counter and audit the login.

    `second_factor` is "totp", "none", or "enrolment_required" (an administrator
    without TOTP, who can reach only the enrolment page). The address counter is not
    cleared: one good account must not wash out failures against other accounts.
    """
    LoginThrottle.objects.filter(
        scope=LoginThrottle.Scope.ACCOUNT, key=auth.account_key(person.username)
    ).delete()
    new: dict[str, Any] = {"second_factor": second_factor}
    if totp_step is not None:
        new["totp_step"] = totp_step
    do_record("auth.login", actor=person, obj=person, unit=person.unit, new=new, request=request)


@transaction.atomic
def do_logout(person: Person, *, request: HttpRequest) -> None:
    do_record("auth.logout", actor=person, obj=person, unit=person.unit, request=request)


@transaction.atomic
def do_unlock_account(
    person: Person, *, actor: Person | None, request: HttpRequest | None = None
) -> bool:
    """Lift the account's lock and clear its failures; False if there was nothing to lift."""
    deleted, _ = LoginThrottle.objects.filter(
        scope=LoginThrottle.Scope.ACCOUNT, key=auth.account_key(person.username)
    ).delete()
    do_record(
        "auth.unlocked",
        actor=actor,
        obj=person,
        unit=person.unit,
        new={"scope": "account", "had_counter": bool(deleted)},
        request=request,
    )
    return bool(deleted)


@transaction.atomic
def do_unlock_address(address: str, *, actor: Person | None) -> bool:
    deleted, _ = LoginThrottle.objects.filter(
        scope=LoginThrottle.Scope.ADDRESS, key=address
    ).delete()
    do_record(
        "auth.unlocked",
        actor=actor,
        object_type="address",
        object_id=address[:USERNAME_IN_AUDIT],
        new={"scope": "address", "had_counter": bool(deleted)},
    )
    return bool(deleted)


# ---------------------------------------------------------------- TOTP


class TotpResult(enum.Enum):
    ACCEPTED = "accepted"
    WRONG = "totp"
    REUSED = "totp_reused"


def spend_totp_code(person: Person, code: str) -> tuple[TotpResult, int | None]:
    """Accept a fresh code once: the matching time step is recorded so it cannot be replayed.

    Runs inside the caller's transaction, with the person's row locked so two requests
    cannot both spend the same code. Used at login and to authorise each personal signature.
    """
    locked = Person.objects.select_for_update().get(pk=person.pk)
    step = auth.matching_step(locked.totp_secret, code) if locked.totp_secret else None
    if step is None:
        return TotpResult.WRONG, None
    if locked.totp_last_step is not None and step <= locked.totp_last_step:
        return TotpResult.REUSED, step
    locked.totp_last_step = step
    locked.save(update_fields=["totp_last_step"])
    person.totp_last_step = step
    return TotpResult.ACCEPTED, step


@transaction.atomic
def do_login_with_totp(person: Person, code: str, *, request: HttpRequest) -> TotpResult:
    """Second login step: accept a fresh code once, audit the completed login."""
    result, step = spend_totp_code(person, code)
    if result is TotpResult.ACCEPTED:
        do_login_succeeded(person, request=request, second_factor="totp", totp_step=step)
    return result


@transaction.atomic
def do_confirm_totp(person: Person, secret: str, code: str, *, request: HttpRequest) -> bool:
    """Store a new second factor once the person proves their app shows its codes."""
    person = Person.objects.select_for_update().select_related("unit").get(pk=person.pk)
    step = auth.matching_step(secret, code)
    if step is None:
        return False
    replaced = person.has_totp
    person.totp_secret = secret
    person.totp_confirmed_at = timezone.now()
    person.totp_last_step = step
    person.save(update_fields=["totp_secret", "totp_confirmed_at", "totp_last_step"])
    do_record(
        "auth.totp_enrolled",
        actor=person,
        obj=person,
        unit=person.unit,
        new={"totp_step": step, "replaced": replaced},
        request=request,
    )
    return True


@transaction.atomic
def do_reset_totp(person: Person, *, actor: Person, request: HttpRequest | None = None) -> None:
    """An administrator removes a lost second factor; the person enrols again."""
    had = person.has_totp
    person.totp_secret = ""
    person.totp_confirmed_at = None
    person.totp_last_step = None
    person.save(update_fields=["totp_secret", "totp_confirmed_at", "totp_last_step"])
    do_record(
        "auth.totp_reset",
        actor=actor,
        obj=person,
        unit=person.unit,
        old={"had_totp": had},
        request=request,
    )


# ---------------------------------------------------------------- people import


@dataclass(frozen=True)
class IssuedPassword:
    username: str
    full_name: str
    unit_code: str
    password: str


@transaction.atomic
def do_import_people(
    rows: Sequence[PersonRow],
    *,
    actor: Person,
    source: str,
    request: HttpRequest | None = None,
) -> list[IssuedPassword]:
    """Create every person of a validated import, or nobody.

    Each person is created by `do_create_person` (audited "person.created") with an
    unusable password, then given a one-time password: the file's, or a generated one.
    One-time passwords are hashed cheaply (see `auth.OneTimePasswordHasher`) and must be
    replaced at first login. Returns the passwords to hand out; they are never logged.
    """
    issued: list[IssuedPassword] = []
    created: list[Person] = []
    for row in rows:
        person = do_create_person(
            username=row.username,
            full_name=row.full_name,
            unit=row.unit,
            role=row.role,
            clearance=row.clearance,
            rank=row.rank,
            position=row.position,
            password=None,
            actor=actor,
            request=request,
        )
        password = row.password or auth.generate_one_time_password()
        person.password = auth.hash_one_time_password(password)
        created.append(person)
        issued.append(IssuedPassword(row.username, row.full_name, row.unit.code, password))
    Person.objects.bulk_update(created, ["password"], batch_size=500)
    do_record(
        "person.imported",
        actor=actor,
        object_type="import",
        object_id=source[:USERNAME_IN_AUDIT],
        new={"count": len(created), "source": source[:200]},
        request=request,
    )
    return issued


@transaction.atomic
def do_replace_one_time_password(
    person: Person, new_password: str, *, request: HttpRequest | None = None
) -> None:
    """The person chooses their own password in place of an issued one-time password."""
    try:
        validate_password(new_password, person)
    except ValidationError as exc:
        raise InvalidInput(" ".join(exc.messages), code="weak_password", field="password") from exc
    person.set_password(new_password)
    person.save(update_fields=["password"])
    do_record(
        "person.password_changed",
        actor=person,
        obj=person,
        unit=person.unit,
        new={"replaced_one_time_password": True},
        request=request,
    )
