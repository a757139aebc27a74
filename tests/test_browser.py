"""The built book in a real browser: Debian's Chromium driven by Playwright.

Every page is loaded from a server on 127.0.0.1 and checked for console errors, requests that
leave the machine, images without alt text, launch buttons that point elsewhere, widgets that
did not render, formulas MathJax did not typeset, and serious accessibility violations
(axe-core).
"""

import functools
import http.server
import json
import pathlib
import threading
import urllib.parse

import pytest

from conftest import BUILD, ROOT

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
SKIP_PAGES = {"genindex.html"}  # Sphinx's empty general index: no content of ours


def _pages():
    if not (BUILD / "index.html").exists():
        return []
    pages = [p for p in BUILD.rglob("*.html")
             if not {"_static", "_sources", "_images"} & set(p.relative_to(BUILD).parts)]
    return sorted(p.relative_to(BUILD).as_posix() for p in pages if p.name not in SKIP_PAGES)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def server():
    if not (BUILD / "index.html").exists():
        pytest.fail("The book is not built: run `make book` first (make test does).")
    handler = functools.partial(_QuietHandler, directory=str(BUILD))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    if not pathlib.Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (make test does).")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


class PageVisit:
    """What one page load did: console errors and requests that left 127.0.0.1."""

    def __init__(self, browser, url, **context_options):
        self.errors, self.outside = [], []
        self.context = browser.new_context(**context_options)
        self.context.route("**/*", self._route)
        self.page = self.context.new_page()
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.goto(url, wait_until="load")
        self.page.wait_for_load_state("networkidle")

    def _route(self, route):
        host = urllib.parse.urlsplit(route.request.url).hostname
        if route.request.url.startswith(("data:", "blob:")) or host == "127.0.0.1":
            route.continue_()
        else:
            self.outside.append(route.request.url)
            route.abort()

    def close(self):
        self.context.close()


def _source_notebook(page):
    source = ROOT / page.replace(".html", ".ipynb")
    return source if source.exists() else None


def _has_widget_state(page):
    return "application/vnd.jupyter.widget-state+json" in (BUILD / page).read_text(encoding="utf-8")


@pytest.mark.parametrize("page", _pages())
def test_page(browser, server, page):
    visit = PageVisit(browser, f"{server}/{page}")
    try:
        if _has_widget_state(page):
            _check_widgets(visit.page)
        _check_math(visit.page)
        _check_images(visit.page)
        notebook = _source_notebook(page)
        if notebook is not None:
            _check_launch_buttons(visit.page, notebook.relative_to(ROOT).as_posix())
        _check_accessibility(visit.page)
        assert not visit.outside, f"requests left 127.0.0.1: {visit.outside}"
        assert not visit.errors, f"console errors: {visit.errors}"
    finally:
        visit.close()


def _check_widgets(page):
    page.wait_for_selector(".widget-box, .jupyter-widgets", timeout=15000)
    rendered = page.locator(".cell_output .jupyter-widgets, .output .jupyter-widgets").count()
    assert rendered > 0, "the page saved widget state but no widget rendered"
    broken = page.locator("text=/Error displaying widget|kernel required|Loading widget/i").count()
    assert broken == 0, "a widget failed to render from its saved state"


def _check_math(page):
    formulas = page.locator("span.math, div.math").count()
    if formulas:
        page.wait_for_function(
            f"document.querySelectorAll('mjx-container').length >= {formulas}", timeout=15000)


def _check_images(page):
    page.evaluate("Promise.all([...document.images].map(i => i.decode().catch(() => null)))")
    images = page.evaluate(
        "[...document.images].map(i => ({src: i.currentSrc.slice(0, 80), alt: i.getAttribute('alt'),"
        " ok: i.complete && i.naturalWidth > 0}))")
    for image in images:
        assert image["ok"], f"image did not load: {image['src']}"
        assert image["alt"] and image["alt"].strip(), f"image without alt text: {image['src']}"


def _check_launch_buttons(page, notebook_path):
    hrefs = page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)")
    binder = [h for h in hrefs if "mybinder.org" in h]
    colab = [h for h in hrefs if "colab.research.google.com" in h]
    assert binder and colab, f"missing launch buttons for {notebook_path}"
    assert all(urllib.parse.unquote(h).endswith(notebook_path) for h in binder + colab), (
        f"launch buttons do not point at {notebook_path}: {binder + colab}")


def _check_accessibility(page):
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    serious = [
        {"id": v["id"], "impact": v["impact"], "help": v["help"],
         "nodes": [n["target"] for n in v["nodes"]][:5]}
        for v in result["violations"] if v["impact"] in ("serious", "critical")
    ]
    assert not serious, "accessibility violations:\n" + json.dumps(serious, indent=1)
