"""Events: a helpline was displayed, or a user clicked to contact it. Never who."""

from django.db import models

from helplines.models import Helpline, Partner, PartnerAPIKey


class EventType(models.TextChoices):
    DISPLAY = "helpline_display", "Display"
    CLICK = "helpline_click", "Click"


class ContactMethod(models.TextChoices):
    PHONE = "phone", "Phone call"
    SMS = "sms", "SMS / text message"
    ONLINE_CHAT = "online_chat", "Online chat"
    WEBSITE = "website", "Visit to the website"
    TTY = "tty", "TTY / relay call"
    WHATSAPP = "whatsapp", "WhatsApp"
    REPORTING_FORM = "reporting_form", "Online reporting form"


class Event(models.Model):
    """One stored event. Immutable: written only by `events.services.record_events`.

    `contact_method` is "" on displays rather than NULL so that the identity constraint
    below also makes identical displays collide (NULLs are distinct in a unique index).
    """

    type = models.CharField(max_length=16, choices=EventType.choices)
    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="events")
    # The key's 8-character prefix, not its 150-character primary key: one narrow column
    # per row of the largest table.
    api_key = models.ForeignKey(
        PartnerAPIKey,
        on_delete=models.PROTECT,
        to_field="prefix",
        db_column="api_key_prefix",
        related_name="events",
    )
    # Copied from the key when stored, so billing and dashboards filter one column.
    is_test = models.BooleanField(default=False)
    helpline = models.ForeignKey(Helpline, on_delete=models.PROTECT, related_name="events")
    session_id = models.CharField(max_length=128)
    timestamp = models.DateTimeField(help_text="When it happened, from the client.")
    contact_method = models.CharField(
        max_length=16, choices=ContactMethod.choices, blank=True, default=""
    )
    received_at = models.DateTimeField(help_text="When the server stored it.")

    class Meta:
        constraints = [
            # Idempotency: a partner's retry of an identical event never stores a second row.
            models.UniqueConstraint(
                fields=["partner", "type", "helpline", "session_id", "timestamp", "contact_method"],
                name="event_identity_unique",
            ),
            models.CheckConstraint(
                condition=(
                    models.Q(type=EventType.DISPLAY, contact_method="")
                    | models.Q(type=EventType.CLICK, contact_method__in=ContactMethod.values)
                ),
                name="event_contact_method_only_on_clicks",
            ),
        ]
        indexes = [
            # GET /v1/events and partner dashboards: one partner's events over a time
            # range, walked in (timestamp, id) order by the cursor.
            models.Index(fields=["partner", "timestamp", "id"], name="event_partner_time"),
            # Staff dashboards and exports over all partners for a time range, and
            # retention purges.
            models.Index(fields=["timestamp"], name="event_time"),
            # The load page: clicks per hour on the priority helplines.
            models.Index(fields=["helpline", "timestamp"], name="event_helpline_time"),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.helpline_id} {self.timestamp:%Y-%m-%d %H:%M:%S}"


class RefusedEventCount(models.Model):
    """How many events a partner's keys sent that were refused, per clock hour and code.

    Integration health for staff (a partner sending naive timestamps, or session ids that
    look like e-mail addresses). Only the count and the error code are kept, never what was
    sent: a refused event may hold the very personal data it was refused for.
    """

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="refusals")
    hour = models.DateTimeField(help_text="Start of the UTC clock hour.")
    code = models.CharField(max_length=64, help_text="e.g. looks_like_pii, throttled.")
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            # One counter per partner, hour and code: refusals are added by upsert.
            models.UniqueConstraint(
                fields=["partner", "hour", "code"], name="refused_event_count_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.partner_id} {self.hour:%Y-%m-%d %H}:00 {self.code} x{self.count}"
