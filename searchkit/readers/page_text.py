"""The text of one PubMed abstract page, copied from a browser.

Layout (one record per file)::

    <title>
    - PMID: 34572009
    - PMCID: PMC8469208
    - DOI: 10.3390/cells10092361
    <title again, and other page furniture>
    Abstract
    <abstract paragraph(s)>
    Keywords: cancer stem cells; immune escape; immunotherapy.
    Conflict of interest statement
    ...
    Similar articles
    ...

Only the part before "Similar articles" / "Cited by" (and the page's other lists)
belongs to the record; the reader stops there. A line of that part that is not
UTF-8 (or too long to hold) makes the page skipped, naming the line.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from searchkit.readers._io import read_lines
from searchkit.readers._text import clean
from searchkit.records import Item, Record, Skipped

_ID_LINE = re.compile(r"^- (?P<name>PMID|PMCID|DOI): ?(?P<value>.*)$")
_KEYWORDS = re.compile(r"^Keywords:\s*(?P<value>.*)$")

# Headings (whole lines) that end the abstract.
_ABSTRACT_ENDS = frozenset(
    {
        "Conflict of interest statement",
        "Figures",
        "Comment in",
        "Comment on",
        "Erratum in",
        "Update of",
        "Grants and funding",
    }
)
# A copyright notice closes the abstract on the page but is not part of it.
_NOTICE = ("Copyright", "©")
# Headings of the page's lists of *other* articles and its link sections: the
# record ends at the first of them.
_PAGE_ENDS = frozenset(
    {
        "Similar articles",
        "Cited by",
        "References",
        "Publication types",
        "MeSH terms",
        "Substances",
        "Related information",
        "LinkOut - more resources",
    }
)


def read_page_text(path: Path) -> Iterator[Item]:
    """Yield the page's :class:`Record`, or a :class:`Skipped` when it has no
    ``- PMID:`` line."""
    source = str(path)
    title: str | None = None
    ids: dict[str, str] = {}
    keywords: tuple[str, ...] = ()
    paragraphs: list[str] = []
    in_abstract = False
    unreadable: tuple[int, str] | None = None
    for number, line, problem, _ in read_lines(path):
        if problem is not None and unreadable is None:
            unreadable = (number, problem)
        text = line.strip()
        if not text:
            continue
        if title is None:
            title = clean(text)
            continue
        if text in _PAGE_ENDS:
            break
        id_match = _ID_LINE.match(text)
        keyword_match = _KEYWORDS.match(text)
        if id_match is not None and not in_abstract:
            ids.setdefault(id_match["name"], id_match["value"].strip())
        elif keyword_match is not None:
            keywords = _keywords(keyword_match["value"])
            in_abstract = False
        elif text == "Abstract":
            in_abstract = True
        elif text in _ABSTRACT_ENDS or text.startswith(_NOTICE):
            in_abstract = False
        elif in_abstract:
            paragraphs.append(text)
    if unreadable is not None:  # a line of the record is not UTF-8, or too long
        yield Skipped(source, f"line {unreadable[0]}", unreadable[1])
        return
    pmid = clean(ids.get("PMID"))
    if pmid is None:
        yield Skipped(source, "line 1", "page text has no '- PMID:' line")
        return
    yield Record(
        pmid=pmid,
        title=title,
        abstract=clean_paragraphs(paragraphs),
        keywords=keywords,
        doi=clean(ids.get("DOI")),
        pmcid=clean(ids.get("PMCID")),
    )


def clean_paragraphs(paragraphs: list[str]) -> str | None:
    """Paragraphs joined by newlines, whitespace inside each normalised."""
    cleaned = [text for text in map(clean, paragraphs) if text]
    return "\n".join(cleaned) or None


def _keywords(value: str) -> tuple[str, ...]:
    """ "a; b; c." → ("a", "b", "c"): the list ends with a full stop."""
    value = value.strip().removesuffix(".")
    return tuple(word for word in map(clean, value.split(";")) if word)
