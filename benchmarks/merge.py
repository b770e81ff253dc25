"""Segment merges: searchkit's merge against Whoosh's own, on the same segments.

    python benchmarks/merge.py --records 20000    # --parts 10 ingests, then two merges

Generates N records (``scale_corpus.py``), ingests them in ``--parts`` increments
(``searchkit ingest`` of each: one or more segments each, as the merge policy leaves
them), copies the index twice and merges every segment into one in each copy, each a
whole process timed by the kernel (CPU = user + system):

* ``searchkit optimize`` (the fast merge, ``searchkit/engine/merging.py``);
* Whoosh's own merge of the same segments (``SegmentWriter.commit(optimize=True)``,
  every posting through its pool), with searchkit's codec.

The corpus and indexes go to a temporary directory (``--workdir`` keeps them).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from measure import dir_size, run_usage
from scale import split
from scale_corpus import generate, real_records
from startup import checked, searchkit_cmd

STOCK_MERGE = """
import sys
import whoosh.index
from whoosh.writing import SegmentWriter
import searchkit  # installs the checksum manifests every searchkit index has
from searchkit.engine.codec import SearchkitCodec
ix = whoosh.index.open_dir(sys.argv[1], indexname="MAIN")
SegmentWriter(ix, codec=SearchkitCodec()).commit(optimize=True)
"""


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", type=int, default=20_000)
    ap.add_argument("--parts", type=int, default=10)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workdir", type=Path, help="keep the corpus and indexes here")
    args = ap.parse_args(argv)
    work = args.workdir or Path(tempfile.mkdtemp(prefix="searchkit-merge-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        corpus = work / "records.jsonl"
        with corpus.open("w", encoding="utf-8") as f:
            generate(args.records, f, args.seed, records=real_records())
        index = work / "ix"
        shutil.rmtree(index, ignore_errors=True)
        for part in split(corpus, args.parts, args.records, work):
            cmd = [*searchkit_cmd(), "ingest", str(part), "--index", str(index), "--quiet"]
            checked(run_usage(cmd), "ingest")
        segments = len(list(index.glob("MAIN_*.seg")))
        fast, stock = work / "ix-fast", work / "ix-stock"
        for copy in (fast, stock):
            shutil.rmtree(copy, ignore_errors=True)
            shutil.copytree(index, copy)
        runs = {
            "searchkit optimize (fast merge)": checked(
                run_usage([*searchkit_cmd(), "optimize", "--index", str(fast), "--quiet"]),
                "optimize",
            ),
            "Whoosh's merge (add_reader, its pool)": checked(
                run_usage([sys.executable, "-c", STOCK_MERGE, str(stock)]), "stock merge"
            ),
        }
        print(f"# Merging {segments} segments of {args.records:,} records into one")
        print()
        print("| merge | CPU s | records / CPU s | wall s | peak RSS | index after |")
        print("|---|---:|---:|---:|---:|---:|")
        for (name, usage), path in zip(runs.items(), (fast, stock), strict=True):
            print(
                f"| {name} | {usage.cpu:.1f} | {args.records / usage.cpu:,.0f} | "
                f"{usage.seconds:.1f} | {usage.peak_rss_mb:,.0f} MiB | "
                f"{dir_size(path) / 1e6:,.1f} MB |"
            )
        fast_cpu, stock_cpu = (u.cpu for u in runs.values())
        print()
        print(f"Whoosh's merge CPU / searchkit's: {stock_cpu / fast_cpu:.2f}x")
    finally:
        if args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
