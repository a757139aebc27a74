"""The policymakers' briefing: every chapter's policy brief, in the book and as one printable PDF.

A chapter's policy brief is the first admonition titled "Policy brief: ..." on its landing page
``chapters/NN-name/index``. This extension, loaded through ``local_extensions`` in
``_config.yml``:

- adds to each brief a link to the printable briefing and to the list of briefs;
- gives the ``{policy-briefs}`` directive, which lists every chapter's brief in order with its
  one-line title (used by ``chapters/for-policymakers.md``), and the ``{briefing-pdf}`\\`text\\``
  role, a link to the PDF from any page;
- after the HTML is written, assembles ``briefing.html`` (the course title, the date, then each
  chapter's title and brief on its own page, with the brief's figure, its alt text and caption,
  and the sources it cites written out) and prints it to ``briefing.pdf`` with headless
  Chromium. Both are files of the built site, so the briefing works offline.

A chapter added later is picked up from its folder name; nothing here lists chapters.
"""

import datetime
import html
import os
import pathlib
import re
import shutil
import subprocess
import tempfile

from docutils import nodes
from docutils.parsers.rst import Directive
from sphinx.util import logging

logger = logging.getLogger(__name__)

CHAPTER = re.compile(r"^chapters/(\d\d)-[^/]+/index$")
BRIEF_TITLE = re.compile(r"^\s*Policy brief\s*[:\-–]\s*", re.IGNORECASE)
PDF_NAME = "briefing.pdf"
HTML_NAME = "briefing.html"


def chapter_number(docname):
    match = CHAPTER.match(docname)
    return int(match.group(1)) if match else None


def _find_brief(doctree):
    for admonition in doctree.findall(nodes.admonition):
        titles = [child for child in admonition.children if isinstance(child, nodes.title)]
        if titles and BRIEF_TITLE.match(titles[0].astext()):
            return admonition, BRIEF_TITLE.sub("", titles[0].astext()).strip()
    return None, None


def _relative(docname, target):
    return "../" * docname.count("/") + target


# ---- in the book ---------------------------------------------------------------------------
class briefs_placeholder(nodes.General, nodes.Element):
    pass


class PolicyBriefs(Directive):
    """``{policy-briefs}``: a list of every chapter's brief, in chapter order."""

    has_content = False

    def run(self):
        env = self.state.document.settings.env
        env.aiopen_brief_pages = getattr(env, "aiopen_brief_pages", set()) | {env.docname}
        return [briefs_placeholder()]


def briefing_pdf_role(name, rawtext, text, lineno, inliner, options=None, content=None):
    docname = inliner.document.settings.env.docname
    return [nodes.reference(rawtext, text, refuri=_relative(docname, PDF_NAME))], []


def record_brief(app, doctree):
    docname = app.env.docname
    if chapter_number(docname) is None:
        return
    brief, line = _find_brief(doctree)
    if brief is None:
        return
    briefs = getattr(app.env, "aiopen_briefs", {})
    briefs[docname] = line
    app.env.aiopen_briefs = briefs
    paragraph = nodes.paragraph(classes=["aiopen-briefing-link"])
    paragraph += nodes.Text("Every chapter's brief in one printable file: ")
    paragraph += nodes.reference("", "the policymakers' briefing (PDF)",
                                 refuri=_relative(docname, PDF_NAME))
    paragraph += nodes.Text(".")
    brief += paragraph


def purge(app, env, docname):
    getattr(env, "aiopen_briefs", {}).pop(docname, None)
    getattr(env, "aiopen_brief_pages", set()).discard(docname)


def merge(app, env, docnames, other):
    env.aiopen_briefs = {**getattr(env, "aiopen_briefs", {}), **getattr(other, "aiopen_briefs", {})}
    env.aiopen_brief_pages = getattr(env, "aiopen_brief_pages", set()) | getattr(other, "aiopen_brief_pages", set())


def outdated(app, env, added, changed, removed):
    """The list of briefs is rebuilt whenever a chapter page changes."""
    if added | changed | removed:
        return sorted(getattr(env, "aiopen_brief_pages", set()) - removed)
    return []


def fill_list(app, doctree, fromdocname):
    briefs = getattr(app.env, "aiopen_briefs", {})
    for placeholder in list(doctree.findall(briefs_placeholder)):
        listing = nodes.enumerated_list(classes=["aiopen-brief-list"])
        for docname in sorted(briefs, key=chapter_number):
            item = nodes.list_item()
            para = nodes.paragraph()
            title = app.env.titles[docname].astext() if docname in app.env.titles else docname
            uri = app.builder.get_relative_uri(fromdocname, docname)
            para += nodes.reference("", f"Chapter {chapter_number(docname)}: {title}", refuri=uri)
            para += nodes.Text(f". {briefs[docname]}.")
            item += para
            listing += item
        placeholder.replace_self(listing)


# ---- the printable briefing ----------------------------------------------------------------
PRINT_CSS = """
@page { size: A4; margin: 20mm 18mm 24mm 18mm; }
html { font-family: "DejaVu Sans", "Liberation Sans", Arial, sans-serif; font-size: 10.5pt;
       line-height: 1.45; color: #111; }
body { margin: 0; }
h1 { font-size: 22pt; margin: 0 0 4mm; }
h2 { font-size: 15pt; margin: 0 0 3mm; }
h3 { font-size: 12pt; margin: 4mm 0 2mm; }
.cover p { margin: 0 0 3mm; }
.cover ol { padding-left: 6mm; }
section.brief { break-before: page; page-break-before: always; }
.chapter-number { color: #555; font-size: 10pt; margin: 0; }
.admonition-title { font-weight: bold; font-size: 12pt; margin: 0 0 3mm; }
.admonition { border-left: 3px solid #2a7a3b; padding: 0 0 0 5mm; }
a { color: #0b4fa8; text-decoration: underline; }
img { max-width: 100%; height: auto; }
figure, .figure { break-inside: avoid; margin: 4mm 0; }
.alt-text { font-size: 9.5pt; color: #333; }
.sources { font-size: 9pt; color: #222; }
.sources li { margin-bottom: 1.5mm; }
.where { font-size: 9pt; color: #444; margin-top: 5mm; }
ul, ol { padding-left: 6mm; }
body, a, code, li { overflow-wrap: anywhere; }
@media screen { body { max-width: 46rem; margin: 0 auto; padding: 1rem; } }
"""


def _chapter_pages(outdir, app):
    found = []
    for docname in app.env.found_docs:
        number = chapter_number(docname)
        page = outdir / (docname + app.builder.out_suffix)
        if number is not None and page.exists():
            found.append((number, docname, page))
    return sorted(found)


def _bibliography(outdir):
    """(page, id) -> text of every bibliography entry in the built site."""
    from bs4 import BeautifulSoup

    entries = {}
    for page in outdir.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        if 'class="citation"' not in text or "_static" in page.parts:
            continue
        where = page.relative_to(outdir).as_posix()
        for entry in BeautifulSoup(text, "html.parser").select(".citation[id]"):
            body = entry.find("p") or entry
            entries[(where, entry["id"])] = re.sub(r"\s+", " ", body.get_text(" ", strip=True))
    return entries


def _brief_section(number, docname, page, outdir, bibliography):
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser")
    article = soup.find("article") or soup
    brief = None
    for admonition in article.select("div.admonition"):
        title = admonition.find(class_="admonition-title")
        if title and BRIEF_TITLE.match(title.get_text(" ", strip=True)):
            brief = admonition
            break
    if brief is None:
        return None
    heading = article.find("h1")
    for number_span in heading.select(".section-number") if heading else []:
        number_span.decompose()
    chapter_title = heading.get_text(" ", strip=True).rstrip("#¶ ").strip() if heading else docname
    for link in brief.select(".aiopen-briefing-link, a.headerlink"):
        link.decompose()
    page_dir = page.parent
    sources = []
    for link in brief.find_all("a", href=True):
        href = link["href"]
        if href.startswith(("http://", "https://", "mailto:")):
            continue
        target_page, _, anchor = href.partition("#")
        resolved = (page_dir / target_page).resolve() if target_page else page.resolve()
        where = pathlib.Path(os.path.relpath(resolved, outdir)).as_posix()
        entry = bibliography.get((where, anchor))
        if entry and entry not in sources:
            sources.append(entry)
        link["href"] = where + ("#" + anchor if anchor else "")
    for image in brief.find_all("img"):
        src = image.get("src", "")
        if not src.startswith("data:"):
            image["src"] = os.path.relpath((page_dir / src).resolve(), outdir)
        alt = image.get("alt", "").strip()
        if alt:
            note = soup.new_tag("p", attrs={"class": "alt-text"})
            note.string = "Figure description: " + alt
            image.insert_after(note)
    where = os.path.relpath(page, outdir)
    parts = [
        '<section class="brief">',
        f'<p class="chapter-number">Chapter {number}</p>',
        f"<h2>{html.escape(chapter_title)}</h2>",
        str(brief),
    ]
    if sources:
        parts.append("<h3>Sources cited</h3><ol class=\"sources\">"
                     + "".join(f"<li>{html.escape(s)}</li>" for s in sources) + "</ol>")
    parts.append(f'<p class="where">The full chapter, with the experiments behind this brief: '
                 f'<a href="{html.escape(where)}">{html.escape(where)}</a> in the book.</p>')
    parts.append("</section>")
    return chapter_title, "\n".join(parts)


def _build_date():
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    when = (datetime.datetime.fromtimestamp(int(epoch), datetime.timezone.utc) if epoch
            else datetime.datetime.now(datetime.timezone.utc))
    return f"{when.day} {when:%B %Y}"


def write_briefing_html(app, outdir):
    bibliography = _bibliography(outdir)
    sections, contents = [], []
    for number, docname, page in _chapter_pages(outdir, app):
        made = _brief_section(number, docname, page, outdir, bibliography)
        if made is None:
            continue
        title, section = made
        sections.append(section)
        contents.append(f"<li>Chapter {number}: {html.escape(title)}</li>")
    if not sections:
        return None
    project = html.escape(app.config.html_title or app.config.project)
    body = "".join(sections)
    mathjax = ""
    if 'class="math' in body and app.config.mathjax_path:  # the book's own copy, not a CDN
        mathjax = f'<script defer src="_static/{html.escape(app.config.mathjax_path)}"></script>'
    document = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{project}: briefing for policymakers</title>
<style>{PRINT_CSS}</style>{mathjax}</head>
<body>
<section class="cover">
<h1>{project}</h1>
<p><strong>Briefing for policymakers: the policy brief of every chapter.</strong></p>
<p>Built on {_build_date()}. Each brief states the chapter's findings with their evidence and
sources, what is uncertain, and what a decision-maker can do. The chapters behind them, with
experiments anyone can rerun, are in the book.</p>
<h3>Contents</h3>
<ol>{''.join(contents)}</ol>
</section>
{body}
</body></html>
"""
    target = outdir / HTML_NAME
    target.write_text(document, encoding="utf-8")
    return target


def _chromium():
    for candidate in (os.environ.get("CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium"),
                      shutil.which("chromium-browser"), shutil.which("google-chrome")):
        if candidate and pathlib.Path(candidate).exists():
            return candidate
    return None


def print_pdf(source, target):
    """Print an HTML file to PDF with headless Chromium; True when the PDF was written."""
    chromium = _chromium()
    if chromium is None:
        logger.warning("briefing: Chromium not found (set CHROMIUM or install Debian's chromium); "
                       "%s not written", target.name)
        return False
    with tempfile.TemporaryDirectory() as profile:
        command = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                   "--disable-background-networking", "--disable-component-update",
                   f"--user-data-dir={profile}", "--no-pdf-header-footer",
                   "--virtual-time-budget=20000",  # lets MathJax typeset before printing
                   f"--print-to-pdf={target}", source.resolve().as_uri()]
        try:
            subprocess.run(command, check=True, capture_output=True, timeout=180)
        except (subprocess.SubprocessError, OSError) as error:
            logger.warning("briefing: Chromium could not print %s: %s", target.name, error)
            return False
    return target.exists() and target.stat().st_size > 0


def build_briefing(app, exception):
    if exception is not None or app.builder.format != "html":
        return
    outdir = pathlib.Path(app.outdir)
    source = write_briefing_html(app, outdir)
    if source is None:
        logger.warning("briefing: no chapter page has a 'Policy brief: ...' admonition")
        return
    if print_pdf(source, outdir / PDF_NAME):
        logger.info("briefing: wrote %s", outdir / PDF_NAME)


def setup(app):
    app.add_node(briefs_placeholder)
    app.add_directive("policy-briefs", PolicyBriefs)
    app.add_role("briefing-pdf", briefing_pdf_role)
    app.connect("doctree-read", record_brief)
    app.connect("env-purge-doc", purge)
    app.connect("env-merge-info", merge)
    app.connect("env-get-outdated", outdated)
    app.connect("doctree-resolved", fill_list)
    app.connect("build-finished", build_briefing)
    return {"parallel_read_safe": True, "parallel_write_safe": True, "env_version": 1}
