"""Debian's Chromium as the browser tests launch it through Playwright: headless, as root in a
container, and without reaching for Google's services at start (a closed network refuses them,
many at a time). Playwright never downloads a browser of its own."""

import os

ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def launch(playwright):
    """The browser at `$ACCORD_CHROMIUM` (default /usr/bin/chromium)."""
    return playwright.chromium.launch(
        executable_path=os.environ.get("ACCORD_CHROMIUM", "/usr/bin/chromium"),
        args=ARGS,
        headless=True,
    )
