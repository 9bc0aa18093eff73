"""Screenshots of the dashboard and of a partner user's own pages on the demo data, for the
README.

With `make run` serving (the demo seeded), in a second terminal: `make screenshots`.
A staff user `screenshots` and a partner user `partner-screenshots` (of Lumen Assistant)
are given fresh random passwords for the session; the pictures land in docs/screenshots/.
Needs Debian's Chromium (/usr/bin/chromium).
"""

import os
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

from playwright.sync_api import sync_playwright

BASE_DIR = Path(__file__).resolve().parent.parent
if str(BASE_DIR) not in sys.path:  # run as a script: make `tests` importable
    sys.path.insert(0, str(BASE_DIR))

from tests.browser import CHROMIUM, CHROMIUM_ARGS  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "screenshots"
BASE = os.environ.get("BASE_URL", f"http://127.0.0.1:{os.environ.get('PORT', '8000')}")
PAGES = {
    "dashboard-overview.png": "/dashboard/",
    "dashboard-partner.png": "/dashboard/partners/demo-lumen/?range=mtd",
    "dashboard-load.png": "/dashboard/load/",
    "dashboard-impact-report.png": "/dashboard/partners/demo-lumen/report/?range=30d",
    "admin-index.png": "/admin/",
    "admin-events.png": "/admin/events/event/",
}
# On a 390 px phone: the same pages, no sideways scrolling.
PHONE_PAGES = {
    "phone-overview.png": "/dashboard/",
    "phone-load.png": "/dashboard/load/",
}
STAFF_USER = """
from django.contrib.auth.models import User
user, _ = User.objects.get_or_create(username="screenshots")
user.is_staff = user.is_superuser = True
user.set_password({password!r})
user.save()
"""
# A partner user's own pages, as `partner-screenshots` of Lumen Assistant sees them (the
# demo's partner user keeps the password `make run` printed).
PARTNER_PAGES = {
    "partner-analytics.png": "/partner/?range=30d",
    "partner-statement.png": "/partner/statement/",
    "partner-impact-report.png": "/partner/report/?range=30d",
}
PARTNER_PHONE_PAGES = {
    "phone-partner-analytics.png": "/partner/",
    "phone-partner-statement.png": "/partner/statement/",
}
PARTNER_USER = """
from django.contrib.auth.models import User
from accounts.partners import create_partner_user
from helplines.models import Partner
user = User.objects.filter(username="partner-screenshots").first()
if user is None:
    user = create_partner_user(
        partner=Partner.objects.get(slug="demo-lumen"), username="partner-screenshots"
    )
user.set_password({password!r})
user.save()
"""


def set_password(script: str, password: str) -> None:
    subprocess.run(
        [
            sys.executable,
            "manage.py",
            "shell",
            "--no-imports",
            "-c",
            script.format(password=password),
        ],
        cwd=ROOT,
        check=True,
        env={**os.environ, "DEBUG": os.environ.get("DEBUG", "true")},
    )


def sign_in(page: Any, username: str, password: str, then: str) -> None:
    page.goto(f"{BASE}/admin/login/?next={then}")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("input[type=submit]")
    page.wait_for_url(f"**{then}")


def shoot(page: Any, pages: dict[str, str], *, whole: bool) -> None:
    """Each of `pages` into OUT under its name: whole pages when `whole`, except the admin's
    lists, shown as their first screen is; otherwise the first screen (phones)."""
    size = page.viewport_size
    for name, path in pages.items():
        page.goto(BASE + path)
        page.screenshot(path=str(OUT / name), full_page=whole and not name.startswith("admin"))
        print(f"{OUT / name}  <- {path} ({size['width']} x {size['height']})")


def main() -> int:
    password, partner_password = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
    set_password(STAFF_USER, password)
    set_password(PARTNER_USER, partner_password)
    OUT.mkdir(parents=True, exist_ok=True)
    errors: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1440, "height": 900})
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        sign_in(page, "screenshots", password, "/dashboard/")
        shoot(page, PAGES, whole=True)
        # A helpline's page, reached as an analyst reaches it: from the overview's table.
        page.goto(f"{BASE}/dashboard/?range=7d")
        page.click("#helplines-table tbody tr:first-child th a")
        page.wait_for_url("**/dashboard/helplines/**")
        page.screenshot(path=str(OUT / "dashboard-helpline.png"), full_page=True)
        print(f"{OUT / 'dashboard-helpline.png'}  <- {page.url.removeprefix(BASE)}")
        page.set_viewport_size({"width": 390, "height": 844})
        shoot(page, PHONE_PAGES, whole=False)
        # The partner user's pages, in a browser of their own (their own session).
        partner = browser.new_page(viewport={"width": 1440, "height": 900})
        partner.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        sign_in(partner, "partner-screenshots", partner_password, "/partner/")
        shoot(partner, PARTNER_PAGES, whole=True)
        partner.set_viewport_size({"width": 390, "height": 844})
        shoot(partner, PARTNER_PHONE_PAGES, whole=False)
        browser.close()
    if errors:
        print("Console errors:", *errors, sep="\n  ", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
