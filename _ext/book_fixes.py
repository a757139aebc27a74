"""Small Sphinx fixes for this book, loaded through ``local_extensions`` in ``_config.yml``.

sphinx-thebe 0.3.1 adds its inline configuration script to each page twice under Sphinx 7.4;
the second copy re-declares a ``const`` and throws in the browser. Each page keeps one copy of
every script.
"""


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


def setup(app):
    app.connect("html-page-context", drop_duplicate_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
