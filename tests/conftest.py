"""Shared fixtures. No test touches the real user data directory or ../shared unless it
skips cleanly when that folder is absent."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from filelock import FileLock

from searchkit import SearchIndex, ingest

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_DIR = ROOT / "data"
TEST_DATA = Path(__file__).resolve().parent / "data"
#: Small real files of tests/data that several tests read.
ORTHO_XML = (
    TEST_DATA / "pubmed_xml" / "p1m-ortho_qs-global-ortho-search-queries__pubmed_result.cut.xml"
)
ORTHO_NBIB = TEST_DATA / "medline" / "p1m-ortho_qs-global-ortho-search-queries__citations.cut.nbib"
SCIFACT = TEST_DATA / "jsonl" / "scifact-corpus.head.jsonl"
ABSTRACT_TEXT = (
    TEST_DATA / "abstract_text" / "OliverCardiff_Literature_networks__pubmed_result.cut.txt"
)
# The shared real-data folder beside the repo; SEARCHKIT_SHARED_DATA names another place
# (a git worktree is not beside it).
SHARED_DATA = Path(os.environ.get("SEARCHKIT_SHARED_DATA") or ROOT.parent / "shared" / "data")
SEED_PMID = "34572009"
#: data/ without its largest file (1,422 of its records): the input of the tests that
#: ingest real files again and again in real processes (kill sweeps, races), where
#: what is checked does not grow with the input but the time does.
_LARGEST = "OliverCardiff_Literature_networks__pubmed_result.txt.gz"
SAMPLE_SUBSET = sorted(p for p in SAMPLE_DIR.iterdir() if p.name != _LARGEST)
SAMPLE_SUBSET_RECORDS = 864  # distinct PMIDs (1,065 records read: some come twice)
#: A smaller input of the same kinds for the tests that run `searchkit ingest` or
#: `rebuild` many times over (kill sweeps, races): data/ without its five largest files
#: (every format stays: MEDLINE, .nbib, PubMed XML, a PubMed page), then five records
#: exported twice whose two versions differ (tests/data: XML, then MEDLINE).
_LARGE = (_LARGEST, "filiperigueiro_", "p1m-ortho_qs-", "solitude6060_")
SMALL_SUBSET = [p for p in SAMPLE_SUBSET if not p.name.startswith(_LARGE)] + [
    TEST_DATA / "pubmed_xml" / "p1m-ortho_qs-global-ortho-search-queries__pubmed_result.cut.xml",
    TEST_DATA / "medline" / "p1m-ortho_qs-global-ortho-search-queries__citations.cut.nbib",
]
SMALL_SUBSET_RECORDS = 256  # distinct PMIDs (262 records read)


def segmented_index(path: Path, parts: list[list[Path]], delete_every: int) -> Path:
    """An index at ``path`` of real files, one ingest (one segment) per part of
    ``parts``, then every ``delete_every``-th record by PMID deleted: what a
    long-lived index looks like."""
    index = SearchIndex.create(path)
    for part in parts:
        assert ingest(part, index).ok
    with index.searcher() as searcher:
        pmids = sorted(str(f["pmid"]) for f in searcher.all_stored_fields())
    index.delete(pmids[::delete_every])
    index.close()
    return path


def set_index_version(index: Path, version: int) -> None:
    """Make the index at ``index`` declare format ``version`` in its ``searchkit.json``
    (an index of an older format, as far as a reader can tell)."""
    meta_path = index / "searchkit.json"
    meta = json.loads(meta_path.read_text("utf-8"))
    meta["schema_version"] = version
    meta_path.write_text(json.dumps(meta), encoding="utf-8")


def index_version(index: Path) -> int:
    """The format version the index at ``index`` declares."""
    return int(json.loads((index / "searchkit.json").read_text("utf-8"))["schema_version"])


@pytest.fixture(autouse=True)
def _isolate_user_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Point every per-user location at a temp dir so tests never touch real state."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("SEARCHKIT_INDEX", raising=False)
    monkeypatch.setenv("NO_COLOR", "1")


@pytest.fixture(scope="session")
def sample_index_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An index of the bundled sample in data/, built once per run (the pytest-xdist
    workers share it: the first to need it builds it, under a file lock). Read-only for
    tests (searches append to its history; no test reads that history)."""
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent  # the run's directory, above each worker's own
    path = base / "shared-sample" / "index"
    with FileLock(str(base / "shared-sample.lock")):
        if not (base / "shared-sample.done").exists():
            shutil.rmtree(path.parent, ignore_errors=True)
            path.parent.mkdir()
            report = ingest([SAMPLE_DIR], SearchIndex.create(path))
            assert report.ok, report.skipped
            (base / "shared-sample.done").touch()
    return path


@pytest.fixture(scope="session")
def stock_sample_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Whoosh's own writer and codec on ``tests.test_bulkpostings.every_fourth_doc()`` (one
    segment), built once per session: what the segment writer and codec are compared
    with. Read-only."""
    import whoosh.index
    from whoosh.writing import SegmentWriter

    from searchkit.index.schema import build_schema

    from .test_bulkpostings import every_fourth_doc

    path = tmp_path_factory.mktemp("stock") / "ix"
    path.mkdir()
    writer = SegmentWriter(whoosh.index.create_in(str(path), build_schema()))
    for doc in every_fourth_doc():
        writer.add_document(**doc)
    writer.commit()
    return path


@pytest.fixture(scope="session")
def stock_sample_contents(stock_sample_dir: Path) -> object:
    """``tests.test_bulkpostings._contents`` of :func:`stock_sample_dir`."""
    from .test_bulkpostings import _contents

    return _contents(stock_sample_dir)


@pytest.fixture
def sample_index(sample_index_dir: Path) -> SearchIndex:
    return SearchIndex.open(sample_index_dir)


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"{SHARED_DATA} is absent (the shared real-data folder is not beside the repo)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def unique_records(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every record of data/ once, as JSON Lines: a batch that reaches the size at
    which the writer processes start (data/ itself holds records twice, and a batch
    is committed early when an id comes again)."""
    from searchkit.readers import read_file
    from searchkit.records import Record

    records = {}
    for path in sorted(SAMPLE_DIR.iterdir()):
        for item in read_file(path):
            if isinstance(item, Record):
                records[item.pmid] = item
    out = tmp_path_factory.mktemp("unique") / "records.jsonl"
    with out.open("w", encoding="utf-8") as f:
        for record in records.values():
            f.write(json.dumps(record.to_dict()) + "\n")
    assert len(records) == 2285  # distinct PMIDs of data/
    return out


def pytest_configure(config: pytest.Config) -> None:
    """A run that selects by marker (the fast tier, ``-m "not slow"``) has pytest-xdist
    hand out files in the order below; the whole suite keeps pytest-xdist's own order
    (files with the most tests first), which measured faster for it (303 s against
    349 s on the 2-core machine)."""
    if config.getoption("markexpr", None) and hasattr(config.option, "loadscopereorder"):
        config.option.loadscopereorder = False


@pytest.hookimpl(trylast=True)  # after -m has deselected: order what will run
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Files with the most slow tests first, so the long ones start at once instead of
    ending the run on one worker. Among files with as many, one that uses the shared
    sample index comes first, then those that do not, then the others: one worker
    builds the index while the other has work that does not wait for it. (pytest-xdist
    follows this order only where :func:`pytest_configure` asks it to.)"""
    slow: dict[str, int] = {}
    sample: dict[str, bool] = {}
    for item in items:
        name = item.location[0]
        slow[name] = slow.get(name, 0) + bool(item.get_closest_marker("slow"))
        needs = "sample_index_dir" in getattr(item, "fixturenames", ())
        sample[name] = sample.get(name, False) or needs
    builder = next((name for name in slow if sample[name]), None)

    def key(item: pytest.Item) -> tuple[int, int]:
        name = item.location[0]
        return -slow[name], 0 if name == builder else 2 if sample[name] else 1

    items.sort(key=key)  # stable: within a file, as written
