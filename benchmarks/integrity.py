"""What index integrity costs: checksums at commit and open, the restricted unpickler.

    python benchmarks/integrity.py [--rounds N]

Ingests data/ into a temporary index, then measures (CPU time of this process, so
that other load on the machine counts less):

* the share of the ingest spent writing checksum manifests,
* opening the index with every file's CRC-32 checked vs. sizes only,
* 12 queries with a cold postings cache, Whoosh's unpickling through
  ``searchkit.engine.safepickle`` vs. plain :func:`pickle.loads`.
"""

from __future__ import annotations

import argparse
import pickle
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import whoosh.codec.whoosh3
import whoosh.columns
import whoosh.filedb.structfile
import whoosh.formats

from searchkit import SearchIndex, ingest
from searchkit.engine import checksums, postings, safepickle
from searchkit.searching.search import search

SAMPLE = Path(__file__).resolve().parent.parent / "data"
QUERIES = [
    "immune escape MHC",
    "cancer stem cells",
    '"tumor microenvironment"',
    "PD-L1 expression",
    "hypoxia",
    "T cell exhaustion",
    "breast cancer metastasis",
    "apoptosis",
    "immunotherapy resistance",
    "gene expression profiling",
    '"stem cells"[ti]',
    "macrophage polarization",
]


def _cpu(fn: Callable[[], Any]) -> float:
    start = time.process_time()
    fn()
    return time.process_time() - start


def ingest_share(path: Path) -> tuple[float, float]:
    """CPU seconds of the whole ingest and of writing its manifests."""
    spent = [0.0]
    original = checksums._ManifestingStorage.rename_file

    def timed(self: Any, frm: str, to: str, safe: bool = False) -> None:
        spent[0] += _cpu(lambda: original(self, frm, to, safe))

    checksums._ManifestingStorage.rename_file = timed  # type: ignore[method-assign]
    try:
        total = _cpu(lambda: ingest([SAMPLE], SearchIndex.create(path), procs=1))
    finally:
        checksums._ManifestingStorage.rename_file = original  # type: ignore[method-assign]
    return total, spent[0]


def open_time(path: Path, full: bool) -> float:
    checksums._VERIFIED.clear()
    saved = checksums.VERIFY_AT_OPEN_BYTES, checksums.SMALL_FILE_BYTES
    if not full:
        checksums.VERIFY_AT_OPEN_BYTES = checksums.SMALL_FILE_BYTES = 0
    try:
        return _cpu(lambda: SearchIndex.open(path))
    finally:
        checksums.VERIFY_AT_OPEN_BYTES, checksums.SMALL_FILE_BYTES = saved


def _route(safe: bool) -> None:
    loads = safepickle.loads if safe else pickle.loads
    whoosh.filedb.structfile.load_pickle = safepickle.load if safe else pickle.load
    for module in (whoosh.codec.whoosh3, whoosh.formats, whoosh.columns, postings):
        module.loads = loads  # type: ignore[attr-defined]


def query_time(path: Path, safe: bool) -> float:
    _route(safe)
    try:
        ix = SearchIndex.open(path)
        best = []
        for _ in range(3):
            ix.postings_cache.clear()
            best.append(_cpu(lambda: [search(ix, q, limit=10) for q in QUERIES]))
        return min(best)
    finally:
        _route(True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    rounds = parser.parse_args().rounds
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "index"
        total, manifests = ingest_share(path)
        print(f"ingest of data/: {total:.2f} s CPU, manifests {manifests * 1000:.1f} ms")
        plain = [open_time(path, False) for _ in range(rounds)]
        full = [open_time(path, True) for _ in range(rounds)]
        a, b = statistics.median(plain), statistics.median(full)
        print(f"open: sizes only {a * 1000:.1f} ms, every CRC {b * 1000:.1f} ms CPU")
        query_time(path, True)  # warm up
        pairs = [(query_time(path, False), query_time(path, True)) for _ in range(rounds)]
        p = statistics.median(x for x, _ in pairs)
        s = statistics.median(y for _, y in pairs)
        print(
            f"{len(QUERIES)} queries, cold postings cache: plain pickle {p * 1000:.0f} ms, "
            f"restricted {s * 1000:.0f} ms CPU (x{s / p:.2f})"
        )


if __name__ == "__main__":
    main()
