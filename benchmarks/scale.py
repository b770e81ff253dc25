"""Scale benchmark: N generated records (``scale_corpus.py``: real sentences recombined,
vocabulary growing by the Heaps' law fitted on the real records) through searchkit,
stock Whoosh and tantivy in the same run.

    python benchmarks/scale.py --records 100000          # 1000000: the target size
    python benchmarks/scale.py --records 2000 --repeat 1 # a quick check that it runs
    python benchmarks/scale.py --workdir DIR --searches-only   # again on a kept index

What it measures, each a row of the table it prints:

* ingest CPU per record (user + system of the whole process tree, start-up included):
  ``searchkit ingest FILE --procs P`` (one process for the whole file), stock Whoosh
  (``baseline_whoosh.py``) and tantivy (``baseline_tantivy.py``, one writer thread);
  the index size of each; tantivy runs again after searchkit's ingests, and the ratio
  is given against each of its two runs and their mean (a shared machine's speed drifts
  within the hour: a ratio against one run is that moment's);
* ingest rate of the last 10% against the first 10%: the same records ingested again
  into a second searchkit index in ten increments of N/10 (``searchkit ingest`` of
  each), records per CPU second and per wall second of the tenth against the first,
  and of the last five against the first five (an increment that merges a tier costs
  about twice one that does not: the halves show whether throughput stays flat);
* peak RSS of one ``searchkit search`` process on the N-record index (kernel
  accounting, not sampled), against the index size;
* query p50/p95, in-process and warm, CPU time of the process and wall time: the 200
  queries of ``queries.txt`` (2-4 words, a third with a quoted phrase, a fifth with
  field tags) through
  ``searchkit.searching.search(index, q, limit=10)``, snippets included, with the
  index's files read once into the page cache and after 20 warm-up queries, on the
  index as its ingest left it; then ``searchkit optimize`` of a copy of that index
  (its CPU, wall time and peak RSS: every record rewritten into one segment) and the
  same queries again, on one segment;
* start-up: ``searchkit --help`` against a minimal typer app, and ``searchkit search``
  on ``data/`` against a minimal stock-Whoosh search script (``startup.py``).

``--searches-only`` measures the searches again on the index a run kept in ``--workdir``
(after a change of the search code; the ingest rows are left out).

tantivy is in the ``bench`` extra: ``pip install -e ".[bench]"``. The corpus and the
indexes go to a temporary directory (``--workdir`` keeps them).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import startup
from measure import Usage, dir_size, machine, run_usage
from scale_corpus import generate, real_records
from startup import checked, searchkit_cmd

from searchkit import SearchIndex, search

HERE = Path(__file__).resolve().parent
WARM_UP = 20
RSS_QUERY = "cancer stem cells"


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def _latency(cpu: list[float], wall: list[float]) -> str:
    """CPU and wall p50 / p95 of a query pass (ms), as the summary shows them."""
    return (
        f"CPU {_pct(cpu, 50):.1f} / {_pct(cpu, 95):.1f} ms (max {max(cpu):.0f}); "
        f"wall {_pct(wall, 50):.1f} / {_pct(wall, 95):.1f} ms"
    )


def _mb(n: float) -> str:
    return f"{n / 1e6:,.1f} MB"


def split(corpus: Path, parts: int, records: int, work: Path) -> list[Path]:
    """``corpus`` cut into ``parts`` files of consecutive records."""
    size = -(-records // parts)
    paths = [work / f"part-{i:02d}.jsonl" for i in range(parts)]
    with corpus.open(encoding="utf-8") as f:
        for path in paths:
            with path.open("w", encoding="utf-8") as out:
                for _ in range(size):
                    line = f.readline()
                    if not line:
                        break
                    out.write(line)
    return paths


def _read_through(index_dir: Path) -> None:
    """Read every file of the index once, so that the page cache holds it, as on a
    machine that has served searches from it: what the ingest or ``optimize`` left
    in memory varies with what ran before, and the target is a warm process."""
    for path in sorted(index_dir.iterdir()):
        if path.is_file():
            with path.open("rb") as f:
                while f.read(1 << 20):
                    pass


def query_latency(index_dir: Path, queries: list[str]) -> tuple[list[float], list[float], int]:
    """Per query, after warming up: wall ms, CPU ms of this process (searching is
    single-threaded; CPU time is what other jobs on the machine change least), and the
    index's segment count. Warm: the index's files in the page cache
    (:func:`_read_through`), then ``WARM_UP`` queries in the index object that is timed
    (the others reach the postings cache and the analysis caches for the first time)."""
    _read_through(index_dir)
    ix = SearchIndex.open(index_dir)
    for q in queries[:WARM_UP]:
        search(ix, q, limit=10)
    wall: list[float] = []
    cpu: list[float] = []
    for q in queries:
        t, c = time.perf_counter(), time.process_time()
        search(ix, q, limit=10)
        cpu.append((time.process_time() - c) * 1000)
        wall.append((time.perf_counter() - t) * 1000)
    return wall, cpu, int(ix.stats()["segments"])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--procs", type=int, default=1, help="searchkit ingest --procs")
    # 15, not 5: on this VM five runs each once read 1.50x where fifteen, minutes
    # later, read 1.67x (BENCHMARKS.md, Scale, thirtieth pass).
    ap.add_argument("--repeat", type=int, default=15, help="start-up runs of each command")
    ap.add_argument("--no-stock", action="store_true", help="skip stock Whoosh (slowest)")
    ap.add_argument("--workdir", type=Path, help="keep the corpus and indexes here")
    ap.add_argument(
        "--increments-only",
        action="store_true",
        help="searchkit only in ten increments (no one-shot searchkit ingest, no stock "
        "Whoosh): the size that the 1M run can afford; RSS and latency on that index",
    )
    ap.add_argument(
        "--searches-only",
        action="store_true",
        help="no corpus, no ingest: the searches (RSS, queries before and after "
        "optimize, start-up) measured again on the index an earlier run left in --workdir",
    )
    args = ap.parse_args(argv)
    if args.searches_only and args.workdir is None:
        ap.error("--searches-only needs the --workdir of an earlier run")
    if not args.searches_only:  # tantivy ingests; the searches do not need it
        try:
            import tantivy  # noqa: F401
        except ImportError:
            print('Error: tantivy is missing: pip install -e ".[bench]"', file=sys.stderr)
            return 2
    work = args.workdir or Path(tempfile.mkdtemp(prefix="searchkit-scale-"))
    n = args.records
    if args.searches_only:
        kept = [work / d for d in ("ix-increments", "ix-searchkit") if (work / d).is_dir()]
        if not kept:
            print(f"Error: no index of an earlier run in {work}", file=sys.stderr)
            return 2
        sk_index = kept[0]
        with SearchIndex.open(sk_index) as opened:
            n = int(opened.stats()["records"])
    work.mkdir(parents=True, exist_ok=True)
    out: list[str] = []

    def say(line: str = "") -> None:
        print(line, flush=True)
        out.append(line)

    try:
        say(f"# Scale: {n:,} generated records")
        say()
        say(f"{machine()}, load average at start {os.getloadavg()[0]:.1f}")
        sk_name = f"searchkit ingest --procs {args.procs}"
        sizes: dict[str, int] = {}
        if args.searches_only:
            # An index a run before left in --workdir: the searches measured again
            # (after a change of the search code), without the hour of ingest.
            sizes[sk_name] = dir_size(sk_index)
            say(f"searches only, on {sk_index} ({_mb(sizes[sk_name])}) as a run left it")
            say()
        else:
            corpus = work / "records.jsonl"
            t0 = time.perf_counter()
            with corpus.open("w", encoding="utf-8") as f:
                heaps, final, _ = generate(n, f, args.seed, records=real_records())
            say(
                f"corpus: {n:,} records, {corpus.stat().st_size / 1e6:,.0f} MB, generated in "
                f"{time.perf_counter() - t0:.0f} s; Heaps' law of the real records K = "
                f"{heaps.k:.2f}, beta = {heaps.beta:.4f}; the corpus has {final.words:,} words, "
                f"{final.vocabulary:,} distinct (K*n^beta = {heaps(final.words):,.0f})"
            )
            say()

            ingest: dict[str, Usage] = {}
            sk_index = work / "ix-searchkit"
            shutil.rmtree(sk_index, ignore_errors=True)
            configs: dict[str, list[str]] = {}
            if not args.increments_only:
                configs[sk_name] = [
                    *searchkit_cmd(),
                    "ingest",
                    str(corpus),
                    "--index",
                    str(sk_index),
                    "--procs",
                    str(args.procs),
                ]
            configs["tantivy (1 writer thread)"] = [
                sys.executable,
                str(HERE / "baseline_tantivy.py"),
                str(corpus),
                str(work / "ix-tantivy"),
            ]
            if not (args.no_stock or args.increments_only):
                configs["stock Whoosh (1 writer)"] = [
                    sys.executable,
                    str(HERE / "baseline_whoosh.py"),
                    str(corpus),
                    str(work / "ix-whoosh"),
                ]
            for name, cmd in configs.items():
                shutil.rmtree(cmd[-1] if "searchkit" not in name else sk_index, ignore_errors=True)
                ingest[name] = checked(run_usage(cmd), name)
                sizes[name] = dir_size(sk_index if "searchkit" in name else Path(cmd[-1]))
                print(f"  {name}: {ingest[name].seconds:.0f} s", file=sys.stderr, flush=True)
            tv_name = "tantivy (1 writer thread)"

            def per_record_ms(name: str) -> float:
                return ingest[name].cpu / n * 1000

            say("## Ingest, one process each, the same records")
            say()
            say("| engine | CPU s | CPU ms / record | wall s | peak RSS | index size |")
            say("|---|---:|---:|---:|---:|---:|")
            for name, usage in ingest.items():
                say(
                    f"| {name} | {usage.cpu:,.1f} | {per_record_ms(name):.2f} | "
                    f"{usage.seconds:,.1f} | {usage.peak_rss_mb:,.0f} MiB | {_mb(sizes[name])} |"
                )
            say()

            inc_index = work / "ix-increments"
            shutil.rmtree(inc_index, ignore_errors=True)
            parts = split(corpus, 10, n, work)
            steps: list[tuple[int, Usage]] = []
            for part in parts:
                count = sum(1 for _ in part.open(encoding="utf-8"))
                cmd = [*searchkit_cmd(), "ingest", str(part), "--index", str(inc_index)]
                usage = checked(run_usage([*cmd, "--procs", str(args.procs)]), "ingest")
                steps.append((count, usage))
                part.unlink()
                print(
                    f"  increment {len(steps)}: {steps[-1][1].seconds:.0f} s wall, "
                    f"{steps[-1][1].cpu:.1f} s CPU",
                    file=sys.stderr,
                    flush=True,
                )
            first, last = steps[0], steps[-1]
            wall_ratio = (last[0] / last[1].seconds) / (first[0] / first[1].seconds)
            say(f"## Ingest in ten increments of {first[0]:,} records (`searchkit ingest` each)")
            say()
            say("| increment | records/CPU s | records/wall s | CPU s | wall s |")
            say("|---:|---:|---:|---:|---:|")
            for i, (count, usage) in enumerate(steps, 1):
                say(
                    f"| {i} | {count / usage.cpu:,.0f} | {count / usage.seconds:,.0f} | "
                    f"{usage.cpu:.1f} | {usage.seconds:.1f} |"
                )
            say()
            if args.increments_only:
                # The increments' index is the N-record index measured below; their CPU in
                # total is searchkit's ingest of the same records as tantivy's.
                sk_index = inc_index
                sizes[sk_name] = dir_size(inc_index)
                ingest[sk_name] = Usage(
                    seconds=sum(u.seconds for _, u in steps),
                    cpu=sum(u.cpu for _, u in steps),
                    peak_rss_mb=max(u.peak_rss_mb for _, u in steps),
                    returncode=0,
                    stdout="",
                    stderr="",
                )
                say(
                    f"searchkit, the ten increments together: {ingest[sk_name].cpu:,.1f} CPU s, "
                    f"{per_record_ms(sk_name):.2f} CPU ms per record, index {_mb(sizes[sk_name])}"
                )
            else:
                shutil.rmtree(inc_index, ignore_errors=True)

            # tantivy once more, after searchkit's ingests: a shared VM's speed drifts
            # (by a quarter within an evening, BENCHMARKS.md Scale, twenty-eighth pass),
            # and a ratio against one tantivy run holds only for its moment.
            tv_cmd = configs[tv_name]
            shutil.rmtree(tv_cmd[-1], ignore_errors=True)
            tv_again = checked(run_usage(tv_cmd), tv_name)
            say(
                f"{tv_name}, again after searchkit's ingests: {tv_again.cpu:,.1f} CPU s, "
                f"{tv_again.cpu / n * 1000:.3f} ms a record "
                f"({tv_again.cpu / ingest[tv_name].cpu:.2f}x its first run)"
            )
            say()

        rss = checked(
            run_usage([*searchkit_cmd(), "search", RSS_QUERY, "--index", str(sk_index)]),
            "searchkit search",
        )
        queries = (HERE / "queries.txt").read_text("utf-8").splitlines()
        times, cpu_times, segments = query_latency(sk_index, queries)
        # A copy merged into one segment, and the same queries on it: what a segment
        # costs a query, and what removing them all costs. The index as the ingest
        # left it stays in the work directory.
        merged_index = work / "ix-optimized"
        shutil.rmtree(merged_index, ignore_errors=True)
        shutil.copytree(sk_index, merged_index)
        merge = checked(
            run_usage([*searchkit_cmd(), "optimize", "--index", str(merged_index), "--quiet"]),
            "searchkit optimize",
        )
        merged_times, merged_cpu, merged_segments = query_latency(merged_index, queries)
        say("## Queries before and after `searchkit optimize`")
        say()
        say(
            f"`searchkit optimize` of the {n:,}-record index: {merge.cpu:,.1f} CPU s, "
            f"{merge.seconds:,.1f} wall s, peak RSS {merge.peak_rss_mb:,.0f} MiB, "
            f"index {_mb(dir_size(merged_index))} after it"
        )
        say()
        say("| index | segments | CPU p50 | CPU p95 | CPU mean | wall p50 | wall p95 |")
        say("|---|---:|---:|---:|---:|---:|---:|")
        for name, (wall_ms, cpu_ms, count) in {
            "as the ingest left it": (times, cpu_times, segments),
            "after `searchkit optimize`": (merged_times, merged_cpu, merged_segments),
        }.items():
            say(
                f"| {name} | {count} | {_pct(cpu_ms, 50):.1f} ms | {_pct(cpu_ms, 95):.1f} ms | "
                f"{statistics.mean(cpu_ms):.1f} ms | {_pct(wall_ms, 50):.1f} ms | "
                f"{_pct(wall_ms, 95):.1f} ms |"
            )
        say(
            f"\nCPU p50 after / before: {_pct(merged_cpu, 50) / _pct(cpu_times, 50):.2f}x, "
            f"p95 {_pct(merged_cpu, 95) / _pct(cpu_times, 95):.2f}x"
        )
        say()

        say("## Start-up")
        say()
        for row in startup.measure(work, args.repeat):
            say(row)
        help_ratio = _ratio(out, "`searchkit --help` CPU / minimal typer app: ")
        search_ratio = _ratio(
            out, "`searchkit search` on data/ CPU / minimal stock-Whoosh search: "
        )

        stock = "stock Whoosh (1 writer)"
        say(f"## Summary against issue 20's targets ({n:,} records)")
        say()
        say("| measure | measured | target |")
        say("|---|---|---|")
        if not args.searches_only:
            vs_stock = per_record_ms(sk_name) / per_record_ms(stock) if stock in ingest else None
            row = tantivy_row(
                per_record_ms(sk_name),
                per_record_ms(tv_name),
                tv_again.cpu / n * 1000,
                vs_stock,
            )
            say(f"| ingest CPU per record vs tantivy | {row} | ≤ 8x |")
            rates = rate_row([(count, usage.cpu) for count, usage in steps])
            say(
                f"| ingest rate, last 10% vs first 10% | {rates}; {wall_ratio:.0%} per wall "
                "second | ≥ 70% |"
            )
        say(
            f"| peak RSS, one `searchkit search` | {rss.peak_rss_mb:,.0f} MiB; index "
            f"{_mb(sizes[sk_name])} ({rss.peak_rss_mb * 1.048576e6 / sizes[sk_name]:.2f} of it) "
            f"| ≤ 200 MB and ≤ 1/4 of the index |"
        )
        say(
            f"| query p50 / p95, {len(queries)} benchmark queries, in-process warm, "
            f"{segments} segment(s) | {_latency(cpu_times, times)} | ≤ 15 / ≤ 60 ms |"
        )
        say(
            f"| the same, after `searchkit optimize` ({merge.cpu:,.0f} CPU s), "
            f"{merged_segments} segment(s) | {_latency(merged_cpu, merged_times)} "
            f"| ≤ 15 / ≤ 60 ms |"
        )
        say(f"| `searchkit --help` CPU vs a minimal typer app | {help_ratio} | ≤ 1.3x |")
        say(
            f"| `searchkit search` on data/, whole process, vs a minimal stock-Whoosh script "
            f"| {search_ratio} | ≤ 1.5x |"
        )
        say()
        say(
            f"query latency: mean CPU {statistics.mean(cpu_times):.1f} ms, "
            f"mean wall {statistics.mean(times):.1f} ms"
        )
    finally:
        if args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)
    return 0


def tantivy_row(
    searchkit_ms: float, tantivy_ms: float, tantivy_again_ms: float, vs_stock: float | None
) -> str:
    """The ingest ratio's cell: searchkit's CPU per record against each of tantivy's two
    runs (before and after searchkit's ingests) and their mean, the larger first."""
    ratios = sorted((searchkit_ms / tantivy_ms, searchkit_ms / tantivy_again_ms), reverse=True)
    mean = searchkit_ms / ((tantivy_ms + tantivy_again_ms) / 2)
    cell = (
        f"{mean:.1f}x against tantivy's two runs' mean ({ratios[0]:.1f}x and {ratios[1]:.1f}x "
        f"against each; {searchkit_ms:.2f} vs {tantivy_ms:.3f} and {tantivy_again_ms:.3f} ms)"
    )
    return cell + (f"; vs stock Whoosh {vs_stock:.2f}x" if vs_stock is not None else "")


def rate_row(steps: list[tuple[int, float]]) -> str:
    """The ingest rate's cell from the increments' (records, CPU seconds): the last
    increment's records per CPU second against the first's, then the last half of the
    increments against the first half. One increment may hold a tier's merge and the
    next none (at 100,000 records, the fifth and the tenth merge), so the two ends say
    whether one commit's cost grew; the halves, whether throughput stayed flat."""
    (first_n, first_cpu), (last_n, last_cpu) = steps[0], steps[-1]
    ends = (last_n / last_cpu) / (first_n / first_cpu)
    half = len(steps) // 2
    early, late = steps[:half], steps[len(steps) - half :]
    halves = (sum(n for n, _ in late) / sum(c for _, c in late)) / (
        sum(n for n, _ in early) / sum(c for _, c in early)
    )
    return (
        f"{ends:.0%} per CPU second (the last increment against the first); the last "
        f"{half} increments against the first {half}, merges included: {halves:.0%}"
    )


def _ratio(lines: list[str], prefix: str) -> str:
    for line in lines:
        if prefix in line:
            return line.split(prefix, 1)[1].split(" ", 1)[0]
    return "?"


if __name__ == "__main__":
    raise SystemExit(main())
