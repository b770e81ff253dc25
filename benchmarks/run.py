"""searchkit's benchmark suite: ingest speed and index size against stock Whoosh, query
latency as the index grows, and ingest memory on small and large XML files.

    python benchmarks/run.py                      # the full suite (tens of minutes)
    python benchmarks/run.py --records 20000 --query-sizes 10000,100000,200000
    python benchmarks/run.py --only ingest --records 20000 --repeat 3
    python benchmarks/run.py --smoke              # seconds; what CI runs

Corpora are built from the real records in ../shared/data (repeated with fresh ids),
in a temporary directory that is removed afterwards (--workdir keeps it). Ingest is
timed as whole processes, start-up included. Results print as Markdown tables.
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

from corpus import (
    real_records,
    shared_data_dir,
    write_big_xml,
    write_mixed,
    write_scifact,
)
from measure import Run, dir_size, run

from searchkit.index.searchindex import SearchIndex
from searchkit.searching.search import search

HERE = Path(__file__).resolve().parent


class _Live(list[str]):
    """Result lines, printed as soon as they are known (long runs show progress)."""

    def append(self, line: str) -> None:
        print(line, flush=True)
        super().append(line)

    def __iadd__(self, lines: object) -> _Live:
        for line in lines:  # type: ignore[attr-defined]
            self.append(line)
        return self


def _searchkit_cmd() -> list[str]:
    exe = Path(sys.executable).parent / "searchkit"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "searchkit"]


def _check(result: Run, what: str) -> Run:
    if result.returncode != 0:
        raise SystemExit(f"{what} failed ({result.returncode}):\n{result.stderr}")
    return result


def _mb(n: float) -> str:
    return f"{n / 1e6:.1f} MB"


def bench_ingest(data: Path, work: Path, records: int, procs: int, repeat: int = 1) -> list[str]:
    """Stock Whoosh, searchkit with ``procs`` and with one process on the same corpus:
    ``repeat`` rounds of timed runs (in turn, so that the machine's load changes
    reach all three alike; medians reported), then one run each for memory."""
    corpus = write_scifact(data, records, work / "scifact.jsonl")
    stock_cmd = [sys.executable, str(HERE / "stock_whoosh.py"), str(corpus)]
    sk_cmd = [*_searchkit_cmd(), "ingest", str(corpus), "--index"]
    configs = {
        "stock Whoosh (StemmingAnalyzer, 1 writer)": lambda d: [*stock_cmd, str(d)],
        "searchkit ingest --procs 1": lambda d: [*sk_cmd, str(d), "--procs", "1"],
        f"searchkit ingest --procs {procs}": lambda d: [*sk_cmd, str(d), "--procs", str(procs)],
    }
    times: dict[str, list[float]] = {name: [] for name in configs}
    dirs: dict[str, Path] = {}
    for _ in range(repeat):
        for i, (name, make) in enumerate(configs.items()):
            dirs[name] = work / f"ix-ingest-{i}"
            shutil.rmtree(dirs[name], ignore_errors=True)
            times[name].append(_check(run(make(dirs[name]), memory=False), name).seconds)
    names = list(configs)
    stock_name, sk_name = names[0], names[2]
    again = _check(run([*sk_cmd, str(dirs[sk_name])], memory=False), "searchkit re-ingest")
    memory: dict[str, Run] = {}
    for i, (name, make) in enumerate(configs.items()):
        mem_dir = work / f"ix-ingest-memory-{i}"
        shutil.rmtree(mem_dir, ignore_errors=True)
        memory[name] = _check(run(make(mem_dir)), name)
        shutil.rmtree(mem_dir, ignore_errors=True)
    median = {name: statistics.median(t) for name, t in times.items()}
    stock_size, sk_size = dir_size(dirs[stock_name]), dir_size(dirs[sk_name])
    rows = _Live()
    rows += [
        f"## Ingest: {records:,} SciFact abstracts (x{records / 5183:.1f}, fresh ids)",
        "",
        (
            f"Seconds: the median of {repeat} timed runs each (all of them in brackets)"
            if repeat > 1
            else "Seconds: one timed run each"
        )
        + "; peak memory from one more run each, sampled every 20 ms (sampling costs CPU,"
        " so timed runs are not sampled).",
        "",
        "| run | seconds | docs/s | vs stock | index size | peak PSS (tree) | peak RSS (tree) |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name in names:
        seconds = median[name]
        each = ", ".join(f"{t:.2f}" for t in times[name])
        shown = f"{seconds:.2f} [{each}]" if repeat > 1 else f"{seconds:.2f}"
        rows.append(
            f"| {name} | {shown} | {records / seconds:,.0f} | "
            f"{median[stock_name] / seconds:.2f}x | {_mb(dir_size(dirs[name]))} "
            f"| {memory[name].peak_tree_pss_mb:.0f} MB | {memory[name].peak_tree_rss_mb:.0f} MB |"
        )
    rows += [
        "",
        f"- re-ingest of the unchanged file: {again.seconds:.2f} s = "
        f"{100 * again.seconds / median[sk_name]:.1f}% of the first ingest",
        f"- index size searchkit / stock: {sk_size / stock_size:.2f}x",
        "",
    ]
    return rows


def _latencies(index_dir: Path, queries: list[str]) -> tuple[dict[str, float], int]:
    """Milliseconds per query (after warming up), and the index's segment count."""
    ix = SearchIndex.open(index_dir)
    for q in queries[:20]:  # warm caches
        search(ix, q, limit=10)
    times: dict[str, float] = {}
    for q in queries:
        t = time.perf_counter()
        search(ix, q, limit=10)
        times[q] = (time.perf_counter() - t) * 1000
    return times, int(ix.stats()["segments"])


def _is_plain(query: str) -> bool:
    return '"' not in query and "[" not in query


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def bench_queries(
    data: Path, work: Path, sizes: list[int], procs: int, n: int, optimized: bool
) -> list[str]:
    queries = (HERE / "queries.txt").read_text("utf-8").splitlines()[:n]
    base = real_records(data)
    ix_dir = work / "ix-queries"
    rows = _Live()
    rows += [
        f"## Query latency: {len(queries)} queries (benchmarks/queries.txt), "
        f"real records xk ({len(base):,} distinct), limit 10, snippets included",
        "",
        "| records | ingest of the increment | segments | p50 ms | p95 ms "
        "| p95 ms, 2-4 plain terms | p95 after optimize |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    plain = [q for q in queries if _is_plain(q)]
    done = 0
    for size in sizes:
        chunk = write_mixed(base, done, size - done, work / f"records-{done}-{size}.jsonl")
        cmd = [*_searchkit_cmd(), "ingest", str(chunk), "--index", str(ix_dir)]
        ingest_run = _check(run([*cmd, "--procs", str(procs)]), "searchkit ingest")
        chunk.unlink()
        done = size
        times, segments = _latencies(ix_dir, queries)
        all_ms = list(times.values())
        plain_ms = [times[q] for q in plain]
        optimized_p95 = "not run"
        if optimized:
            opt_dir = work / "ix-optimized"
            shutil.copytree(ix_dir, opt_dir)
            _check(run([*_searchkit_cmd(), "optimize", "--index", str(opt_dir)]), "optimize")
            opt_times, _ = _latencies(opt_dir, plain)
            optimized_p95 = f"{_pct(list(opt_times.values()), 95):.1f}"
            shutil.rmtree(opt_dir)
        rows.append(
            f"| {size:,} | {ingest_run.seconds:.1f} s | {segments} | {_pct(all_ms, 50):.1f} "
            f"| {_pct(all_ms, 95):.1f} | {_pct(plain_ms, 95):.1f} | {optimized_p95} |"
        )
    rows.append("")
    return rows


def bench_memory(data: Path, work: Path, sizes_mb: list[float], procs: int) -> list[str]:
    rows = _Live()
    rows += [
        f"## Ingest memory: PubMed XML (real articles repeated, fresh PMIDs), --procs {procs}",
        "",
        "| XML file | records | seconds | docs/s | peak PSS (tree) | peak RSS (tree) "
        "| peak RSS (largest process) |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for mb in sizes_mb:
        xml, count = write_big_xml(data, int(mb * 1e6), work / f"big-{mb}.xml")
        ix_dir = work / f"ix-xml-{mb}"
        cmd = [*_searchkit_cmd(), "ingest", str(xml), "--index", str(ix_dir)]
        r = _check(run([*cmd, "--procs", str(procs)]), "searchkit ingest (XML)")
        rows.append(
            f"| {_mb(xml.stat().st_size)} | {count:,} | {r.seconds:.1f} "
            f"| {count / r.seconds:,.0f} | {r.peak_tree_pss_mb:.0f} MB "
            f"| {r.peak_tree_rss_mb:.0f} MB | {r.peak_process_rss_mb:.0f} MB |"
        )
        xml.unlink()
        shutil.rmtree(ix_dir)
    rows.append("")
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=20_000, help="ingest corpus size")
    parser.add_argument("--repeat", type=int, default=1, help="timed rounds of the ingest runs")
    parser.add_argument("--query-sizes", default="10000,100000,200000")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--xml-mb", default="3,300", help="XML file sizes for memory")
    parser.add_argument("--procs", type=int, default=os.cpu_count() or 1)
    parser.add_argument(
        "--optimized", action="store_true", help="also time queries on an optimized copy"
    )
    parser.add_argument("--only", choices=["ingest", "queries", "memory"], action="append")
    parser.add_argument("--workdir", type=Path, help="keep corpora and indexes here")
    parser.add_argument("--smoke", action="store_true", help="a tiny run, for CI")
    args = parser.parse_args(argv)
    if args.smoke:
        args.records, args.query_sizes, args.queries, args.xml_mb = 300, "200,400", 20, "0.3"
        args.optimized = True
    data = shared_data_dir()
    if not data.is_dir():
        print(f"error: {data} is absent: the benchmarks need ../shared/data", file=sys.stderr)
        return 2
    parts = args.only or ["ingest", "queries", "memory"]
    work = args.workdir or Path(tempfile.mkdtemp(prefix="searchkit-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    print(f"# searchkit benchmarks ({os.cpu_count()} cores, --procs {args.procs})\n")
    try:
        if "ingest" in parts:
            bench_ingest(data, work, args.records, args.procs, args.repeat)
        if "queries" in parts:
            sizes = [int(s) for s in args.query_sizes.split(",")]
            bench_queries(data, work, sizes, args.procs, args.queries, args.optimized)
        if "memory" in parts:
            sizes_mb = [float(s) for s in args.xml_mb.split(",")]
            bench_memory(data, work, sizes_mb, args.procs)
    finally:
        if args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
