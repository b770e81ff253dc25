"""Peak RSS of one ``searchkit search`` process on an index, and where it goes.

    python benchmarks/search_rss.py --index DIR                  # peak RSS, 3 runs
    python benchmarks/search_rss.py --index DIR --sites          # + top allocation sites
    python benchmarks/search_rss.py --index DIR --baseline OTHER # + another checkout's code
    python benchmarks/search_rss.py --index DIR --format pmid    # an export of every hit

Each run is a whole process (``searchkit search QUERY --index DIR [-f FORMAT]``; the
export formats write every hit), its output thrown away, its peak RSS and
CPU from the kernel's accounting (GNU ``time``; :func:`measure.run_usage`). With
``--baseline OTHER`` (a checkout or an export of another commit, e.g. ``git archive
main | tar -x -C OTHER``) the same search runs with ``PYTHONPATH=OTHER`` in turn with
this checkout's, so that a before/after comparison is measured in the same run.

``--sites`` runs the search once more inside this script's own process under
``tracemalloc`` (slower) and prints the largest allocation sites at the traced peak
(checked at every function return), and the resident memory at the end of the search
by kind (the heap, other anonymous memory, shared libraries, the mapped segments).

Note: ``searchkit search`` adds each search to the index's history
(``history.jsonl``): run this on a copy of an index that others use.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import re
import statistics
import sys
import tracemalloc
from collections import Counter
from pathlib import Path
from types import FrameType
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from measure import Usage, dir_size, run_usage
from startup import checked, searchkit_cmd

DEFAULT_QUERY = "cancer stem cells"  # scale.py's RSS_QUERY
#: A new traced peak is recorded once it is this much above the last one.
SNAPSHOT_STEP = 1024 * 1024


def _runs(cmd: list[str], env: dict[str, str] | None, what: str) -> Usage:
    return checked(run_usage(cmd, env), what)


def _env_with(code: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(code) + (os.pathsep + env["PYTHONPATH"] if "PYTHONPATH" in env else "")
    return env


def measure(
    index: Path, query: str, repeat: int, baseline: Path | None, fmt: str | None = None
) -> None:
    cmd = [*searchkit_cmd(), "search", query, "--index", str(index)]
    cmd += ["-f", fmt] if fmt else []
    variants: dict[str, dict[str, str] | None] = {"this checkout": None}
    if baseline is not None:
        variants[f"baseline ({baseline})"] = _env_with(baseline)
    for name, env in variants.items():  # warm the page cache and the imports
        _runs(cmd, env, name)
    results: dict[str, list[Usage]] = {name: [] for name in variants}
    for _ in range(repeat):
        for name, env in variants.items():
            results[name].append(_runs(cmd, env, name))
    size = dir_size(index)
    shown = f"; -f {fmt}" if fmt else ""
    print(
        f"index {index}: {size / 1e6:,.0f} MB; query {query!r}{shown}; "
        f"{repeat} run(s) each, in turn"
    )
    print()
    print("| code | peak RSS MiB (median; min-max) | CPU s (median) | of the index |")
    print("|---|---|---|---|")
    medians: dict[str, float] = {}
    for name, runs in results.items():
        peaks = [u.peak_rss_mb for u in runs]
        medians[name] = statistics.median(peaks)
        print(
            f"| {name} | {medians[name]:,.1f} ({min(peaks):,.1f}-{max(peaks):,.1f}) "
            f"| {statistics.median(u.cpu for u in runs):.2f} "
            f"| {medians[name] * 1.048576e6 / size:.3f} |"
        )
    if baseline is not None:
        mine, base = medians["this checkout"], medians[f"baseline ({baseline})"]
        print()
        print(f"peak RSS this / baseline: {mine / base:.2f}x ({mine - base:+,.1f} MiB)")


def _resident_by_kind() -> Counter[str]:
    """kB resident now, by kind of mapping."""
    kinds: Counter[str] = Counter()
    kind = "other"
    for line in Path("/proc/self/smaps").read_text().splitlines():
        fields = line.split()
        if re.match(r"^[0-9a-f]+-[0-9a-f]+ ", line):
            name = fields[5] if len(fields) > 5 else ""
            if name.endswith(".seg"):
                kind = "mapped segments (.seg)"
            elif name == "[heap]":
                kind = "heap (brk)"
            elif not name:
                kind = "anonymous maps (large arrays)"
            elif name.startswith("/"):
                kind = "files: libraries, other"
            else:
                kind = name
        elif fields[0] == "Rss:":
            kinds[kind] += int(fields[1])
    return kinds


def sites(index: Path, query: str, top: int) -> None:
    """The search in this process under tracemalloc: the largest allocation sites at
    the traced peak, and resident memory by kind at the end."""
    from searchkit.cli import app

    peak: dict[str, Any] = {"size": 0, "snapshot": None}

    def on_return(frame: FrameType, event: str, arg: object) -> None:
        if event in ("return", "c_return"):
            now = tracemalloc.get_traced_memory()[0]
            if now > peak["size"] + SNAPSHOT_STEP:
                peak["size"] = now
                peak["snapshot"] = tracemalloc.take_snapshot()

    tracemalloc.start(1)
    sys.setprofile(on_return)
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # the hits
            app(
                ["search", query, "--index", str(index)],
                prog_name="searchkit",
                standalone_mode=False,
            )
    finally:
        sys.setprofile(None)
    kinds = _resident_by_kind()
    tracemalloc.stop()
    snapshot = peak["snapshot"]
    print()
    print(f"traced peak: {peak['size'] / 2**20:,.1f} MiB (Python and NumPy allocations); largest:")
    if snapshot is not None:
        for stat in snapshot.statistics("lineno")[:top]:
            where = stat.traceback[0]
            print(f"  {stat.size / 2**20:7.1f} MiB  {where.filename}:{where.lineno}")
    print()
    print("resident at the end of the search, by kind (tracing included):")
    for kind, kb in kinds.most_common():
        print(f"  {kb / 1024:7.1f} MiB  {kind}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--index", type=Path, required=True)
    parser.add_argument("--query", default=DEFAULT_QUERY)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--baseline", type=Path, help="another checkout's code to compare")
    parser.add_argument("--sites", action="store_true", help="also the top allocation sites")
    parser.add_argument("--top", type=int, default=15)
    parser.add_argument("--format", help="searchkit search -f FORMAT (pmid: every hit)")
    args = parser.parse_args()
    if not args.index.is_dir():
        raise SystemExit(f"Error: no index at {args.index}")
    measure(args.index, args.query, args.repeat, args.baseline, args.format)
    if args.sites:
        sites(args.index, args.query, args.top)


if __name__ == "__main__":
    main()
