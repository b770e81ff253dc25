"""Shared fixtures. No test touches the real user data directory or ../shared unless it
skips cleanly when that folder is absent."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from searchkit import SearchIndex, ingest

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_DIR = ROOT / "data"
TEST_DATA = Path(__file__).resolve().parent / "data"
# The shared real-data folder beside the repo; SEARCHKIT_SHARED_DATA names another place
# (a git worktree is not beside it).
SHARED_DATA = Path(os.environ.get("SEARCHKIT_SHARED_DATA") or ROOT.parent / "shared" / "data")
SEED_PMID = "34572009"


@pytest.fixture(autouse=True)
def _isolate_user_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Point every per-user location at a temp dir so tests never touch real state."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("SEARCHKIT_INDEX", raising=False)
    monkeypatch.setenv("NO_COLOR", "1")


@pytest.fixture(scope="session")
def sample_index_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An index of the bundled sample in data/, built once per session. Read-only for tests."""
    path = tmp_path_factory.mktemp("sample") / "index"
    report = ingest([SAMPLE_DIR], SearchIndex.create(path))
    assert report.ok, report.skipped
    return path


@pytest.fixture
def sample_index(sample_index_dir: Path) -> SearchIndex:
    return SearchIndex.open(sample_index_dir)


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"{SHARED_DATA} is absent (the shared real-data folder is not beside the repo)")
    return SHARED_DATA
