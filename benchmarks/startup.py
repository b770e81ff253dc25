"""Start-up cost of the CLI, as whole processes against minimal yardsticks run in turn:

* ``searchkit --help`` against a minimal typer app (``minimal_typer_app.py``) and
  ``python -c pass``;
* ``searchkit search "immune escape MHC"`` on an index of ``data/`` against a minimal
  stock-Whoosh search script (``minimal_whoosh_search.py``) on a stock Whoosh index of
  the same records (``baseline_whoosh.py``).

CPU seconds (user + system, from the kernel's accounting) are the figure: they move
less than wall time on a shared machine. Medians of ``--repeat`` runs after one warm-up
each, the commands taking turns.

searchkit's modules are byte-compiled first, as ``pip install`` does for every package
(an editable install, or ``PYTHONDONTWRITEBYTECODE`` set, would otherwise compile them
from source in every process, while typer's and Whoosh's come compiled).

    python benchmarks/startup.py [--repeat 10]
"""

from __future__ import annotations

import argparse
import compileall
import json
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from measure import Usage, run_usage
from paths import repo_root

from searchkit import Record
from searchkit.readers import iter_files, read_file

HERE = Path(__file__).resolve().parent
QUERY = "immune escape MHC"


def searchkit_cmd() -> list[str]:
    exe = Path(sys.executable).parent / "searchkit"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "searchkit"]


def checked(usage: Usage, what: str) -> Usage:
    if usage.returncode != 0:
        raise SystemExit(f"{what} failed ({usage.returncode}):\n{usage.stderr}")
    return usage


def in_turn(commands: dict[str, list[str]], repeat: int) -> dict[str, list[Usage]]:
    """Each command once to warm up, then ``repeat`` rounds of all of them in turn."""
    for name, cmd in commands.items():
        checked(run_usage(cmd), name)
    runs: dict[str, list[Usage]] = {name: [] for name in commands}
    for _ in range(repeat):
        for name, cmd in commands.items():
            runs[name].append(checked(run_usage(cmd), name))
    return runs


def cpu_ms(runs: list[Usage]) -> float:
    return statistics.median(u.cpu for u in runs) * 1000


def wall_ms(runs: list[Usage]) -> float:
    return statistics.median(u.seconds for u in runs) * 1000


def write_jsonl(sources: list[Path], out: Path) -> int:
    """The records of ``sources`` as searchkit JSON Lines (for the baselines)."""
    count = 0
    seen: set[str] = set()
    with out.open("w", encoding="utf-8") as f:
        for path in iter_files(sources):
            for item in read_file(path):
                if isinstance(item, Record) and item.pmid not in seen:
                    seen.add(item.pmid)
                    f.write(json.dumps(item.to_dict(), ensure_ascii=False) + "\n")
                    count += 1
    return count


def measure(work: Path, repeat: int) -> list[str]:
    """Both comparisons; Markdown rows."""
    import searchkit

    compileall.compile_dir(Path(searchkit.__file__).parent, quiet=1)
    sample = repo_root() / "data"
    sk_index, stock_index = work / "startup-searchkit", work / "startup-whoosh"
    records = work / "startup-data.jsonl"
    write_jsonl([sample], records)
    checked(
        run_usage([*searchkit_cmd(), "ingest", str(sample), "--index", str(sk_index)]), "ingest"
    )
    checked(
        run_usage(
            [sys.executable, str(HERE / "baseline_whoosh.py"), str(records), str(stock_index)]
        ),
        "stock Whoosh ingest",
    )
    runs = in_turn(
        {
            "python -c pass": [sys.executable, "-c", "pass"],
            "minimal typer app --help": [
                sys.executable,
                str(HERE / "minimal_typer_app.py"),
                "--help",
            ],
            "searchkit --help": [*searchkit_cmd(), "--help"],
            "minimal stock-Whoosh search": [
                sys.executable,
                str(HERE / "minimal_whoosh_search.py"),
                str(stock_index),
                QUERY,
            ],
            "searchkit search": [*searchkit_cmd(), "search", QUERY, "--index", str(sk_index)],
        },
        repeat,
    )
    cpu = {name: cpu_ms(r) for name, r in runs.items()}
    rows = [
        f"Whole processes, medians of {repeat} runs taken in turn; `data/`, query `{QUERY}`.",
        "",
        "| process | CPU ms | wall ms | peak RSS |",
        "|---|---:|---:|---:|",
    ]
    for name, r in runs.items():
        peak = max(u.peak_rss_mb for u in r)
        rows.append(f"| {name} | {cpu[name]:.0f} | {wall_ms(r):.0f} | {peak:.0f} MiB |")
    rows += [
        "",
        f"- `searchkit --help` CPU / minimal typer app: "
        f"{cpu['searchkit --help'] / cpu['minimal typer app --help']:.2f}x "
        f"(/ `python -c pass`: {cpu['searchkit --help'] / cpu['python -c pass']:.1f}x)",
        f"- `searchkit search` on data/ CPU / minimal stock-Whoosh search: "
        f"{cpu['searchkit search'] / cpu['minimal stock-Whoosh search']:.2f}x",
        "",
    ]
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=10)
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="searchkit-startup-") as tmp:
        for row in measure(Path(tmp), args.repeat):
            print(row)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
