"""Partners' OAuth2 clients (client credentials), beside their API keys.

The client id and its hashed secret, and the access tokens (stored as a SHA-256 checksum
only, `COMPLIANT_BCP_RFC9700_TOKEN_STORAGE`), live in django-oauth-toolkit's own tables;
this adds what a key has and a client needs: its partner, live or test, and a label.
"""

from typing import Any, NoReturn

from django.db import models
from oauth2_provider.models import Application

from helplines.models import Partner, PartnerAPIKey

# A client's label starts with this: an event sent with a token carries the label where an
# event sent with a key carries the key's prefix. A key prefix is letters and digits only,
# so a label can never be taken for one.
LABEL_START = "oa-"
LABEL_LENGTH = 8  # the width of events' api_key_prefix


class PartnerClient(models.Model):
    """One OAuth2 client of a partner: confidential, client credentials grant only."""

    application = models.OneToOneField(
        Application, on_delete=models.CASCADE, primary_key=True, related_name="partner_client"
    )
    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="oauth_clients")
    is_test = models.BooleanField(
        default=False, help_text="Events sent with its tokens are kept out of billing."
    )
    label = models.CharField(
        max_length=LABEL_LENGTH,
        unique=True,
        help_text="Stored with each event sent with its tokens, as a key's prefix is.",
    )
    revoked = models.BooleanField(default=False, help_text="No new token; its tokens deleted.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "partner OAuth client"
        verbose_name_plural = "partner OAuth clients"
        ordering = ["partner__name", "-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(label__startswith=LABEL_START),
                name="partner_client_label_start",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.application.name} ({self.label})"


class TokenSender(PartnerAPIKey):
    """`request.auth` of a request made with an access token: its client in the shape of
    the API key it stands in for (partner, live or test, `prefix` = the client's label), so
    every view, throttle and `record_events` treats both alike. Never stored."""

    class Meta:
        proxy = True

    def save(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise TypeError("A token's sender is not a key and is never stored.")

    @classmethod
    def of(cls, client: PartnerClient) -> "TokenSender":
        return cls(
            prefix=client.label,
            name=client.application.name,
            partner=client.partner,
            is_test=client.is_test,
            revoked=client.revoked,
        )
