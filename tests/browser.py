"""How the project launches a browser: Debian's Chromium, never a downloaded one
(`playwright install` is not used), with the flags that keep it quiet and offline.
Shared by the browser tests (tests/conftest.py) and docs/screenshots.py."""

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
