"""Latency of the query language's features on the bundled sample, as ratios to a
plain free-text query measured in the same run. Times are CPU seconds of this process
(``time.process_time``: searching is single-threaded, and CPU time moves much less
than wall time when other jobs share the machine).

    python benchmarks/query_language.py [--index DIR] [--repeat N]

Without ``--index`` the sample in ``data/`` is ingested into a temporary directory.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from searchkit import SearchIndex, ingest
from searchkit.output.formats import format_search
from searchkit.query.compile import parse_query
from searchkit.searching.search import Filters, search
from searchkit.searching.similar import similar

ROOT = Path(__file__).resolve().parents[1]
BASELINE = "immune escape MHC"
QUERIES = [
    '"immune escape"',
    '"tumor escape"~5',
    "immun* escape",
    "cancer stem cells[ti] AND privilege[ti]",
    "(cancer OR tumor) NOT mice[mh]",
    "smith j[au]",
    "2015:2019[dp] AND cancer",
    "imune escpe",  # no match: pays for "Did you mean"
]


def median_ms(fn: Callable[[], object], repeat: int) -> float:
    fn()  # warm caches
    times = []
    for _ in range(repeat):
        start = time.process_time()
        fn()
        times.append(time.process_time() - start)
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--index", type=Path)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if args.index is None:
            args.index = Path(tmp) / "ix"
            ingest([ROOT / "data"], SearchIndex.create(args.index))
        ix = SearchIndex.open(args.index)
        schema = ix.whoosh_index.schema
        base = median_ms(lambda: search(ix, BASELINE, limit=10), args.repeat)
        print(f"{len(ix)} records; baseline {BASELINE!r}, top 10: {base:.1f} ms CPU (= 1.00)")
        print(f"{'case':<52} {'CPU ms':>8} {'ratio':>6}")

        def row(name: str, fn: Callable[[], object]) -> None:
            ms = median_ms(fn, args.repeat)
            print(f"{name:<52} {ms:>8.3f} {ms / base:>6.3f}")

        row("parse only: " + QUERIES[3], lambda: parse_query(schema, QUERIES[3]))
        for q in QUERIES:
            row(f"search {q!r}", lambda q=q: search(ix, q, limit=10))
        years = Filters.from_options(year="2015..2019")
        row("search baseline --year 2015..2019", lambda: search(ix, BASELINE, filters=years))
        row("search baseline --sort date", lambda: search(ix, BASELINE, sort="date"))
        row("search baseline --count", lambda: search(ix, BASELINE, limit=0, suggest=False))
        row("similar 34572009 (top 10)", lambda: similar(ix, "34572009", limit=10))
        many = search(ix, "cell OR patients", limit=400, with_snippets=False)
        row("format 400 hits as medline", lambda: format_search(many, "medline"))
        row("format 400 hits as ris", lambda: format_search(many, "ris"))


if __name__ == "__main__":
    main()
