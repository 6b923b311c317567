"""Uses the dashboard as a person would, in headless Chromium (Debian's, driven by Playwright),
for tests/dashboard.rs.

Usage: dashboard.py BASE_URL GOOD_TOKEN SCREENSHOT.png

Signs in with a wrong token, then with GOOD_TOKEN; reads the partnership list; opens the first
partnership; travels back in time with the page's controls; opens the printable retrospective;
signs out. Prints one JSON object with what each step showed, every console or page error, every
request to another host, and every form control without an accessible name. Writes a screenshot
of the list to SCREENSHOT.png.
"""

import json
import sys
from urllib.parse import urlparse

from playwright.sync_api import sync_playwright

from chromium import launch

UNNAMED = """() => [...document.querySelectorAll('input, select, button, a[href]')]
    .filter(el => {
        const labelled = el.labels && el.labels.length > 0;
        const named = (el.getAttribute('aria-label') || el.textContent || '').trim().length > 0;
        return !(labelled || named);
    })
    .map(el => el.outerHTML)"""


def main(base, token, screenshot):
    host = urlparse(base).netloc
    seen = {"console_errors": [], "page_errors": [], "elsewhere": [], "unnamed": {}}
    with sync_playwright() as p:
        browser = launch(p)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.on(
            "console",
            lambda m: seen["console_errors"].append(m.text) if m.type == "error" else None,
        )
        page.on("pageerror", lambda e: seen["page_errors"].append(str(e)))
        page.on(
            "request",
            lambda r: seen["elsewhere"].append(r.url) if urlparse(r.url).netloc != host else None,
        )

        def unnamed(step):
            seen["unnamed"][step] = page.evaluate(UNNAMED)

        # Not signed in: the dashboard asks for a token, and refuses a wrong one.
        page.goto(base + "/")
        seen["first_path"] = urlparse(page.url).path
        unnamed("sign-in")
        page.get_by_label("Token", exact=True).fill("acc_not-a-token")
        page.get_by_role("button", name="Sign in").click()
        seen["refused"] = page.get_by_role("alert").inner_text()

        page.get_by_label("Token", exact=True).fill(token)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(base + "/")
        seen["signed_in"] = page.locator("nav.top").inner_text()

        # The list: the partnerships this token may read.
        seen["listed"] = page.locator("table.list tbody tr td:first-child a").all_inner_texts()
        seen["list_flags"] = page.locator("table.list tbody tr td:nth-child(6)").all_inner_texts()
        unnamed("list")
        page.screenshot(path=screenshot, full_page=True)

        # Filtered by status, then ordered.
        page.get_by_label("Status", exact=True).select_option("terminated")
        page.get_by_role("button", name="Show").click()
        seen["filtered_none"] = page.locator("table.list tbody tr").count()
        page.get_by_label("Status", exact=True).select_option("")
        page.get_by_label("Order", exact=True).select_option("flags")
        page.get_by_role("button", name="Show").click()
        seen["ordered_url"] = page.url

        # Drill down into the first partnership.
        page.locator("table.list tbody tr td:first-child a").first.click()
        seen["partnership_title"] = page.locator("h1").inner_text()
        seen["history_rows_now"] = page.locator("#history table tbody tr").count()
        seen["charts"] = page.locator("svg.chart").count()
        seen["sections"] = page.evaluate("() => [...document.querySelectorAll('main section')].map(s => s.id)")
        evidence = page.locator("a[href*='#e-']")
        seen["evidence_links"] = evidence.count()
        if seen["evidence_links"] > 0:
            evidence.first.click()
            target = urlparse(page.url).fragment
            seen["evidence_target_shown"] = page.locator(f"tr[id='{target}']").is_visible()
        unnamed("partnership")

        # Time travel: as the ledger knew it before anything was recorded, nothing is known.
        page.get_by_label("As the ledger knew it at (as_of, RFC 3339; empty: now)").fill(
            "2000-01-01T00:00:00Z"
        )
        page.get_by_role("button", name="Show").click()
        seen["travel_url"] = page.url
        seen["history_rows_then"] = page.locator("#history table tbody tr").count()
        page.go_back()

        # The printable retrospective.
        page.get_by_role("link", name="Printable retrospective").click()
        seen["retro_title"] = page.title()
        page.go_back()

        # Signing out asks for a token again.
        page.get_by_role("button", name="Sign out").click()
        seen["after_sign_out"] = urlparse(page.url).path
        page.goto(base + "/")
        seen["after_sign_out_list"] = urlparse(page.url).path
        browser.close()
    json.dump(seen, sys.stdout)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3])
