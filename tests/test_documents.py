"""The stored record JSON: compact, deterministic, and read back to the same record."""

from __future__ import annotations

import json

import pytest

from searchkit.index.documents import record_from_json, record_to_json
from searchkit.readers import iter_files, read_file
from searchkit.records import Author, MeshHeading, Record

from .conftest import SAMPLE_DIR


def _records() -> list[Record]:
    return [
        item
        for path in iter_files([SAMPLE_DIR])
        for item in read_file(path)
        if isinstance(item, Record)
    ]


@pytest.mark.slow
def test_stored_json_reads_back_to_the_same_record() -> None:
    records = _records()
    assert len(records) > 100
    for record in records:
        text = record_to_json(record)
        assert record_from_json(text) == record
        # The same content as to_dict(), without the empty values (an author's
        # empty affiliations and collective=False too).
        full = {k: v for k, v in record.to_dict().items() if v is not None and v != ()}
        for author in full.get("authors", []):
            for key in ("affiliations", "collective"):
                if not author[key]:
                    del author[key]
        for heading in full.get("mesh", ()):
            if not heading["major_qualifiers"]:
                del heading["major_qualifiers"]
        assert json.loads(text) == json.loads(json.dumps(full))


def test_stored_json_leaves_out_empty_values() -> None:
    record = Record(
        pmid="1",
        title="T",
        authors=(Author("Smith JA"), Author("Doe J", "Doe, John")),
        mesh=(MeshHeading("Neoplasms", major=True, qualifiers=("genetics",)),),
    )
    assert json.loads(record_to_json(record)) == {
        "pmid": "1",
        "title": "T",
        "authors": [
            {"name": "Smith JA", "full_name": None},
            {"name": "Doe J", "full_name": "Doe, John"},
        ],
        "mesh": [{"name": "Neoplasms", "major": True, "qualifiers": ["genetics"]}],
    }
    assert record_from_json(record_to_json(record)) == record
    assert record_to_json(Record(pmid="2")) == '{"pmid":"2"}'
