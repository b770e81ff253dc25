"""Upper bounds of what a change to the engine could gain, before building it: the
200 queries of ``queries.txt`` timed as ``query_latency.py`` times them (CPU,
in-process, after 20 warm-up queries), once as they are and once with one kind of
work made free, each in a fresh open of the same index, in alternating rounds:

* ``--free phrases``: the frequencies of every two-word phrase (adjacent words, a
  quoted phrase or a hyphenated compound's parts) served from a first pass over the
  same queries, as an index of adjacent word pairs would read them from one posting
  list (with no cost at all: the bound);
* ``--free proximity``: the proximity bonus of the first stage served the same way.

    python benchmarks/what_if.py --index INDEX_DIR --free phrases [--rounds 2]

A bound, not a measurement of a design: the real change would still read a posting
list where this looks a result up in a dictionary.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from query_latency import WARM_UP, queries

from searchkit import SearchIndex, search
from searchkit.engine import postings, scoring


def _two_words(key: tuple[Any, ...]) -> bool:
    """Whether a derived result (``SegmentArrays.derived``'s key) is a two-word
    phrase's frequencies: adjacent words (slop 1) or two positional slots."""
    if key[0] == "phrase":
        return len(key[2]) == 2 and key[3] <= 1
    return key[0] == "slots" and len(key[2]) == 2


def free_phrases() -> tuple[Callable[[], None], Callable[[], None]]:
    """Patches that record the two-word phrases' frequencies, then serve them."""
    store: dict[Any, Any] = {}
    real = postings.SegmentArrays.derived

    def recording(self: Any, key: Any, compute: Any) -> Any:
        found = real(self, key, compute)
        if _two_words(key):
            store[(self._state, key)] = found
        return found

    def serving(self: Any, key: Any, compute: Any) -> Any:
        found = store.get((self._state, key)) if _two_words(key) else None
        return found if found is not None else real(self, key, compute)

    def record() -> None:
        postings.SegmentArrays.derived = recording  # type: ignore[method-assign]

    def serve() -> None:
        postings.SegmentArrays.derived = serving  # type: ignore[method-assign]

    return record, serve


def free_proximity() -> tuple[Callable[[], None], Callable[[], None]]:
    """Patches that record the proximity bonus of each candidate set, then serve it."""
    store: dict[Any, Any] = {}
    real = scoring.SegmentEvaluator.proximity

    def key(self: Any, q: Any, candidates: Any) -> Any:
        return (self.arrays._state, repr(q), candidates.tobytes())

    def recording(self: Any, q: Any, candidates: Any) -> Any:
        found = store[key(self, q, candidates)] = real(self, q, candidates)
        return found

    def serving(self: Any, q: Any, candidates: Any) -> Any:
        found = store.get(key(self, q, candidates))
        return found if found is not None else real(self, q, candidates)

    def record() -> None:
        scoring.SegmentEvaluator.proximity = recording  # type: ignore[method-assign]

    def serve() -> None:
        scoring.SegmentEvaluator.proximity = serving  # type: ignore[method-assign]

    return record, serve


def timed(index_dir: Path, qs: list[str]) -> list[float]:
    """CPU milliseconds of each query, after the warm-up, in a fresh open."""
    index = SearchIndex.open(index_dir)
    try:
        for q in qs[:WARM_UP]:
            search(index, q, limit=10)
        out = []
        for q in qs:
            start = time.process_time()
            search(index, q, limit=10)
            out.append((time.process_time() - start) * 1000)
        return out
    finally:
        index.close()


def summary(ms: list[float]) -> str:
    ordered = sorted(ms)
    p50 = ordered[len(ordered) // 2]
    p95 = ordered[int(len(ordered) * 0.95)]
    return f"p50 {p50:.1f} p95 {p95:.1f} mean {statistics.fmean(ms):.1f}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--index", type=Path, required=True)
    ap.add_argument("--free", choices=("phrases", "proximity"), required=True)
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args(argv)
    qs = queries()
    record, serve = (free_phrases if args.free == "phrases" else free_proximity)()
    real = (postings.SegmentArrays.derived, scoring.SegmentEvaluator.proximity)

    def restore() -> None:
        postings.SegmentArrays.derived = real[0]  # type: ignore[method-assign]
        scoring.SegmentEvaluator.proximity = real[1]  # type: ignore[method-assign]

    record()
    timed(args.index, qs)  # the first pass: what the free runs are served from
    print(f"index {args.index}: {len(qs)} queries, CPU ms, limit 10, {args.free} free")
    for n in range(1, args.rounds + 1):
        restore()
        as_is = timed(args.index, qs)
        serve()
        free = timed(args.index, qs)
        ratio = [sorted(free)[i] / sorted(as_is)[i] for i in (len(qs) // 2, int(len(qs) * 0.95))]
        print(
            f"round {n}: as is {summary(as_is)} | {args.free} free {summary(free)}"
            f" | ratio p50 {ratio[0]:.2f} p95 {ratio[1]:.2f}"
        )
    restore()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
