"""An index whose large posting blocks are in the layout searchkit wrote before
``DeltaIds`` and ``DeflatedValues`` (numbers in ``array('I')``, frequencies in
``array('f')``, the whole block zlib-compressed) is searched by today's ``searchkit``
as an index of the same records in today's blocks, and ``optimize`` rewrites it in
today's blocks with the same answers."""

from __future__ import annotations

import io
import pickle
import shutil
import subprocess
from array import array
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import whoosh.index
from typer.testing import CliRunner
from whoosh.codec.whoosh3 import WHOOSH3_HEADER_MAGIC

from searchkit.cli import app
from searchkit.engine import blockread, term_writer
from searchkit.engine.codec import (
    PACK_MIN,
    DeltaIds,
    Lz4Values,
    PackedValues,
    block_data,
    compressed,
)
from searchkit.engine.postings import SegmentArrays

from .test_cli import _searchkit_exe

DATA = Path(__file__).resolve().parent.parent / "data"
SOURCES = [
    DATA / "p1m-ortho_qs-global-ortho-search-queries__pubmed_result.xml.gz",
    DATA / "solitude6060_Fulltext_search__pubmed_result.xml.gz",
]
QUERIES = [
    "patients treatment",
    '"cancer patients"',
    '"randomized controlled"',
    "surgery[ti] outcomes",
    "bone AND risk",
]

runner = CliRunner()


def _previous_block_data(
    ids: Sequence[int],
    weights: Sequence[float],
    values: Sequence[bytes],
    fixedsize: int | None,
    compression: int,
) -> tuple[bytes, int]:
    """A block as searchkit wrote it before (small blocks were written as today)."""
    if len(ids) < PACK_MIN:
        return block_data(ids, weights, values, fixedsize, compression)
    numbers = np.asarray(ids, dtype=np.int64)
    deltas = array("I", [int(numbers[0]), *np.diff(numbers).tolist()])
    floats = weights if isinstance(weights, array) else array("f", weights)
    first = floats[0]
    mini: Any = floats
    if floats.count(first) == len(floats):
        mini = None if first == 1.0 else first
    stored: Any
    if fixedsize is None or fixedsize < 0:
        stored = PackedValues.of(values)
    else:
        stored = b"".join(values) if fixedsize else None
    return compressed(pickle.dumps((deltas, mini, stored), 5), compression)


def _ingest(index: Path) -> None:
    for source in SOURCES:
        result = runner.invoke(app, ["ingest", str(source), "--index", str(index), "--procs", "1"])
        assert result.exit_code == 0, result.stderr


def _posting_list(leaf: Any, field: str, text: str) -> tuple[int, bytes]:
    """Where a term's posting list starts in its segment's postings file, and its bytes."""
    postfile, start, length, _ = SegmentArrays(leaf)._extent(field, text)
    return start, postfile.get(start, length)


def _first_block(blob: bytes) -> tuple[Any, Any, Any]:
    """The stored (ids, weights, values) of the first block of a posting list."""
    *_, data = blockread._block(memoryview(blob), io.BytesIO(blob), len(WHOOSH3_HEADER_MAGIC))
    return data


def _first_block_ids(index: Path) -> list[Any]:
    """The stored ids of the first block of every posting list of at least
    ``PACK_MIN`` postings, in every segment."""
    found: list[Any] = []
    with whoosh.index.open_dir(str(index)).reader() as reader:
        for leaf, _ in reader.leaf_readers():
            for field, text in leaf.all_terms():
                if field in ("title", "abstract") and leaf.doc_frequency(field, text) >= PACK_MIN:
                    ids, _, _ = _first_block(_posting_list(leaf, field, text.decode())[1])
                    found.append(ids)
    return found


def _searchkit(*args: str) -> str:
    """A real ``searchkit`` process's stdout; it must succeed."""
    run = subprocess.run([_searchkit_exe(), *args], capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stderr
    return run.stdout


def _answers(index: Path) -> list[str]:
    return [
        _searchkit("search", q, "--index", str(index), "--limit", "20").replace(str(index), "I")
        for q in QUERIES
    ]


@pytest.mark.slow
def test_an_index_of_the_previous_blocks_answers_as_one_of_todays(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    previous, today = tmp_path / "previous", tmp_path / "today"
    with monkeypatch.context() as patched:
        patched.setattr(term_writer, "block_data", _previous_block_data)
        _ingest(previous)
    _ingest(today)
    before = _first_block_ids(previous)
    assert before and all(isinstance(ids, array) and ids.typecode == "I" for ids in before)
    assert all(isinstance(ids, DeltaIds) for ids in _first_block_ids(today))

    expected = _answers(today)
    assert all("matching record" in out and "PMID" in out for out in expected)
    assert _answers(previous) == expected

    copy = tmp_path / "copy"
    shutil.copytree(previous, copy)
    _searchkit("optimize", "--index", str(copy))
    after = _first_block_ids(copy)
    assert after and all(isinstance(ids, DeltaIds) for ids in after)
    assert _answers(copy) == expected
    _searchkit("check", "--index", str(copy))  # every file matches its checksum


@pytest.mark.parametrize("part", ["numbers", "frequencies", "positions"])
def test_a_flipped_number_in_a_large_block_is_one_error_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, part: str
) -> None:
    """A large block's numbers and frequencies are not under zlib's checksum, nor its
    positions (an LZ4 block has none). In an index too large to verify whole when
    opened (simulated: its limits set to 0), a flipped bit in them would otherwise be
    read as another document, frequency or position: the block's CRC-32 refuses it,
    and the search says which file is damaged and how to repair it, in one line."""
    from searchkit.engine import checksums

    index = tmp_path / "ix"
    result = runner.invoke(app, ["ingest", str(SOURCES[0]), "--index", str(index)])
    assert result.exit_code == 0, result.stderr
    with whoosh.index.open_dir(str(index)).reader() as reader:
        (leaf, _), *_ = reader.leaf_readers()
        assert leaf.doc_frequency("abstract", "patient") >= PACK_MIN
        start, blob = _posting_list(leaf, "abstract", "patient")
        base = leaf._storage.a._dir[leaf._terms._postfile._name]["offset"]
        seg_file = index / leaf.segment().make_filename(".seg")
    deltas, weights, values = _first_block(blob)
    assert isinstance(deltas, DeltaIds) and isinstance(weights, array)
    assert isinstance(values, Lz4Values)
    stored = {"numbers": deltas.steps.tobytes(), "frequencies": weights.tobytes()}.get(
        part, values.data
    )
    at = blob.index(stored) + len(stored) // 2
    data = bytearray(seg_file.read_bytes())
    assert data[base + start + at] == blob[at]
    data[base + start + at] ^= 0x01
    seg_file.write_bytes(bytes(data))

    monkeypatch.setattr(checksums, "VERIFY_AT_OPEN_BYTES", 0)
    monkeypatch.setattr(checksums, "SMALL_FILE_BYTES", 0)
    query = '"patients treated"' if part == "positions" else "patients"  # positions read
    damaged = runner.invoke(app, ["search", query, "--index", str(index)])
    assert damaged.exit_code == 1, (damaged.stdout, damaged.stderr)
    lines = damaged.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), damaged.stderr
    assert seg_file.name in lines[0] and f"searchkit rebuild --index {index}" in lines[0]
