"""Ingest: speed and index size against stock Whoosh on the same records, and peak
memory of ingesting PubMed XML files of any size.

    python benchmarks/ingest.py --records 20000 --repeat 3    # speed vs stock Whoosh
    python benchmarks/ingest.py --only memory --xml-mb 3,300  # memory on big XML files
    python benchmarks/ingest.py --smoke                       # seconds: both, tiny

Speed: SciFact's 5,183 abstracts repeated with fresh ids to ``--records``; stock Whoosh
(``baseline_whoosh.py``: StemmingAnalyzer, one writer, one commit), ``searchkit ingest
--procs 1`` and ``--procs N``, each a whole process (start-up included) timed in turn,
``--repeat`` rounds, medians; then the re-ingest of the unchanged file, and one more run
of each with its memory sampled (sampling costs CPU, so timed runs are not sampled).
Memory: the real PubMed XML articles repeated with fresh PMIDs to each size, ingested
with ``--procs N``; peak PSS and RSS of the process tree, sampled every 20 ms.
Corpora go to a temporary directory (``--workdir`` keeps them). Results print as
Markdown tables.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from corpus import write_big_xml, write_scifact
from measure import Run, dir_size, machine, run
from paths import shared_data_dir

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
    stock_cmd = [sys.executable, str(HERE / "baseline_whoosh.py"), str(corpus)]
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
    parser.add_argument("--xml-mb", default="3,300", help="XML file sizes for memory")
    parser.add_argument("--procs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--only", choices=["speed", "memory"], action="append")
    parser.add_argument("--workdir", type=Path, help="keep corpora and indexes here")
    parser.add_argument("--data", type=Path, help="the shared real-data folder")
    parser.add_argument("--smoke", action="store_true", help="a tiny run, for CI")
    args = parser.parse_args(argv)
    if args.smoke:
        args.records, args.xml_mb = 300, "0.3"
    data = args.data or shared_data_dir()
    if not data.is_dir():
        print(f"error: {data} is absent: the benchmarks need ../shared/data", file=sys.stderr)
        return 2
    parts = args.only or ["speed", "memory"]
    work = args.workdir or Path(tempfile.mkdtemp(prefix="searchkit-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    print(f"# searchkit ingest (--procs {args.procs})\n\n{machine()}\n")
    try:
        if "speed" in parts:
            bench_ingest(data, work, args.records, args.procs, args.repeat)
        if "memory" in parts:
            sizes_mb = [float(s) for s in args.xml_mb.split(",")]
            bench_memory(data, work, sizes_mb, args.procs)
    finally:
        if args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
