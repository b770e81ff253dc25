"""JSON Lines robustness: random JSON values in any field never crash ``ingest``.

Each example is a file of real records (PubMed records as ``Record.to_dict`` lines,
BEIR corpus lines) where some lines have one field replaced by a random JSON value.
Through ``searchkit ingest`` every such line must be either indexed or skipped with
one ``skipped: FILE, line N: reason`` line; the untouched lines are always indexed;
and a line that was indexed reads back from the index as the reader made it.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import fields
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from searchkit import SearchIndex
from searchkit.cli import app
from searchkit.items import Skipped
from searchkit.readers import read_file
from searchkit.records import Author, MeshHeading, Record

from .conftest import TEST_DATA

runner = CliRunner()

ORTHO_XML = (
    TEST_DATA / "pubmed_xml" / "p1m-ortho_qs-global-ortho-search-queries__pubmed_result.cut.xml"
)
SCIFACT = TEST_DATA / "jsonl" / "scifact-corpus.head.jsonl"

RECORDS = [item.to_dict() for item in read_file(ORTHO_XML) if isinstance(item, Record)]
BEIR_LINES = [json.loads(line) for line in SCIFACT.read_text("utf-8").splitlines()]

RECORD_FIELDS = [f.name for f in fields(Record)]
NESTED_KEYS = sorted({f.name for cls in (Author, MeshHeading) for f in fields(cls)} | {"x"})

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-5, max_value=10_000),
    st.floats(),
    st.text(max_size=20),
    st.sampled_from(["", " ", "2019", "2019-05-03", "2019-5", "Smith J", "\ud800", "a\x00b"]),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.sampled_from(NESTED_KEYS), inner, max_size=3),
    ),
    max_leaves=8,
)
# Lists of author- or MeSH-like objects, which random dictionaries seldom make.
entries = st.lists(
    st.one_of(st.dictionaries(st.sampled_from(NESTED_KEYS), json_values, max_size=3), scalars),
    max_size=3,
)
values = st.one_of(json_values, entries)

record_changes = st.tuples(st.just("record"), st.sampled_from(RECORD_FIELDS), values)
beir_changes = st.tuples(st.just("beir"), st.sampled_from(["_id", "title", "text"]), values)
changes = st.lists(st.one_of(record_changes, beir_changes), min_size=1, max_size=6)

SETTINGS = settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def _lines(changed: list[tuple[str, str, Any]]) -> tuple[list[str], set[str]]:
    """The file's lines (good and changed alternating) and the ids of the good ones."""
    lines: list[str] = []
    good: set[str] = set()
    for number, (shape, name, value) in enumerate(changed):
        base = RECORDS[number % len(RECORDS)] if shape == "record" else BEIR_LINES[number]
        key = "pmid" if shape == "record" else "_id"
        lines.append(json.dumps(base))
        good.add(str(base[key]))
        data = {**base, key: f"changed-{number}", name: value}
        lines.append(json.dumps(data))
    return lines, good


@pytest.mark.slow
@SETTINGS
@given(changes)
@example([("record", "year", 70000), ("record", "mesh", [{"name": 5}])])
@example([("record", "authors", [{"name": None}]), ("record", "year", -1)])
@example([("record", "title", "\ud800"), ("beir", "text", "\udc80")])
def test_random_values_never_crash_ingest_and_good_lines_are_kept(
    changed: list[tuple[str, str, Any]],
) -> None:
    lines, good = _lines(changed)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "random.jsonl"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        index = Path(tmp) / "ix"
        result = runner.invoke(app, ["ingest", str(path), "--index", str(index), "--procs", "1"])
        crash = result.exception if not isinstance(result.exception, SystemExit) else None
        assert crash is None, repr(crash)
        items = list(read_file(path))
        skipped = [item for item in items if isinstance(item, Skipped)]
        accepted = {item.pmid: item for item in items if isinstance(item, Record)}
        assert result.exit_code == (1 if skipped else 0), result.stderr
        assert [line for line in result.stderr.splitlines() if line.startswith("skipped:")] == [
            f"skipped: {path}, {item.location}: {item.reason}" for item in skipped
        ]
        assert all(item.location.startswith("line ") for item in skipped)
        assert len(items) == len(lines)  # one record or one skipped line per line
        ix = SearchIndex.open(index)
        assert good <= set(accepted)
        for pmid, record in accepted.items():
            assert ix.get(pmid) == record
