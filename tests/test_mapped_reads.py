"""A search reads the index's segments in place from memory maps: it never copies a
segment (Whoosh's own compound files copied each part into a ``BytesIO``), closes
its maps with its searcher, and keeps reading segments a concurrent commit deleted."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tracemalloc
from array import array
from pathlib import Path

import pytest
from whoosh.filedb.filestore import FileStorage
from whoosh.filedb.structfile import StructFile
from whoosh.query import Every, Term

from searchkit import SearchIndex, ingest
from searchkit.engine.fileindex import RetryingFileIndex
from searchkit.engine.mapped import MappedFile
from searchkit.searching.search import search

from .conftest import TEST_DATA
from .test_cli import _searchkit_exe

QUERY = "immune escape MHC"
LINUX = sys.platform.startswith("linux")


def _segments(index_dir: Path) -> list[Path]:
    found = sorted(index_dir.glob("*.seg"))
    assert found, f"no segment files in {index_dir}"
    return found


def test_opening_and_searching_allocates_far_less_than_the_segments(
    sample_index_dir: Path,
) -> None:
    segment_bytes = sum(p.stat().st_size for p in _segments(sample_index_dir))
    tracemalloc.start()
    try:
        ix = SearchIndex.open(sample_index_dir)
        result = search(ix, QUERY, limit=10)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.hits and all(h.record.title for h in result.hits)
    # A copy of the segments (Whoosh's BytesIO per part) made the peak larger than
    # all of them together; reading in place needs the acronym table, the lengths
    # columns and the postings of the query's terms.
    assert peak < segment_bytes / 4, (peak, segment_bytes)


def _peak_rss_kb(index_dir: Path) -> int:
    """Peak resident memory of one ``searchkit search`` process on the index."""
    probe = (
        "import resource, subprocess, sys\n"
        "done = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL)\n"
        "assert done.returncode == 0, done\n"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe, _searchkit_exe(), "search", QUERY, "--index", str(index_dir)],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return int(out.stdout)


@pytest.mark.slow
@pytest.mark.skipif(not LINUX, reason="ru_maxrss is in kilobytes on Linux")
def test_a_search_process_holds_no_copy_of_the_index(
    sample_index_dir: Path, tmp_path: Path
) -> None:
    small = tmp_path / "small"
    assert ingest([TEST_DATA / "medline"], SearchIndex.create(small)).ok
    segment_kb = sum(p.stat().st_size for p in _segments(sample_index_dir)) // 1024
    growth = _peak_rss_kb(sample_index_dir) - _peak_rss_kb(small)
    # Whoosh's copies made a search on data/ take 2.2 times the index's size more
    # than one on a few records; what grows now is the index's pages a search
    # touches (shared with the page cache) and the acronym table.
    assert growth < segment_kb, (growth, segment_kb)


def _mapped_segments() -> list[str]:
    """The segment files this process has mapped or open."""
    maps = Path("/proc/self/maps").read_text().splitlines()
    fds = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            fds.append(os.readlink(f"/proc/self/fd/{fd}"))
        except OSError:  # the listing's own descriptor, closed meanwhile
            continue
    return [line for line in maps + fds if line.endswith(".seg")]


@pytest.mark.skipif(not LINUX, reason="reads /proc/self")
@pytest.mark.slow
def test_closing_the_searcher_unmaps_and_closes_its_segments(tmp_path: Path) -> None:
    path = tmp_path / "index"
    assert ingest([TEST_DATA / "medline"], SearchIndex.create(path)).ok
    ix = SearchIndex.open(path)
    with ix.searcher() as s:
        stored = [hit.fields() for hit in s.search(Every(), limit=5)]
        assert stored and all("pmid" in f for f in stored)
        assert _mapped_segments(), "the segments are not mapped while searching"
    assert _mapped_segments() == []


@pytest.mark.slow
def test_a_searcher_reads_segments_a_concurrent_commit_removed(tmp_path: Path) -> None:
    if not LINUX and sys.platform != "darwin":
        pytest.skip("a mapped file cannot be removed on Windows")
    path = tmp_path / "index"
    ix = SearchIndex.create(path)
    assert ingest([TEST_DATA / "medline"], ix).ok
    assert ingest([TEST_DATA / "pubmed_xml"], ix).ok
    before = set(_segments(path))
    assert len(before) > 1
    reader = SearchIndex.open(path)
    with reader.searcher() as s:
        expected = sorted(f["pmid"] for f in s.all_stored_fields())
        SearchIndex.open(path).optimize()  # merges them and removes their files
        assert not before & set(path.glob("*.seg"))
        assert sorted(f["pmid"] for f in s.all_stored_fields()) == expected
        assert len(s.search(Term("pmid", expected[0]))) == 1


def test_a_mapped_file_reads_like_the_file(tmp_path: Path) -> None:
    path = tmp_path / "part.bin"
    with StructFile(path.open("wb")) as f:
        f.write_int(-7)
        f.write_long(1 << 40)
        f.write_pickle({"a": [1, 2, 3]})
        f.write(b"line one\nline two\n")
        f.write_array(array("I", [5, 6, 7]))
    size = path.stat().st_size
    mapped = MappedFile.open(str(path), name="part.bin")
    assert isinstance(mapped, MappedFile)
    assert mapped.read_int() == -7
    assert mapped.read_long() == 1 << 40
    assert mapped.read_pickle() == {"a": [1, 2, 3]}
    assert mapped.readline() == b"line one\n"
    assert mapped.readline() == b"line two\n"
    assert list(mapped.read_array("I", 3)) == [5, 6, 7]
    assert mapped.read() == b""
    assert mapped.tell() == size
    assert mapped.get(4, 8) == path.read_bytes()[4:12]
    part = mapped.subset(12, size - 12, name="inner")
    assert part.read_pickle() == {"a": [1, 2, 3]}
    assert part.subset(part.tell(), 9).read() == b"line one\n"
    assert part.seek(-3 * 4, 2) == size - 12 - 12
    assert list(part.read_array("I", 3)) == [5, 6, 7]
    mapped.close()
    with pytest.raises(ValueError):
        part.read(1)  # the map is gone with its owner
    part.close()


def test_an_empty_file_is_read_without_a_map(tmp_path: Path) -> None:
    path = tmp_path / "empty.seg"
    path.write_bytes(b"")
    f = MappedFile.open(str(path))
    assert not isinstance(f, MappedFile)
    assert f.read() == b""
    f.close()


def test_a_sample_search_gives_the_same_hits_as_whoosh_own_reads(
    sample_index_dir: Path, tmp_path: Path
) -> None:
    copy = tmp_path / "index"
    shutil.copytree(sample_index_dir, copy)
    mapped = search(SearchIndex.open(copy), QUERY, limit=20)
    # The same index read through Whoosh's own compound files (copies of each part).
    plain = SearchIndex(copy, RetryingFileIndex(FileStorage(str(copy)), indexname="MAIN"))
    copied = search(plain, QUERY, limit=20)
    assert mapped.total == copied.total > 0
    assert [(h.record.pmid, h.score) for h in mapped.hits] == [
        (h.record.pmid, h.score) for h in copied.hits
    ]
    assert [(h.snippet, h.highlights) for h in mapped.hits] == [
        (h.snippet, h.highlights) for h in copied.hits
    ]
