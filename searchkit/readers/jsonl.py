"""JSON Lines: one JSON object per line.

Two shapes are accepted, line by line:

* searchkit's own: the :class:`Record` field names (``Record.to_dict`` output);
* a BEIR corpus line: ``{"_id", "title", "text", "metadata"?}``, read as
  ``Record(pmid=_id, title=title, abstract=text)``.

A line that cannot be used (invalid JSON, not an object, no id, an unknown field,
a value of the wrong type) is skipped with its line number; blank lines are
ignored. A BEIR *queries* file (``_id`` and ``text`` without ``title``) is refused
as a whole: its lines are questions, not documents.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from searchkit.errors import InputError
from searchkit.readers._io import LONG_LINE_REASON, iter_lines_marking_long
from searchkit.readers._text import clean
from searchkit.records import Item, Record, Skipped

_BEIR_FIELDS = frozenset({"_id", "title", "text", "metadata"})
_STRING_FIELDS = (
    "title",
    "abstract",
    "journal",
    "journal_abbrev",
    "pub_date",
    "doi",
    "pmcid",
    "volume",
    "issue",
    "pages",
    "entrez_date",
    "create_date",
    "mesh_date",
)
_LIST_FIELDS = ("keywords", "mesh", "authors", "publication_types", "languages", "issns")


class _BadLine(ValueError):
    """A line that cannot become a record; the message is the reason."""


def read_jsonl(path: Path) -> Iterator[Item]:
    """Yield a :class:`Record` per usable line and a :class:`Skipped` per bad one."""
    source = str(path)
    first = True
    for number, line in iter_lines_marking_long(path):
        if line is None:
            first = False
            yield Skipped(source, f"line {number}", LONG_LINE_REASON)
            continue
        if not line.strip():
            continue
        try:
            data = _parse(line)
            if first and _is_beir_query(data):
                raise InputError(
                    source,
                    "looks like a BEIR queries file (objects with _id and text but no "
                    "title); only a corpus file holds documents",
                    f"line {number}",
                )
            first = False
            yield _beir_record(data) if "_id" in data else _record(data)
        except _BadLine as exc:
            first = False
            yield Skipped(source, f"line {number}", str(exc))


def _parse(line: str) -> dict[str, Any]:
    try:
        data = json.loads(line)
    except json.JSONDecodeError as exc:
        raise _BadLine(f"invalid JSON ({exc.msg} at column {exc.colno})") from None
    except RecursionError:
        raise _BadLine("invalid JSON (nested too deeply)") from None
    if not isinstance(data, dict):
        raise _BadLine(f"expected a JSON object, found {type(data).__name__}")
    return data


def _is_beir_query(data: dict[str, Any]) -> bool:
    return "_id" in data and "text" in data and "title" not in data


def _beir_record(data: dict[str, Any]) -> Record:
    unknown = set(data) - _BEIR_FIELDS
    if unknown:
        raise _BadLine(f"unknown field(s) in a BEIR line: {', '.join(sorted(unknown))}")
    doc_id = data["_id"]
    if not isinstance(doc_id, str | int) or isinstance(doc_id, bool) or str(doc_id) == "":
        raise _BadLine("_id must be a non-empty string or integer")
    title, text = data.get("title"), data.get("text")
    for name, value in (("title", title), ("text", text)):
        if value is not None and not isinstance(value, str):
            raise _BadLine(f"{name} must be a string")
    return Record(pmid=str(doc_id), title=clean(title), abstract=clean(text))


def _record(data: dict[str, Any]) -> Record:
    _check_types(data)
    try:
        return Record.from_dict(data)
    except (ValueError, TypeError, KeyError) as exc:
        # from_dict reports unknown fields and a missing pmid as ValueError; a
        # malformed author or MeSH entry surfaces as TypeError / KeyError.
        raise _BadLine(_reason(exc)) from None


def _reason(exc: Exception) -> str:
    if isinstance(exc, KeyError):
        return f"missing key {exc} in an author or MeSH entry"
    return str(exc)


def _check_types(data: dict[str, Any]) -> None:
    """Refuse values from_dict would store as they are with the wrong type."""
    pmid = data.get("pmid")
    if pmid is not None and (not isinstance(pmid, str | int) or isinstance(pmid, bool)):
        raise _BadLine("pmid must be a string or integer")
    for name in _STRING_FIELDS:
        value = data.get(name)
        if value is not None and not isinstance(value, str):
            raise _BadLine(f"{name} must be a string")
    for name in _LIST_FIELDS:
        value = data.get(name)
        if value is not None and not isinstance(value, list):
            raise _BadLine(f"{name} must be a list")
    year = data.get("year")
    if year not in (None, "") and not _is_year(year):
        raise _BadLine("year must be an integer")


def _is_year(value: object) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return True
    return isinstance(value, str) and value.strip().isdigit()
