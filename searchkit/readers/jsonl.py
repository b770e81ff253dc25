"""JSON Lines: one JSON object per line.

Two shapes are accepted, line by line:

* searchkit's own: the :class:`Record` field names (``Record.to_dict`` output);
* a BEIR corpus line: ``{"_id", "title", "text", "metadata"?}``, read as
  ``Record(pmid=_id, title=title, abstract=text)``.

A line that cannot be used (invalid JSON, not an object, no id, an unknown field,
a value of the wrong type or range: see :mod:`searchkit.readers._json_record`) is
skipped with its line number and the reason; blank lines are ignored. A BEIR
*queries* file (``_id`` and ``text`` without ``title``) is refused as a whole: its
lines are questions, not documents.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from searchkit.errors import InputError
from searchkit.items import Item, Skipped
from searchkit.readers._io import read_lines
from searchkit.readers._json_record import (
    BadValue,
    check_id,
    optional_string,
    record_from_json,
)
from searchkit.readers._text import clean
from searchkit.records import Record

_BEIR_FIELDS = frozenset({"_id", "title", "text", "metadata"})


class _BadLine(ValueError):
    """A line that cannot become a record; the message is the reason."""


def read_jsonl(path: Path) -> Iterator[Item]:
    """Yield a :class:`Record` per usable line and a :class:`Skipped` per bad one."""
    source = str(path)
    first = True
    for number, line, problem, _ in read_lines(path):
        if problem is not None:
            first = False
            yield Skipped(source, f"line {number}", problem)
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
    except ValueError:
        # Python refuses to convert integers longer than sys.get_int_max_str_digits().
        limit = sys.get_int_max_str_digits()
        raise _BadLine(f"invalid JSON (a number with more than {limit:,} digits)") from None
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
    if doc_id is None:
        raise _BadLine("record has no _id")
    try:
        pmid = check_id("_id", doc_id)
        title = optional_string("title", data.get("title"))
        text = optional_string("text", data.get("text"))
    except BadValue as exc:
        raise _BadLine(str(exc)) from None
    return Record(pmid=pmid, title=clean(title), abstract=clean(text))


def _record(data: dict[str, Any]) -> Record:
    try:
        return record_from_json(data)
    except BadValue as exc:
        raise _BadLine(str(exc)) from None
