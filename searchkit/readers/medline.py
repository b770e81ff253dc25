"""MEDLINE / .nbib tagged text ("Send to: Citation manager", ``rettype=medline``).

Each line is ``TAG - value`` with the tag padded to four characters, or a
continuation of the previous value indented by spaces (six in PubMed's output).
Records are separated by blank lines and start at ``PMID-``. The file is read line
by line and converted record by record.

A non-blank line that is neither a tag line nor indented (as happens when an
editor or mail client strips the indentation of wrapped lines) makes the record
unusable: it is skipped, naming that line, rather than guessing which field the
text belongs to. The rest of the file is still read. So is it after a line that is
not UTF-8 or too long to hold: only the record holding it is skipped.

A file cut short (a download or copy broken off) must not replace complete indexed
records with cut ones. PubMed writes ``SO`` (the source) as the last line of every
record, so the last record of a file is taken as cut short when it has no ``SO``
line and either the file does not end with a line break, or every record before it
ended with one. It is not read, and :class:`InputError` says so after the records
before it, so that the file is not recorded as read to its end. Files whose records
carry no ``SO`` line at all (hand-made ones, searchkit's own export) and end with a
line break are read whole.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from searchkit.errors import InputError
from searchkit.items import Item, Skipped
from searchkit.readers._io import CUT_SHORT_REASON, read_lines
from searchkit.readers._text import clean, history_date, initials_of, parse_date_text
from searchkit.records import Author, MeshHeading, Record

# "PMID- 123", "TI  - Title", "AB  -" (an empty value): the tag fills four columns.
_TAG_LINE = re.compile(r"^(?P<tag>[A-Z][A-Z0-9]{0,3}) *-(?: (?P<value>.*))?$")

#: A record longer than this many lines, or larger than this many characters, is
#: skipped rather than held in memory.
MAX_RECORD_LINES = 200_000
MAX_RECORD_CHARS = 16 * 1024 * 1024

_BROKEN_LINE = "neither a 'TAG - value' line nor an indented continuation line"
#: The line PubMed writes last in every record: the source ("SO  - Gut. 2014 ...").
_SOURCE_TAG = "SO  -"


@dataclass
class _Fields:
    """One record's raw fields in file order, each as its value's lines."""

    start: int
    fields: list[tuple[str, list[str]]] = field(default_factory=list)
    lines: int = 0
    chars: int = 0
    has_pmid: bool = False
    #: Whether the record has an ``SO`` line, the last one PubMed writes.
    has_source: bool = False
    #: ``(line, reason)`` once the record is known to be unusable; its fields are
    #: then dropped, and the rest of its lines only counted.
    problem: tuple[int, str] | None = None

    def add_line(self, number: int, line: str, problem: str | None = None) -> None:
        self.lines += 1
        if line.startswith("PMID-"):
            self.has_pmid = True
        elif line.startswith(_SOURCE_TAG):
            self.has_source = True
        if self.problem is not None:
            return
        if problem is not None:  # an unreadable line: the record is lost, not the file
            self._fail(number, problem)
            return
        self.chars += len(line)
        if self.lines > MAX_RECORD_LINES:
            self._fail(self.start, f"record is longer than {MAX_RECORD_LINES:,} lines")
            return
        if self.chars > MAX_RECORD_CHARS:
            self._fail(self.start, f"record is larger than {MAX_RECORD_CHARS:,} characters")
            return
        match = _TAG_LINE.match(line)
        if match is not None and line.index("-") == 4:
            self.fields.append((match["tag"], [match["value"] or ""]))
        elif line[:1].isspace() and self.fields:
            # Parts joined at the end: appending to one string would copy it
            # again for every continuation line.
            self.fields[-1][1].append(line.strip())
        else:
            self._fail(number, _BROKEN_LINE)

    def _fail(self, number: int, reason: str) -> None:
        self.problem = (number, reason)
        self.fields = []


def read_medline(path: Path) -> Iterator[Item]:
    """Yield a :class:`Record` per MEDLINE record, or a :class:`Skipped` for a
    record without a PMID, with a broken line, or too large to hold. Raises
    :class:`InputError` for a file that ends mid-record, after the records before."""
    source = str(path)
    current: _Fields | None = None
    ended = True  # whether the last line had a line break
    records = without_source = 0  # records read, and those without an SO line
    for number, line, problem, ended in read_lines(path):
        blank = problem is None and not line.strip()
        new_record = current is not None and line.startswith("PMID-") and current.has_pmid
        # A record ends at a blank line, or at the PMID line of the next one. A last
        # line of spaces without a line break is a continuation line cut short.
        if current is not None and (new_record or (blank and ended)):
            records += 1
            without_source += not current.has_source
            yield _convert(current, source)
            current = None
        if blank:
            continue
        if current is None:
            current = _Fields(start=number)
        current.add_line(number, line, problem)
    if current is None:
        return
    if not current.has_source and (not ended or (records and not without_source)):
        raise InputError(source, CUT_SHORT_REASON, f"line {current.start}")
    yield _convert(current, source)


def _convert(raw: _Fields, source: str) -> Record | Skipped:
    if raw.problem is not None:
        number, reason = raw.problem
        return Skipped(source, f"line {number}", reason)
    values: dict[str, list[str]] = {}
    fields = [(tag, " ".join(parts)) for tag, parts in raw.fields]
    for tag, value in fields:
        values.setdefault(tag, []).append(value)
    pmid = _first(values, "PMID")
    if pmid is None:
        return Skipped(source, f"line {raw.start}", "record has no PMID")
    return _record(pmid, values, fields)


def _first(values: dict[str, list[str]], *tags: str) -> str | None:
    for tag in tags:
        for value in values.get(tag, ()):
            text = clean(value)
            if text:
                return text
    return None


def _all(values: dict[str, list[str]], tag: str) -> tuple[str, ...]:
    return tuple(text for text in map(clean, values.get(tag, ())) if text)


def _record(pmid: str, values: dict[str, list[str]], fields: list[tuple[str, str]]) -> Record:
    year, pub_date = parse_date_text(_first(values, "DP"))
    chapter_title = _first(values, "TI")
    book_title = _first(values, "BTI")
    return Record(
        pmid=pmid,
        title=chapter_title or book_title or _first(values, "TT"),
        abstract=_first(values, "AB"),
        # A "*" before a keyword marks it as a major topic, as in MH.
        keywords=tuple(word.lstrip("*").strip() for word in _all(values, "OT")),
        mesh=tuple(_mesh_heading(text) for text in _all(values, "MH")),
        authors=_authors(fields),
        # A book chapter's container is the book, as in the XML reader.
        journal=_first(values, "JT") or (book_title if chapter_title else None),
        journal_abbrev=_first(values, "TA"),
        year=year,
        pub_date=pub_date,
        doi=_doi(values),
        pmcid=_first(values, "PMC"),
        publication_types=_all(values, "PT"),
        languages=_all(values, "LA"),
        volume=_first(values, "VI"),
        issue=_first(values, "IP"),
        pages=_first(values, "PG"),
        issns=tuple(dict.fromkeys(_issn(text) for text in _all(values, "IS"))),
        entrez_date=history_date(_first(values, "EDAT")),
        create_date=history_date(_first(values, "CRDT")),
        mesh_date=history_date(_first(values, "MHDA")),
        # A book record's publisher and its place (PL: a journal's country otherwise).
        book_title=book_title,
        publisher=_first(values, "PB") if book_title else None,
        publisher_location=_first(values, "PL") if book_title else None,
    )


def _issn(text: str) -> str:
    """ "0090-8258 (Print)" → "0090-8258"."""
    return text.split(" (", 1)[0].strip()


def _mesh_heading(text: str) -> MeshHeading:
    """ "Information Storage and Retrieval/*methods" → the descriptor with its
    qualifiers; a "*" on the descriptor or any qualifier marks a major topic."""
    name, *parts = (part.strip() for part in text.split("/"))
    qualifiers = [(q.lstrip("*").strip(), q.startswith("*")) for q in parts]
    qualifiers = [(q, star) for q, star in qualifiers if q]
    major_qualifiers = tuple(q for q, star in qualifiers if star)
    return MeshHeading(
        name=name.lstrip("*").strip(),
        major=name.startswith("*") or bool(major_qualifiers),
        qualifiers=tuple(q for q, _ in qualifiers),
        major_qualifiers=major_qualifiers,
    )


def _authors(fields: list[tuple[str, str]]) -> tuple[Author, ...]:
    """Authors in file order: each ``FAU`` paired with the ``AU`` after it, an
    ``AU`` alone as a short name, a ``CN`` as a collective author; each ``AD`` is an
    affiliation of the author before it (of the first author when none is before)."""
    authors: list[Author] = []
    affiliations: list[list[str]] = []
    early: list[str] = []  # AD lines before any author
    pending_full: str | None = None
    for tag, value in fields:
        text = clean(value)
        if tag == "FAU":
            if pending_full is not None:
                authors.append(_from_full_name(pending_full))
                affiliations.append([])
            pending_full = text
        elif tag == "AU" and text:
            authors.append(Author(name=text, full_name=pending_full))
            affiliations.append([])
            pending_full = None
        elif tag == "CN" and text:
            authors.append(Author(name=text, collective=True))
            affiliations.append([])
        elif tag == "AD" and text:
            (affiliations[-1] if affiliations else early).append(text)
    if pending_full is not None:
        authors.append(_from_full_name(pending_full))
        affiliations.append([])
    if early and affiliations:
        affiliations[0][:0] = early
    return tuple(
        Author(a.name, a.full_name, tuple(ads), a.collective)
        for a, ads in zip(authors, affiliations, strict=True)
    )


def _from_full_name(full_name: str) -> Author:
    """An author given only as ``FAU``: the short name is derived from it."""
    last, _, fore = full_name.partition(",")
    initials = initials_of(fore)
    name = f"{last.strip()} {initials}" if initials else last.strip()
    return Author(name=name, full_name=full_name)


def _doi(values: dict[str, list[str]]) -> str | None:
    """The first "... [doi]" of ``AID`` (as the XML's ArticleIdList), else ``LID``."""
    for tag in ("AID", "LID"):
        for value in values.get(tag, ()):
            text = clean(value)
            if text and text.endswith("[doi]"):
                return text.removesuffix("[doi]").strip() or None
    return None
