"""The infrastructure survey of each commune board, and daily roll-up snapshots for trends.

Survey rows change only through `readiness.actions`; certificates, tokens, logins and
envelopes are never copied here: they are read live from their own apps (`queries.py`).
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class LinkKind(models.TextChoices):
    NONE = "none", _("No link")
    CIVIL_LINE = "civil_line", _("Civil line")
    MILITARY_NETWORK = "military_network", _("Military data network")
    PRIVATE_5G = "private_5g", _("Private mobile 5G")


class BlockingReason(models.TextChoices):
    """Why a commune board cannot go live yet (no code is part of another: see `contains`)."""

    NO_LINK = "no_link", _("No network link")
    NO_COMPUTER = "no_computer", _("No military computer")
    NO_TOKEN = "no_token", _("No crypto token issued")
    NO_TRAINED_STAFF = "no_trained_staff", _("No trained operator")
    NO_BUDGET = "no_budget", _("Budget not allocated")
    POWER_SUPPLY = "power_supply", _("Unstable power supply")
    PREMISES = "premises", _("Premises not ready")


class CommuneReadiness(models.Model):
    """The survey of one commune board (Ban CHQS cấp xã): what it has to work digitally."""

    unit = models.OneToOneField(
        "units.Unit", on_delete=models.PROTECT, related_name="readiness", verbose_name=_("unit")
    )
    link_kind = models.CharField(
        max_length=20, choices=LinkKind.choices, default=LinkKind.NONE, verbose_name=_("link")
    )
    bandwidth_kbps = models.PositiveIntegerField(
        null=True, blank=True, verbose_name=_("bandwidth (kbit/s)")
    )
    provider = models.CharField(max_length=100, blank=True, verbose_name=_("provider"))
    computers = models.PositiveIntegerField(default=0, verbose_name=_("military computers"))
    computer_serials = models.TextField(blank=True, verbose_name=_("computer serial numbers"))
    trained_operators = models.PositiveIntegerField(default=0, verbose_name=_("trained operators"))
    operator_names = models.TextField(blank=True, verbose_name=_("trained operators' names"))
    planned_go_live = models.DateField(null=True, blank=True, verbose_name=_("planned go-live"))
    actual_go_live = models.DateField(null=True, blank=True, verbose_name=_("actual go-live"))
    # Comma-separated BlockingReason codes, in the order of BlockingReason.
    blocking_reasons = models.CharField(max_length=200, blank=True)
    notes = models.TextField(blank=True, verbose_name=_("notes"))
    updated_by = models.ForeignKey(
        "units.Person", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    updated_at = models.DateTimeField()

    class Meta:
        verbose_name = _("commune readiness survey")
        verbose_name_plural = _("commune readiness surveys")

    def __str__(self) -> str:
        return f"{self.unit_id}: {self.link_kind}"

    @property
    def reasons(self) -> list[str]:
        return [code for code in self.blocking_reasons.split(",") if code]

    def reason_labels(self) -> list[str]:
        labels = dict(BlockingReason.choices)
        return [str(labels.get(code, code)) for code in self.reasons]

    def serial_list(self) -> list[str]:
        return [line for line in self.computer_serials.splitlines() if line.strip()]

    def operator_list(self) -> list[str]:
        return [line for line in self.operator_names.splitlines() if line.strip()]


class ReadinessSnapshot(models.Model):
    """Counts for one unit's subtree on one day (`tiendon readiness snapshot`), for trends.

    `working` stays empty while "working digitally" cannot be measured (no documents app).
    """

    day = models.DateField()
    unit = models.ForeignKey("units.Unit", on_delete=models.PROTECT, related_name="+")
    total = models.PositiveIntegerField()
    ready = models.PositiveIntegerField()
    in_progress = models.PositiveIntegerField()
    blocked = models.PositiveIntegerField()
    working = models.PositiveIntegerField(null=True, blank=True)
    taken_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["day", "unit"], name="readiness_snapshot_day_unit")
        ]
        indexes = [models.Index(fields=["unit", "day"])]

    def __str__(self) -> str:
        return f"{self.day} {self.unit_id}: {self.ready}/{self.total}"
