"""Where a query's time goes, by stage: the 200 queries of ``queries.txt`` through
``searchkit.search(index, q, limit=10)`` in-process after 20 warm-up queries (as
``query_latency.py`` times them), sampled every millisecond by a thread that reads the
searching thread's stack and charges the sample to the innermost stage on it.

    python benchmarks/query_profile.py --index INDEX_DIR [--interval 0.001]

The stages, innermost first (a sample inside ``read_term`` called from a phrase's
statistics counts as reading postings):

* reading postings: a term's blocks read, decompressed (zlib) and unpickled;
* positions: positions decoded and joined for phrases, proximity and the second stage;
* phrase and pair statistics: a quoted phrase's or two adjacent words' document
  frequency, found in every segment (the rest of their work);
* second stage: the re-scoring of the top candidates by query-term evidence;
* snippets and hits: stored fields of the hits and their best passages;
* first stage, the rest: set operations and scoring in arrays;
* compiling the query: parsing, analysis, acronym and MeSH expansion;
* other: what none of these holds (results, history, Python's own).

A sampling profiler, not cProfile: cProfile's cost per call would inflate the stages
made of many small calls. The sampler thread takes the GIL about once per interval;
the shares are what to read, the totals run a little slower than unprofiled.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from types import FrameType

sys.path.insert(0, str(Path(__file__).resolve().parent))

from query_latency import WARM_UP, queries

from searchkit import SearchIndex, search

#: (stage, the functions whose frames put a sample in it as (module suffix, name));
#: the innermost frame of any stage decides.
STAGES: list[tuple[str, set[tuple[str, str]]]] = [
    (
        "reading postings",
        {("engine/blockread.py", "read_term"), ("engine/postings.py", "_read_blocks")},
    ),
    (
        "positions",
        {
            ("engine/postings.py", "_positions_at"),
            ("engine/postings.py", "position_keys"),
            ("engine/postings.py", "positions"),
            ("engine/postings.py", "_decode"),
            ("engine/joined.py", "position_keys"),
        },
    ),
    (
        "phrase and pair statistics",
        {("engine/scoring.py", "phrase_df"), ("engine/scoring.py", "_both")},
    ),
    ("second stage", {("searching/rerank.py", "rerank")}),
    ("snippets and hits", {("searching/search.py", "build_hits")}),
    ("first stage, the rest", {("searching/pipeline.py", "rank")}),
    ("compiling the query", {("searching/pipeline.py", "compile_query")}),
]
OTHER = "other"


def missing_stage_functions() -> list[str]:
    """The functions :data:`STAGES` names that searchkit no longer defines (as a
    module's function or a method of one of its classes): a renamed function would
    silently move its samples to an outer stage."""
    missing: list[str] = []
    for _, functions in STAGES:
        for suffix, name in sorted(functions):
            module = importlib.import_module("searchkit." + suffix[:-3].replace("/", "."))
            owners = [module, *(v for v in vars(module).values() if isinstance(v, type))]
            if not any(
                inspect.isfunction(vars(owner).get(name))
                and vars(owner)[name].__module__ == module.__name__
                for owner in owners
            ):
                missing.append(f"{suffix}:{name}")
    return missing


def stage_of(frame: FrameType | None) -> str:
    """The innermost stage on the stack ending at ``frame``."""
    while frame is not None:
        code = frame.f_code
        filename = code.co_filename.replace("\\", "/")
        for stage, functions in STAGES:
            for suffix, name in functions:
                if code.co_name == name and filename.endswith(suffix):
                    return stage
        frame = frame.f_back
    return OTHER


class Sampler(threading.Thread):
    """Charges the stack of thread ``target`` to a stage every ``interval`` seconds
    while :attr:`running` is set."""

    def __init__(self, target: int, interval: float) -> None:
        super().__init__(daemon=True)
        self.target = target
        self.interval = interval
        self.counts: Counter[str] = Counter()
        self.running = threading.Event()
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.is_set():
            if self.running.is_set():
                frame = sys._current_frames().get(self.target)
                self.counts[stage_of(frame)] += 1
            time.sleep(self.interval)


def profile(index_dir: Path, qs: list[str], interval: float) -> tuple[Counter[str], float]:
    """Samples by stage over ``qs``, and their CPU seconds."""
    ix = SearchIndex.open(index_dir)
    for q in qs[:WARM_UP]:
        search(ix, q, limit=10)
    sampler = Sampler(threading.get_ident(), interval)
    sampler.start()
    cpu = time.process_time()
    sampler.running.set()
    for q in qs:
        search(ix, q, limit=10)
    sampler.running.clear()
    cpu = time.process_time() - cpu
    sampler.stopped.set()
    sampler.join()
    return sampler.counts, cpu


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--index", type=Path, required=True)
    ap.add_argument("--interval", type=float, default=0.001, help="seconds between samples")
    ap.add_argument("--queries", type=int, default=200)
    args = ap.parse_args(argv)
    if missing := missing_stage_functions():
        raise SystemExit(f"query_profile.py: STAGES names functions not found: {missing}")
    counts, cpu = profile(args.index, queries(args.queries), args.interval)
    total = sum(counts.values()) or 1
    print(
        f"{args.queries} queries, {cpu:.1f} CPU s ({cpu / args.queries * 1000:.1f} ms a query "
        f"under the sampler), {total:,} samples"
    )
    print()
    print("| stage | share | ms a query |")
    print("|---|---:|---:|")
    for stage in [name for name, _ in STAGES] + [OTHER]:
        share = counts[stage] / total
        print(f"| {stage} | {share:.0%} | {share * cpu / args.queries * 1000:.1f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
