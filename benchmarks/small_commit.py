"""The CPU of a small commit into indexes of two sizes, and the share of it spent on the
files every commit writes for the searches (did-you-mean vocabulary, MeSH words,
acronym table): issue 20 wants a commit's cost to follow what it adds, not the index.

    python benchmarks/small_commit.py                      # data/ and 20,000 generated records
    python benchmarks/small_commit.py --records 20000 --small 50 --repeat 5 --workdir DIR
    python benchmarks/small_commit.py --smoke              # seconds: 300 records
    python benchmarks/small_commit.py --code before=/tmp/old --code after=.   # one run, two codes

Indexes: the bundled sample ``data/`` (2,285 records, ``searchkit ingest --procs 1``:
three commits) and ``--records`` records of ``scale_corpus.py`` (seed 0, one commit).
The small commit: the ``--small`` records generated after those (fresh ids, a real
title and abstract sentences each), upserted in one commit (``SearchIndex.upsert``) into
a fresh copy of each index, in a process of its own; its CPU (user + sys of that call,
the index already open) is the median of ``--repeat`` runs. One more run under
cProfile gives the share of the commit spent reading and writing the derived files:
the cumulative time of the functions named in :data:`DERIVED`, and of those the
acronym table's load and save. Results print as a Markdown table; ``--workdir`` keeps
the corpus and the indexes (one per code) for the next run. ``--code NAME=DIR`` runs
the package of another commit (``git archive COMMIT | tar -x -C DIR``) in turn with
the others, so that a before/after comparison is one run.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from paths import repo_root

HERE = Path(__file__).resolve().parent

#: Functions whose cumulative time is the reading and writing of the derived files, by
#: name (any version of searchkit: the table of acronyms read when the writer opens,
#: the function after a commit, and the writers' hook that writes a new segment's files
#: before its table of contents).
DERIVED = ("_load_acronyms", "_save_derived", "write_segment_files")
#: Of those, the acronym table's load and save (in ``ACRONYMS_FILE``).
ACRONYMS = ("load", "save")
ACRONYMS_FILE = "acronyms.py"


def commit_once(index: Path, records_file: Path, profile: bool) -> dict[str, float]:
    """Upsert the records of ``records_file`` into ``index`` in one commit: its CPU
    seconds, and under ``profile`` those of the derived files and the acronym save."""
    from searchkit import Record, SearchIndex
    from searchkit.readers import read_file

    records = [r for r in read_file(records_file) if isinstance(r, Record)]
    with SearchIndex.open(index) as ix:
        len(ix)
        profiler = cProfile.Profile() if profile else None
        start = time.process_time()
        if profiler is not None:
            profiler.enable()
        counts = ix.upsert(records)
        if profiler is not None:
            profiler.disable()
        cpu = time.process_time() - start
    assert counts.added == len(records), counts
    out = {"cpu": cpu, "records": float(len(records))}
    if profiler is not None:
        stats = pstats.Stats(profiler)
        total = derived = acronyms = 0.0
        for (filename, _, name), row in stats.stats.items():  # type: ignore[attr-defined]
            cumulative = row[3]
            if name == "upsert" and filename.endswith("searchindex.py"):
                total = max(total, cumulative)
            if name in DERIVED:
                derived += cumulative
            if name in ACRONYMS and filename.endswith(ACRONYMS_FILE):
                acronyms += cumulative
        out.update(profiled=total, derived=derived, acronyms=acronyms)
    return out


def _use_code(code: str | None) -> None:
    """Import searchkit from ``code`` (a copy of another commit's tree) instead of the
    installed one: its folder first on the path, the editable install's finder gone."""
    if not code:
        return
    sys.meta_path[:] = [f for f in sys.meta_path if "__editable__" not in repr(f)]
    sys.path.insert(0, code)


def _child(action: str, code: str, *args: str) -> str:
    cmd = [sys.executable, str(Path(__file__).resolve()), action, code, *args]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{action} {' '.join(args)} failed:\n{done.stderr}")
    return done.stdout


def ingest_once(source: Path, index: Path) -> None:
    from searchkit.cli import app

    app(["ingest", str(source), "--index", str(index), "--procs", "1", "--quiet"])


def _generate(records: int, small: int, work: Path) -> tuple[Path, Path]:
    big, extra = work / f"generated-{records}.jsonl", work / f"next-{small}.jsonl"
    if big.exists() and extra.exists():
        return big, extra
    everything = work / "all.jsonl"
    cmd = [sys.executable, str(HERE / "scale_corpus.py"), "generate", str(records + small)]
    subprocess.run([*cmd, str(everything)], check=True, capture_output=True)
    lines = everything.read_text("utf-8").splitlines(keepends=True)
    big.write_text("".join(lines[:records]), "utf-8")
    extra.write_text("".join(lines[records:]), "utf-8")
    everything.unlink()
    return big, extra


def measure(work: Path, records: int, small: int, repeat: int, codes: dict[str, str]) -> list[str]:
    """Each code's small commit on each index, the codes' runs in turn (so that the
    machine's load reaches them alike); a table row per index and code."""
    big, extra = _generate(records, small, work)
    sources = {"data/ (2,285 records)": repo_root() / "data"}
    sources[f"{records:,} generated records"] = big
    if records <= 2_000:  # --smoke: no need for the sample
        sources.pop("data/ (2,285 records)")
    lines = [
        f"Small commit: {small} new records upserted in one commit, CPU (user + sys) of "
        f"the call, median of {repeat}; the share of the derived files from one more run "
        "under cProfile",
        "",
        "| index | code | segments | commit CPU s | runs | derived files | of them "
        "acronyms.json | vs first code |",
        "|---|---|---:|---:|---|---:|---:|---:|",
    ]
    first: dict[str, float] = {}
    for label, source in sources.items():
        indexes: dict[str, Path] = {}
        for name, code in codes.items():
            index = indexes[name] = work / f"index-{source.stem}-{name}"
            if not index.exists():
                _child("_ingest", code, str(source), str(index))
        cpus: dict[str, list[float]] = {name: [] for name in codes}
        profiled: dict[str, dict[str, float]] = {}
        for i in range(repeat + 1):
            for name, code in codes.items():
                copy = work / "copy"
                shutil.rmtree(copy, ignore_errors=True)
                shutil.copytree(indexes[name], copy)
                args = [str(copy), str(extra)] + (["--profile"] if i == repeat else [])
                result = json.loads(_child("_commit", code, *args).splitlines()[-1])
                if i == repeat:
                    profiled[name] = result
                else:
                    cpus[name].append(result["cpu"])
        for name in codes:
            segments = len(list(indexes[name].glob("MAIN_*.seg")))
            share = profiled[name]["derived"] / profiled[name]["profiled"]
            acronyms = profiled[name]["acronyms"] / profiled[name]["profiled"]
            median = statistics.median(cpus[name])
            base = first.setdefault(label, median)
            lines.append(
                f"| {label} | {name} | {segments} | {median:.3f} | "
                f"{', '.join(f'{c:.2f}' for c in cpus[name])} | "
                f"{share * median:.3f} s ({share:.0%}) | {acronyms * median:.3f} s "
                f"({acronyms:.0%}) | {median / base:.2f}x |"
            )
    return lines


def main(argv: list[str] | None = None) -> int:
    args_in = sys.argv[1:] if argv is None else argv
    if args_in[:1] in (["_commit"], ["_ingest"]):
        _use_code(args_in[1])
        rest = [a for a in args_in[2:] if a != "--profile"]
        if args_in[0] == "_ingest":
            ingest_once(Path(rest[0]), Path(rest[1]))
        else:
            result = commit_once(Path(rest[0]), Path(rest[1]), "--profile" in args_in)
            print(json.dumps(result))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--small", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workdir", type=Path, help="keep (and reuse) corpora and indexes")
    parser.add_argument(
        "--code",
        action="append",
        default=[],
        metavar="NAME=DIR",
        help="run the searchkit package of DIR (a copy of a commit's tree: the folder "
        "holding searchkit/) instead of the installed one; repeatable, the codes' runs "
        "in turn, the first the baseline of the ratios",
    )
    parser.add_argument("--smoke", action="store_true", help="300 records, one run")
    args = parser.parse_args(args_in)
    if args.smoke:
        args.records, args.small, args.repeat = 300, 10, 1
    temporary = None
    if args.workdir is None:
        temporary = tempfile.TemporaryDirectory(prefix="small-commit-")
        args.workdir = Path(temporary.name)
    args.workdir.mkdir(parents=True, exist_ok=True)
    try:
        codes = dict(c.split("=", 1) for c in args.code) or {"installed": ""}
        codes = {n: str(Path(d).resolve()) if d else "" for n, d in codes.items()}
        for line in measure(args.workdir, args.records, args.small, args.repeat, codes):
            print(line, flush=True)
    finally:
        if temporary is not None:
            temporary.cleanup()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
