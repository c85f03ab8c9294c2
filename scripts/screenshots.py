"""Screenshots of the main pages for the README, taken from the real app over the seeded demo.

    CAREPATH_DATABASE_URL=sqlite:///carepath.db .venv/bin/python scripts/screenshots.py [--out docs/screenshots]

Needs a database seeded with ``carepath demo seed`` (``make run`` does it) and Debian's chromium
(``apt-get install -y chromium``). It serves the web app on a free local port, signs in as the
demo's people (password ``carepath-demo-2026``) and saves one PNG per page.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path
from typing import Any

DEMO_PASSWORD = "carepath-demo-2026"
DOMAIN = "demo.carepath.invalid"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs/screenshots"))
    parser.add_argument("--width", type=int, default=1280)
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    from carepath.config.bootstrap import bootstrap
    from carepath.config.settings import load_settings
    from carepath.engine.clock import SystemClock
    from carepath.entrypoints.web.app import create_app
    from carepath.entrypoints.web.serve import served

    chromium = shutil.which("chromium")
    if chromium is None:
        sys.stderr.write("error: chromium is not installed (apt-get install -y chromium)\n")
        return 2
    app = bootstrap(load_settings(), SystemClock())
    args.out.mkdir(parents=True, exist_ok=True)
    shots: list[tuple[str, str, str]] = [
        ("amy.caseworker", "/my-work", "my-work"),
        ("amy.caseworker", "{case}", "case"),
        ("amy.caseworker", "{case}/timeline", "timeline"),
        ("amy.caseworker", "{action}", "action-form"),
        ("amy.caseworker", "{person}", "person"),
        ("fiona.teammanager", "/team", "team"),
        ("pat.panelcoordinator", "/panels", "panels"),
        ("pat.panelcoordinator", "{sitting}", "panel-sitting"),
        ("dora.agencydecisionmaker", "/decisions", "decisions"),
        ("ada.admin", "/admin/workflows", "admin-journeys"),
        ("sam.servicemanager", "/reports/funnel", "report-funnel"),
        ("sam.servicemanager", "/reports/scorecard", "report-scorecard"),
        ("sam.servicemanager", "/reports/stages/foster_carer_approval", "report-stages"),
    ]
    with served(create_app(app)) as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        signed_in: dict[str, Any] = {}
        case_href = action_href = ""
        for who, path, name in shots:
            if who not in signed_in:
                context = browser.new_context(viewport={"width": args.width, "height": 1000})
                page = context.new_page()
                page.goto(f"{url}/sign-in")
                page.fill("#email", f"{who}@{DOMAIN}")
                page.fill("#password", DEMO_PASSWORD)
                page.click("button[type=submit]")
                signed_in[who] = page
            page = signed_in[who]
            if path.startswith("{case}"):
                if not case_href:
                    page.goto(f"{url}/my-work")
                    first = page.locator("table a.govuk-link[href^='/cases/']").first
                    case_href = first.get_attribute("href") or ""
                path = case_href + path.removeprefix("{case}")
            if path == "{sitting}":  # the first coming sitting with a case booked on it
                page.goto(f"{url}/panels")
                links = page.locator("a[href^='/panels/']")
                hrefs = [links.nth(i).get_attribute("href") or "" for i in range(links.count())]
                path = "/panels"
                for href in [h for h in hrefs if h.removeprefix("/panels/").isdigit()][:20]:
                    page.goto(f"{url}{href}")
                    if page.get_by_text("Take off the agenda").count():
                        path = href
                        break
            if path == "{person}":  # the first person on the case page's People list
                page.goto(f"{url}{case_href}")
                path = page.locator("main a[href^='/people/']").first.get_attribute("href") or case_href
            if path == "{action}":
                page.goto(f"{url}{case_href}")
                action_href = page.locator("a.govuk-task-list__link").first.get_attribute("href") or case_href
                path = action_href
            page.goto(f"{url}{path}")
            target = args.out / f"{name}.png"
            page.screenshot(path=str(target), full_page=name.startswith("report-"))  # a report: its charts too
            sys.stdout.write(f"{target}: {path}\n")
        browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
