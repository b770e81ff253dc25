"""Formatting search results and records for the terminal, for pipes and for files."""

from __future__ import annotations

import csv
import io
import json
import shutil
import textwrap
from collections.abc import Sequence
from typing import Any

from searchkit.records import Record
from searchkit.search import Hit, SearchResult

SEARCH_FORMATS = ("table", "json", "jsonl", "csv", "pmid")
RECORD_FORMATS = ("text", "json")

_BOLD, _RESET = "\x1b[1m", "\x1b[0m"


def _emphasise(text: str, spans: Sequence[tuple[int, int]], color: bool) -> str:
    if not color or not spans:
        return text
    out: list[str] = []
    last = 0
    for start, end in spans:
        out.append(text[last:start])
        out.append(_BOLD + text[start:end] + _RESET)
        last = end
    out.append(text[last:])
    return "".join(out)


def format_table(result: SearchResult, *, color: bool = False, width: int | None = None) -> str:
    """A human-readable listing: rank, PMID, year, journal, title, snippet."""
    width = width or shutil.get_terminal_size((100, 24)).columns
    lines: list[str] = []
    for hit in result.hits:
        r = hit.record
        year = str(r.year) if r.year is not None else "----"
        journal = r.journal_abbrev or r.journal or ""
        head = f"{hit.rank:>3}. PMID {r.pmid}  {year}  {journal}"
        lines.append(_BOLD + head + _RESET if color else head)
        for part in textwrap.wrap(r.title or "(no title)", width=max(width - 5, 20)):
            lines.append("     " + part)
        if hit.snippet:
            lines.extend(_wrap_marked(hit.snippet, hit.highlights, width - 5, color))
        lines.append("")
    shown = len(result.hits)
    lines.append(f"{shown} of {result.total} matching records shown.")
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


def format_search(result: SearchResult, fmt: str, *, color: bool = False) -> str:
    """Render a search result in one of :data:`SEARCH_FORMATS`."""
    if fmt == "table":
        return format_table(result, color=color)
    if fmt == "json":
        return json.dumps(result.to_dict(), ensure_ascii=False, indent=2)
    if fmt == "jsonl":
        return "\n".join(json.dumps(h.to_dict(), ensure_ascii=False) for h in result.hits)
    if fmt == "csv":
        return _csv(result.hits)
    if fmt == "pmid":
        return "\n".join(h.pmid for h in result.hits)
    raise ValueError(f"unknown format {fmt!r}")


def _csv(hits: Sequence[Hit]) -> str:
    buf = io.StringIO()
    columns = ["rank", "pmid", "score", "year", "journal", "title", "authors", "doi", "snippet"]
    writer = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for hit in hits:
        row: dict[str, Any] = {k: v for k, v in hit.to_dict().items() if k in columns}
        row["authors"] = "; ".join(row["authors"])
        writer.writerow(row)
    return buf.getvalue().rstrip("\n")


def format_record(record: Record, fmt: str) -> str:
    """Render one whole record in one of :data:`RECORD_FORMATS`."""
    if fmt == "json":
        return json.dumps(record.to_dict(), ensure_ascii=False, indent=2)
    if fmt == "text":
        return _record_text(record)
    raise ValueError(f"unknown format {fmt!r}")


def _record_text(r: Record) -> str:
    rows: list[tuple[str, str | None]] = [
        ("PMID", r.pmid),
        ("Title", r.title),
        ("Authors", "; ".join(a.full_name or a.name for a in r.authors) or None),
        ("Journal", r.journal or r.journal_abbrev),
        ("Date", r.pub_date or (str(r.year) if r.year is not None else None)),
        ("DOI", r.doi),
        ("PMCID", r.pmcid),
        ("Types", "; ".join(r.publication_types) or None),
        ("Language", ", ".join(r.languages) or None),
        ("Keywords", "; ".join(r.keywords) or None),
        ("MeSH", "; ".join(("*" if m.major else "") + m.name for m in r.mesh) or None),
    ]
    lines = [f"{label + ':':<10}{value}" for label, value in rows if value]
    if r.abstract:
        lines.append("")
        lines.extend(r.abstract.splitlines())
    return "\n".join(lines)


def format_stats(stats: dict[str, Any], fmt: str) -> str:
    if fmt == "json":
        return json.dumps(stats, indent=2)
    return "\n".join(f"{key.replace('_', ' ')}: {value}" for key, value in stats.items())
