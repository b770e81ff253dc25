"""How well ``searchkit.engine.sets.found_at`` chooses between its two ways (a table of
the sorted numbers, or binary search), on the lookups real queries make.

Runs the 200 benchmark queries (``queries.txt``) on an index, records the arguments of
every ``found_at`` call, then times both ways on each call (the median of three) and
sums what the rule in the code chose, what the rule before it chose (a table's entries
counted as one byte), and the better way each time.

    python benchmarks/lookup_choice.py --index DIR
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from searchkit import SearchIndex, search
from searchkit.engine import sets

HERE = Path(__file__).resolve().parent


def recorded_calls(index_dir: Path) -> list[tuple[Any, Any]]:
    """The (sorted_ids, wanted) of every non-empty ``found_at`` call of the queries."""
    calls: list[tuple[Any, Any]] = []
    real = sets.found_at

    def recording(sorted_ids: Any, wanted: Any) -> Any:
        if len(sorted_ids) and len(wanted):
            calls.append((sorted_ids.copy(), wanted.copy()))
        return real(sorted_ids, wanted)

    replaced = [m for m in list(sys.modules.values()) if getattr(m, "found_at", None) is real]
    for module in replaced:
        module.found_at = recording  # type: ignore[attr-defined]
    try:
        index = SearchIndex.open(index_dir)
        for query in (HERE / "queries.txt").read_text("utf-8").splitlines():
            search(index, query, limit=10)
        index.close()
    finally:
        for module in replaced:
            module.found_at = real  # type: ignore[attr-defined]
    return calls


def _forced(table: bool, sorted_ids: Any, wanted: Any) -> None:
    """``found_at`` itself, made to take one way (as ``tests/test_sets.py`` forces it)."""
    cost = sets.SEARCH_COST
    sets.SEARCH_COST = 10**9 if table else 0
    try:
        sets.found_at(sorted_ids, wanted)
    finally:
        sets.SEARCH_COST = cost


def _median_seconds(run: Any, *args: Any) -> float:
    times = []
    for _ in range(3):
        start = time.perf_counter()
        run(*args)
        times.append(time.perf_counter() - start)
    return sorted(times)[1]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--index", type=Path, required=True)
    args = ap.parse_args(argv)
    calls = recorded_calls(args.index)
    now = before = best = 0.0
    tables_now = tables_before = 0
    for sorted_ids, wanted in calls:
        span = max(int(sorted_ids[-1]), int(wanted.max())) + 1
        table = _median_seconds(_forced, True, sorted_ids, wanted)
        binary = _median_seconds(_forced, False, sorted_ids, wanted)
        n, m = len(sorted_ids), len(wanted)
        use_now = sets._use_table(n, m, span, 4)
        use_before = sets._use_table(n, m, span, 1)
        now += table if use_now else binary
        before += table if use_before else binary
        best += min(table, binary)
        tables_now += use_now
        tables_before += use_before
    print(f"{len(calls):,} found_at calls of the 200 queries on {args.index}")
    print("| choice | tables | seconds |")
    print("|---|---:|---:|")
    print(f"| the rule in the code (32-bit entries) | {tables_now:,} | {now * 1000:.1f} ms |")
    print(f"| entries counted as one byte | {tables_before:,} | {before * 1000:.1f} ms |")
    print(f"| the better way each time | | {best * 1000:.1f} ms |")
    print(f"\nthe rule in the code / one byte: {now / before:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
