"""Units (the command hierarchy) and the people who belong to them."""

from __future__ import annotations

from typing import Any, ClassVar

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager
from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from tiendon.units import folding


class UnitKind(models.TextChoices):
    MINISTRY = "ministry", _("Ministry")
    MILITARY_REGION = "military_region", _("Military region / capital command")
    MINISTRY_AGENCY = "ministry_agency", _("Ministry agency")
    PROVINCIAL_COMMAND = "provincial_command", _("Provincial military command")
    REGIONAL_DEFENCE_COMMAND = "regional_defence_command", _("Regional defence command")
    COMMUNE_BOARD = "commune_board", _("Commune military command board")


class CommuneType(models.TextChoices):
    """The three kinds of commune-level unit after the 2025 reorganisation."""

    XA = "xa", _("Commune (xã)")
    PHUONG = "phuong", _("Ward (phường)")
    DAC_KHU = "dac_khu", _("Special zone (đặc khu)")


code_validator = RegexValidator(
    r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$",
    _("Unit codes use letters, digits, '.', '_' and '-', at most 32 characters."),
    code="invalid_unit_code",
)
org_id_validator = RegexValidator(
    r"^[A-Za-z0-9.]{13}$",
    _("The electronic organisation identifier has exactly 13 characters."),
    code="invalid_org_id",
)


class Unit(models.Model):
    """A unit of the hierarchy: ministry, region, province, commune board, or anything between.

    `path` is the materialised chain of ids from the root ("/1/7/52/"), so a subtree is
    one indexed prefix query at any depth.
    """

    code = models.CharField(
        max_length=32, unique=True, validators=[code_validator], verbose_name=_("code")
    )
    name = models.CharField(max_length=200, verbose_name=_("name"))
    short_name = models.CharField(max_length=120, blank=True, verbose_name=_("short name"))
    kind = models.CharField(max_length=32, choices=UnitKind.choices, verbose_name=_("kind"))
    commune_type = models.CharField(
        max_length=16, choices=CommuneType.choices, blank=True, verbose_name=_("commune type")
    )
    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
        verbose_name=_("parent unit"),
    )
    abbreviation = models.CharField(
        max_length=32, blank=True, verbose_name=_("abbreviation in document symbols")
    )
    org_id = models.CharField(
        max_length=13,
        blank=True,
        validators=[org_id_validator],
        verbose_name=_("electronic organisation identifier"),
    )
    # Địa danh: the place in the date line of the unit's documents ("Hà Nội, ngày …");
    # `units.places` gives the default, an administrator may correct it.
    place_name = models.CharField(max_length=100, blank=True, verbose_name=_("place name"))
    path = models.CharField(max_length=255, db_index=True, editable=False, default="")
    depth = models.PositiveSmallIntegerField(default=0, editable=False)
    latitude = models.FloatField(null=True, blank=True)
    longitude = models.FloatField(null=True, blank=True)
    is_active = models.BooleanField(default=True, verbose_name=_("active"))
    # The names folded for the unit picker (units.folding.search_name): kept in step by
    # save() and by the seed's bulk insert, never by a signal.
    search_name = models.CharField(max_length=1000, default="", editable=False)

    class Meta:
        verbose_name = _("unit")
        verbose_name_plural = _("units")
        constraints = [
            models.UniqueConstraint(
                fields=["org_id"], condition=~models.Q(org_id=""), name="unit_org_id_unique"
            ),
            models.CheckConstraint(
                condition=models.Q(
                    kind="commune_board", commune_type__in=["xa", "phuong", "dac_khu"]
                )
                | (~models.Q(kind="commune_board") & models.Q(commune_type="")),
                name="unit_commune_type_matches_kind",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        """Saves with `search_name` refreshed whenever a name or the code is written."""
        update_fields = kwargs.get("update_fields")
        if update_fields is None:
            self.fill_search_name()
        elif {"name", "short_name", "code"} & set(update_fields):
            self.fill_search_name()
            kwargs["update_fields"] = {*update_fields, "search_name"}
        super().save(*args, **kwargs)

    def fill_search_name(self) -> None:
        self.search_name = folding.search_name(self.name, self.short_name, self.code)

    def ancestors(self) -> list[Unit]:
        """From the root down to the parent, in order."""
        ids = [int(part) for part in self.path.strip("/").split("/")[:-1] if part]
        by_id = Unit.objects.in_bulk(ids)
        return [by_id[i] for i in ids if i in by_id]

    def is_within(self, other: Unit) -> bool:
        """Whether this unit is `other` or below it (what a person of `other` may open)."""
        return self.path.startswith(other.path)

    def chain_of_command(self) -> list[Unit]:
        return [*self.ancestors(), self]

    def province(self) -> Unit | None:
        """The provincial-level command this unit belongs to, if any."""
        for unit in self.chain_of_command():
            if unit.kind == UnitKind.PROVINCIAL_COMMAND:
                return unit
        return None


class Role(models.TextChoices):
    CLERK = "clerk", _("Clerk (văn thư)")
    COMMANDER = "commander", _("Commander (chỉ huy)")
    STAFF = "staff", _("Staff officer (cán bộ)")
    ADMIN = "admin", _("Administrator (quản trị)")


class Clearance(models.IntegerChoices):
    """Access to state secrets; levels are ordered, so a higher one includes the lower."""

    NONE = 0, _("None")
    MAT = 1, _("Secret (Mật)")
    TOI_MAT = 2, _("Top secret (Tối mật)")
    TUYET_MAT = 3, _("Absolutely secret (Tuyệt mật)")


class PersonManager(BaseUserManager["Person"]):
    use_in_migrations = True

    def create_user(self, username: str, password: str | None = None, **extra: object) -> Person:
        person = self.model(username=username, **extra)
        person.set_password(password)
        person.save(using=self._db)
        return person

    def create_superuser(
        self, username: str, password: str | None = None, **extra: object
    ) -> Person:
        extra.setdefault("role", Role.ADMIN)
        return self.create_user(username, password, **extra)


username_validator = RegexValidator(
    r"^[a-z0-9][a-z0-9._-]{2,63}$",
    _("Use 3-64 lower-case letters, digits, '.', '_' or '-'."),
    code="invalid_username",
)


class Person(AbstractBaseUser):
    """A person of a unit. Logs in with username, password and (optionally) TOTP."""

    username = models.CharField(
        max_length=64, unique=True, validators=[username_validator], verbose_name=_("username")
    )
    full_name = models.CharField(max_length=200, verbose_name=_("full name"))
    unit = models.ForeignKey(
        Unit, on_delete=models.PROTECT, related_name="people", verbose_name=_("unit")
    )
    role = models.CharField(max_length=16, choices=Role.choices, verbose_name=_("role"))
    clearance = models.PositiveSmallIntegerField(
        choices=Clearance.choices, default=Clearance.NONE, verbose_name=_("clearance")
    )
    rank = models.CharField(max_length=64, blank=True, verbose_name=_("military rank"))
    position = models.CharField(max_length=200, blank=True, verbose_name=_("position"))
    acting_position = models.CharField(
        max_length=200, blank=True, verbose_name=_("acting position (quyền / phụ trách)")
    )
    is_active = models.BooleanField(default=True, verbose_name=_("active"))
    totp_secret = models.CharField(max_length=64, blank=True, editable=False)
    totp_confirmed_at = models.DateTimeField(null=True, blank=True, editable=False)
    # The time step of the last code accepted, so a code cannot be spent twice.
    totp_last_step = models.BigIntegerField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    objects: ClassVar[PersonManager] = PersonManager()

    USERNAME_FIELD = "username"
    REQUIRED_FIELDS: ClassVar[list[str]] = ["full_name"]

    class Meta:
        verbose_name = _("person")
        verbose_name_plural = _("people")

    def __str__(self) -> str:
        return f"{self.full_name} ({self.username})"

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN

    @property
    def has_totp(self) -> bool:
        return self.totp_confirmed_at is not None

    # Django admin asks for these; only administrators reach it (see units.admin).
    @property
    def is_staff(self) -> bool:
        return self.is_active and self.is_admin

    @property
    def is_superuser(self) -> bool:
        return self.is_active and self.is_admin

    def has_perm(self, perm: str, obj: object = None) -> bool:
        return self.is_active and self.is_admin

    def has_perms(self, perm_list: object, obj: object = None) -> bool:
        return self.is_active and self.is_admin

    def has_module_perms(self, app_label: str) -> bool:
        return self.is_active and self.is_admin


class PersonMove(models.Model):
    """History of a person's units: one row per move, never edited."""

    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="moves")
    from_unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="+")
    to_unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="+")
    moved_at = models.DateTimeField(auto_now_add=True)
    moved_by = models.ForeignKey(Person, null=True, on_delete=models.PROTECT, related_name="+")
    note = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["moved_at", "id"]

    def __str__(self) -> str:
        return f"{self.person_id}: {self.from_unit_id} → {self.to_unit_id}"


class LoginThrottle(models.Model):
    """Failed-login counter for one account or one client address."""

    class Scope(models.TextChoices):
        ACCOUNT = "account", _("account")
        ADDRESS = "address", _("address")

    scope = models.CharField(max_length=8, choices=Scope.choices)
    key = models.CharField(max_length=128)
    failures = models.PositiveIntegerField(default=0)
    window_start = models.DateTimeField()
    locked_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["scope", "key"], name="login_throttle_unique")
        ]

    def __str__(self) -> str:
        return f"{self.scope}:{self.key} ({self.failures})"
