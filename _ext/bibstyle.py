"""An author-year bibliography style for this book, loaded through ``local_extensions``.

sphinxcontrib-bibtex cites in the text as "(Bommasani et al., 2025)" when
``bibtex_reference_style`` is ``author_year``, but its default pybtex style ("alpha") labels
the bibliography with codes such as ``[See23a]`` and lists entries in citation order. This style
sorts the list by author, year and title (as pybtex's "plain" does) and labels each entry the
way the text cites it, so a reader can find "(Wan et al., 2025)" in the list at a glance.
"""

from collections import Counter

from pybtex.plugin import register_plugin
from pybtex.style.formatting.plain import Style as PlainStyle
from pybtex.richtext import Text
from pybtex.style.labels import BaseLabelStyle
from pybtex.style.sorting import BaseSortingStyle

STYLE_NAME = "authoryear"


def _surname(person):
    """A person's last name(s) without BibTeX braces (corporate authors are one braced name)."""
    text = " ".join(person.prelast_names + person.last_names) or " ".join(person.first_names)
    return Text.from_latex(text).render_as("text")


def _label(entry):
    persons = entry.persons.get("author") or entry.persons.get("editor") or []
    names = [_surname(p) for p in persons]
    if "others" in names[1:]:  # BibTeX's "and others": an incomplete list of authors
        names = names[:1] + ["", ""]
    if not names:
        who = entry.key
    elif len(names) == 1:
        who = names[0]
    elif len(names) == 2:
        who = f"{names[0]} and {names[1]}"
    else:
        who = f"{names[0]} et al."
    return f"{who}, {entry.fields.get('year', 'n.d.')}"


class AuthorYearLabelStyle(BaseLabelStyle):
    """Labels "Surname, 2024", "Surname and Other, 2024", "Surname et al., 2024"; a letter
    (2024a, 2024b) tells apart entries that would otherwise share a label."""

    def format_labels(self, sorted_entries):
        entries = list(sorted_entries)
        labels = [_label(e) for e in entries]
        counts, seen = Counter(labels), Counter()
        for label in labels:
            if counts[label] > 1:
                seen[label] += 1
                label = f"{label}{chr(ord('a') + seen[label] - 1)}"
            yield label


def _sort_key(entry):
    persons = entry.persons.get("author") or entry.persons.get("editor") or []
    names = [_surname(p).lower() for p in persons] or [entry.key.lower()]
    title = entry.fields.get("title", "").lower()
    return (names[0], entry.fields.get("year", ""), " ".join(names), title)


class AuthorYearSortingStyle(BaseSortingStyle):
    """Sort by first author, year, all authors and title; corporate authors ("{Open Source Initiative}") sort by
    their name, not by the brace."""

    def sorting_key(self, entry):
        return _sort_key(entry)


class AuthorYearStyle(PlainStyle):
    """pybtex's "plain" formatting with author-year labels, sorted by author, year and title."""

    default_label_style = STYLE_NAME
    default_sorting_style = STYLE_NAME


def setup(app):
    register_plugin("pybtex.style.labels", STYLE_NAME, AuthorYearLabelStyle)
    register_plugin("pybtex.style.sorting", STYLE_NAME, AuthorYearSortingStyle)
    register_plugin("pybtex.style.formatting", STYLE_NAME, AuthorYearStyle)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
