"""What "ready" means, in one place: the conditions a commune board must meet.

The list of conditions in force is the setting `TIENDON_READINESS_CONDITIONS` (default:
a link, at least one computer, a valid unit certificate on a token, at least one trained
operator). Each condition is a filter on commune units, so roll-ups stay single queries.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from django.apps import apps
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db.models import BooleanField, Case, CharField, Q, Value, When
from django.db.models.expressions import Expression
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from tiendon.pki import queries as pki_queries
from tiendon.readiness.models import LinkKind

READY = "ready"
IN_PROGRESS = "in_progress"
BLOCKED = "blocked"
STATES = (READY, IN_PROGRESS, BLOCKED)
STATE_LABELS: dict[str, Promise] = {
    READY: _("Ready"),
    IN_PROGRESS: _("In progress"),
    BLOCKED: _("Blocked"),
}


@dataclass(frozen=True)
class Condition:
    code: str
    label: Promise
    holds: Callable[[], Q]  # a filter on units.Unit


def _link() -> Q:
    return Q(readiness__link_kind__in=[k for k in LinkKind.values if k != LinkKind.NONE])


def _computer() -> Q:
    return Q(readiness__computers__gte=1)


def _certificate_on_token() -> Q:
    return Q(pk__in=pki_queries.units_with_current_certificate_on_token().values("pk"))


def _trained_operator() -> Q:
    return Q(readiness__trained_operators__gte=1)


CONDITIONS: dict[str, Condition] = {
    c.code: c
    for c in (
        Condition("link", _("Network link"), _link),
        Condition("computer", _("At least one military computer"), _computer),
        Condition(
            "certificate_on_token",
            _("Valid unit certificate on a crypto token"),
            _certificate_on_token,
        ),
        Condition("trained_operator", _("At least one trained operator"), _trained_operator),
    )
}


def active_conditions() -> list[Condition]:
    codes = list(settings.TIENDON_READINESS_CONDITIONS)
    unknown = [code for code in codes if code not in CONDITIONS]
    if unknown:
        raise ImproperlyConfigured(
            f"TIENDON_READINESS_CONDITIONS: unknown {', '.join(unknown)}; "
            f"known: {', '.join(CONDITIONS)}"
        )
    return [CONDITIONS[code] for code in codes]


def ready_q() -> Q:
    q = Q()
    for condition in active_conditions():
        q &= condition.holds()
    return q


def state_expression() -> Expression:
    """READY if every condition holds; BLOCKED if not and a blocking reason is recorded."""
    return Case(
        When(ready_q(), then=Value(READY)),
        When(readiness__blocking_reasons__gt="", then=Value(BLOCKED)),
        default=Value(IN_PROGRESS),
        output_field=CharField(),
    )


def condition_flags() -> dict[str, Expression]:
    """One boolean annotation per condition in force: `cond_<code>`."""
    return {
        f"cond_{c.code}": Case(
            When(c.holds(), then=Value(True)), default=Value(False), output_field=BooleanField()
        )
        for c in active_conditions()
    }


def working_window_days() -> int:
    return int(settings.TIENDON_READINESS_WORKING_DAYS)


def working_digitally_measurable() -> bool:
    """ "Working digitally" needs registered incoming documents and sent statuses, which
    the documents app reports (`documents.queries.working_digitally`). Without it the
    figure is "not yet measured", never a guess."""
    return apps.is_installed("tiendon.documents")


def working_condition(now: dt.datetime | None = None) -> Q | None:
    """The condition on a commune's row for "working digitally" in the configured window,
    or None when it cannot be measured."""
    if not working_digitally_measurable():
        return None
    # Imported here, not at the top: without the documents app its models cannot load.
    from tiendon.documents import queries as documents_queries

    since = (now or timezone.now()) - dt.timedelta(days=working_window_days())
    return documents_queries.working_digitally(since)
