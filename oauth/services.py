"""Issuing and revoking partners' OAuth2 clients and tokens: the one write path (the admin
calls it; the partner's key page will)."""

from collections.abc import Iterable

from django.db import IntegrityError, transaction
from django.utils.crypto import get_random_string
from oauth2_provider.generators import generate_client_secret
from oauth2_provider.models import AccessToken, Application

from helplines.models import Partner
from oauth.models import LABEL_LENGTH, LABEL_START, PartnerClient
from oauth.tokens import forget_tokens


def create_client(
    *, partner: Partner, name: str, is_test: bool = False
) -> tuple[PartnerClient, str]:
    """A new client and its secret, which is shown once: only its hash is stored."""
    secret = generate_client_secret()
    for _attempt in range(5):
        label = LABEL_START + get_random_string(LABEL_LENGTH - len(LABEL_START))
        try:
            with transaction.atomic():
                application = Application.objects.create(
                    name=name,
                    client_type=Application.CLIENT_CONFIDENTIAL,
                    authorization_grant_type=Application.GRANT_CLIENT_CREDENTIALS,
                    client_secret=secret,
                    hash_client_secret=True,
                    skip_authorization=True,
                )
                client = PartnerClient.objects.create(
                    application=application, partner=partner, is_test=is_test, label=label
                )
            return client, secret
        except IntegrityError:
            # Two clients drew the same label (1 in 916 million): draw again.
            if PartnerClient.objects.filter(label=label).exists():
                continue
            raise
    raise RuntimeError("No free client label after 5 draws.")


def revoke_tokens(tokens: Iterable[AccessToken]) -> int:
    """Deletes the tokens and forgets them in the cache at once: the next request made with
    one of them is refused (401), whichever server process serves it."""
    tokens = list(tokens)
    checksums = [token.token_checksum for token in tokens]
    with transaction.atomic():
        deleted, _ = AccessToken.objects.filter(pk__in=[token.pk for token in tokens]).delete()
    forget_tokens(checksums)
    return deleted


def revoke_clients(clients: Iterable[PartnerClient]) -> int:
    """Revokes each client (saved one by one, for the audit trail): no new token is issued
    to it, and its tokens are revoked now."""
    count = 0
    for client in clients:
        with transaction.atomic():
            locked = PartnerClient.objects.select_for_update().get(pk=client.pk)
            if locked.revoked:
                continue
            locked.revoked = True
            locked.save(update_fields=["revoked"])
            count += 1
        revoke_tokens(AccessToken.objects.filter(application_id=client.pk))
    return count
