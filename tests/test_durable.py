"""A commit is durable before it is in force: what it names is fsync'ed before the
table of contents is renamed into place, and the directory after (a power cut then
leaves the previous commit or this one, never a TOC naming unwritten segments)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from searchkit import SearchIndex, ingest
from searchkit.records import Record

from .cli_helpers import run
from .conftest import SMALL_SUBSET, SMALL_SUBSET_RECORDS, TEST_DATA


def _name(fd: int) -> str:
    return os.readlink(f"/proc/self/fd/{fd}")


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs Linux /proc")
def test_a_commit_syncs_its_segment_and_toc_before_the_rename_and_the_directory_after(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ix = SearchIndex.create(tmp_path / "ix")
    events: list[tuple[str, str]] = []
    real_fsync, real_rename = os.fsync, os.rename

    def fsync(fd: int) -> None:
        events.append(("fsync", _name(fd)))
        real_fsync(fd)

    def rename(src: str, dst: str) -> None:
        events.append(("rename", str(dst)))
        real_rename(src, dst)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "rename", rename)
    ix.upsert([Record(pmid="1", title="durable commits")])
    monkeypatch.undo()

    toc = next(i for i, (kind, path) in enumerate(events) if kind == "rename" and ".toc" in path)
    synced_before = [Path(p).name for kind, p in events[:toc] if kind == "fsync"]
    assert any(n.endswith(".seg") for n in synced_before), events
    assert any(".toc." in n for n in synced_before), events  # the TOC's temporary file
    assert ("fsync", str(ix.path)) in events[toc:], events  # the rename itself
    # searchkit's own files: written to a temporary file, synced, renamed, dir synced.
    synced = {Path(p).name for kind, p in events if kind == "fsync"}
    for own in ("searchkit.json", "acronyms.json", "acronyms.lookup"):
        assert any(n.startswith(f".{own}.") for n in synced), (own, synced)


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs Linux /proc")
def test_a_loaded_mesh_tree_is_synced_before_it_replaces_the_last_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``mesh load`` through the CLI: the tree's temporary file is fsync'ed before
    the rename that puts it in place (it was renamed unsynced: a power cut could leave
    an empty tree file)."""
    index = tmp_path / "ix"
    SearchIndex.create(index).close()
    synced: list[str] = []
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        synced.append(Path(_name(fd)).name)
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    result = run(index, "mesh", "load", str(TEST_DATA / "mesh" / "desc-sample.xml"))
    monkeypatch.undo()
    assert result.exit_code == 0, result.stderr
    assert any(n.startswith(".mesh_tree.json.gz.") for n in synced), synced
    assert (index / "mesh_tree.json.gz").stat().st_size > 0


@pytest.mark.slow
def test_a_durable_index_still_ingests_the_sample(tmp_path: Path) -> None:
    ix = SearchIndex.create(tmp_path / "ix")
    report = ingest(SMALL_SUBSET, ix, batch_size=30)  # 10 durable commits
    assert report.ok and len(SearchIndex.open(ix.path)) == SMALL_SUBSET_RECORDS
