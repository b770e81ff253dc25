"""Indexes of older formats are searched as they are by a searchkit that writes
format 11, and declare format 11 when first written to:

- format 6: large posting blocks keep their positions as zlib streams
  (:class:`~searchkit.engine.codec.DeflatedValues`; format 7 and on write LZ4,
  :class:`~searchkit.engine.codec.Lz4Values`);
- formats 6 and 7: positions as Whoosh's ``Positions`` pickles them (format 8:
  :class:`~searchkit.engine.compact_positions.CompactPositions`, 16-bit numbers).
  An older index keeps the format its schema names in the segments written to it
  later, and ``rebuild`` makes it a format-8 index whole;
- formats 10 and before: keywords, MeSH words and affiliations as one text each
  (format 11: entry by entry, :class:`~searchkit.engine.listtext.ListText`), kept in
  the segments written later.

Real records, real ``searchkit`` processes; the older indexes are written by the
writer as it was (stock positions, values deflated for format 6)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner
from whoosh.analysis import IDTokenizer
from whoosh.fields import TEXT
from whoosh.formats import Positions

from searchkit import SearchIndex
from searchkit.cli import app
from searchkit.engine import codec
from searchkit.engine import postings as postings_module
from searchkit.engine.codec import DeflatedValues, Lz4Values, PackedValues
from searchkit.engine.compact_positions import CompactPositions
from searchkit.index import schema as schema_module
from searchkit.index import searchindex as searchindex_module
from searchkit.index.dates import has_levels
from searchkit.index.schema import SCHEMA_VERSION

from .conftest import (
    _LARGEST,
    SAMPLE_DIR,
    SAMPLE_SUBSET,
    SMALL_SUBSET,
    index_version,
    set_index_version,
)

# Phrases (positions read), hyphenated compounds (phrases of their parts), words,
# and a proximity search: every one reads the positions of large blocks on data/.
QUERIES = [
    '"breast cancer"',
    '"randomized controlled trial"',
    "stem-cell therapy",
    "cancer AND patients",
    '"cell lines"',
    '"patients cancer"[tiab:~3]',
    "immune escape",
]


def _stock_schema() -> Any:
    """The schema of formats 6 and 7: positions in Whoosh's own format, dates as day
    terms alone (format 9 adds their months and years: ``tests/test_date_levels.py``),
    no PMC ids (format 10 adds them: ``tests/test_pmcid.py``), lists as one text
    (format 11 reads them entry by entry: ``tests/test_list_fields.py``)."""
    schema = schema_module.build_schema()
    schema.remove("pmcid")
    for name in ("keywords", "mesh", "affiliation"):  # format 11 reads lists by entry
        listed = schema[name]
        schema.remove(name)
        schema.add(name, TEXT(analyzer=listed.analyzer))
    for _, field in schema.items():
        if type(field.format) is CompactPositions:
            field.format = Positions(field_boost=field.format.field_boost)
        if has_levels(field):
            field.analyzer = IDTokenizer()
    return schema


def _write_older(
    monkeypatch: pytest.MonkeyPatch, index: Path, files: list[Path], version: int
) -> None:
    """``files`` ingested by the writer of format ``version`` (6 or 7): Whoosh's
    positions format, and for 6 large blocks' values deflated."""
    real = codec._mini_values

    def deflated(values: Any, fixedsize: Any, packed: bool, compression: int = 0) -> Any:
        found = real(values, fixedsize, packed, compression)
        if isinstance(found, Lz4Values):
            return DeflatedValues.of(PackedValues.of(values), compression)
        return found

    with monkeypatch.context() as patched:
        patched.setattr(searchindex_module, "build_schema", _stock_schema)
        if version == 6:
            patched.setattr(codec, "_mini_values", deflated)
        result = CliRunner().invoke(
            app, ["ingest", *map(str, files), "--index", str(index), "--procs", "1"]
        )
    assert result.exit_code == 0, result.output
    set_index_version(index, version)


def _positions_format(index: Path) -> type:
    with SearchIndex.open(index) as opened:
        return type(opened.schema["abstract"].format)


def _date_levels(index: Path) -> bool:
    with SearchIndex.open(index) as opened:
        return has_levels(opened.schema["pdat"])


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "searchkit", *args], capture_output=True, text=True, timeout=300
    )


def _answers(index: Path) -> list[tuple[str, str]]:
    """Each query's count and ranked PMIDs, from ``searchkit search``."""
    found = []
    for query in QUERIES:
        runs = [
            CliRunner().invoke(app, ["search", query, "--index", str(index), *extra])
            for extra in (["--count"], ["--format", "pmid", "--limit", "50"])
        ]
        assert all(run.exit_code == 0 for run in runs), [run.output for run in runs]
        found.append((runs[0].output, runs[1].output))
    return found


def _searched_by_a_process(index: Path) -> tuple[str, str]:
    """The first query's count and ranked PMIDs from a real ``searchkit`` process."""
    count = _run("search", QUERIES[0], "--index", str(index), "--count")
    hits = _run("search", QUERIES[0], "--index", str(index), "--format", "pmid", "--limit", "50")
    assert count.returncode == 0 and hits.returncode == 0, count.stderr + hits.stderr
    return count.stdout, hits.stdout


@pytest.mark.slow
@pytest.mark.parametrize("version", [6, 7])
def test_an_older_index_is_read_then_written_in_the_current_format(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, version: int
) -> None:
    old, new = tmp_path / f"format-{version}", tmp_path / "format-8"
    _write_older(monkeypatch, old, SAMPLE_SUBSET, version)
    made = _run("ingest", *map(str, SAMPLE_SUBSET), "--index", str(new))
    assert made.returncode == 0, made.stderr
    assert _positions_format(old) is Positions
    assert _positions_format(new) is CompactPositions

    # The older index holds its own values, and they are what its phrases read.
    inflated: list[int] = []
    decoded: list[type] = []
    real_raw = DeflatedValues._raw
    with monkeypatch.context() as spied:
        spied.setattr(DeflatedValues, "_raw", lambda self: inflated.append(1) or real_raw(self))
        for name in ("position_arrays", "decode_positions"):
            real = getattr(postings_module, name)

            def spy(fmt: Any, *args: Any, real: Any = real) -> Any:
                decoded.append(type(fmt))
                return real(fmt, *args)

            spied.setattr(postings_module, name, spy)
        result = CliRunner().invoke(app, ["search", QUERIES[0], "--index", str(old), "--count"])
    assert result.exit_code == 0, result.output
    assert decoded and set(decoded) == {Positions}, decoded
    assert bool(inflated) == (version == 6)

    # Searched as it is: the same counts and rankings as today's, and not rewritten.
    expected = _answers(new)
    assert all(int(count) > 0 for count, _ in expected)
    assert _answers(old) == expected
    assert _searched_by_a_process(old) == expected[0]
    assert index_version(old) == version

    # Written to: today's format from then on; the new segment and the old ones searched
    # together, then merged into one, in the positions format of the index's schema.
    more = SAMPLE_DIR / _LARGEST
    for index in (old, new):
        added = _run("ingest", str(more), "--index", str(index))
        assert added.returncode == 0, added.stderr
    assert index_version(old) == SCHEMA_VERSION == 11
    assert _positions_format(old) is Positions
    assert not _date_levels(old)
    expected = _answers(new)
    assert _answers(old) == expected
    for index in (old, new):  # (replaced records count in the scores until merged)
        optimized = _run("optimize", "--index", str(index))
        assert optimized.returncode == 0, optimized.stderr
    expected = _answers(new)
    assert _answers(old) == expected
    assert _searched_by_a_process(old) == _searched_by_a_process(new)

    # Rebuilt: today's format whole, the same answers.
    rebuilt = _run("rebuild", "--index", str(old))
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert _positions_format(old) is CompactPositions
    assert _date_levels(old)
    assert _answers(old) == expected


def test_a_format_5_index_is_refused_with_a_rebuild_message(tmp_path: Path) -> None:
    index = tmp_path / "ix"
    made = _run("ingest", str(SMALL_SUBSET[0]), "--index", str(index))
    assert made.returncode == 0, made.stderr
    set_index_version(index, 5)
    run = _run("search", "cancer", "--index", str(index))
    assert run.returncode != 0 and run.stdout == ""
    assert run.stderr.count("\n") == 1 and "Traceback" not in run.stderr
    expected = "has format version 5, this searchkit reads version 11 (and 6, 7, 8, 9, 10)"
    assert expected in run.stderr
    assert f"searchkit rebuild --index {index}" in run.stderr
    assert index_version(index) == 5
