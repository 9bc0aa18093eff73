"""Partner accounts: which partner a partner user belongs to."""

from django.conf import settings
from django.db import models

from helplines.models import Partner


class PartnerMembership(models.Model):
    """Makes a user a partner user: one partner per user, any number of users per partner.

    A partner user is never staff (`accounts.partners.create_partner_user` refuses it, and
    the sign-in form refuses a user who is both); deactivating the user ends their access.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="partner_membership"
    )
    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="memberships")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "partner user"
        verbose_name_plural = "partner users"
        ordering = ["partner__name", "user__username"]

    def __str__(self) -> str:
        return f"{self.user.get_username()} ({self.partner.slug})"
