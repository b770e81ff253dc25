"""Query latency of one existing index: the 200 queries of benchmarks/queries.txt
through ``searchkit.searching.search.search(limit=10)``, snippets included, after 20 warm-up
queries (as ``run.py --only queries`` measures each size).

    python benchmarks/latency.py INDEX_DIR [--worst 8]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from run import HERE, _is_plain, _latencies, _pct


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("index", type=Path)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--worst", type=int, default=8, help="list the slowest queries")
    args = parser.parse_args(argv)
    queries = (HERE / "queries.txt").read_text("utf-8").splitlines()[: args.queries]
    times, segments = _latencies(args.index, queries)
    every = list(times.values())
    plain = [times[q] for q in queries if _is_plain(q)]
    print(f"index {args.index}: {segments} segment(s), {len(every)} queries")
    print(f"all:   p50 {_pct(every, 50):.1f} ms  p95 {_pct(every, 95):.1f} ms")
    print(f"plain: p50 {_pct(plain, 50):.1f} ms  p95 {_pct(plain, 95):.1f} ms  ({len(plain)})")
    for query, ms in sorted(times.items(), key=lambda kv: -kv[1])[: args.worst]:
        print(f"{ms:9.1f} ms  {query}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
