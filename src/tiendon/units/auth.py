"""Login policy: failed-login throttling and lock-out, TOTP second factor, one-time passwords.

Pure reads and helpers live here; every state change (counting a failure, confirming a
second factor, unlocking) is an action in `tiendon.units.actions_auth`.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import pyotp
import segno
from django.conf import settings
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.db.models import Q
from django.http import HttpRequest
from django.utils import formats, timezone

from tiendon.units.models import LoginThrottle, Person, Role

# Session keys. `otp_verified` is also read by the admin site (units.admin).
SESSION_OTP_VERIFIED = "otp_verified"
SESSION_PENDING_PERSON = "auth_pending_person"  # password accepted, second factor awaited
SESSION_PENDING_SINCE = "auth_pending_since"
SESSION_NEXT = "auth_next"
SESSION_ENROL_SECRET = "auth_totp_enrol_secret"  # noqa: S105 (a session key name)
SESSION_MUST_CHANGE_PASSWORD = "auth_must_change_password"  # noqa: S105 (a key name)

# How long a password-accepted, code-awaited login stays open.
PENDING_LOGIN_SECONDS = 300
TOTP_ISSUER = "Tiền Đồn"
TOTP_INTERVAL = 30
# Accept the previous and the next code too: phones at communes drift.
TOTP_DRIFT_STEPS = 1
THROTTLE_KEY_LENGTH = 128

# Administrators, and commanders, who sign: a second factor from their first login.
ROLES_THAT_NEED_TOTP = frozenset({Role.ADMIN, Role.COMMANDER})


# ---------------------------------------------------------------- throttling


def client_key(request: HttpRequest) -> str:
    """The client address a throttle counts against (proxies are not trusted)."""
    return (request.META.get("REMOTE_ADDR") or "unknown")[:THROTTLE_KEY_LENGTH]


def account_key(username: str) -> str:
    """The throttle key of an account: the username as typed, so unknown names lock too."""
    return username.strip().lower()[:THROTTLE_KEY_LENGTH]


@dataclass(frozen=True)
class Lock:
    scope: str  # LoginThrottle.Scope
    until: datetime

    def until_display(self) -> str:
        """The end of the lock as the user reads it: dd/mm/yyyy HH:MM, Vietnam time."""
        return formats.date_format(timezone.localtime(self.until), "d/m/Y H:i")


def active_lock(username: str, address: str, now: datetime | None = None) -> Lock | None:
    """The lock that refuses a login right now, the account's before the address's."""
    now = now or timezone.now()
    rows = LoginThrottle.objects.filter(locked_until__gt=now).filter(
        Q(scope=LoginThrottle.Scope.ACCOUNT, key=account_key(username))
        | Q(scope=LoginThrottle.Scope.ADDRESS, key=address)
    )
    locks = sorted(
        (Lock(row.scope, row.locked_until) for row in rows if row.locked_until is not None),
        key=lambda lock: lock.scope != LoginThrottle.Scope.ACCOUNT,
    )
    return locks[0] if locks else None


def account_lock(person: Person, now: datetime | None = None) -> Lock | None:
    """Whether this person's account is locked now (shown to administrators)."""
    now = now or timezone.now()
    row = LoginThrottle.objects.filter(
        scope=LoginThrottle.Scope.ACCOUNT, key=account_key(person.username), locked_until__gt=now
    ).first()
    if row is None or row.locked_until is None:
        return None
    return Lock(row.scope, row.locked_until)


def threshold_for(scope: str) -> int:
    if scope == LoginThrottle.Scope.ADDRESS:
        return int(settings.ADDRESS_LOCKOUT_THRESHOLD)
    return int(settings.LOCKOUT_THRESHOLD)


def lockout_window() -> timedelta:
    return timedelta(seconds=int(settings.LOCKOUT_WINDOW))


def lockout_duration() -> timedelta:
    return timedelta(seconds=int(settings.LOCKOUT_DURATION))


# ---------------------------------------------------------------- TOTP


def needs_totp(person: Person) -> bool:
    """Whether this person may not work without a second factor (administrators and
    commanders, who sign)."""
    return person.role in ROLES_THAT_NEED_TOTP


def new_totp_secret() -> str:
    return pyotp.random_base32()


def grouped_secret(secret: str) -> str:
    """The secret in groups of four, for typing into an app by hand."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def provisioning_uri(person: Person, secret: str) -> str:
    return pyotp.TOTP(secret, interval=TOTP_INTERVAL).provisioning_uri(
        name=person.username, issuer_name=TOTP_ISSUER
    )


def qr_svg(data: str) -> str:
    """An inline SVG QR code: drawn on the server, no request leaves the page."""
    return str(segno.make(data, error="m").svg_inline(scale=4, border=2))


def current_step(now: datetime | None = None) -> int:
    moment = now or timezone.now()
    return int(moment.timestamp()) // TOTP_INTERVAL


def matching_step(secret: str, code: str, now: datetime | None = None) -> int | None:
    """The time step whose code equals `code` (within the allowed drift), or None."""
    code = "".join(code.split())
    if not secret or len(code) != 6 or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret, interval=TOTP_INTERVAL)
    centre = current_step(now)
    for step in range(centre - TOTP_DRIFT_STEPS, centre + TOTP_DRIFT_STEPS + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def code_for_step(secret: str, step: int) -> str:
    """The code of one time step (tests and the enrolment page's self-check use it)."""
    return pyotp.TOTP(secret, interval=TOTP_INTERVAL).generate_otp(step)


# ---------------------------------------------------------------- one-time passwords


class OneTimePasswordHasher(PBKDF2PasswordHasher):
    """Hashes generated one-time passwords cheaply; deliberately NOT in PASSWORD_HASHERS.

    Argon2 is slow on purpose, to protect passwords people choose. A generated one-time
    password carries ~80 random bits, which no fast hash makes guessable, so an import
    of 50,000 people takes seconds instead of hours. Because the algorithm is absent
    from PASSWORD_HASHERS, Django's own `check_password` refuses these hashes (and so
    never silently upgrades one to Argon2): only the login view accepts them, through
    `check_one_time_password`, and then sends the person to choose a real password.
    """

    algorithm = "tiendon_otp_pbkdf2"
    iterations = 1000


ONE_TIME_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i: read aloud, typed by hand


def generate_one_time_password() -> str:
    """16 characters from a 31-letter alphabet (~79 bits), in four groups: abcd-efgh-…"""
    chars = "".join(secrets.choice(ONE_TIME_ALPHABET) for _ in range(16))
    return "-".join(chars[i : i + 4] for i in range(0, 16, 4))


def hash_one_time_password(password: str) -> str:
    hasher = OneTimePasswordHasher()
    return hasher.encode(password, hasher.salt())


def has_one_time_password(person: Person) -> bool:
    return person.password.startswith(OneTimePasswordHasher.algorithm + "$")


def check_one_time_password(person: Person, password: str) -> bool:
    return has_one_time_password(person) and OneTimePasswordHasher().verify(
        password, person.password
    )
