"""The text of one PubMed abstract page, copied from a browser.

Layout (one record per page)::

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
belongs to the record. A line of that part that is not UTF-8 (or too long to hold)
makes the page skipped, naming the line.

Pages pasted one after another into one file are read one by one: a ``- PMID:`` line
after the ids of the page being read (once another line has followed them) begins
another page, whose title is the line before it. The line before may as well be the
end of the first page's abstract (a page pasted without its title), which would then
be stored as another article's title, so the second page is told apart only when its
title is found again right after its ids, as PubMed's page repeats it. Otherwise it is
not read, and neither is the page before it unless that one had reached its lists of
other articles: one ``skipped`` line names the second ``- PMID:`` line.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from searchkit.items import Item, Skipped
from searchkit.readers._io import read_lines
from searchkit.readers._text import clean
from searchkit.records import Record

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


@dataclass
class _Page:
    """One page being read."""

    #: The line of its title for the first page, of its ``- PMID:`` line for another.
    start: int
    title: str | None
    #: Whether the page came after another, so its title must be found again after
    #: its ids (``confirmed``) for it to be told apart from the page before.
    later: bool = False
    confirmed: bool | None = None
    #: Refused as not told apart from the page before (reported once, already).
    refused: bool = False
    ids: dict[str, str] = field(default_factory=dict)
    keywords: tuple[str, ...] = ()
    paragraphs: list[str] = field(default_factory=list)
    #: The line of the last paragraph added.
    paragraph_line: int = 0
    in_abstract: bool = False
    #: Whether a line other than an id line followed the ``- PMID:`` line: another
    #: ``- PMID:`` line after that begins another page.
    past_ids: bool = False
    #: Whether the page's lists of other articles began: the rest is not the record.
    ended: bool = False
    unreadable: tuple[int, str] | None = None


def read_page_text(path: Path) -> Iterator[Item]:
    """Yield a :class:`Record` per page, or a :class:`Skipped` for a page without a
    ``- PMID:`` line, with an unreadable line, or not told apart from the one before."""
    source = str(path)
    page: _Page | None = None
    #: The page before ``page`` while ``page``'s title is not yet found again: the
    #: line taken as that title may be the end of ``held``'s abstract.
    held: _Page | None = None
    previous: tuple[int, str, str | None] = (0, "", None)  # the last non-blank line
    for number, line, problem, _ in read_lines(path):
        text = line.strip()
        if not text and problem is None:
            continue
        if page is None:
            page = _Page(start=number, title=clean(text))
            page.unreadable = None if problem is None else (number, problem)
        else:
            id_match = _ID_LINE.match(text)
            if (
                id_match is not None
                and id_match["name"] == "PMID"
                and (page.past_ids or page.ended)
            ):
                yield from _finish(held, source)
                held = None if page.ended else page
                if held is None:
                    yield from _finish(page, source)
                elif held.paragraph_line == previous[0]:
                    held.paragraphs.pop()  # it is this page's title
                page = _another_page(number, previous)
            elif page.later and page.confirmed is None and id_match is None:
                # The first line after the ids: PubMed's page repeats its title here.
                page.confirmed = clean(text) == page.title
                if not page.confirmed:
                    yield Skipped(source, f"line {page.start}", NOT_TWO_PAGES)
                    page.refused = True
                    held = None
                yield from _finish(held, source)
                held = None
            if not page.ended:
                _read_line(page, number, text, problem, id_match)
        previous = (number, text, problem)
    if page is None:
        yield Skipped(source, "line 1", "page text has no '- PMID:' line")
        return
    if page.later and page.confirmed is None:  # the file ends in its ids
        yield Skipped(source, f"line {page.start}", NOT_TWO_PAGES)
        return
    yield from _finish(held, source)
    yield from _finish(page, source)


#: Why a page after another, and the page before it when the line taken as its
#: title may be the end of that page's abstract, are not read.
NOT_TWO_PAGES = (
    "a second '- PMID:' line was found (two pages in one file?), and the page it "
    "begins cannot be told apart; not read"
)


def _another_page(number: int, previous: tuple[int, str, str | None]) -> _Page:
    """The page whose ``- PMID:`` line is line ``number``; its title is the line
    before, ``previous``."""
    title_line, title, problem = previous
    page = _Page(start=number, title=clean(title), later=True)
    page.unreadable = None if problem is None else (title_line, problem)
    return page


def _read_line(
    page: _Page, number: int, text: str, problem: str | None, id_match: re.Match[str] | None
) -> None:
    """Add line ``number`` of the page's record part to ``page``."""
    if problem is not None and page.unreadable is None:
        page.unreadable = (number, problem)
    if text in _PAGE_ENDS:
        page.ended = True
        return
    if id_match is not None and not page.in_abstract:
        page.ids.setdefault(id_match["name"], id_match["value"].strip())
        return
    page.past_ids = page.past_ids or "PMID" in page.ids
    keyword_match = _KEYWORDS.match(text)
    if keyword_match is not None:
        page.keywords = _keywords(keyword_match["value"])
        page.in_abstract = False
    elif text == "Abstract":
        page.in_abstract = True
    elif text in _ABSTRACT_ENDS or text.startswith(_NOTICE):
        page.in_abstract = False
    elif page.in_abstract:
        page.paragraphs.append(text)
        page.paragraph_line = number


def _finish(page: _Page | None, source: str) -> Iterator[Item]:
    """The page's record, or why it is skipped."""
    if page is None or page.refused:
        return
    if page.unreadable is not None:  # a line of the record is not UTF-8, or too long
        yield Skipped(source, f"line {page.unreadable[0]}", page.unreadable[1])
        return
    pmid = clean(page.ids.get("PMID"))
    if pmid is None:
        yield Skipped(source, f"line {page.start}", "page text has no '- PMID:' line")
        return
    yield Record(
        pmid=pmid,
        title=page.title,
        abstract=clean_paragraphs(page.paragraphs),
        keywords=page.keywords,
        doi=clean(page.ids.get("DOI")),
        pmcid=clean(page.ids.get("PMCID")),
    )


def clean_paragraphs(paragraphs: list[str]) -> str | None:
    """Paragraphs joined by newlines, whitespace inside each normalised."""
    cleaned = [text for text in map(clean, paragraphs) if text]
    return "\n".join(cleaned) or None


def _keywords(value: str) -> tuple[str, ...]:
    """ "a; b; c." → ("a", "b", "c"): the list ends with a full stop."""
    value = value.strip().removesuffix(".")
    return tuple(word for word in map(clean, value.split(";")) if word)
