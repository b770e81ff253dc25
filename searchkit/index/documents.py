"""Turning a Record into the fields Whoosh indexes, and back."""

from __future__ import annotations

import json
import re
from dataclasses import fields
from typing import Any

from searchkit.index.mesh import index_fields as mesh_index_fields
from searchkit.index.schema import LIST_SEPARATOR as _SEP
from searchkit.records import Author, MeshHeading, Record

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
            value = [_stored_author(a) for a in value]
        elif name == "mesh":
            value = [_mesh_dict(m) for m in value]
        out[name] = value
    return out


def _stored_author(author: Author) -> dict[str, Any]:
    out: dict[str, Any] = {"name": author.name, "full_name": author.full_name}
    if author.affiliations:
        out["affiliations"] = list(author.affiliations)
    if author.collective:
        out["collective"] = True
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


def record_to_fields(
    record: Record, record_json: str | None = None, known: frozenset[str] | None = None
) -> dict[str, Any]:
    """The Whoosh document for a record (only fields with a value); with ``known``,
    only the fields named there: an index (or Solr collection) of an older format keeps
    its schema, and a field it predates (``pmcid`` before format 10) is left out until
    it is rebuilt (the stored record keeps the value)."""
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
    if record.pmcid:
        doc["pmcid"] = pmcid_term(record.pmcid)
    doc.update(_citation_fields(record))
    if known is not None and not known.issuperset(doc):
        return {name: value for name, value in doc.items() if name in known}
    return doc


_PMCID = re.compile(r"(?:PMC)?0*(\d{1,12})", re.IGNORECASE)


def pmcid_term(value: str) -> str:
    """A PMC id as the ``pmcid`` field holds it: ``PMC`` and its number, whichever
    case it was written in and with or without the prefix (``pmc8469208``,
    ``8469208``: ``PMC8469208``); anything else upper-cased as it is."""
    value = value.strip()
    match = _PMCID.fullmatch(value)
    return f"PMC{match.group(1)}" if match else value.upper()


def date_key(date: str | None) -> str | None:
    """ "2014-09-23" → "20140923"; an incomplete date counts as the first day it
    names ("2014-09" → "20140901", "2014" → "20140101"), as PubMed dates it. A part
    that is not a number (from a hand-written JSON record) ends the date there."""
    if not date:
        return None
    parts = date.strip().split("-")
    if not (parts[0].isdigit() and len(parts[0]) == 4):
        return None
    key = parts[0]
    for part in parts[1:3]:
        if not (part.isdigit() and 1 <= len(part) <= 2):
            break
        key += part.zfill(2)
    return key[:4] + (key[4:6] or "01") + (key[6:8] or "01")


def _citation_fields(record: Record) -> dict[str, Any]:
    """Authors by position, affiliations, volume/issue/pages/ISSN and dates."""
    doc: dict[str, Any] = {}
    people = [a for a in record.authors if not a.collective]
    if people:
        for field, author in (("first_author", people[0]), ("last_author", people[-1])):
            doc[field] = _SEP.join(n for n in (author.name, author.full_name) if n)
    collective = [a.name for a in record.authors if a.collective]
    if collective:
        doc["collective"] = _SEP.join(collective)
    affiliations = list(dict.fromkeys(ad for a in record.authors for ad in a.affiliations))
    if affiliations:
        doc["affiliation"] = _SEP.join(affiliations)
    for field in ("volume", "issue"):
        value = getattr(record, field)
        if value:
            doc[field] = value.replace(";", ",")
    if record.pages:
        # The whole pagination and its first page ("[pg]" finds either).
        whole = record.pages.replace(";", ",")
        pages = (whole, whole.split("-")[0].split(",")[0].strip())
        doc["pages"] = _SEP.join(dict.fromkeys(p for p in pages if p))
    if record.issns:
        doc["issn"] = _SEP.join(record.issns)
    year = f"{record.year:04d}" if record.year is not None else None
    dates = (
        ("pdat", record.pub_date or year),
        ("edat", record.entrez_date),
        ("crdt", record.create_date),
        ("mhda", record.mesh_date),
    )
    for field, date in dates:
        key = date_key(date)
        if key:
            doc[field] = key
    return doc
