"""PubMed's "Abstract" text export ("Send to: File, Format: Abstract").

Each record is a run of blank-line-separated blocks::

    1. Phytomedicine. 2018 Dec 31;57:364-376. doi: 10.1016/j.phymed.2018.12.034.

    <title, wrapped over lines>

    [Article in German]                         (optional)

    Driscoll K(1), Deshpande A(1), Chapp A(1).  (optional)

    Collaborators: ...                          (optional)

    Author information:                         (optional)
    (1)Department of ...

    Comment in                                  (optional, indented list)
        Gut. 2014 Aug;63(8):1258-64.

    BACKGROUND: <abstract, one paragraph>       (optional)

    Copyright © 2019 Elsevier GmbH.             (optional)

    DOI: 10.1016/j.phymed.2018.12.034
    PMCID: PMC6390416
    PMID: 30831485  [Indexed for MEDLINE]

    Conflict of interest statement: ...         (optional, after the PMID)

The file is read block by block and each record converted when the next begins.
A line that is not UTF-8 (or too long to hold) costs only the record it is in.
A record begins at a block shaped like a citation line: "N. " then a date, or text
then ". " and a year ("1. Gut. 2014 Aug;...", "2. 2000 Jun 27 [updated ...]. In: ..."
for a book). Abstract paragraphs can begin with "N. " too ("2. To measure ..."),
so a block that is not shaped so never begins a record, and while the record being
read has not shown its ``PMID:`` line, a citation-shaped block begins a record only
when its number is larger than the record's own (the numbers of an export only
grow). A citation without a ``PMID:`` line is then skipped on its own, never merged
into the next one, whose PMID would carry its text.

A record ends with its ``PMID:`` line, which may only be followed by a conflict of
interest statement: nothing after the PMID line is ever read into the record. A file
cut short (a download or copy broken off) must not replace complete indexed records
with cut ones, nor store a record under a cut PMID ("PMID: 3083"), so its last record
is taken as cut short, not read, and :class:`InputError` says so after the records
before it (the file is then not recorded as read to its end) when it has no ``PMID:``
line, when its ``PMID:`` line is the file's last and ends right after the number
without a line break (PubMed writes a space or "[Indexed for MEDLINE]" after it), or
when its last block after the PMID line is not a conflict of interest statement (the
start of the next citation; the record before it is read).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from searchkit.errors import InputError
from searchkit.items import Item, Skipped
from searchkit.readers._io import CUT_SHORT_REASON, read_lines
from searchkit.readers._text import clean, parse_date_text
from searchkit.records import Author, Record

# "N. " then a year at once (a book: "1. 2000 Jun 27 [updated ...]. In: ...") or after
# text and ". " (an article: "1. Gut. 2014 Aug;63(8):1247-57."), within the first two
# lines (the citation may wrap before its date).
_RECORD_START = re.compile(r"^(?P<number>\d+)\.\s+(?:.+?\.\s+)?(?:1[89]|20)\d\d\b")
_ID_LINE = re.compile(r"^(?P<name>DOI|PMCID|PMID):\s*(?P<value>\S+)")
# "1. Phytomedicine. 2018 Dec 31;57:364-376." → journal, then the date up to ; : .
# After the date: ";63(8):1247-57." → volume, issue, pages (each optional).
_CITATION = re.compile(
    r"^\d+\.\s+(?P<journal>.+?)\.\s+(?P<date>(?:1[89]|20)\d\d\b[^;:.]*)"
    r"(?:;(?P<volume>[^\s(:;]+)?(?:\((?P<issue>[^)]+)\))?(?::(?P<pages>\S+?))?\.(?:\s|$))?"
)
# Blocks that are neither authors nor abstract.
_SKIPPED_BLOCKS = (
    "Author information:",
    "Collaborators:",
    "Publisher:",  # the abstract in the original language
    "Conflict of interest statement",
    "[",  # "[Article in German]", "[This corrects the article ...]"
)
# The only block PubMed prints after a record's PMID line.
_AFTER_PMID = "Conflict of interest statement"
# Blocks that follow an author list.
_AUTHOR_BLOCKS = ("Author information:", "Collaborators:")
_RELATED_HEADING = re.compile(r"^[A-Z][a-z]+(?: [a-z]+){0,4}\s*$")
_NOTICES = ("Copyright", "©", "(c)", "(C)", "Published by")
# An affiliation marker after an author's name: "(1)", "(#)", "(*)".
_MARKER = re.compile(r"\((?:\d+|[#*†‡§])\)")
_AUTHOR_NAME = re.compile(
    r"^[^\W\d_][\w'\u2019`.\- ]*\s[A-Z]{1,4}(?:\s(?:Jr|Sr|2nd|3rd|II|III|IV))?$"
)
# A structured-abstract label opening a line: "BACKGROUND:", "Background and aims:",
# "HYPOTHESIS/PURPOSE:", "BACKGROUND & AIMS:".
_LABEL = re.compile(r"^[A-Z][A-Za-z]*(?:[ /&,-]+[A-Za-z]+){0,5}: ")

_SENTENCE_END = re.compile(r"[.?!)\]]\s*$")

#: A record longer than this many lines is refused rather than held in memory.
MAX_RECORD_LINES = 50_000


@dataclass
class _Block:
    start: int
    lines: list[str] = field(default_factory=list)
    #: ``(line, reason)`` of the first line that could not be read (invalid UTF-8, too
    #: long): the record holding the block is skipped with it.
    problem: tuple[int, str] | None = None


@dataclass
class _RawRecord:
    number: int
    start: int
    blocks: list[_Block] = field(default_factory=list)
    pmid: str | None = None
    #: The number of blocks up to the one holding the ``PMID:`` line: the record
    #: ends there (only a conflict of interest statement follows).
    pmid_blocks: int = 0
    lines: int = 0
    problem: tuple[int, str] | None = None

    def add(self, block: _Block) -> None:
        self.blocks.append(block)
        self.lines += len(block.lines)
        self.problem = self.problem or block.problem
        for line in block.lines:
            match = _ID_LINE.match(line)
            if match is not None and match["name"] == "PMID" and self.pmid is None:
                self.pmid = match["value"]
                self.pmid_blocks = len(self.blocks)


def read_abstract_text(path: Path) -> Iterator[Item]:
    """Yield a :class:`Record` per citation, or a :class:`Skipped` for one without
    a ``PMID:`` line (or text before the first citation)."""
    source = str(path)
    current: _RawRecord | None = None
    block: _Block | None = None
    last_line, ended = "", True  # the file's last line, and whether a line break ended it
    for number, line, problem, line_ended in read_lines(path):
        last_line, ended = line, line_ended
        if line.strip() or problem is not None:
            block = block or _Block(number)
            block.lines.append(line.rstrip())
            if problem is not None and block.problem is None:
                block.problem = (number, problem)
            continue
        if block is not None:
            current, finished = _place(block, current, source)
            yield from finished
            block = None
    if block is not None:
        current, finished = _place(block, current, source)
        yield from finished
    if current is None:
        return
    cut_at = _cut_short_at(current, last_line, ended)
    if cut_at is None:
        yield _convert(current, source)
        return
    if cut_at != current.start:  # the next citation is cut; the record before is whole
        yield _convert(current, source)
    raise InputError(source, CUT_SHORT_REASON, f"line {cut_at}")


def _cut_short_at(raw: _RawRecord, last_line: str, ended: bool) -> int | None:
    """The first line of the cut-short record when the file's last record ``raw``
    was cut short, else ``None``. ``last_line`` is the file's last line and
    ``ended`` whether a line break ended it."""
    if raw.pmid is None:
        return raw.start
    if not ended:
        match = _ID_LINE.match(last_line)
        # "PMID: 3083" at the very end: the number may be cut. PubMed writes a space
        # or "[Indexed for MEDLINE]" after it.
        if match is not None and match["name"] == "PMID" and match.end() == len(last_line):
            return raw.start
    after = raw.blocks[raw.pmid_blocks :]
    if after and not after[-1].lines[0].startswith(_AFTER_PMID):
        return after[-1].start
    return None


def _starts_record(block: _Block, current: _RawRecord | None) -> int | None:
    """The citation number when ``block`` opens a new record, else ``None``."""
    match = _RECORD_START.match(" ".join(block.lines[:2]))
    if match is None:
        return None
    number = int(match["number"])
    if current is None or current.pmid is not None or number > current.number:
        return number
    return None


def _place(
    block: _Block, current: _RawRecord | None, source: str
) -> tuple[_RawRecord | None, list[Item]]:
    """Add ``block`` to the current record or open a new one; return the record
    being built and the items finished meanwhile."""
    finished: list[Item] = []
    number = _starts_record(block, current)
    if number is not None:
        if current is not None:
            finished.append(_convert(current, source))
        current = _RawRecord(number=number, start=block.start)
    elif current is None:
        return None, [Skipped(source, f"line {block.start}", "text before the first citation")]
    current.add(block)
    if current.lines > MAX_RECORD_LINES:
        raise InputError(
            source,
            f"record is longer than {MAX_RECORD_LINES:,} lines (is this a PubMed text export?)",
            f"line {current.start}",
        )
    return current, finished


# --- conversion ---------------------------------------------------------------


def _convert(raw: _RawRecord, source: str) -> Record | Skipped:
    if raw.problem is not None:
        number, reason = raw.problem
        return Skipped(source, f"line {number}", reason)
    if raw.pmid is None:
        return Skipped(source, f"line {raw.start}", "record has no PMID")
    # Nothing after the PMID line belongs to the record (a conflict of interest
    # statement, or a cut citation at the end of a file).
    raw_blocks = raw.blocks[: raw.pmid_blocks]
    citation = _joined(raw_blocks[0].lines)
    journal_abbrev, year, pub_date = _citation(citation)
    match = _CITATION.match(citation or "")
    volume, issue, pages = (
        (clean(match["volume"]), clean(match["issue"]), clean(match["pages"]))
        if match is not None
        else (None, None, None)
    )
    title = _joined(raw_blocks[1].lines) if len(raw_blocks) > 1 else None
    ids: dict[str, str] = {}
    blocks = [lines for block in raw_blocks[2:] if (lines := _without_ids(block.lines, ids))]
    authors: tuple[Author, ...] = ()
    abstract: str | None = None
    may_be_authors = True
    for position, lines in enumerate(blocks):
        if _is_skipped(lines):
            continue
        if may_be_authors and _is_author_list(lines, blocks[position + 1 :]):
            authors = _authors(lines)
        elif abstract is None:
            abstract = _abstract(lines)
        # Any further plain block is a notice (copyright, publisher's remark).
        may_be_authors = False
    return Record(
        pmid=raw.pmid,
        title=title,
        abstract=abstract,
        authors=authors,
        journal_abbrev=journal_abbrev,
        year=year,
        pub_date=pub_date,
        doi=ids.get("DOI"),
        pmcid=ids.get("PMCID"),
        volume=volume,
        issue=issue,
        pages=pages,
    )


def _joined(lines: list[str]) -> str | None:
    return clean(" ".join(lines))


def _citation(citation: str | None) -> tuple[str | None, int | None, str | None]:
    """``(journal_abbrev, year, pub_date)`` from "1. Gut. 2014 Aug;63(8):1247-57."."""
    match = _CITATION.match(citation or "")
    if match is None:
        return None, None, None
    year, pub_date = parse_date_text(match["date"])
    return clean(match["journal"]), year, pub_date


def _without_ids(lines: list[str], ids: dict[str, str]) -> list[str]:
    """Collect DOI/PMCID/PMID lines into ``ids``; return the other lines. The ids
    usually have a block of their own but can follow a notice without a blank."""
    rest = []
    for line in lines:
        match = _ID_LINE.match(line)
        if match is None:
            rest.append(line)
        else:
            ids.setdefault(match["name"], match["value"])
    return rest


def _is_skipped(lines: list[str]) -> bool:
    first = lines[0]
    if first.startswith(_SKIPPED_BLOCKS) or first.startswith(_NOTICES) or "©" in first:
        return True
    return _is_related_articles(lines)


def _is_related_articles(lines: list[str]) -> bool:
    """ "Comment in", "Erratum for", "Update of", ...: a short heading over an
    indented list (whose long entries wrap without indentation)."""
    return (
        len(lines) > 1 and _RELATED_HEADING.match(lines[0]) is not None and lines[1][:1].isspace()
    )


def _is_author_list(lines: list[str], following: list[list[str]]) -> bool:
    """Whether the first plain block after the title lists the authors."""
    if following and following[0][0].startswith(_AUTHOR_BLOCKS):
        return True
    if _looks_like_authors(lines):
        return True
    # A collective author alone ("PLOS Genetics Staff."): one short line.
    return len(lines) == 1 and lines[0].endswith(".") and len(lines[0].split()) <= 8


def _author_pieces(lines: list[str]) -> list[str]:
    text = _joined(lines) or ""
    pieces = re.split(r"[,;]\s+", text.removesuffix("."))
    return [clean(_MARKER.sub("", piece)) or "" for piece in pieces]


def _looks_like_authors(lines: list[str]) -> bool:
    """An author list is short comma/semicolon-separated "Surname AB" names ending
    with a full stop; collective names may be mixed in."""
    if not (_joined(lines) or "").endswith("."):
        return False
    pieces = _author_pieces(lines)
    if any(len(piece) > 150 for piece in pieces):
        return False
    names = sum(1 for piece in pieces if _AUTHOR_NAME.match(piece))
    return (names >= 1 and names * 2 >= len(pieces)) or _MARKER.search(lines[0]) is not None


def _authors(lines: list[str]) -> tuple[Author, ...]:
    """The names; one that is not "Surname Initials" is a collective author ("IBD
    Study Group of ...")."""
    return tuple(
        Author(name=piece, collective=_is_collective(piece))
        for piece in _author_pieces(lines)
        if piece
    )


_SUFFIXES = frozenset({"Jr", "Sr", "2nd", "3rd", "4th", "II", "III", "IV"})
# Degrees some journals print after a name ("Johari S MPharm PhD"), lower case.
_DEGREES = frozenset({"md", "phd", "mpharm", "msc", "bsc", "mph", "dphil", "frcp", "mbbs"})


def _is_initials(word: str) -> bool:
    return word.isalpha() and word.isupper() and len(word) <= 4


def _is_collective(name: str) -> bool:
    """Several words not ending in initials (capitals, any alphabet: "Keita ÅV",
    "Smith JA Jr", "Johari S MPharm PhD" are people; "UK IBD Genetics Consortium"
    is not). Suffixes and degrees after the initials are ignored."""
    words = name.split()
    while len(words) > 1 and not _is_initials(words[-1]):
        if words[-1] not in _SUFFIXES and words[-1].lower() not in _DEGREES:
            break
        words.pop()
    return len(words) >= 2 and not _is_initials(words[-1])


def _abstract(lines: list[str]) -> str | None:
    """The abstract with wrapped lines rejoined; each labelled section of a
    structured abstract on its own line, as the XML reader gives it."""
    sections: list[list[str]] = []
    for line in lines:
        # A label only opens a section after a finished sentence: "95%\nCI: 1.0"
        # or "Kathmandu,\nNepal: ..." are lines wrapped mid-sentence.
        if not sections or (_LABEL.match(line) and _SENTENCE_END.search(sections[-1][-1])):
            sections.append([])
        sections[-1].append(line)
    cleaned = [text for text in map(_joined, sections) if text]
    return "\n".join(cleaned) or None
