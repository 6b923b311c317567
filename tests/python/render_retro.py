"""Renders a retrospective report in headless Chromium (Debian's, driven by Playwright), for
tests/retro.rs.

Usage: render_retro.py OUT_DIR PAGE.html...

Prints one JSON object, per page:
- what the browser reported: console errors, page errors, and every request besides the
  page's own;
- what the page shows: its SVG charts per section, the names of the red flags listed, and the
  items of "What to discuss";
- what the screenshot shows: its size, and how many pixels have each of the colours the charts
  draw with, in all and within the first chart of each section.
It also writes each page's full-page screenshot and printed PDF into OUT_DIR, and says how many
pages the PDF has.
"""

import json
import os
import pathlib
import sys

from PIL import Image
from playwright.sync_api import sync_playwright

from chromium import launch

# The colours of the charts (services/accord-report/src/charts.rs).
COLOURS = {
    "critical": (0xC6, 0x28, 0x28),
    "warn": (0xE0, 0xA1, 0x00),
    "good": (0x2E, 0x7D, 0x32),
    "series0": (0x1F, 0x6F, 0xB2),
    "series1": (0xB8, 0x50, 0x1F),
}


def colour_counts(image):
    """Pixels near each colour (the browser's colour management moves them a little)."""
    counts = dict.fromkeys(COLOURS, 0)
    for n, rgb in image.getcolors(maxcolors=1 << 24):
        for name, want in COLOURS.items():
            if max(abs(a - b) for a, b in zip(rgb, want)) <= 16:
                counts[name] += n
    return counts


def render(browser, path, out_dir):
    url = pathlib.Path(path).resolve().as_uri()
    stem = pathlib.Path(path).stem
    screenshot = os.path.join(out_dir, f"{stem}.png")
    pdf = os.path.join(out_dir, f"{stem}.pdf")
    console_errors, page_errors, requests = [], [], []
    page = browser.new_page(viewport={"width": 1000, "height": 1400})
    page.on(
        "console",
        lambda m: console_errors.append(m.text) if m.type == "error" else None,
    )
    page.on("pageerror", lambda e: page_errors.append(str(e)))
    page.on("request", lambda r: requests.append(r.url) if r.url != url else None)
    page.goto(url, wait_until="load")
    shown = page.evaluate(
        """() => ({
            title: document.title,
            sections: Object.fromEntries([...document.querySelectorAll('main > section')]
                .map(s => [s.id, s.querySelectorAll('svg.chart').length])),
            chart_elements: document.querySelectorAll(
                'svg.chart polyline, svg.chart rect, svg.chart circle').length,
            flags: [...document.querySelectorAll('#flags h3')].map(h => h.textContent),
            discuss: [...document.querySelectorAll('#discuss li')].map(li => li.textContent),
            fits: document.documentElement.scrollWidth <= window.innerWidth,
            boxes: Object.fromEntries([...document.querySelectorAll('main > section')]
                .filter(s => s.querySelector('svg.chart'))
                .map(s => {
                    const r = s.querySelector('svg.chart').getBoundingClientRect();
                    return [s.id, [r.left, r.top + window.scrollY, r.right, r.bottom + window.scrollY]];
                })),
        })"""
    )
    page.screenshot(path=screenshot, full_page=True)
    page.pdf(path=pdf, format="A4", print_background=True)
    page.close()
    image = Image.open(screenshot).convert("RGB")
    charts = {
        section: colour_counts(image.crop(tuple(round(v) for v in box)))
        for section, box in shown.pop("boxes").items()
    }
    with open(pdf, "rb") as f:
        data = f.read()
    return {
        "console_errors": console_errors,
        "page_errors": page_errors,
        "requests": requests,
        "shown": shown,
        "screenshot": {
            "width": image.size[0],
            "height": image.size[1],
            "colours": colour_counts(image),
            "charts": charts,
        },
        "pdf_pages": data.count(b"/Type /Page") - data.count(b"/Type /Pages"),
    }


def main(out_dir, pages):
    with sync_playwright() as p:
        browser = launch(p)
        results = {path: render(browser, path, out_dir) for path in pages}
        browser.close()
    json.dump(results, sys.stdout)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
