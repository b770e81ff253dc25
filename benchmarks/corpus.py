"""Benchmark corpora made from the real records in ../shared/data, scaled up by
repetition with fresh ids. Everything is streamed to disk, never held whole."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

from lxml import etree

from searchkit.readers import iter_files, read_file
from searchkit.records import Record

_PMID = re.compile(rb"<PMID( [^>]*)?>[^<]*</PMID>")


def scifact_lines(data: Path) -> list[dict[str, str]]:
    """SciFact's corpus as BEIR dicts (``_id``, ``title``, ``text``), in file order."""
    with (data / "beir" / "scifact" / "corpus.jsonl").open(encoding="utf-8") as f:
        return [
            {k: v for k, v in json.loads(line).items() if k in ("_id", "title", "text")}
            for line in f
            if line.strip()
        ]


def write_scifact(data: Path, n: int, out: Path) -> Path:
    """``n`` SciFact abstracts as BEIR JSON Lines, repeated with fresh ``_id``s."""
    base = scifact_lines(data)
    with out.open("w", encoding="utf-8") as f:
        for i in range(n):
            doc = dict(base[i % len(base)])
            rep = i // len(base)
            if rep:
                doc["_id"] = f"{doc['_id']}-r{rep}"
            f.write(json.dumps(doc, ensure_ascii=False) + "\n")
    return out


def real_records(data: Path) -> list[Record]:
    """Every record of the PubMed XML, MEDLINE and Abstract-text exports and SciFact:
    ~7,600 real records with the whole range of fields."""
    records: list[Record] = []
    seen: set[str] = set()
    folders = ["pubmed_xml", "medline", "pubmed_abstract_text", "beir/scifact/corpus.jsonl"]
    for path in iter_files([data / f for f in folders]):
        for item in read_file(path):
            if isinstance(item, Record) and item.pmid not in seen:
                seen.add(item.pmid)
                records.append(item)
    return records


def mixed_records(base: list[Record], start: int, n: int) -> Iterator[dict[str, object]]:
    """Records ``start`` … ``start + n`` of the endless repetition of ``base``; each
    repetition after the first gets fresh ids."""
    for i in range(start, start + n):
        record = base[i % len(base)].to_dict()
        rep = i // len(base)
        if rep:
            record["pmid"] = f"{record['pmid']}-r{rep}"
        yield record


def write_mixed(base: list[Record], start: int, n: int, out: Path) -> Path:
    with out.open("w", encoding="utf-8") as f:
        for record in mixed_records(base, start, n):
            f.write(json.dumps(record, ensure_ascii=False) + "\n")
    return out


def article_templates(data: Path) -> list[bytes]:
    """The serialised ``PubmedArticle``/``PubmedBookArticle`` elements of the real XML."""
    templates: list[bytes] = []
    for path in sorted((data / "pubmed_xml").glob("*.xml")):
        for _, elem in etree.iterparse(
            str(path),
            tag=("PubmedArticle", "PubmedBookArticle"),
            resolve_entities=False,
            no_network=True,
            load_dtd=False,
        ):
            templates.append(etree.tostring(elem))
            elem.clear()
    return templates


def write_big_xml(data: Path, target_bytes: int, out: Path) -> tuple[Path, int]:
    """A PubMed XML file of about ``target_bytes``: the real articles repeated, each
    copy with a fresh PMID (90000000 + n). Returns the path and the record count."""
    templates = article_templates(data)
    written = 0
    count = 0
    with out.open("wb") as f:
        f.write(b'<?xml version="1.0" encoding="utf-8"?>\n<PubmedArticleSet>\n')
        while written < target_bytes:
            template = templates[count % len(templates)]
            pmid = 90_000_000 + count
            chunk = _PMID.sub(f'<PMID Version="1">{pmid}</PMID>'.encode(), template, count=1)
            f.write(chunk)
            f.write(b"\n")
            written += len(chunk) + 1
            count += 1
        f.write(b"</PubmedArticleSet>\n")
    return out, count
