"""Turning a Record into the fields Whoosh indexes, and back."""

from __future__ import annotations

import json
from typing import Any

from searchkit.records import Record
from searchkit.schema import LIST_SEPARATOR as _SEP

# _SEP joins list values inside one field; the name and entry tokenizers in
# schema.py split on it, so a phrase never spans two authors.


def record_to_json(record: Record) -> str:
    """Compact, key-sorted JSON: equal records give equal strings (used to detect
    unchanged records on re-ingest)."""
    return json.dumps(record.to_dict(), ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def record_from_json(text: str) -> Record:
    return Record.from_dict(json.loads(text))


def record_to_fields(record: Record, record_json: str | None = None) -> dict[str, Any]:
    """The Whoosh document for a record (only fields with a value)."""
    doc: dict[str, Any] = {"pmid": record.pmid, "record": record_json or record_to_json(record)}
    if record.title:
        doc["title"] = record.title
    if record.abstract:
        doc["abstract"] = record.abstract
    if record.keywords:
        doc["keywords"] = _SEP.join(record.keywords)
    if record.mesh:
        doc["mesh"] = _SEP.join(m.name for m in record.mesh)
        major = [m.name for m in record.mesh if m.major]
        if major:
            doc["mesh_major"] = _SEP.join(major)
    if record.authors:
        names: list[str] = []
        for author in record.authors:
            names.append(author.name)
            if author.full_name:
                names.append(author.full_name)
        doc["authors"] = _SEP.join(names)
    journals = [j for j in (record.journal, record.journal_abbrev) if j]
    if journals:
        doc["journal"] = _SEP.join(journals)
    if record.year is not None:
        doc["year"] = record.year
    date = record.pub_date or (f"{record.year:04d}" if record.year is not None else None)
    if date:
        doc["date"] = date
    if record.publication_types:
        doc["pubtype"] = _SEP.join(record.publication_types)
    if record.languages:
        doc["language"] = _SEP.join(record.languages)
    if record.doi:
        doc["doi"] = record.doi.lower()
    return doc
