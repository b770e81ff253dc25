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

    python benchmarks/startup.py [--repeat 10] [--breakdown] [--baseline SRC_DIR]

``--baseline SRC_DIR`` adds ``python -m searchkit search`` run by this checkout and by
another source tree (the code before a change, through ``PYTHONPATH``, byte-compiled
too), in the same turns, and the median of the ratios of the runs taken side by side.

``--breakdown`` adds processes that only import what a ``searchkit search`` process
imports (the modules ``python -X importtime`` lists for it, in its order, with the
cyclic collector off and numpy's BLAS on one thread, as the command line has them,
after ``import searchkit``, which has Whoosh load as a search does): typer, numpy,
Whoosh's modules, every module but searchkit's, and every module. The differences
split the search's CPU into Python's start, those imports, searchkit's own imports,
and the work the command does.
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import shutil
import statistics
import subprocess
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


def in_turn(
    commands: dict[str, list[str]], repeat: int, envs: dict[str, dict[str, str]] | None = None
) -> dict[str, list[Usage]]:
    """Each command once to warm up, then ``repeat`` rounds of all of them in turn
    (``envs``: the environment of those commands that need their own)."""
    envs = envs or {}
    for name, cmd in commands.items():
        checked(run_usage(cmd, envs.get(name)), name)
    runs: dict[str, list[Usage]] = {name: [] for name in commands}
    for _ in range(repeat):
        for name, cmd in commands.items():
            runs[name].append(checked(run_usage(cmd, envs.get(name)), name))
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


def search_modules(cmd: list[str]) -> list[str]:
    """The modules the search ``cmd`` (a ``searchkit search`` command line) imports, in
    the order they finish loading (``python -X importtime``)."""
    own = cmd[1:] if cmd[0] == sys.executable else cmd  # "-m searchkit ..." or the script
    run = subprocess.run(
        [sys.executable, "-X", "importtime", *own], capture_output=True, text=True, check=True
    )
    names = [
        line.rsplit("|", 1)[1].strip()
        for line in run.stderr.splitlines()
        if line.startswith("import time:") and "|" in line and "self [us]" not in line
    ]
    # NLTK's stemmer module is loaded with stand-in packages (searchkit.analysis.stemmer)
    return [n for n in names if n != "__main__" and not n.startswith("nltk")]


def importing(modules: list[str]) -> list[str]:
    """A process importing ``modules`` in turn with the collector off and numpy's BLAS
    on one thread (as the command line has them), and nothing else but ``searchkit``'s
    package module first: it has Whoosh loaded without the modules it never uses
    (``searchkit.whoosh_imports``), as in a search."""
    lines = [
        "import gc, importlib, os",
        "gc.disable()",
        "os.environ.setdefault('OPENBLAS_NUM_THREADS', '1')",
        "import searchkit",
        f"for m in {modules!r}:",
    ]
    lines += [
        "    try:",
        "        importlib.import_module(m)",
        "    except Exception:",
        "        pass",
    ]
    return [sys.executable, "-c", "\n".join(lines)]


def breakdown_commands(search: list[str]) -> dict[str, list[str]]:
    modules = search_modules(search)
    third_party = [m for m in modules if not m.startswith("searchkit")]
    return {
        "import typer": importing(["typer"]),
        "import numpy": importing(["numpy"]),
        "import Whoosh (its modules a search loads)": importing(
            [m for m in modules if m.startswith("whoosh")]
        ),
        "import all but searchkit's modules": importing(third_party),
        "import every module of a search": importing(modules),
    }


def measure(
    work: Path, repeat: int, breakdown: bool = False, baseline: Path | None = None
) -> list[str]:
    """Both comparisons (and the search against ``baseline``'s code); Markdown rows."""
    import searchkit

    compileall.compile_dir(Path(searchkit.__file__).parent, quiet=1)
    envs: dict[str, dict[str, str]] = {}
    if baseline is not None:
        compileall.compile_dir(baseline / "searchkit", quiet=1)
        # Not the current directory first on the path (a checkout would shadow both).
        envs["python -m searchkit search"] = {**os.environ, "PYTHONSAFEPATH": "1"}
        envs["python -m searchkit search, baseline"] = {
            **os.environ,
            "PYTHONSAFEPATH": "1",
            "PYTHONPATH": str(baseline),
        }
    sample = repo_root() / "data"
    sk_index, stock_index = work / "startup-searchkit", work / "startup-whoosh"
    # Made afresh: a kept work folder may hold indexes an older searchkit made (another
    # format or analysis, which this one refuses).
    for made in (sk_index, stock_index):
        shutil.rmtree(made, ignore_errors=True)
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
    args = ["search", QUERY, "--index", str(sk_index)]
    search = [*searchkit_cmd(), *args]
    extra = breakdown_commands(search) if breakdown else {}
    runs = in_turn(
        {
            **extra,
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
            "searchkit search": search,
            **(
                {
                    "python -m searchkit search": [sys.executable, "-m", "searchkit", *args],
                    "python -m searchkit search, baseline": [
                        sys.executable,
                        "-m",
                        "searchkit",
                        *args,
                    ],
                }
                if baseline is not None
                else {}
            ),
        },
        repeat,
        envs,
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
    if baseline is not None:
        mine, theirs = "python -m searchkit search", "python -m searchkit search, baseline"
        pairs = zip(runs[mine], runs[theirs], strict=True)
        paired = statistics.median(a.cpu / b.cpu for a, b in pairs)
        rows += [
            f"- `python -m searchkit search` CPU / the same by {baseline}: "
            f"{cpu[mine] / cpu[theirs]:.2f}x "
            f"(median of the {repeat} side-by-side ratios: {paired:.2f}x)",
            "",
        ]
    if breakdown:
        everything = cpu["import every module of a search"]
        others = cpu["import all but searchkit's modules"]
        rows += [
            f"- of `searchkit search`: imports but searchkit's (Python's start included) "
            f"{others:.0f} ms, searchkit's own imports {everything - others:.0f} ms, "
            f"the command's work {cpu['searchkit search'] - everything:.0f} ms",
            "",
        ]
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=10)
    ap.add_argument(
        "--breakdown", action="store_true", help="also time the imports of a search alone"
    )
    ap.add_argument("--baseline", type=Path, help="a source tree whose searchkit search to compare")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="searchkit-startup-") as tmp:
        for row in measure(Path(tmp), args.repeat, args.breakdown, args.baseline):
            print(row)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
