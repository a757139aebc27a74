"""What a reader sees and can do in the built book: phones, keyboards, screen readers, print.

Debian's Chromium driven by Playwright, like tests/test_browser.py (which checks every page for
errors, offline loading and accessibility). Here: the navigation drawers on a phone, the
sidebar on a laptop, visible keyboard focus, sliders' spoken values and the explorers' live
announcements, readable explorer text, no sideways scrolling on a phone, folded widget code,
dark mode, MathJax only where there is math, the copy opened from files, and the
policymakers' briefing PDF.
"""

import re

import pytest

from conftest import BUILD
from test_browser import PageVisit, _has_widget_state, _pages, browser, server  # noqa: F401 (fixtures)

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1366, "height": 768}
EXPLORER_PAGES = [
    "chapters/01-what-ai-can-do/1-2-more-data.html",
    "chapters/02-open-and-closed/2-1-what-can-be-open.html",
    "chapters/02-open-and-closed/2-3-openness-experiments.html",
    "chapters/03-benchmarks/3-3-leaderboards.html",
]
SLIDER_PAGE = "chapters/01-what-ai-can-do/1-2-more-data.html"
CHAPTER_PAGE = "chapters/03-benchmarks/3-3-leaderboards.html"
# A code cell taller than this (about 10 lines), or a run of them taller than twice this, right
# above an interactive figure breaks the promise of 00-how-to-use that such code is folded.
FOLDED_CODE_PX = 240


def _visit(browser, server, page, viewport=LAPTOP, **options):
    visit = PageVisit(browser, f"{server}/{page}", viewport=viewport, **options)
    if _has_widget_state(page):
        visit.page.wait_for_selector(".cell_output .jupyter-widgets", timeout=15000)
        visit.page.wait_for_timeout(300)  # explorer.js repairs widgets shortly after they draw
    return visit


# Pages whose widget-building code is still in view: known, and left to the chapter's author.
NOT_YET_FOLDED = {
    "chapters/05-robustness-security-privacy/5-1-adversarial-examples.html":
        "the two cells that draw the FGSM panels (12 and 10 lines) are not tagged hide-input",
}


def _widget_pages():
    return [page for page in _pages() if _has_widget_state(page)]


def _widget_pages_marked():
    return [pytest.param(page, marks=pytest.mark.xfail(reason=NOT_YET_FOLDED[page], strict=False))
            if page in NOT_YET_FOLDED else page for page in _widget_pages()]


# ---- navigation ------------------------------------------------------------------------------
def test_phone_menu_and_contents_open_their_drawers(browser, server):
    visit = _visit(browser, server, CHAPTER_PAGE, viewport=PHONE)
    page = visit.page
    try:
        menu = page.locator(".bd-header-article .primary-toggle")
        assert menu.is_visible(), "no visible menu button on a phone"
        menu.click()
        drawer = page.locator("#pst-primary-sidebar-modal")
        page.wait_for_function("document.querySelector('#pst-primary-sidebar-modal').open", timeout=3000)
        assert drawer.locator("nav a").first.is_visible(), "the menu drawer opened empty"
        assert drawer.locator("a", has_text="Benchmarks and evaluation").first.is_visible()
        page.keyboard.press("Escape")
        page.wait_for_function("!document.querySelector('#pst-primary-sidebar-modal').open", timeout=3000)
        assert not page.locator(".tooltip.show").count(), "a tooltip stayed on screen after tapping the menu"

        page.locator(".bd-header-article .secondary-toggle").click()
        page.wait_for_function("document.querySelector('#pst-secondary-sidebar-modal').open", timeout=3000)
        contents = page.locator("#pst-secondary-sidebar-modal a", has_text="Key takeaways")
        assert contents.first.is_visible(), "the contents drawer does not list the page's sections"
        page.keyboard.press("Escape")

        search = page.locator(".bd-header-article .search-button")
        search.click()
        page.wait_for_function("document.querySelector('#pst-search-dialog').open", timeout=3000)
        page.keyboard.press("Escape")

        home = page.locator(".bd-header-article .aiopen-home")
        assert home.is_visible(), "a phone shows no site title or home link"
        assert home.inner_text().strip() == "AI in the Open"
        assert home.get_attribute("href").endswith("intro.html")
    finally:
        visit.close()


def test_laptop_menu_folds_the_sidebar(browser, server):
    visit = _visit(browser, server, CHAPTER_PAGE, viewport=LAPTOP)
    page = visit.page
    try:
        sidebar = page.locator("#pst-primary-sidebar")
        assert sidebar.is_visible()
        before = page.locator("main, .bd-main").first.bounding_box()["width"]
        page.locator(".bd-header-article .primary-toggle").click()
        page.wait_for_timeout(600)
        assert not page.locator("#pst-primary-sidebar-modal").evaluate("d => d.open"), (
            "on a laptop the menu opened a drawer instead of folding the sidebar")
        folded = sidebar.bounding_box()
        assert folded is None or folded["width"] < 5 or not sidebar.is_visible(), "the sidebar did not fold"
        after = page.locator("main, .bd-main").first.bounding_box()["width"]
        assert after > before + 100, "the text column did not widen when the sidebar folded"
        page.locator(".bd-header-article .primary-toggle").click()
        page.wait_for_timeout(600)
        assert sidebar.is_visible(), "the sidebar did not come back"
        assert not page.locator("#pst-header").is_visible(), "the header bar with a second search box is back"
    finally:
        visit.close()


# ---- keyboard and screen readers ---------------------------------------------------------------
_FOCUS_STYLE = """el => {
  const s = getComputedStyle(el);
  const outline = s.outlineStyle !== 'none' ? parseFloat(s.outlineWidth) : 0;
  const shadow = s.boxShadow && s.boxShadow !== 'none' ? 3 : 0;
  return {outline, shadow, matches: el.matches(':focus-visible'), name: el.outerHTML.slice(0, 80)};
}"""


def _focus_width(page, locator):
    """Focus an element the way a keyboard user does and measure its focus ring (px)."""
    locator.focus()
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Tab")
    style = page.evaluate(f"() => ({_FOCUS_STYLE})(document.activeElement)")
    return max(style["outline"], style["shadow"]), style["name"]


def test_keyboard_focus_is_visible(browser, server):
    visit = _visit(browser, server, SLIDER_PAGE, viewport=LAPTOP)
    page = visit.page
    try:
        targets = {
            "menu button": page.locator(".bd-header-article .primary-toggle"),
            "launch button": page.locator(".bd-header-article .dropdown-launch-buttons > button"),
            "theme button": page.locator(".bd-header-article .theme-switch-button").first,
            "dropdown": page.locator(".cell_output .widget-dropdown select").first,
            "slider": page.locator(".cell_output [role='slider']").first,
        }
        weak = []
        for name, locator in targets.items():
            locator.scroll_into_view_if_needed()
            width, html = _focus_width(page, locator)
            if width < 2:
                weak.append(f"{name} ({width}px): {html}")
        assert not weak, "keyboard focus is not visible on: " + "; ".join(weak)
    finally:
        visit.close()


def test_sliders_speak_their_values_and_changes_are_announced(browser, server):
    visit = _visit(browser, server, SLIDER_PAGE, viewport=LAPTOP)
    page = visit.page
    try:
        handle = page.locator(".cell_output [role='slider']").first
        handle.scroll_into_view_if_needed()
        text = handle.get_attribute("aria-valuetext") or ""
        assert re.search(r"[A-Za-z]", text), f"the slider's spoken value is {text!r}, not what it shows"
        assert text == "25 images"
        readouts = page.locator(".cell_output .widget-readout")
        for i in range(readouts.count()):
            assert readouts.nth(i).evaluate("e => e.tabIndex < 0 || !e.isContentEditable"), (
                "the slider's readout is a tab stop that does nothing")
        handle.focus()
        page.keyboard.press("ArrowRight")
        page.wait_for_function(
            "document.querySelector('.cell_output [role=slider]').getAttribute('aria-valuetext') === '50 images'",
            timeout=3000)
        live = page.locator(".cell_output [aria-live]").first
        page.wait_for_function(
            "[...document.querySelectorAll('.cell_output [aria-live]')].some(e => e.textContent.includes('50'))",
            timeout=3000)
        assert "50 training images" in live.text_content() or "50 images" in live.text_content()
    finally:
        visit.close()


# ---- explorers are readable ------------------------------------------------------------------
_SMALLEST_BODY_TEXT = """() => {
  const sizes = [...document.querySelectorAll('article p, article li, figcaption, .caption-text')]
    .filter(e => e.getClientRects().length && !e.closest('.jupyter-widgets') && e.textContent.trim())
    .map(e => parseFloat(getComputedStyle(e).fontSize));
  return Math.min(...sizes);
}"""

_EXPLORER_TEXT = """() => {
  const out = [];
  for (const box of document.querySelectorAll('.cell_output .jupyter-widgets.widget-vbox')) {
    const walker = document.createTreeWalker(box, NodeFilter.SHOW_TEXT);
    while (walker.nextNode()) {
      const node = walker.currentNode, el = node.parentElement;
      if (!node.textContent.trim() || !el.getClientRects().length) continue;
      if (el.closest('.aiopen-live')) continue;
      out.push({size: parseFloat(getComputedStyle(el).fontSize), text: node.textContent.trim().slice(0, 40)});
    }
  }
  const images = [...document.querySelectorAll('.cell_output .jupyter-widgets img')]
    .filter(i => i.getClientRects().length)
    .map(i => {
      const column = i.closest('.cell_output').getBoundingClientRect().width;
      const pt = parseFloat(i.dataset.minFontPt), inches = parseFloat(i.dataset.widthIn);
      return {width: i.getBoundingClientRect().width, column,
              text: pt && inches ? pt / 72 * i.getBoundingClientRect().width / inches : null};
    });
  return {text: out, images};
}"""


@pytest.mark.parametrize("page", EXPLORER_PAGES)
def test_explorer_text_is_readable_and_fills_the_column(browser, server, page):
    visit = _visit(browser, server, page, viewport=LAPTOP)
    try:
        smallest = visit.page.evaluate(_SMALLEST_BODY_TEXT)
        seen = visit.page.evaluate(_EXPLORER_TEXT)
        small = [t for t in seen["text"] if t["size"] < smallest - 0.5]
        assert seen["text"], "no explorer text found"
        assert not small, f"explorer text smaller than the body's smallest ({smallest}px): {small[:5]}"
        for image in seen["images"]:
            assert image["width"] >= 0.9 * image["column"], (
                f"an explorer figure is {image['width']:.0f}px wide in a {image['column']:.0f}px column")
            assert image["text"] is not None, "an explorer figure does not say its text size (fig_to_html)"
            assert image["text"] >= smallest - 0.5, (
                f"an explorer figure draws text at {image['text']:.1f}px (body's smallest: {smallest}px)")
    finally:
        visit.close()


def test_no_sideways_scrolling_on_a_phone(browser, server):
    wide = []
    for page in _pages():
        visit = PageVisit(browser, f"{server}/{page}", viewport=PHONE)
        try:
            if _has_widget_state(page):
                visit.page.wait_for_selector(".cell_output .jupyter-widgets", timeout=15000)
            overflow = visit.page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth")
            if overflow > 1:
                wide.append(f"{page} (+{overflow}px)")
        finally:
            visit.close()
    assert not wide, "pages that scroll sideways at 390px: " + ", ".join(wide)


_CODE_ABOVE_WIDGETS = """() => {
  const runs = [];
  for (const cell of document.querySelectorAll('.cell')) {
    if (!cell.querySelector('.cell_output .jupyter-widgets')) continue;
    const run = [];
    const own = cell.querySelector(':scope > .cell_input');
    if (own && own.getClientRects().length) run.push(own.getBoundingClientRect().height);
    let prev = cell.previousElementSibling;
    while (prev && prev.classList.contains('cell')) {
      const input = prev.querySelector(':scope > .cell_input');
      if (input && input.getClientRects().length) run.push(input.getBoundingClientRect().height);
      if (prev.querySelector('.cell_output .jupyter-widgets')) break;
      prev = prev.previousElementSibling;
    }
    runs.push(run);
  }
  return runs;
}"""


@pytest.mark.parametrize("page", _widget_pages_marked())
def test_code_above_each_widget_is_folded(browser, server, page):
    visit = _visit(browser, server, page, viewport=LAPTOP)
    try:
        for run in visit.page.evaluate(_CODE_ABOVE_WIDGETS):
            assert all(h <= FOLDED_CODE_PX for h in run) and sum(run) <= 2 * FOLDED_CODE_PX, (
                f"visible code right above an interactive figure: cells of {[round(h) for h in run]}px; "
                "tag widget plumbing hide-input or move it into aiopen")
    finally:
        visit.close()


def test_code_lines_wrap_within_the_column(browser, server):
    visit = _visit(browser, server, "chapters/02-open-and-closed/2-1-what-can-be-open.html", viewport=PHONE)
    try:
        scrollers = visit.page.evaluate(
            "[...document.querySelectorAll('.cell_input pre')].filter(p => p.getClientRects().length"
            " && p.scrollWidth > p.clientWidth + 1).length")
        assert scrollers == 0, f"{scrollers} code cells hide their line ends behind sideways scrolling"
    finally:
        visit.close()


# ---- dark mode, formulas, weight ---------------------------------------------------------------
def test_dark_mode_follows_the_reader_and_stays_legible(browser, server):
    from test_browser import AXE

    visit = _visit(browser, server, SLIDER_PAGE, viewport=LAPTOP, color_scheme="dark")
    page = visit.page
    try:
        assert page.evaluate("document.documentElement.dataset.theme") == "dark", (
            "the reader's dark-mode setting is ignored")
        page.add_script_tag(path=str(AXE))
        result = page.evaluate(
            "axe.run({include: [['.cell_output .jupyter-widgets']]}, "
            "{runOnly: ['color-contrast'], resultTypes: ['violations']})")
        bad = [[n["target"], n["any"][0]["message"][:120] if n["any"] else ""]
               for v in result["violations"] for n in v["nodes"]][:5]
        assert not bad, f"low contrast in the explorer in dark mode: {bad}"
    finally:
        visit.close()


def test_mathjax_loads_only_on_pages_with_math(browser, server):
    needless = []
    for page in ["intro.html", "chapters/03-benchmarks/index.html", "chapters/02-open-and-closed/index.html",
                 "chapters/01-what-ai-can-do/1-2-more-data.html"]:
        html = (BUILD / page).read_text(encoding="utf-8")
        if 'class="math' not in html and "mathjax/tex-chtml.js" in html:
            needless.append(page)
    assert not needless, f"MathJax loads on pages without a formula: {needless}"
    visit = _visit(browser, server, "chapters/02-open-and-closed/2-3-openness-experiments.html")
    try:
        raw = visit.page.locator("article :text-matches('1-\\\\(1-p\\\\)\\\\^n')").count()
        assert raw == 0, "a formula prints as raw text 1-(1-p)^n"
    finally:
        visit.close()


def test_printed_lines_share_one_output_box():
    page = (BUILD / "chapters/03-benchmarks/3-4-beyond-accuracy.html").read_text(encoding="utf-8")
    start = page.find("logistic, weighted")
    assert start > 0, "3.4's comparison table is gone: update this test"
    output = page[page.find("cell_output", start):]
    output = output[:min(i for i in (output.find('<div class="cell'), output.find("</section>")) if i > 0)]
    boxes = output.count('class="output stream')
    assert boxes == 1, f"the comparison table of 3.4 prints as {boxes} output boxes"


# ---- the copy opened from files ----------------------------------------------------------------
def test_book_opened_from_files_works(browser):
    context = browser.new_context(viewport=LAPTOP)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto((BUILD / SLIDER_PAGE).as_uri())
        page.wait_for_selector(".cell_output .jupyter-widgets [role='slider']", timeout=20000)
        page.goto((BUILD / "search.html").as_uri() + "?q=benchmark")
        page.wait_for_selector("#search-results li", timeout=20000)
        page.wait_for_timeout(1500)
        snippets = page.eval_on_selector_all(
            "#search-results li", "items => items.slice(0, 5).map(i => (i.querySelector('.context') || {}).textContent || '')")
        assert snippets and all(s.strip() for s in snippets), f"search results without snippets: {snippets}"
        assert not errors, f"errors in the copy opened from files: {errors}"
    finally:
        context.close()


# ---- the policymakers' briefing ----------------------------------------------------------------
def _chapter_title(html):
    from bs4 import BeautifulSoup

    heading = BeautifulSoup(html, "html.parser").select_one("article h1")
    for extra in heading.select(".section-number, .headerlink"):
        extra.decompose()
    return heading.get_text(" ", strip=True)


def _briefed_chapters():
    found = []
    for page in sorted(BUILD.glob("chapters/[0-9][0-9]-*/index.html")):
        html = page.read_text(encoding="utf-8")
        if re.search(r'admonition-title">\s*Policy brief', html):
            found.append((page, _chapter_title(html)))
    return found


def test_briefing_pdf_has_every_brief():
    pypdf = pytest.importorskip("pypdf")
    pdf = BUILD / "briefing.pdf"
    assert pdf.exists(), "the policymakers' briefing (briefing.pdf) is not in the built site"
    chapters = _briefed_chapters()
    assert chapters, "no chapter page with a policy brief"
    reader = pypdf.PdfReader(str(pdf))
    assert len(reader.pages) >= len(chapters) + 1, (
        f"{len(reader.pages)} pages for a cover and {len(chapters)} briefs")
    text = re.sub(r"\s+", " ", " ".join(p.extract_text() or "" for p in reader.pages))
    assert "AI in the Open" in text and "policymakers" in text.lower()
    missing = [title for _, title in chapters if title and title not in text]
    assert not missing, f"chapters missing from the briefing: {missing}"
    for page, _ in chapters:
        html = page.read_text(encoding="utf-8")
        assert "briefing.pdf" in html, f"{page.relative_to(BUILD)}: its brief does not link the briefing"
    assert "briefing.pdf" in (BUILD / "intro.html").read_text(encoding="utf-8")
    listing = (BUILD / "chapters/for-policymakers.html").read_text(encoding="utf-8")
    assert all(f"{p.parent.name}/index.html" in listing for p, _ in chapters), (
        "the For policymakers page does not list every brief")
