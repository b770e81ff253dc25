"""Formatting search results and records for the terminal, for pipes and for files."""

from __future__ import annotations

import io
import json
import re
import shutil
import textwrap
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from searchkit.errors import OptionError
from searchkit.plural import plural
from searchkit.records import Record
from searchkit.searching.search import Hit, SearchResult

SEARCH_FORMATS = ("table", "json", "jsonl", "csv", "pmid", "medline", "ris")
RECORD_FORMATS = ("text", "json", "jsonl", "csv", "pmid", "medline", "ris")
#: Formats whose columns ``--fields`` chooses.
FIELD_FORMATS = ("json", "jsonl", "csv")

_BOLD, _MATCH, _RESET = "\x1b[1m", "\x1b[1;33m", "\x1b[0m"

#: The bidirectional embedding, override and isolate characters (LRE RLE PDF LRO RLO,
#: LRI RLI FSI PDI): they reorder the text shown after them.
_BIDI_CONTROLS = (*range(0x202A, 0x202F), *range(0x2066, 0x206A))
#: What a terminal acts on instead of showing, each mapped to one visible character:
#: C0 controls but tab and newline to their Unicode control pictures (ESC → ␛, BEL → ␇,
#: CR → ␍), DEL to ␡, C1 controls and the bidi controls to the replacement character.
_VISIBLE: dict[int, int] = {
    **{c: 0x2400 + c for c in range(0x20) if c not in (0x09, 0x0A)},
    0x7F: 0x2421,
    **dict.fromkeys(range(0x80, 0xA0), 0xFFFD),
    **dict.fromkeys(_BIDI_CONTROLS, 0xFFFD),
}
#: Any of those characters: most text holds none, and finding that by a regular
#: expression is ~9x quicker than ``str.translate`` (which looks every character up).
_UNSAFE = re.compile("[" + "".join(re.escape(chr(c)) for c in _VISIBLE) + "]")
#: The same characters, except the C0 controls that ``json.dumps`` escapes itself.
_JSON_UNSAFE = re.compile("[" + "".join(chr(c) for c in _VISIBLE if c >= 0x7F) + "]")


def neutralise(text: str) -> str:
    r"""``text`` with every character a terminal would act on (escape sequences, BEL,
    carriage return, C1 controls, bidirectional overrides) replaced by one visible
    character, so that record text can never drive the terminal it is printed on.
    Tab and newline are kept; the length is unchanged, so character offsets (snippet
    highlights) stay right. Every non-JSON output goes through it.

    >>> neutralise("a\x1b]0;title\x07b")
    'a␛]0;title␇b'
    """
    return text.translate(_VISIBLE) if _UNSAFE.search(text) else text


def to_json(data: Any, *, indent: int | None = None) -> str:
    """``data`` as JSON, non-ASCII text as is but the characters :func:`neutralise`
    replaces written as ``\\u`` escapes: the exact text, safe to print."""
    text = json.dumps(data, ensure_ascii=False, indent=indent)
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def _record_columns(r: Record) -> dict[str, Any]:
    return {
        "pmid": r.pmid,
        "title": r.title,
        "year": r.year,
        "date": r.pub_date,
        # The full title, else the abbreviation: PubMed's text exports name only that.
        "journal": r.journal or r.journal_abbrev,
        "journal_abbrev": r.journal_abbrev,
        "authors": [a.name for a in r.authors],
        "doi": r.doi,
        "pmcid": r.pmcid,
        "abstract": r.abstract,
        "keywords": list(r.keywords),
        "mesh": [m.name for m in r.mesh],
        "types": list(r.publication_types),
        "languages": list(r.languages),
        "volume": r.volume,
        "issue": r.issue,
        "pages": r.pages,
        "issns": list(r.issns),
        "collective_authors": [a.name for a in r.authors if a.collective],
        "affiliations": list(dict.fromkeys(ad for a in r.authors for ad in a.affiliations)),
        "entrez_date": r.entrez_date,
        "create_date": r.create_date,
        "mesh_date": r.mesh_date,
    }


HIT_ONLY_COLUMNS = ("rank", "score", "snippet", "highlights", "partial")
RECORD_COLUMNS = tuple(_record_columns(Record(pmid="0")))
HIT_COLUMNS = HIT_ONLY_COLUMNS + RECORD_COLUMNS
DEFAULT_CSV_COLUMNS = (
    "rank",
    "pmid",
    "score",
    "year",
    "journal",
    "title",
    "authors",
    "doi",
    "snippet",
)
DEFAULT_RECORD_CSV_COLUMNS = ("pmid", "year", "journal", "title", "authors", "doi")


def parse_fields(text: str, *, hits: bool = True) -> tuple[str, ...]:
    """``"pmid,title,year"`` → the column names, checked against the known ones."""
    known = HIT_COLUMNS if hits else RECORD_COLUMNS
    names = tuple(name.strip().lower() for name in text.split(",") if name.strip())
    if not names:
        raise OptionError(f"--fields needs column names, some of: {', '.join(known)}")
    for name in names:
        if name not in known:
            raise OptionError(f"--fields: unknown column {name!r}; choose from {', '.join(known)}")
    return names


def hit_columns(hit: Hit, names: Sequence[str]) -> dict[str, Any]:
    """The chosen columns of a hit, in the order asked for."""
    values = {**hit.to_dict(), **_record_columns(hit.record), "score": round(hit.score, 6)}
    return {name: values[name] for name in names}


def _emphasise(text: str, spans: Sequence[tuple[int, int]], color: bool) -> str:
    if not color or not spans:
        return text
    out: list[str] = []
    last = 0
    for start, end in spans:
        out.append(text[last:start])
        out.append(_MATCH + text[start:end] + _RESET)
        last = end
    out.append(text[last:])
    return "".join(out)


#: The table's line between the counted hits and those with only some of the words.
PARTIAL_SEPARATOR = "— partial matches (not counted) —"


def format_table(result: SearchResult, *, color: bool = False, width: int | None = None) -> str:
    """A human-readable listing: rank, PMID, year, journal, title, snippet."""
    width = width or shutil.get_terminal_size((100, 24)).columns
    lines: list[str] = []
    for i, hit in enumerate(result.hits):
        if hit.partial and (i == 0 or not result.hits[i - 1].partial):
            lines.extend([PARTIAL_SEPARATOR, ""])
        r = hit.record
        year = str(r.year) if r.year is not None else "----"
        journal = r.journal_abbrev or r.journal or ""
        head = neutralise(f"{hit.rank:>3}. PMID {r.pmid}  {year}  {journal}")
        lines.append(_BOLD + head + _RESET if color else head)
        for part in textwrap.wrap(neutralise(r.title or "(no title)"), width=max(width - 5, 20)):
            lines.append("     " + part)
        if hit.snippet:
            lines.extend(_wrap_marked(neutralise(hit.snippet), hit.highlights, width - 5, color))
        lines.append("")
    partial = sum(h.partial for h in result.hits)
    footer = f"{len(result.hits) - partial} of {plural(result.total, 'matching record')} shown"
    if partial:
        matches = plural(result.partial_total, "partial match", "partial matches")
        footer += f", then {partial} of {matches} (not counted)"
    lines.append(footer + ".")
    return "\n".join(lines)


def _wrap_marked(text: str, spans: Sequence[tuple[int, int]], width: int, color: bool) -> list[str]:
    """Wrap a snippet, keeping the highlight spans on the right characters."""
    wrapped = textwrap.wrap(text, width=max(width, 20))
    out: list[str] = []
    pos = 0
    for line in wrapped:
        start = text.index(line, pos)
        end = start + len(line)
        local = [
            (max(s, start) - start, min(e, end) - start) for s, e in spans if s < end and e > start
        ]
        out.append("     " + _emphasise(line, local, color))
        pos = end
    return out


def format_search(
    result: SearchResult,
    fmt: str,
    *,
    color: bool = False,
    fields: Sequence[str] | None = None,
) -> str:
    """Render a search result in one of :data:`SEARCH_FORMATS`; ``fields`` chooses
    the columns of the ``json``, ``jsonl`` and ``csv`` formats."""
    return "".join(search_chunks(result, fmt, color=color, fields=fields))


def search_chunks(
    result: SearchResult,
    fmt: str,
    *,
    color: bool = False,
    fields: Sequence[str] | None = None,
) -> Iterator[str]:
    """:func:`format_search`'s text in pieces, a hit at a time for the export formats
    (``jsonl``, ``csv``, ``pmid``, ``medline``, ``ris``): written as they come, an
    export of every hit never holds more than one hit's record or text."""
    check_fields(fmt, fields)
    if fmt == "table":
        yield format_table(result, color=color)
    elif fmt == "json":
        data = result.to_dict()
        if fields is not None:
            data["hits"] = [hit_columns(h, fields) for h in result.hits]
        yield to_json(data, indent=2)
    elif fmt == "jsonl":
        rows = (hit_columns(h, fields) if fields else h.to_dict() for h in result.hits)
        yield from _separated((to_json(row) for row in rows), "\n")
    elif fmt == "csv":
        columns = fields or DEFAULT_CSV_COLUMNS
        rows = (hit_columns(h, columns) for h in result.hits)
        yield from (neutralise(piece) for piece in _csv_pieces(rows, columns))
    elif fmt == "pmid":
        yield from (neutralise(p) for p in _separated(result.pmids(), "\n"))
    elif fmt in ("medline", "ris"):
        from searchkit.output.citations import RECORD_SEPARATOR

        convert = _citation_export(fmt)
        texts = (convert(h.record) for h in result.hits)
        yield from (neutralise(p) for p in _separated(texts, RECORD_SEPARATOR))
    else:
        raise ValueError(f"unknown format {fmt!r}")


def check_fields(fmt: str, fields: Sequence[str] | None) -> None:
    """Refuse ``--fields`` with a format that has no columns."""
    if fields is not None and fmt not in FIELD_FORMATS:
        raise OptionError(f"--fields works with --format {', '.join(FIELD_FORMATS)}, not {fmt}")


def _separated(pieces: Iterable[str], separator: str) -> Iterator[str]:
    """``separator.join(pieces)``, a piece at a time."""
    for i, piece in enumerate(pieces):
        yield separator + piece if i else piece


def _csv(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> str:
    return "".join(_csv_pieces(rows, columns))


def _csv_pieces(rows: Iterable[dict[str, Any]], columns: Sequence[str]) -> Iterator[str]:
    """CSV of ``rows`` (each with ``columns`` as its keys, the header), a row at a
    time, with no line ending after the last row; the header alone for no rows."""
    import csv  # the CSV format's: not loaded for the others

    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(columns), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        yield buf.getvalue()
        buf.seek(0)
        buf.truncate()
        writer.writerow(
            {k: "; ".join(map(str, v)) if isinstance(v, list) else v for k, v in row.items()}
        )
    yield buf.getvalue()[:-1]  # the last row's line ending: the caller's


def format_record(record: Record, fmt: str) -> str:
    """Render one whole record in one of :data:`RECORD_FORMATS`."""
    if fmt == "json":
        return to_json(record.to_dict(), indent=2)
    if fmt == "jsonl":
        return to_json(record.to_dict())
    if fmt == "text":
        text = _record_text(record)
    elif fmt == "csv":
        columns = _record_columns(record)
        text = _csv(
            [{k: columns[k] for k in DEFAULT_RECORD_CSV_COLUMNS}], DEFAULT_RECORD_CSV_COLUMNS
        )
    elif fmt == "pmid":
        text = record.pmid
    elif fmt in ("medline", "ris"):
        text = _citation_export(fmt)(record)
    else:
        raise ValueError(f"unknown format {fmt!r}")
    return neutralise(text)


def _citation_export(fmt: str) -> Callable[[Record], str]:
    """The reference-manager export of ``fmt`` ("medline" or "ris"), its module loaded
    only when one is asked for."""
    from searchkit.output import citations

    return citations.to_medline if fmt == "medline" else citations.to_ris


def _record_text(r: Record, width: int | None = None) -> str:
    """A record for reading: a label and value a line, wrapped to ``width`` (the
    terminal's), then the abstract's paragraphs, wrapped alike."""
    rows: list[tuple[str, str | None]] = [
        ("PMID", r.pmid),
        ("Title", r.title),
        ("Authors", "; ".join(a.full_name or a.name for a in r.authors) or None),
        ("Journal", r.journal or r.journal_abbrev),
        ("Date", r.pub_date or (str(r.year) if r.year is not None else None)),
        ("Citation", _citation(r)),
        ("DOI", r.doi),
        ("PMCID", r.pmcid),
        ("Types", "; ".join(r.publication_types) or None),
        ("Language", ", ".join(r.languages) or None),
        ("Keywords", "; ".join(r.keywords) or None),
        ("MeSH", "; ".join(("*" if m.major else "") + m.name for m in r.mesh) or None),
        ("Publisher", ", ".join(p for p in (r.publisher, r.publisher_location) if p) or None),
    ]
    width = max(width or shutil.get_terminal_size((100, 24)).columns, 40)
    lines = [
        textwrap.fill(
            value,
            width,
            initial_indent=f"{label + ':':<9} ",
            subsequent_indent=" " * 10,
            break_long_words=False,
            break_on_hyphens=False,
        )
        for label, value in rows
        if value
    ]
    if r.abstract:
        lines.append("")
        for paragraph in neutralise(r.abstract).splitlines():  # CR, NEL: shown, not breaks
            wrapped = textwrap.wrap(
                paragraph, width, break_long_words=False, break_on_hyphens=False
            )
            lines.extend(wrapped or [""])
    return "\n".join(lines)


def _citation(r: Record) -> str | None:
    """ "53(2):152-5" from the volume, issue and pages."""
    text = (r.volume or "") + (f"({r.issue})" if r.issue else "")
    text += f":{r.pages}" if r.pages and text else (r.pages or "")
    return text or None


#: The machine formats of :func:`format_rows`.
ROW_FORMATS = ("json", "jsonl", "csv")


def format_rows(rows: Sequence[dict[str, Any]], fmt: str, columns: Sequence[str]) -> str:
    """Rows (such as the sources of an index) in one of :data:`ROW_FORMATS`, each with
    ``columns`` in that order; csv has its header row even with no rows."""
    ordered = [{c: row.get(c) for c in columns} for row in rows]
    if fmt == "json":
        return to_json(ordered, indent=2)
    if fmt == "jsonl":
        return "\n".join(to_json(row) for row in ordered)
    if fmt == "csv":
        return _csv(ordered, columns)
    raise ValueError(f"unknown format {fmt!r}")


def format_stats(stats: dict[str, Any], fmt: str) -> str:
    if fmt == "json":
        return to_json(stats, indent=2)
    return neutralise(
        "\n".join(f"{key.replace('_', ' ')}: {value}" for key, value in stats.items())
    )
