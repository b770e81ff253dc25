"""Durability: what fsync costs an ingest. The same ``searchkit ingest`` as whole
processes, with its fsyncs and with ``os.fsync`` replaced by a no-op (everything else
identical), run in turn.

    python benchmarks/durability.py [--batch-size 100] [--rounds 5] [--source data/]

The default is the commit-heavy case: ``data/`` (2,285 records) in batches of 100, i.e.
24 commits, each of which fsyncs its segment, its table of contents, the directory and
searchkit's JSON files. Medians of ``--rounds`` pairs after one warm-up pair; the ratio
is taken pair by pair (wall time on a shared machine moves more than CPU time).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from measure import Usage, run_usage
from paths import repo_root

# The CLI with os.fsync patched out before searchkit is imported.
_NO_FSYNC = "import os, sys; os.fsync = lambda fd: None; from searchkit.cli import app; app()"


def ingest(source: Path, index: Path, batch: int, fsync: bool) -> Usage:
    shutil.rmtree(index, ignore_errors=True)
    args = ["ingest", str(source), "--index", str(index), "--batch-size", str(batch)]
    prefix = ["-c", "from searchkit.cli import app; app()"] if fsync else ["-c", _NO_FSYNC]
    usage = run_usage([sys.executable, *prefix, *args, "--procs", "1"])
    if usage.returncode != 0:
        raise SystemExit(f"ingest failed ({usage.returncode}):\n{usage.stderr}")
    return usage


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--source", type=Path, default=repo_root() / "data")
    ap.add_argument("--batch-size", type=int, default=100)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="searchkit-fsync-") as tmp:
        index = Path(tmp) / "ix"
        ingest(args.source, index, args.batch_size, True)
        ingest(args.source, index, args.batch_size, False)
        pairs: list[tuple[Usage, Usage]] = []
        for _ in range(args.rounds):
            pairs.append(
                (
                    ingest(args.source, index, args.batch_size, True),
                    ingest(args.source, index, args.batch_size, False),
                )
            )
    source = args.source.name + ("/" if args.source.is_dir() else "")
    print(
        f"`searchkit ingest {source} --batch-size {args.batch_size} --procs 1`, "
        f"{args.rounds} pairs in turn (medians; ratio = with / without, pair by pair)\n"
    )
    print("| figure | with fsync | without | ratio (min - median - max) |")
    print("|---|---:|---:|---|")
    for name, get, unit in (
        ("wall", lambda u: u.seconds, "s"),
        ("CPU (user + sys)", lambda u: u.cpu, "s"),
        ("peak RSS", lambda u: u.peak_rss_mb, "MiB"),
    ):
        with_, without = [get(a) for a, _ in pairs], [get(b) for _, b in pairs]
        ratios = sorted(a / b for a, b in zip(with_, without, strict=True) if b)
        print(
            f"| {name} | {statistics.median(with_):.1f} {unit} | "
            f"{statistics.median(without):.1f} {unit} | {ratios[0]:.2f} - "
            f"**{statistics.median(ratios):.2f}** - {ratios[-1]:.2f} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
