"""Damage to an index file is found and reported in one line naming the repair.

Every commit writes a manifest of the size and CRC-32 of each file of the new
generation (``searchkit.engine.checksums``); opening the index checks them, ``optimize`` and
merges read every file whole after checking it, and ``searchkit check`` verifies
everything. The sweep flips one bit at a time at seeded offsets of every index file
and runs each reading command: each gives the undamaged index's output or one
``Error:`` line naming ``searchkit rebuild``, never a traceback.
"""

from __future__ import annotations

import random
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from searchkit import SearchIndex
from searchkit.cli import app
from searchkit.engine import checksums
from searchkit.engine.postings import _lengths_column
from searchkit.searching.search import search

from .conftest import SEED_PMID, TEST_DATA
from .test_cli import _searchkit_exe

runner = CliRunner()
SOURCES = [TEST_DATA / "page_text" / "pubmed-34572009-page.txt", TEST_DATA / "medline"]
READS = [["search", "cancer stem cells"], ["show", SEED_PMID], ["stats", "--format", "json"]]
FLIPS_PER_FILE = 3
SEED = 16


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small index of two commits (each file ingested on its own)."""
    path = tmp_path_factory.mktemp("checksums") / "ix"
    for source in SOURCES:
        result = runner.invoke(app, ["ingest", str(source), "--index", str(path)])
        assert result.exit_code == 0, result.stderr
    return path


@pytest.fixture
def index(built: Path, tmp_path: Path) -> Path:
    """A fresh copy of the built index (new files: nothing verified yet)."""
    copy = tmp_path / "ix"
    shutil.copytree(built, copy)
    return copy


def _run(args: list[str], index: Path) -> Result:
    return runner.invoke(app, [*args, "--index", str(index)])


def _flip(path: Path, offset: int, bit: int) -> None:
    with open(path, "r+b") as f:
        f.seek(offset)
        byte = f.read(1)[0]
        f.seek(offset)
        f.write(bytes([byte ^ (1 << bit)]))


def _assert_one_error(result: Result, index: Path, *expected: str) -> str:
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exc_info
    assert result.exit_code == 1, (result.stdout, result.stderr)
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    assert f"searchkit rebuild --index {index}" in lines[0], lines[0]
    for text in expected:
        assert text in lines[0], lines[0]
    return lines[0]


def _index_files(index: Path) -> list[Path]:
    return sorted(p for p in index.iterdir() if p.name.startswith(("MAIN_", "_MAIN_")))


def test_every_commit_records_checksums_of_its_files(built: Path) -> None:
    toc = max(built.glob("_MAIN_*.toc"), key=lambda p: int(p.stem.rsplit("_", 1)[1]))
    files = checksums.read_manifest(built, toc.with_suffix(".sums").name)
    live = {p.name for p in _index_files(built)} - {"MAIN_WRITELOCK"}
    assert set(files) == {n for n in live if not n.endswith(".sums")}
    for name, entry in files.items():
        assert checksums.file_crc(built / name) == entry, name
    report = SearchIndex.open(built).check()
    assert report.damaged == [] and report.files == len(files)


@pytest.mark.slow
def test_a_bit_flip_anywhere_is_one_error_line_never_a_traceback(
    built: Path, tmp_path: Path
) -> None:
    # stats first: a search adds to the history, which stats counts in the index's
    # size; optimize last: it may write.
    commands = [READS[2], READS[0], READS[1], ["optimize"]]
    undamaged = tmp_path / "undamaged"
    shutil.copytree(built, undamaged)
    expected = {" ".join(args): _run(args, undamaged) for args in commands}
    for result in expected.values():
        assert result.exit_code == 0, result.stderr
    rng = random.Random(SEED)
    files = [p.name for p in _index_files(built) if p.name != "MAIN_WRITELOCK"]
    assert any(n.endswith(".seg") for n in files) and any(n.endswith(".toc") for n in files)
    turn = 0
    for n, name in enumerate(files):
        size = (built / name).stat().st_size
        offsets = {0, size - 1, *(rng.randrange(size) for _ in range(FLIPS_PER_FILE))}
        for k, offset in enumerate(sorted(offsets)):
            damaged = tmp_path / f"{n}-{offset}"
            shutil.copytree(built, damaged)
            _flip(damaged / name, offset, rng.randrange(8))
            # Every command on the file's first flip; on its others one command each,
            # in turn: the flips of one file meet the same checks (a small index is
            # verified whole at open), and each command still meets every file.
            if k == 0:
                run = commands
            else:
                run, turn = [commands[turn % len(commands)]], turn + 1
            for args in run:
                result = _run(args, damaged)
                key = " ".join(args)
                if result.exit_code == 0:  # undamaged output, or nothing else
                    out = result.stdout.replace(str(damaged), str(undamaged))
                    assert out == expected[key].stdout, (name, offset, key)
                else:
                    _assert_one_error(result, damaged)
            shutil.rmtree(damaged)


@pytest.mark.parametrize("size", ["small", "large"])
def test_a_flipped_field_length_never_changes_scores_silently(
    index: Path, size: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Field lengths are one byte per document: a flip there would change BM25's
    length normalisation (and every score) without any decoding error. A small index
    is verified whole when opened; in a large one each lengths column has its own
    checksum, checked when a search reads it."""
    if size == "large":
        monkeypatch.setattr(checksums, "VERIFY_AT_OPEN_BYTES", 0)
        monkeypatch.setattr(checksums, "SMALL_FILE_BYTES", 0)
    ix = SearchIndex.open(index)
    before = [(h.pmid, h.score) for h in search(ix, "cancer stem cells").hits]
    with ix.searcher() as s:
        reader = s.reader()
        leaf = reader.leaf_readers()[0][0] if not reader.is_atomic() else reader
        segment = leaf.segment()
        column = _lengths_column(leaf, "abstract")
        compound = leaf._storage.a  # the segment's compound file
        start = compound._dir[column._dbfile._name]["offset"] + column._basepos
        seg_file = index / segment.make_filename(".seg")
        doc = next(d for d in range(column._count) if leaf.doc_field_length(d, "abstract"))
    assert before
    del ix
    _flip(seg_file, start + doc, 3)
    line = _assert_one_error(_run(READS[0], index), index, seg_file.name, "checksum")
    assert "is damaged" in line
    if size == "large":
        assert "_abstract_len.col" in line


def test_check_names_each_damaged_file(index: Path) -> None:
    healthy = _run(["check"], index)
    assert healthy.exit_code == 0 and "all match their checksums" in healthy.stderr
    segments = sorted(index.glob("MAIN_*.seg"))
    for segment in segments:
        _flip(segment, segment.stat().st_size // 2, 0)
    result = _run(["check"], index)
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    for segment in segments:
        assert f"damaged: {segment.name} does not match its checksum" in lines
    assert lines[-1].startswith("Error: ") and "searchkit rebuild" in lines[-1]


def test_optimize_of_a_damaged_index_writes_nothing(index: Path) -> None:
    segment = max(index.glob("MAIN_*.seg"), key=lambda p: p.stat().st_size)
    _flip(segment, 100, 1)
    before = sorted(p.name for p in index.iterdir())
    _assert_one_error(_run(["optimize"], index), index, segment.name)
    assert sorted(p.name for p in index.iterdir()) == before


@pytest.mark.slow
def test_rebuild_repairs_a_damaged_index(index: Path) -> None:
    segment = next(index.glob("MAIN_*.seg"))
    _flip(segment, segment.stat().st_size // 3, 5)
    _assert_one_error(_run(READS[0], index), index, segment.name)
    rebuilt = _run(["rebuild"], index)
    assert rebuilt.exit_code == 0, rebuilt.stderr
    # The damaged index cannot be read for records no source gives: said, not fatal.
    assert "note: the old index could not be read" in rebuilt.stderr
    assert segment.name in rebuilt.stderr
    assert _run(["check"], index).exit_code == 0
    assert SEED_PMID in _run(["search", "cancer stem cells", "--format", "pmid"], index).stdout


def test_a_large_index_checks_sizes_at_open_and_whole_files_before_merging(
    index: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Above VERIFY_AT_OPEN_BYTES only sizes and small files are checked at open; a
    segment is read whole (and checked) before a merge or optimize reads it."""
    monkeypatch.setattr(checksums, "VERIFY_AT_OPEN_BYTES", 0)
    monkeypatch.setattr(checksums, "SMALL_FILE_BYTES", 0)
    segment = max(index.glob("MAIN_*.seg"), key=lambda p: p.stat().st_size)
    _flip(segment, segment.stat().st_size - 10, 2)
    ix = SearchIndex.open(index)  # sizes match: opened
    with pytest.raises(checksums.IndexDamagedError, match=segment.name):
        ix.optimize()
    with ix.locked():
        writer = ix.writer()
        with pytest.raises(checksums.IndexDamagedError, match=segment.name):
            writer.commit(optimize=True)  # the merge verifies what it reads
        writer.cancel()
    with open(segment, "ab") as f:
        f.write(b"\0")
    with pytest.raises(checksums.IndexDamagedError, match=f"{segment.name} is"):
        SearchIndex.open(index)


def test_an_index_without_checksums_is_read_and_gets_them_at_its_next_commit(
    index: Path,
) -> None:
    """Indexes written before the manifests existed keep working."""
    for sums in index.glob("_MAIN_*.sums"):
        sums.unlink()
    assert SEED_PMID in _run(["search", "cancer", "--format", "pmid"], index).stdout
    result = _run(["check"], index)
    assert result.exit_code == 0 and "before searchkit recorded checksums" in result.stderr
    assert _run(["delete", SEED_PMID], index).exit_code == 0
    assert list(index.glob("_MAIN_*.sums"))
    assert "all match" in _run(["check"], index).stderr


def test_a_missing_manifest_is_damage_when_others_exist(index: Path) -> None:
    assert _run(["delete", SEED_PMID], index).exit_code == 0  # a second manifest
    toc = max(index.glob("_MAIN_*.toc"), key=lambda p: int(p.stem.rsplit("_", 1)[1]))
    toc.with_suffix(".sums").unlink()
    assert list(index.glob("_MAIN_*.sums"))
    _assert_one_error(_run(READS[0], index), index, "is missing")


@pytest.mark.slow
def test_check_and_a_damaged_index_through_a_real_process(index: Path) -> None:
    exe = _searchkit_exe()
    ok = subprocess.run([exe, "check", "--index", str(index)], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    segment = next(index.glob("MAIN_*.seg"))
    _flip(segment, 7, 6)
    for args in (["search", "cancer"], ["check"]):
        run = subprocess.run([exe, *args, "--index", str(index)], capture_output=True, text=True)
        assert run.returncode == 1
        assert run.stdout == ""
        assert "Traceback" not in run.stderr
        assert run.stderr.splitlines()[-1].startswith("Error: ")
        assert f"searchkit rebuild --index {index}" in run.stderr


def test_a_large_index_damaged_where_a_command_reads_is_one_error_line(
    index: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Above VERIFY_AT_OPEN_BYTES a search reads segment data unverified; when that
    data fails to decode, the index is verified and the damage reported (one line),
    not a traceback."""
    monkeypatch.setattr(checksums, "VERIFY_AT_OPEN_BYTES", 0)
    monkeypatch.setattr(checksums, "SMALL_FILE_BYTES", 0)
    ix = SearchIndex.open(index)
    with ix.searcher() as s:
        pmids = [doc["pmid"] for doc in s.all_stored_fields()]
        reader = s.reader()
        leaf = reader.leaf_readers()[0][0] if not reader.is_atomic() else reader
        name = leaf.segment().make_filename("._stored.col")
        entry = leaf._storage.a._dir[name]  # the stored records, zlib-compressed
        seg_file = index / leaf.segment().make_filename(".seg")
    del ix
    _flip(seg_file, entry["offset"] + entry["length"] // 2, 4)
    for pmid in pmids:
        result = _run(["show", pmid], index)
        if result.exit_code != 0:
            _assert_one_error(result, index, seg_file.name, "does not match its checksum")
            break
        assert result.exception is None, result.exc_info
    else:
        raise AssertionError("no record read the damaged bytes")


def test_a_program_using_searchkit_can_still_keep_a_whoosh_index_in_memory(
    tmp_path: Path,
) -> None:
    """The checksums are installed into Whoosh for the whole process; a program that
    searches a searchkit index and also keeps a stock Whoosh index in memory
    (``RamStorage``, as the ranking benchmark's baseline does) could not commit it: its
    table of contents was taken for a file in the working directory. A real process,
    real records."""
    script = tmp_path / "both.py"
    script.write_text(
        "import sys\n"
        "from whoosh import fields, qparser\n"
        "from whoosh.filedb.filestore import RamStorage\n"
        "from searchkit import SearchIndex, ingest\n"
        "from pathlib import Path\n"
        "from searchkit.readers import read_file\n"
        "from searchkit.records import Record\n"
        "source, index = sys.argv[1], sys.argv[2]\n"
        "with SearchIndex.open_or_create(index) as ix:\n"
        "    ingest([source], ix)\n"
        "    print(len(ix))\n"
        "schema = fields.Schema(pmid=fields.ID(stored=True), title=fields.TEXT())\n"
        "mem = RamStorage().create_index(schema)\n"
        "with mem.writer() as writer:\n"
        "    for item in read_file(Path(source)):\n"
        "        if isinstance(item, Record):\n"
        "            writer.add_document(pmid=item.pmid, title=item.title)\n"
        "with mem.searcher() as searcher:\n"
        "    query = qparser.QueryParser('title', schema).parse('cancer')\n"
        "    print(len(searcher.search(query, limit=None)))\n",
        encoding="utf-8",
    )
    source = TEST_DATA / "medline" / "dreamytang_Pubmed_Author_Ranking__pubmed_result.txt"
    done = subprocess.run(
        [sys.executable, str(script), str(source), str(tmp_path / "ix")],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    indexed, matched = (int(n) for n in done.stdout.split())
    assert indexed > 0
    assert matched > 0
