"""Opening an index never runs code from it.

Whoosh pickles the table of contents (schema, segment list), stored fields and posting
blocks. Every such pickle is read through ``searchkit.engine.safepickle``, which admits only
the classes and functions searchkit and Whoosh write there. Each test plants a
``__reduce__`` payload (creating a marker file) in a real index, with checksums that
match (as someone crafting the index would write them), and checks that every command
refuses it in one line and that the marker never appears.
"""

from __future__ import annotations

import io
import os
import pickle
import shutil
import subprocess
import zlib
from pathlib import Path
from typing import Any

import pytest
import whoosh.codec.whoosh3
import whoosh.columns
import whoosh.filedb.structfile
import whoosh.formats
import whoosh.index
from typer.testing import CliRunner
from whoosh.filedb.structfile import StructFile
from whoosh.util.varints import varint

from searchkit import SearchIndex
from searchkit.cli import app
from searchkit.engine import safepickle
from searchkit.engine.checksums import Entry, file_crc, write_manifest
from searchkit.index.documents import record_to_fields
from searchkit.records import Record

from .conftest import SEED_PMID, TEST_DATA
from .test_cli import _searchkit_exe

runner = CliRunner()
SEED_FILE = TEST_DATA / "page_text" / "pubmed-34572009-page.txt"
COMMANDS = [["search", "cancer"], ["show", SEED_PMID], ["stats"], ["optimize"]]


class Payload:
    """Unpickled by a plain unpickler, this creates ``marker``."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (os.system, (f"touch {self.marker}",))


@pytest.fixture
def index(tmp_path: Path) -> Path:
    path = tmp_path / "ix"
    assert runner.invoke(app, ["ingest", str(SEED_FILE), "--index", str(path)]).exit_code == 0
    return path


def _reseal(index: Path) -> None:
    """Rewrite the current generation's checksums to match the files as they are now."""
    toc = max(index.glob("_MAIN_*.toc"), key=lambda p: int(p.stem.split("_")[-1]))
    sums = toc.with_suffix(".sums")
    names = [toc.name] + [p.name for p in index.glob("MAIN_*.seg")]
    write_manifest(index, sums.name, {n: file_crc(index / n) for n in names})


def _toc_parts(data: bytes) -> tuple[int, int, int]:
    """Offsets in a TOC file: start and end of the schema string, start of the
    segment-list pickle (Whoosh's TOC layout)."""
    f = StructFile(io.BytesIO(data))
    for _ in range(3):
        f.read_varint()
    f.read_int()
    f.read_int()
    for _ in range(3):
        f.read_varint()
    start = f.tell()
    length = f.read_varint()
    schema_start = f.tell()
    f.seek(schema_start + length)
    f.read_int()
    f.read_int()
    return start, schema_start + length, f.tell()


def _plant_in_toc(index: Path, where: str, marker: Path) -> None:
    toc = next(index.glob("_MAIN_*.toc"))
    data = toc.read_bytes()
    start, end, segments = _toc_parts(data)
    evil = pickle.dumps(Payload(marker), 2)
    if where == "schema":
        data = data[:start] + varint(len(evil)) + evil + data[end:]
    else:
        data = data[:segments] + evil
    toc.write_bytes(data)


def _plant_in_stored_fields(index: Path, marker: Path) -> None:
    """A real commit whose stored record is the payload (Whoosh pickles it)."""
    ix = SearchIndex.open(index)
    fields = record_to_fields(Record(pmid="1", title="planted cancer record"))
    fields["record"] = Payload(marker)
    with ix.locked():
        writer = ix.writer()
        writer.add_document(**fields)
        writer.commit()


def _plant(index: Path, where: str, marker: Path) -> None:
    if where == "stored fields":
        _plant_in_stored_fields(index, marker)
    else:
        _plant_in_toc(index, where, marker)
        _reseal(index)


PLACES = ["schema", "segment list", "stored fields"]


def _assert_refused(args: list[str], index: Path, marker: Path) -> None:
    result = runner.invoke(app, [*args, "--index", str(index)])
    assert not marker.exists(), f"{args}: the planted pickle ran"
    assert result.exit_code == 1, (args, result.stdout, result.stderr)
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), (args, result.stderr)
    assert "posix.system" in lines[0] and "searchkit rebuild" in lines[0], lines[0]


@pytest.mark.parametrize("where", PLACES)
@pytest.mark.slow
def test_a_planted_pickle_never_runs(tmp_path: Path, index: Path, where: str) -> None:
    marker = tmp_path / "marker"
    _plant(index, where, marker)
    commands = COMMANDS
    if where == "stored fields":  # stats reads no stored record
        commands = [["show", "1"], ["search", "planted"], ["optimize"]]
    for args in commands:
        _assert_refused(args, index, marker)


@pytest.mark.slow
def test_a_planted_pickle_in_an_index_without_checksums(tmp_path: Path, index: Path) -> None:
    """An index written before checksums (no manifest at all) is read, still safely."""
    marker = tmp_path / "marker"
    _plant_in_toc(index, "schema", marker)
    for sums in index.glob("_MAIN_*.sums"):
        sums.unlink()
    for args in COMMANDS:
        _assert_refused(args, index, marker)


@pytest.mark.slow
def test_a_planted_pickle_through_a_real_process(tmp_path: Path, index: Path) -> None:
    marker = tmp_path / "marker"
    shown = tmp_path / "shown"
    shutil.copytree(index, shown)
    _plant(index, "schema", marker)
    _plant(shown, "stored fields", marker)
    for target, args in ((index, ["search", "cancer"]), (shown, ["show", "1"])):
        run = subprocess.run(
            [_searchkit_exe(), *args, "--index", str(target)],
            capture_output=True,
            text=True,
            check=False,
        )
        assert not marker.exists()
        assert run.returncode == 1, run.stderr
        assert run.stdout == ""
        assert run.stderr.count("\n") == 1 and run.stderr.startswith("Error: "), run.stderr
        assert "Traceback" not in run.stderr


def test_the_unpickler_admits_what_indexes_hold_and_nothing_else() -> None:
    from searchkit.engine.codec import DeflatedValues, DeltaIds, Lz4Values, PackedValues, block_data
    from searchkit.index.schema import build_schema

    schema = build_schema()
    assert set(safepickle.loads(pickle.dumps(schema, 2)).names()) == set(schema.names())
    data, comp = block_data(list(range(200)), [1.0, 2.0] * 100, [b"ab"] * 200, None, 3)
    ids, _, values = safepickle.loads(zlib.decompress(data) if comp else data)
    assert isinstance(values, Lz4Values) and isinstance(ids, DeltaIds) and len(ids) == 200
    assert list(values) == [b"ab"] * 200 and list(ids) == [0] + [1] * 199
    older = DeflatedValues.of(PackedValues.of([b"ab"] * 200), 3)  # blocks written before LZ4
    assert list(safepickle.loads(pickle.dumps(older, 5))) == [b"ab"] * 200
    assert safepickle.loads(pickle.dumps([3, 99, 105], 2)) == [3, 99, 105]  # 'c', 'i' bytes
    for evil in (Payload(Path("x")), shutil.rmtree, pickle.loads, Entry):
        with pytest.raises(safepickle.UnsafePickleError):
            safepickle.loads(pickle.dumps(evil, 2))


def test_whoosh_reads_index_pickles_through_the_restricted_unpickler() -> None:
    assert whoosh.filedb.structfile.load_pickle is safepickle.load
    assert whoosh.index.pickle.loads is safepickle.loads
    assert whoosh.index.toc_loaders == {}
    for module in (whoosh.codec.whoosh3, whoosh.formats, whoosh.columns):
        assert module.loads is safepickle.loads  # type: ignore[attr-defined]
