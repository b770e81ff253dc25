"""Query latency: the 200 fixed queries of ``queries.txt`` (2-4 words from SciFact's
claims, a third with a quoted phrase, a fifth with a field tag) through
``searchkit.searching.search(index, q, limit=10)``, snippets included, in-process, after 20
warm-up queries; p50 and p95 over all of them and over the plain ones (no phrase, no
tag).

    python benchmarks/query_latency.py --sizes 10000,100000,200000 [--optimized]
    python benchmarks/query_latency.py --index INDEX_DIR [--worst 8] [--reference]
    python benchmarks/query_latency.py --index INDEX_DIR --pruning
    python benchmarks/query_latency.py --index INDEX_DIR --near
    python benchmarks/query_latency.py --index INDEX_DIR --ties
    python benchmarks/query_latency.py --index INDEX_DIR --baseline SRC_DIR [--rounds 2]
    python benchmarks/query_latency.py --index NEW_DIR --baseline SRC_DIR --baseline-index OLD_DIR
    python benchmarks/query_latency.py --index NEW --dates --baseline SRC_DIR --baseline-index OLD
    python benchmarks/query_latency.py --smoke                # seconds

``--sizes``: the ~7,500 distinct real records (PubMed XML, MEDLINE, Abstract text,
SciFact) repeated with fresh PMIDs, ingested in increments into one index (the
incremental path), measured after each; ``--optimized`` also measures a copy merged by
``searchkit optimize``. ``--index``: one existing index, with the slowest queries;
``--reference`` also times each query (interleaved, same process) with the evaluator
searchkit had before its evaluation went sparse (``tests/dense_evaluation.py``: whole
segment arrays), and checks that both rank the same PMIDs. ``--pruning`` times each
query (interleaved, CPU) with top-k pruning (MaxScore, the default) and with every
match scored, and checks that both give the same hits, scores and counts. ``--near``
times the quoted phrases of the queries as ``"a b"~3`` proximity searches (first stage
only) matched in arrays and by Whoosh's ``SpanNear2``. ``--ties`` times searches whose
matches all score the same (a date range, a filter, ``hasabstract`` alone; by relevance
and by date), their ties broken by PMIDs read as arrays and read one by one
(interleaved, one process), and checks that both give the same hits. ``--baseline`` reports CPU p50
and p95 of this checkout's code against another source tree's (the code before a
change), each in fresh processes over the same index, alternating, read-only;
with ``--baseline-index`` the baseline code reads that index instead (the same records
written by the baseline code: a change of the on-disk format). ``--dates`` times the
same queries each limited by a publication-date range as reviewers write them
(:data:`DATE_LIMITS`, in turn), alone or against a baseline.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from corpus import real_records, write_mixed
from measure import run
from paths import shared_data_dir

from searchkit import SearchIndex, search

HERE = Path(__file__).resolve().parent
WARM_UP = 20


def _searchkit_cmd() -> list[str]:
    exe = Path(sys.executable).parent / "searchkit"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "searchkit"]


def queries(n: int = 200) -> list[str]:
    return (HERE / "queries.txt").read_text("utf-8").splitlines()[:n]


#: Date limits of the kinds systematic reviews use: whole years, open ends, months,
#: a relative window, one year.
DATE_LIMITS = (
    "2015:2020[dp]",
    "2010/06:2019/03[dp]",
    '"last 5 years"[dp]',
    "2000:3000[dp]",
    "2018[dp]",
    "2012/03/15:2016/10/20[dp]",
)


def dated_queries(n: int = 200) -> list[str]:
    """The first ``n`` queries, each limited by a date range of :data:`DATE_LIMITS`
    in turn."""
    return [f"({q}) AND {DATE_LIMITS[i % len(DATE_LIMITS)]}" for i, q in enumerate(queries(n))]


def latencies(
    index_dir: Path, qs: list[str], clock: Any = time.perf_counter
) -> tuple[dict[str, float], int]:
    """Milliseconds per query (after warming up; wall clock unless another ``clock``
    is given), and the index's segment count."""
    ix = SearchIndex.open(index_dir)
    for q in qs[:WARM_UP]:
        search(ix, q, limit=10)
    times: dict[str, float] = {}
    for q in qs:
        t = clock()
        search(ix, q, limit=10)
        times[q] = (clock() - t) * 1000
    return times, int(ix.stats()["segments"])


def against_baseline(
    index_dir: Path,
    qs: list[str],
    baseline: Path,
    rounds: int,
    baseline_index: Path | None = None,
    dates: bool = False,
) -> dict[str, list[list[float]]]:
    """CPU milliseconds per query of this checkout's code and of the searchkit source
    tree ``baseline`` (e.g. ``git archive main`` unpacked), each in a fresh process
    that opens the index, warms up on 20 queries and runs them all; the two
    alternate ``rounds`` times, so that both see the same machine load. Reads the
    index only; the baseline reads ``baseline_index`` when given (the same records in
    the format the baseline code writes). ``dates``: the queries of
    :func:`dated_queries`."""
    import json
    import subprocess

    here = HERE.parent
    out: dict[str, list[list[float]]] = {"baseline": [], "current": []}
    for _ in range(rounds):
        for name, source in (("baseline", baseline), ("current", here)):
            env = {**os.environ, "PYTHONPATH": str(source), "PYTHONDONTWRITEBYTECODE": "1"}
            read = baseline_index if name == "baseline" and baseline_index else index_dir
            code = (
                "import sys; sys.path.insert(0, sys.argv[1]); import query_latency as q; q.child()"
            )
            done = subprocess.run(
                [
                    sys.executable,
                    "-c",
                    code,
                    str(HERE),
                    str(read),
                    str(source),
                    str(len(qs)),
                    *(["dates"] if dates else []),
                ],
                env=env,
                cwd=HERE,  # not a folder holding a searchkit/ of its own
                capture_output=True,
                text=True,
                check=False,
            )
            if done.returncode != 0:
                raise SystemExit(f"Error: the {name} run failed:\n{done.stderr}")
            out[name].append(json.loads(done.stdout))
    return out


def child() -> None:
    """One :func:`against_baseline` run (arguments: benchmarks folder, index, the
    source tree expected to be imported, number of queries): CPU ms per query, JSON."""
    import json

    import searchkit

    _, index, source, n = sys.argv[1:5]
    if not Path(searchkit.__file__).resolve().is_relative_to(Path(source).resolve()):
        raise SystemExit(f"Error: searchkit imported from {searchkit.__file__}, not {source}")
    qs = dated_queries(int(n)) if sys.argv[5:] == ["dates"] else queries(int(n))
    times, _ = latencies(Path(index), qs, time.process_time)
    print(json.dumps([times[q] for q in qs]))


def reference_latencies(index_dir: Path, qs: list[str]) -> dict[str, tuple[float, float]]:
    """CPU milliseconds per query (the process's: the machine may be shared) with
    today's evaluator and with the reference one (interleaved, each query run once
    before, so that neither pays for reading postings); fails when their rankings
    differ."""
    sys.path.insert(0, str(HERE.parent))
    from searchkit.searching import pipeline
    from tests import dense_evaluation

    ix = SearchIndex.open(index_dir)
    current = pipeline.scoring.evaluate

    def timed(evaluate: object, q: str) -> tuple[float, list[str]]:
        pipeline.scoring.evaluate = evaluate  # type: ignore[assignment]
        try:
            t = time.process_time()
            ids = [h.pmid for h in search(ix, q, limit=10).hits]
            return (time.process_time() - t) * 1000, ids
        finally:
            pipeline.scoring.evaluate = current  # type: ignore[assignment]

    for q in qs[:WARM_UP]:
        timed(current, q)
        timed(dense_evaluation.evaluate, q)
    out: dict[str, tuple[float, float]] = {}
    for q in qs:
        timed(current, q)  # its postings read and cached: neither pays for reading them
        new_ms, new_ids = timed(current, q)
        old_ms, old_ids = timed(dense_evaluation.evaluate, q)
        if new_ids != old_ids:
            raise SystemExit(f"Error: the rankings differ for {q!r}: {new_ids} / {old_ids}")
        out[q] = (new_ms, old_ms)
    return out


def pruning_latencies(index_dir: Path, qs: list[str]) -> dict[str, tuple[float, float]]:
    """CPU milliseconds per query with top-k pruning (``Params.prune``, the default)
    and without it (every match scored), interleaved in one process, each query run
    once before; fails when the hits (PMIDs and scores) or the counts differ."""
    from dataclasses import replace

    from searchkit.params import DEFAULT

    ix = SearchIndex.open(index_dir)
    on, off = replace(DEFAULT, prune=True), replace(DEFAULT, prune=False)

    def timed(params: object, q: str) -> tuple[float, object]:
        t = time.process_time()
        result = search(ix, q, limit=10, params=params)
        ms = (time.process_time() - t) * 1000
        return ms, (result.total, result.partial_total, [(h.pmid, h.score) for h in result.hits])

    for q in qs[:WARM_UP]:
        timed(on, q)
        timed(off, q)
    out: dict[str, tuple[float, float]] = {}
    for q in qs:
        timed(on, q)  # postings read and cached: neither pays for reading them
        new_ms, new = timed(on, q)
        old_ms, old = timed(off, q)
        if new != old:
            raise SystemExit(f"Error: the results differ for {q!r}: {new} / {old}")
        out[q] = (new_ms, old_ms)
    return out


def near_latencies(index_dir: Path, qs: list[str]) -> tuple[int, list[float], list[float]]:
    """CPU milliseconds of the first-stage evaluation of each quoted phrase of ``qs``
    as a proximity search (``"a b"~3``), matched at positions in arrays and by
    Whoosh's span matcher (``SpanNear2``, what it was before), one after the other
    after a first run; fails when their documents or scores differ."""
    import re

    from whoosh.query.spans import SpanNear2

    from searchkit.engine import scoring
    from searchkit.engine.near import NearTerms
    from searchkit.engine.nodes import weighting
    from searchkit.params import DEFAULT
    from searchkit.query.parser import parse
    from searchkit.searching import pipeline

    def as_span_near(q: Any) -> Any:
        if isinstance(q, NearTerms):
            return SpanNear2(list(q.qs), slop=q.slop, ordered=False)
        return q.apply(as_span_near) if q.children() else q

    ix = SearchIndex.open(index_dir)
    searcher = ix.shared_searcher(weighting(DEFAULT))
    texts = sorted({m + "~3" for q in qs for m in re.findall(r'"[^"]+"', q)})
    new: list[float] = []
    old: list[float] = []
    for text in texts:
        q, _ = pipeline.compile_query(ix, parse(text), DEFAULT)
        span_q = as_span_near(q)
        scoring.evaluate(searcher, q)
        t0 = time.process_time()
        a = scoring.evaluate(searcher, q)
        t1 = time.process_time()
        b = scoring.evaluate(searcher, span_q)
        t2 = time.process_time()
        if a.docnums.tolist() != b.docnums.tolist() or a.scores.tolist() != b.scores.tolist():
            raise SystemExit(f"Error: the matches differ for {text!r}")
        new.append((t1 - t0) * 1000)
        old.append((t2 - t1) * 1000)
    return len(texts), new, old


#: Searches whose matches all score the same: every match ties, broken by PMID.
TIE_QUERIES = (
    "hasabstract",
    "english[la]",
    "journal article[pt]",
    "review[pt]",
    "humans[mh]",
    "2010[dp]",
    "2000:3000[dp]",
    "english[Filter] AND y_10[Filter]",
)


def tie_latencies(index_dir: Path, repeat: int = 3) -> dict[str, tuple[float, float, int]]:
    """Per search of :data:`TIE_QUERIES` (by relevance and by date, limit 10): the
    least CPU milliseconds of ``repeat`` runs with the ties read as arrays (the
    default) and one by one, interleaved, after a first run of each; and the number of
    matches. Fails when the hits differ."""
    from searchkit.searching import pipeline

    ix = SearchIndex.open(index_dir)
    as_arrays = pipeline.TIES_READ_AS_ARRAY

    def timed(threshold: int, q: str, sort: str) -> tuple[float, object, int]:
        pipeline.TIES_READ_AS_ARRAY = threshold
        try:
            t = time.process_time()
            result = search(ix, q, limit=10, sort=sort, suggest=False)
            ms = (time.process_time() - t) * 1000
        finally:
            pipeline.TIES_READ_AS_ARRAY = as_arrays
        return ms, [(h.pmid, h.score) for h in result.hits], result.total

    out: dict[str, tuple[float, float, int]] = {}
    for q in TIE_QUERIES:
        for sort in ("relevance", "date"):
            _, new, total = timed(as_arrays, q, sort)
            _, old, _ = timed(10**12, q, sort)
            if new != old:
                raise SystemExit(f"Error: the hits differ for {q!r} by {sort}: {new} / {old}")
            pairs = [
                (timed(as_arrays, q, sort)[0], timed(10**12, q, sort)[0]) for _ in range(repeat)
            ]
            out[f"{q} (by {sort})"] = (min(a for a, _ in pairs), min(b for _, b in pairs), total)
    return out


def is_plain(query: str) -> bool:
    return '"' not in query and "[" not in query


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def _checked(cmd: list[str], what: str) -> float:
    result = run(cmd, memory=False)
    if result.returncode != 0:
        raise SystemExit(f"{what} failed ({result.returncode}):\n{result.stderr}")
    return result.seconds


def growing(
    data: Path, work: Path, sizes: list[int], procs: int, qs: list[str], optimized: bool
) -> None:
    base = real_records(data)
    ix_dir = work / "ix-queries"
    print(
        f"## Query latency: {len(qs)} queries, real records (x{sizes[-1] / len(base):.1f} of "
        f"{len(base):,} distinct, fresh PMIDs), limit 10, snippets included\n"
    )
    print(
        "| records | ingest of the increment | segments | p50 ms | p95 ms "
        "| plain p50 | plain p95 | after optimize: plain p50 / plain p95 / all p95 |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|", flush=True)
    plain = [q for q in qs if is_plain(q)]
    done = 0
    for size in sizes:
        chunk = write_mixed(base, done, size - done, work / f"records-{done}-{size}.jsonl")
        cmd = [*_searchkit_cmd(), "ingest", str(chunk), "--index", str(ix_dir)]
        seconds = _checked([*cmd, "--procs", str(procs)], "searchkit ingest")
        chunk.unlink()
        done = size
        times, segments = latencies(ix_dir, qs)
        every = list(times.values())
        plain_ms = [times[q] for q in plain]
        optimized_p95 = "not run"
        if optimized:
            opt_dir = work / "ix-optimized"
            shutil.copytree(ix_dir, opt_dir)
            _checked([*_searchkit_cmd(), "optimize", "--index", str(opt_dir)], "optimize")
            opt_times, _ = latencies(opt_dir, qs)
            opt_plain = [opt_times[q] for q in plain]
            optimized_p95 = (
                f"{pct(opt_plain, 50):.1f} / {pct(opt_plain, 95):.1f} / "
                f"{pct(list(opt_times.values()), 95):.1f}"
            )
            shutil.rmtree(opt_dir)
        print(
            f"| {size:,} | {seconds:.1f} s | {segments} | {pct(every, 50):.1f} "
            f"| {pct(every, 95):.1f} | {pct(plain_ms, 50):.1f} | {pct(plain_ms, 95):.1f} "
            f"| {optimized_p95} |",
            flush=True,
        )


def one_index(
    index: Path,
    qs: list[str],
    worst: int,
    reference: bool = False,
    pruning: bool = False,
    near: bool = False,
    ties: bool = False,
    baseline: Path | None = None,
    rounds: int = 2,
    baseline_index: Path | None = None,
    dates: bool = False,
) -> None:
    if dates:
        qs = dated_queries(len(qs))
    if near:
        n, new, old = near_latencies(index, qs)
        print(f"index {index}: {n} proximity searches, same matches and scores")
        for p in (50, 95):
            print(
                f"p{p} CPU: arrays {pct(new, p):.2f} ms, SpanNear2 {pct(old, p):.2f} ms "
                f"(ratio {pct(new, p) / pct(old, p):.2f})"
            )
        return
    if ties:
        timings = tie_latencies(index)
        print(f"index {index}: {len(timings)} searches, same hits both ways; CPU ms (least of 3)")
        print("| search | matches | ties as arrays | one by one | ratio |")
        print("|---|---:|---:|---:|---:|")
        for name, (new_ms, old_ms, total) in timings.items():
            print(f"| `{name}` | {total:,} | {new_ms:.1f} | {old_ms:.1f} | {new_ms / old_ms:.2f} |")
        return
    if pruning:
        pairs = pruning_latencies(index, qs)
        print(f"index {index}: {len(pairs)} queries, same hits and counts with and without")
        for name, chosen in (("all", list(pairs)), ("plain", [q for q in pairs if is_plain(q)])):
            new = [pairs[q][0] for q in chosen]
            old = [pairs[q][1] for q in chosen]
            for p in (50, 95):
                print(
                    f"{name} p{p} CPU: pruned {pct(new, p):.1f} ms, every match scored "
                    f"{pct(old, p):.1f} ms (ratio {pct(new, p) / pct(old, p):.2f})"
                )
        return
    if baseline is not None:
        runs = against_baseline(index, qs, baseline, rounds, baseline_index, dates)
        print(
            f"index {index}: {len(qs)} queries, CPU ms, limit 10, warm (20 queries first), "
            f"{rounds} alternating round(s) per code, baseline {baseline}"
            + (f" reading {baseline_index}" if baseline_index else "")
        )
        for r in range(rounds):
            old, new = runs["baseline"][r], runs["current"][r]
            print(
                f"round {r + 1}: baseline p50 {pct(old, 50):.1f} p95 {pct(old, 95):.1f} "
                f"mean {sum(old) / len(old):.1f} | current p50 {pct(new, 50):.1f} "
                f"p95 {pct(new, 95):.1f} mean {sum(new) / len(new):.1f} "
                f"| ratio p50 {pct(new, 50) / pct(old, 50):.2f} "
                f"p95 {pct(new, 95) / pct(old, 95):.2f}"
            )
        return
    if reference:
        pairs = reference_latencies(index, qs)
        new, old = [n for n, _ in pairs.values()], [o for _, o in pairs.values()]
        print(f"index {index}: {len(pairs)} queries, same top 10 with both evaluators")
        for p in (50, 95):
            print(
                f"p{p} CPU: {pct(new, p):.1f} ms, reference evaluator {pct(old, p):.1f} ms "
                f"(ratio {pct(new, p) / pct(old, p):.2f})"
            )
    times, segments = latencies(index, qs)
    every = list(times.values())
    plain = [times[q] for q in qs if is_plain(q)]
    print(f"index {index}: {segments} segment(s), {len(every)} queries")
    print(f"all:   p50 {pct(every, 50):.1f} ms  p95 {pct(every, 95):.1f} ms")
    print(f"plain: p50 {pct(plain, 50):.1f} ms  p95 {pct(plain, 95):.1f} ms  ({len(plain)})")
    for query, ms in sorted(times.items(), key=lambda kv: -kv[1])[:worst]:
        print(f"{ms:9.1f} ms  {query}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--index", type=Path, help="measure this existing index only")
    ap.add_argument("--worst", type=int, default=8, help="with --index: the slowest queries")
    ap.add_argument(
        "--reference", action="store_true", help="with --index: against the dense evaluator"
    )
    ap.add_argument(
        "--pruning", action="store_true", help="with --index: top-k pruning on against off"
    )
    ap.add_argument(
        "--near", action="store_true", help="with --index: proximity searches, arrays vs spans"
    )
    ap.add_argument(
        "--ties",
        action="store_true",
        help="with --index: constant-score searches, ties read as arrays vs one by one",
    )
    ap.add_argument(
        "--dates",
        action="store_true",
        help="with --index: the queries each limited by a date range (DATE_LIMITS)",
    )
    ap.add_argument(
        "--baseline",
        type=Path,
        help="with --index: CPU times against this searchkit source tree (a folder "
        "holding searchkit/, e.g. `git archive main | tar -x -C DIR`), in alternating "
        "fresh processes",
    )
    ap.add_argument(
        "--baseline-index",
        type=Path,
        help="with --baseline: the baseline code reads this index (the same records in "
        "its own format) instead of --index",
    )
    ap.add_argument("--rounds", type=int, default=2, help="with --baseline: rounds per code")
    ap.add_argument("--sizes", default="10000,100000,200000", help="index sizes (records)")
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--procs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--optimized", action="store_true", help="also an optimized copy")
    ap.add_argument("--workdir", type=Path, help="keep corpora and indexes here")
    ap.add_argument("--data", type=Path, help="the shared real-data folder")
    ap.add_argument("--smoke", action="store_true", help="a tiny run")
    args = ap.parse_args(argv)
    if args.smoke:
        args.sizes, args.queries, args.optimized = "200,400", 20, True
    qs = queries(args.queries)
    if args.index is not None:
        one_index(
            args.index,
            qs,
            args.worst,
            args.reference,
            args.pruning,
            args.near,
            args.ties,
            args.baseline,
            args.rounds,
            args.baseline_index,
            args.dates,
        )
        return 0
    data = args.data or shared_data_dir()
    if not data.is_dir():
        print(f"Error: {data} is absent: the benchmark needs the shared real data", file=sys.stderr)
        return 2
    work = args.workdir or Path(tempfile.mkdtemp(prefix="searchkit-latency-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        sizes = [int(s) for s in args.sizes.split(",")]
        growing(data, work, sizes, args.procs, qs, args.optimized)
    finally:
        if args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
