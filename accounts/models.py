from __future__ import annotations

from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.db import models
from django.utils import timezone

from accounts.tenancy import TenantOwnedModel


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **extra):
        if not email:
            raise ValueError("An email address is required")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra):
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra):
        extra.update(is_staff=True, is_superuser=True)
        return self._create_user(email, password, **extra)


class User(AbstractUser):
    """A person who signs in with an email address (no usernames)."""

    username = None
    email = models.EmailField("email address", unique=True)

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    objects = UserManager()

    def __str__(self) -> str:
        return self.email


class Merchant(models.Model):
    """The tenant: one business, its stores, stock and orders."""

    name = models.CharField(max_length=200)
    currency = models.CharField(max_length=3, default="USD", help_text="ISO 4217 code used for reporting")
    timezone = models.CharField(max_length=64, default="UTC")
    default_ship_by_days = models.PositiveSmallIntegerField(
        default=2, help_text="Business days after the order is placed by which it should ship, when the channel "
        "makes no promise.",
    )
    address = models.JSONField(
        default=dict, blank=True,
        help_text="Where the merchant ships from (the API's ship_from): name, line1, line2, city, region, postcode, "
        "country (ISO 3166-1 alpha-2), phone.",
    )
    class LabelFormat(models.TextChoices):
        PDF = "PDF", "PDF (any printer)"
        PNG = "PNG", "PNG image"
        ZPL = "ZPL", "ZPL (thermal printer)"

    # db_default too: rows written by code that predates the column (a migration's historical model, an
    # older process during a rolling deploy) get PDF rather than a NOT NULL failure.
    label_format = models.CharField(max_length=3, choices=LabelFormat.choices, default=LabelFormat.PDF,
                                    db_default=LabelFormat.PDF, help_text="The file format carriers are asked for when a label is bought.")
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name


class Membership(TenantOwnedModel):
    class Role(models.TextChoices):
        OWNER = "owner", "Owner"
        STAFF = "staff", "Staff"

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.STAFF)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["merchant", "user"], name="accounts_membership_uniq"),
        ]
        indexes = [models.Index(fields=["user", "created_at"], name="accounts_membership_user_idx")]

    def __str__(self) -> str:
        return f"{self.user} @ {self.merchant_id} ({self.role})"


class ApiToken(TenantOwnedModel):
    """A personal API token. Only a SHA-256 of the token is stored; the prefix identifies it in lists."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, unique=True)
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["merchant", "user"], name="accounts_apitoken_owner_idx")]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None




class Invitation(TenantOwnedModel):
    """An owner's invitation for an email address to join the merchant with a role.

    The link carries a random token; only its SHA-256 is stored (like ApiToken), so a copy of
    the database holds no usable link, and resending rotates the token, killing the old link.
    Expiry is a column rather than a signature's age, so a resend extends it and rotating
    SECRET_KEY does not void invitations. An invitation is open until accepted, revoked or
    past `expires_at`; at most one open invitation per address and merchant.
    """

    email = models.EmailField()
    role = models.CharField(max_length=16, choices=Membership.Role.choices, default=Membership.Role.STAFF)
    invited_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, related_name="+")
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["merchant", "email"], name="accounts_invitation_open_uniq",
                condition=models.Q(accepted_at__isnull=True, revoked_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.email} → {self.merchant_id} ({self.role})"


class AuditEvent(TenantOwnedModel):
    """One security-relevant act in a merchant: who (user or API token, from where), what, on which object,
    and which fields changed (old/new; a secret field only as "changed"). Written by
    accounts.services.audit.audit_record and nothing else; the database refuses UPDATE and DELETE on the
    table (accounts/0005's trigger), so the rows outlive the people and objects they name: the actor and
    object are kept as ids and labels, not foreign keys that a deletion would have to null or cascade."""

    # No database constraint: a merchant deleted outright (ops, never the app, which deactivates) leaves its
    # trail behind rather than being refused or taking the trail with it.
    merchant = models.ForeignKey(Merchant, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+")
    occurred_at = models.DateTimeField(default=timezone.now)
    action = models.CharField(max_length=64)
    actor_user_id = models.BigIntegerField(null=True, blank=True)
    actor_token_id = models.BigIntegerField(null=True, blank=True)
    actor_label = models.CharField(max_length=254, blank=True, help_text="The actor's email, token prefix, or "
                                   "'system' for work no person started.")
    ip = models.CharField(max_length=64, blank=True)
    user_agent = models.CharField(max_length=500, blank=True)
    request_id = models.CharField(max_length=128, blank=True)
    object_type = models.CharField(max_length=64, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    object_repr = models.CharField(max_length=200, blank=True)
    changes = models.JSONField(default=dict, blank=True, help_text='{field: {"old": ..., "new": ...}}, or '
                               '{field: {"changed": true}} for a credential.')

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["merchant", "-id"], name="accounts_audit_recent_idx"),
            models.Index(fields=["merchant", "action", "-id"], name="accounts_audit_action_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.action} by {self.actor_label or 'system'} @ {self.merchant_id}"
