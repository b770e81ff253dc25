"""CPU of the first search in a fresh process: ``SearchIndex.open`` then
``rank(index, query, limit=10)``, timed with ``time.process_time`` around the ``rank``
only (imports and opening left out), the median of ``--repeat`` processes. Compare
two versions of searchkit by running it with ``PYTHONPATH`` pointing at an export of
the other one (``git archive COMMIT searchkit | tar -x -C DIR``; the child runs with
``-P``, so the current folder does not shadow it).

    python benchmarks/first_search.py INDEX "psoas[mh]" [--repeat 5]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys

_CHILD = """
import sys, time
from pathlib import Path
from searchkit import SearchIndex
from searchkit.searching.pipeline import rank
with SearchIndex.open(Path(sys.argv[1])) as ix:
    start = time.process_time()
    rank(ix, sys.argv[2], limit=10)
    print((time.process_time() - start) * 1000)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("index")
    parser.add_argument("query")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    cmd = [sys.executable, "-P", "-c", _CHILD, args.index, args.query]
    subprocess.run(cmd, check=True, capture_output=True)  # warm-up
    runs = [
        float(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
        for _ in range(args.repeat)
    ]
    print(f"{args.query}: median {statistics.median(runs):.1f} ms CPU of {len(runs)} processes")


if __name__ == "__main__":
    main()
