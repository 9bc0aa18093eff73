"""The partner pages' navigation, built from `accounts.partner_views.PARTNER_NAV`."""

from typing import Any

from django import template
from django.urls import reverse

from accounts.partner_views import PARTNER_NAV

register = template.Library()


@register.simple_tag(takes_context=True)
def partner_nav(context: template.Context) -> list[dict[str, Any]]:
    """The nav's links, `current` on the page being shown."""
    request = context.get("request")
    match = getattr(request, "resolver_match", None)
    current = match.view_name if match is not None else ""
    return [
        {
            "id": view_name.split(":")[-1],
            "url": reverse(view_name),
            "label": label,
            "current": view_name == current,
        }
        for view_name, label in PARTNER_NAV
    ]
