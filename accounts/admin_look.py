"""The admin's look for pages outside the admin's own views: its header, title and user
links, without the navigation sidebar (the dashboard, sign-in, second factor and password
pages)."""

from typing import Any

from django.contrib.admin import site as admin_site
from django.http import HttpRequest


def admin_look(request: HttpRequest) -> dict[str, Any]:
    """What the admin's templates need for their header: the part of
    `admin_site.each_context` these pages show. Not each_context itself, which also lists
    every app and model the user may see, for a sidebar these pages do not have (a walk
    of every registered model's permissions, some 1.5 ms of each dashboard page), and the
    admin index's recent actions."""
    script_name = request.META["SCRIPT_NAME"]
    return {
        "site_title": admin_site.site_title,
        "site_header": admin_site.site_header,
        "site_url": (
            script_name if admin_site.site_url == "/" and script_name else admin_site.site_url
        ),
        "has_permission": admin_site.has_permission(request),
        "is_popup": False,
        "is_nav_sidebar_enabled": False,
    }
