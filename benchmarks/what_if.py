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
from searchkit.engine import joined, postings, scoring


def _two_words(key: tuple[Any, ...]) -> bool:
    """Whether a derived result (``SegmentArrays.derived``'s key) is a two-word
    phrase's frequencies: adjacent words (slop 1) or two positional slots."""
    if key[0] == "phrase":
        return len(key[2]) == 2 and key[3] <= 1
    return key[0] == "slots" and len(key[2]) == 2


class Served:
    """``owner.name`` (a method of each of ``owners``) patched to record what it
    returns for the calls that ``key_of(self, *args)`` names (None: not recorded),
    then to serve those."""

    def __init__(self, owners: tuple[type, ...], name: str, key_of: Callable[..., Any]) -> None:
        self.owners, self.name, self.key_of = owners, name, key_of
        self.real = {owner: getattr(owner, name) for owner in owners}
        self.store: dict[Any, Any] = {}

    def record(self) -> None:
        for owner, real in self.real.items():
            setattr(owner, self.name, self._recording(real))

    def _recording(self, real: Callable[..., Any]) -> Callable[..., Any]:
        def recording(this: Any, *args: Any) -> Any:
            found = real(this, *args)
            key = self.key_of(this, *args)
            if key is not None:
                self.store[key] = found
            return found

        return recording

    def serve(self) -> None:
        for owner, real in self.real.items():
            setattr(owner, self.name, self._serving(real))

    def _serving(self, real: Callable[..., Any]) -> Callable[..., Any]:
        def serving(this: Any, *args: Any) -> Any:
            key = self.key_of(this, *args)
            found = self.store.get(key) if key is not None else None
            return found if found is not None else real(this, *args)

        return serving

    def restore(self) -> None:
        for owner, real in self.real.items():
            setattr(owner, self.name, real)


def free_phrases() -> Served:
    """Two-word phrases' frequencies, by segment state and phrase (one segment's
    arrays, or every segment's joined)."""
    return Served(
        (postings.SegmentArrays, joined.JoinedArrays),
        "derived",
        lambda arrays, key, _: (arrays._state, key) if _two_words(key) else None,
    )


def free_proximity() -> Served:
    """The proximity bonus, by segment state, query node and candidates."""
    return Served(
        (scoring.Evaluator,),
        "proximity",
        lambda seg, q, candidates: (seg.arrays._state, repr(q), candidates.tobytes()),
    )


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
    served = (free_phrases if args.free == "phrases" else free_proximity)()
    served.record()
    timed(args.index, qs)  # the first pass: what the free runs are served from
    print(f"index {args.index}: {len(qs)} queries, CPU ms, limit 10, {args.free} free")
    for n in range(1, args.rounds + 1):
        served.restore()
        as_is = timed(args.index, qs)
        served.serve()
        free = timed(args.index, qs)
        ratio = [sorted(free)[i] / sorted(as_is)[i] for i in (len(qs) // 2, int(len(qs) * 0.95))]
        print(
            f"round {n}: as is {summary(as_is)} | {args.free} free {summary(free)}"
            f" | ratio p50 {ratio[0]:.2f} p95 {ratio[1]:.2f}"
        )
    served.restore()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
