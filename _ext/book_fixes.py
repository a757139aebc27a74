"""Small Sphinx fixes for this book, loaded through ``local_extensions`` in ``_config.yml``.

- sphinx-thebe 0.3.1 adds its inline configuration script to each page twice under Sphinx 7.4;
  the second copy re-declares a ``const`` and throws in the browser. Each page keeps one copy of
  every script.
- MathJax (about 1 MB with its fonts) loads only on pages with a formula of their own. Sphinx
  also loads it on a page whose table of contents lists a page with formulas (every chapter's
  landing page).
- pydata-sphinx-theme loads Font Awesome twice: as web fonts from its stylesheet and as a
  1.5 MB script that redraws each icon as SVG. The web fonts suffice.
- Search from a copy opened as files (file://): Sphinx fetches each found page to show a
  snippet of it, which browsers refuse for files, so results had blank snippets. The search
  page gets the text of every page in one script (``_static/search-texts.js``) and
  ``search-offline.js`` answers those requests from it.
"""

import json
import pathlib
import re


def _script_key(script):
    attributes = getattr(script, "attributes", {}) or {}
    filename = getattr(script, "filename", script) or ""  # inline scripts: None or ""
    return (str(filename), tuple(sorted(attributes.items())))


def drop_duplicate_scripts(app, pagename, templatename, context, doctree):
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, unique = set(), []
    for script in scripts:
        key = _script_key(script)
        if key not in seen:
            seen.add(key)
            unique.append(script)
    scripts[:] = unique


def _filename(script):
    return str(getattr(script, "filename", script) or "")


def load_mathjax_only_where_needed(app, pagename, templatename, context, doctree):
    scripts = context.get("script_files")
    if not scripts or app.builder.format != "html":
        return
    has_math = app.env.get_domain("math").data.get("has_equations", {}).get(pagename, False)
    if has_math:
        return
    mathjax = str(app.config.mathjax_path or "")
    scripts[:] = [s for s in scripts if not (mathjax and _filename(s).endswith(mathjax))
                  and "MathJax" not in str(getattr(s, "attributes", {}).get("body", ""))]


ICON_SCRIPT = "_static/scripts/fontawesome.js"


def drop_icon_script(app, pagename, templatename, context, doctree):
    """pydata-sphinx-theme's layout writes the icon script's tag itself, with
    ``pathto('_static/scripts/fontawesome.js', 1)``: that one address becomes an empty inline
    script (``data:`` with a comment, so the digest the template appends stays a comment)."""
    scripts = context.get("script_files")
    if scripts:
        scripts[:] = [s for s in scripts if not _filename(s).endswith("scripts/fontawesome.js")]
    pathto = context.get("pathto")
    if pathto is None or getattr(pathto, "aiopen_wrapped", False):
        return

    def pathto_without_icon_script(target, *args, **kwargs):
        if target == ICON_SCRIPT:
            return "data:text/javascript,//"
        return pathto(target, *args, **kwargs)

    pathto_without_icon_script.aiopen_wrapped = True
    context["pathto"] = pathto_without_icon_script


def add_offline_search(app, pagename, templatename, context, doctree):
    if pagename == "search" and context.get("script_files") is not None:
        from sphinx.builders.html._assets import _JavaScript

        context["script_files"] += [_JavaScript("_static/search-texts.js", priority=800),
                                    _JavaScript("_static/search-offline.js", priority=801)]


def _page_text(page):
    """The visible text of a built page's main content (no scripts, no widget state)."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser")
    main = soup.find(attrs={"role": "main"}) or soup.body
    if main is None:
        return ""
    for tag in main.find_all(["script", "style", "noscript"]):
        tag.decompose()
    return re.sub(r"\s+", " ", main.get_text(" ")).strip()


def write_search_texts(app, exception):
    if exception is not None or app.builder.format != "html":
        return
    out = pathlib.Path(app.outdir)
    texts = {}
    for docname in sorted(app.env.found_docs):
        page = out / (docname + app.builder.out_suffix)
        if page.exists() and docname not in ("search", "genindex"):
            texts[docname + app.builder.out_suffix] = _page_text(page)[:20000]
    target = out / "_static" / "search-texts.js"
    target.write_text("window.AIOPEN_PAGE_TEXTS = " + json.dumps(texts) + ";\n", encoding="utf-8")


def setup(app):
    app.connect("html-page-context", drop_duplicate_scripts, priority=900)
    app.connect("html-page-context", load_mathjax_only_where_needed, priority=901)
    app.connect("html-page-context", drop_icon_script, priority=902)
    app.connect("html-page-context", add_offline_search, priority=903)
    app.connect("build-finished", write_search_texts)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
