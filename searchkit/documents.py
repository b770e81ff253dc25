"""Turning a Record into the fields Whoosh indexes, and back."""

from __future__ import annotations

import json
from dataclasses import fields
from typing import Any

from searchkit.mesh import index_fields as mesh_index_fields
from searchkit.records import MeshHeading, Record
from searchkit.schema import LIST_SEPARATOR as _SEP

# _SEP joins list values inside one field; the name and entry tokenizers in
# schema.py split on it, so a phrase never spans two authors.


def record_to_json(record: Record) -> str:
    """Compact, key-sorted JSON without the fields that have no value (``None``, empty
    lists: ``Record.from_dict`` restores them): equal records give equal strings (used
    to detect unchanged records on re-ingest)."""
    return json.dumps(
        _stored_dict(record), ensure_ascii=False, sort_keys=True, separators=(",", ":")
    )


_FIELDS = tuple(f.name for f in fields(Record))


def _stored_dict(record: Record) -> dict[str, Any]:
    """``record.to_dict()`` without empty values, built without ``asdict``'s deep copy."""
    out: dict[str, Any] = {}
    for name in _FIELDS:
        value = getattr(record, name)
        if value is None or value == ():
            continue
        if name == "authors":
            value = [{"name": a.name, "full_name": a.full_name} for a in value]
        elif name == "mesh":
            value = [_mesh_dict(m) for m in value]
        out[name] = value
    return out


def _mesh_dict(heading: MeshHeading) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": heading.name,
        "major": heading.major,
        "qualifiers": list(heading.qualifiers),
    }
    if heading.major_qualifiers:  # most headings have none: not stored for each
        out["major_qualifiers"] = list(heading.major_qualifiers)
    return out


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
        doc.update(mesh_index_fields(record.mesh))
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
