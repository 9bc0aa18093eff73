"""The helpline directory, the partners that show it, and their API keys."""

import zoneinfo
from datetime import datetime
from functools import cache

import pycountry
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from rest_framework_api_key.models import AbstractAPIKey


@cache
def _timezone_names() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def validate_timezone(value: str) -> None:
    if value not in _timezone_names():
        raise ValidationError(f"{value!r} is not an IANA time zone name.", code="invalid_timezone")


def validate_country_code(value: str) -> None:
    if pycountry.countries.get(alpha_2=value) is None:
        raise ValidationError(
            f"{value!r} is not an ISO 3166-1 alpha-2 country code.", code="invalid_country"
        )


def country_name(code: str) -> str:
    country = pycountry.countries.get(alpha_2=code)
    return getattr(country, "common_name", None) or country.name if country else code


def default_daily_quota() -> int:
    return settings.DIRECTORY_DEFAULT_DAILY_QUOTA


class Partner(models.Model):
    """A platform that shows Throughline helplines and reports events about them."""

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=64, unique=True)
    is_active = models.BooleanField(default=True)
    billing_timezone = models.CharField(
        max_length=64, default="UTC", validators=[validate_timezone]
    )
    daily_quota = models.PositiveIntegerField(
        default=default_daily_quota,
        help_text="Helpline directory calls allowed per rolling 24 hours, all keys together.",
    )
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class PartnerAPIKey(AbstractAPIKey):
    """A partner's key: shown once, stored as prefix + SHA-512 hash, revocable.

    Events sent with a *test* key are stored but kept out of billing and dashboards.
    """

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="api_keys")
    is_test = models.BooleanField(
        default=False, help_text="Events sent with a test key are kept out of billing."
    )

    class Meta(AbstractAPIKey.Meta):
        verbose_name = "partner API key"
        verbose_name_plural = "partner API keys"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix})"

    def status(self, now: datetime) -> "KeyStatus":
        """The one reading of a key's state, for authentication, the admin and the pages:
        revoked wins over expired (a revocation is final, an expiry date can be moved)."""
        return key_status(revoked=self.revoked, expiry_date=self.expiry_date, now=now)


class KeyStatus(models.TextChoices):
    ACTIVE = "active"
    REVOKED = "revoked"
    EXPIRED = "expired"


def key_status(*, revoked: bool, expiry_date: datetime | None, now: datetime) -> KeyStatus:
    if revoked:
        return KeyStatus.REVOKED
    if expiry_date is not None and expiry_date <= now:
        return KeyStatus.EXPIRED
    return KeyStatus.ACTIVE


class Topic(models.Model):
    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(max_length=100, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


# The ways to reach a helpline, in the order the directory, its API and its CSV columns use.
CONTACT_CHANNEL_FIELDS = (
    "phone_number",
    "sms_number",
    "web_chat_url",
    "whatsapp_url",
    "website",
    "tty_number",
    "reporting_form_url",
)


class Helpline(models.Model):
    """One helpline of the directory. `public_id` is the id partners see and send."""

    public_id = models.CharField(
        "id", max_length=64, unique=True, help_text="The directory's id, e.g. a UUID."
    )
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    country_code = models.CharField(max_length=2, validators=[validate_country_code])
    subdivision = models.CharField(max_length=100, blank=True)
    timezone = models.CharField(max_length=64, default="UTC", validators=[validate_timezone])
    topics = models.ManyToManyField(Topic, blank=True, related_name="helplines")
    phone_number = models.CharField(max_length=50, blank=True)
    sms_number = models.CharField(max_length=50, blank=True)
    web_chat_url = models.URLField(max_length=500, blank=True)
    whatsapp_url = models.URLField(max_length=500, blank=True)
    website = models.URLField(max_length=500, blank=True)
    tty_number = models.CharField(max_length=50, blank=True)
    reporting_form_url = models.URLField(max_length=500, blank=True)
    is_priority = models.BooleanField("priority", default=False)
    is_active = models.BooleanField("active", default=True)
    hourly_capacity = models.PositiveIntegerField(
        null=True, blank=True, help_text="Contacts per hour the helpline can take."
    )
    # Throughline's rule for priority results: two services that belong together (an adult
    # and a youth line, one line in two official languages) are displayed both or neither.
    # Kept symmetric by `helplines.services.pair_helplines`, the one place pairs are written;
    # one-to-one, so a helpline belongs to at most one pair.
    paired_with = models.OneToOneField(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The service that must be displayed together with this one.",
    )

    class Meta:
        ordering = ["-is_priority", "name", "public_id"]
        # Checked by django-import-export (IMPORT_EXPORT_*_PERMISSION_CODE): only staff
        # granted these may download or replace the directory from the admin.
        permissions = [
            ("import_helpline", "Can import the helpline directory"),
            ("export_helpline", "Can export the helpline directory"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(country_code__regex=r"^[A-Z]{2}$"),
                name="helpline_country_code_upper_alpha2",
            ),
            models.CheckConstraint(
                condition=~models.Q(paired_with=models.F("pk")),
                name="helpline_not_paired_with_itself",
            ),
        ]
        indexes = [
            # The directory listing: active helplines of a country, priority first.
            models.Index(fields=["country_code", "is_active"], name="helpline_country_active"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.public_id})"


class DirectoryCallBucket(models.Model):
    """Directory API calls a partner made in one clock hour (UTC), for its rolling quota.

    The quota window is the current hour and the 23 before it, so a partner has at most
    24 live rows; older ones are deleted when the partner's next hour begins.
    """

    # One counter per partner and hour; the key also serves the window query (partner = ?
    # AND hour > ?). No surrogate id: a key led by the partner lets the table be
    # distributed by partner as it is (docs/SCALING.md).
    pk = models.CompositePrimaryKey("partner", "hour")
    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="call_buckets")
    hour = models.DateTimeField(help_text="Start of the hour (UTC).")
    calls = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.partner_id} @ {self.hour:%Y-%m-%d %H:00}: {self.calls}"


class HelplineLoad(models.Model):
    """The latest rolling hour `check_load` measured for a priority helpline with a capacity:
    what the directory's `load` says. One row per helpline, replaced at each measurement.

    The hour is [hour_end - 1 h, hour_end), whole UTC quarter-hours, clicks of every partner's
    live traffic (events.load). No partner's own figure is kept here.
    """

    helpline = models.OneToOneField(
        Helpline, on_delete=models.CASCADE, primary_key=True, related_name="load_status"
    )
    hour_end = models.DateTimeField(help_text="End of the rolling hour measured.")
    clicks = models.PositiveIntegerField(help_text="Clicks in that hour, all partners, live.")
    capacity = models.PositiveIntegerField(help_text="The hourly capacity it was measured against.")
    busy = models.BooleanField(help_text="Over the alert threshold in that hour.")

    def __str__(self) -> str:
        return f"{self.helpline_id} {self.hour_end:%Y-%m-%d %H:%M}: {self.clicks}/{self.capacity}"


class LoadEpisode(models.Model):
    """A priority helpline over its hourly capacity (times the alert threshold): from the
    first rolling hour measured over until it has been under for a whole hour.

    Each time is the end of a rolling hour (a UTC quarter-hour boundary). Staff are emailed
    once when an episode starts and once when it ends (`alert_sent_at`, `recovery_sent_at`).
    Per helpline, not per partner: it holds no partner's traffic.
    """

    helpline = models.ForeignKey(Helpline, on_delete=models.PROTECT, related_name="load_episodes")
    started_at = models.DateTimeField(help_text="End of the first rolling hour over.")
    last_over_at = models.DateTimeField(help_text="End of the last rolling hour over.")
    ended_at = models.DateTimeField(
        null=True, blank=True, help_text="A whole hour under was complete; empty while ongoing."
    )
    peak_clicks = models.PositiveIntegerField(help_text="Most clicks in one rolling hour.")
    peak_at = models.DateTimeField(help_text="End of the rolling hour of the peak.")
    capacity = models.PositiveIntegerField(help_text="Hourly capacity when it started.")
    alert_sent_at = models.DateTimeField(null=True, blank=True)
    recovery_sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at", "helpline_id"]
        constraints = [
            # check_load extends the open episode instead of opening a second one; two runs
            # racing would otherwise alert twice.
            models.UniqueConstraint(
                fields=["helpline"],
                condition=models.Q(ended_at__isnull=True),
                name="load_episode_one_open_per_helpline",
            ),
            models.CheckConstraint(
                condition=models.Q(ended_at__isnull=True)
                | models.Q(ended_at__gt=models.F("last_over_at")),
                name="load_episode_ends_after_last_over",
            ),
        ]
        indexes = [
            # The load page and the admin: the latest episodes, per helpline or all.
            models.Index(fields=["helpline", "-started_at"], name="load_episode_helpline"),
            models.Index(fields=["-started_at"], name="load_episode_started"),
        ]

    def __str__(self) -> str:
        return f"{self.helpline_id} over capacity from {self.started_at:%Y-%m-%d %H:%M}"
