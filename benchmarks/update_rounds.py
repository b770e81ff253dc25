"""Rounds of updates (records replaced by PMID): the index's size, the deleted
documents it keeps, the CPU of each round's ingest and of the queries after them
(issue 20: merges drop the dead copies of replaced records).

    python benchmarks/update_rounds.py --code before=/tmp/base --code after=.
    python benchmarks/update_rounds.py --rounds 10 --share 0.3 --max-docs 1000 --code ...

The records of data/ (deduplicated by PMID, 2,285), or ``--records N`` generated ones
(``scale_corpus.py``, seed 0), are ingested by ``searchkit ingest``; then ``--rounds``
update files, each a new version (title revised) of ``--share`` of the records drawn
at random (seeded: every code gets the same files), each ingested by ``searchkit
ingest`` (with the default merge policy). With ``--max-docs N`` the rounds go through
``SearchIndex.apply`` with ``merge_max_docs=N`` instead (one commit per file): a small
stand-in for PubMed's segments that no longer grow (above half of it).

``--code NAME=DIR`` runs the package of another commit (``git archive COMMIT | tar -x
-C DIR``) through ``PYTHONPATH``; each code has its own index and the codes' ingests of
a round run in turn. After each round: the index on disk, the documents its segments
hold (live + deleted), the deleted ones, the segments, the round's ingest CPU (user +
sys of the whole process). At the end: the CPU of searching ``queries.txt`` (first 100
queries, 10 hits, no snippets) in each final index, ``--repeat`` runs in turn, each in
a process of its own (CPU of the searches only, the index open and one warm-up pass
done); and how many of those queries have the first 10 hits (and the count) of an
index of the same live records written at once, and the largest relative difference
of a hit's score (the statistics of the scores count deleted documents). Prints
Markdown tables.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from measure import dir_size, run_usage
from startup import checked

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

#: One update file applied in one commit, with a smaller ``merge_max_docs``.
APPLY = """
import sys
from dataclasses import replace
from pathlib import Path
from searchkit import Record, SearchIndex
from searchkit.params import DEFAULT
from searchkit.readers import read_file
index = SearchIndex.open_or_create(Path(sys.argv[1]))
records = {r.pmid: r for r in read_file(Path(sys.argv[2])) if isinstance(r, Record)}
index.apply(records, set(), params=replace(DEFAULT, merge_max_docs=int(sys.argv[3])))
"""

WHICH = "import searchkit; print(searchkit.__file__)"

#: The first 10 hits of each query in an index against an index of its live records
#: written at once (in its document order): how far its remaining deleted documents,
#: which the statistics of the scores count, move the ranking.
AGAINST_FRESH = """
import json, sys
from pathlib import Path
from searchkit import SearchIndex, search
index = SearchIndex.open(Path(sys.argv[1]))
with index.searcher() as s:
    order = [f["pmid"] for f in s.all_stored_fields()]
fresh = SearchIndex.create(Path(sys.argv[3]))
fresh.apply({p: index.get(p) for p in order}, set())
queries = Path(sys.argv[2]).read_text("utf-8").splitlines()[:100]
same_order = same_total = 0
worst = 0.0
for q in queries:
    a, b = (search(ix, q, limit=10, with_snippets=False) for ix in (index, fresh))
    same_total += a.total == b.total
    same_order += [h.pmid for h in a.hits] == [h.pmid for h in b.hits]
    scores = {h.pmid: h.score for h in b.hits}
    for h in a.hits:
        if h.pmid in scores and scores[h.pmid]:
            worst = max(worst, abs(h.score / scores[h.pmid] - 1))
print(json.dumps({"order": same_order, "total": same_total, "worst": worst}))
"""

#: The CPU of searching the queries of a file in an open index (after a warm-up pass).
SEARCH = """
import json, sys, time
from pathlib import Path
from searchkit import SearchIndex, search
index = SearchIndex.open(Path(sys.argv[1]))
queries = Path(sys.argv[2]).read_text("utf-8").splitlines()[:100]
def once():
    return sum(search(index, q, limit=10, with_snippets=False).total for q in queries)
total = once()
start = time.process_time()
assert once() == total
print(json.dumps({"cpu": time.process_time() - start, "total": total}))
"""


def base_records(count: int | None, work: Path) -> list[dict[str, object]]:
    """The records to update, as JSON objects (``Record.to_dict``)."""
    if count:
        from scale_corpus import generate, real_records

        corpus = work / "generated.jsonl"
        with corpus.open("w", encoding="utf-8") as f:
            generate(count, f, 0, records=real_records())
        return [json.loads(line) for line in corpus.read_text("utf-8").splitlines()]
    from searchkit import Record
    from searchkit.readers import iter_files, read_file

    seen: dict[str, Record] = {}
    for path in iter_files([ROOT / "data"]):
        for item in read_file(path):
            if isinstance(item, Record):
                seen[item.pmid] = item
    return [seen[p].to_dict() for p in sorted(seen)]


def write(path: Path, records: list[dict[str, object]]) -> Path:
    with path.open("w", encoding="utf-8") as f:
        for record in records:
            f.write(json.dumps(record) + "\n")
    return path


def layout(index: Path) -> tuple[int, int, int]:
    """Documents held (live + deleted), deleted documents, segments."""
    import whoosh.index

    segments = list(whoosh.index.open_dir(str(index), indexname="MAIN")._segments())
    held = sum(s.doc_count_all() for s in segments)
    return held, sum(s.deleted_count() for s in segments), len(segments)


def env_for(code: str) -> dict[str, str]:
    env = dict(os.environ)
    if code:
        env["PYTHONPATH"] = code
    return env


def ingest(code: str, index: Path, file: Path, max_docs: int | None) -> float:
    """Ingest ``file`` into ``index`` with ``code``: the process's CPU seconds."""
    if max_docs:
        cmd = [sys.executable, "-c", APPLY, str(index), str(file), str(max_docs)]
    else:
        cmd = [sys.executable, "-m", "searchkit", "ingest", str(file), "--index", str(index)]
        cmd.append("--quiet")
    return checked(run_usage(cmd, env=env_for(code)), f"ingest {file.name}").cpu


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=8)
    ap.add_argument("--share", type=float, default=0.3, help="records replaced per round")
    ap.add_argument("--records", type=int, help="generated records instead of data/'s")
    ap.add_argument("--max-docs", type=int, help="merge_max_docs of the rounds' commits")
    ap.add_argument("--repeat", type=int, default=3, help="query runs per code")
    ap.add_argument("--seed", type=int, default=20)
    ap.add_argument("--workdir", type=Path, help="keep the files and indexes here")
    ap.add_argument(
        "--code",
        action="append",
        default=[],
        metavar="NAME=DIR",
        help="a searchkit tree to run (repeatable; default: the installed one)",
    )
    args = ap.parse_args(argv)
    codes = dict(c.split("=", 1) for c in args.code) or {"installed": ""}
    codes = {n: str(Path(d).resolve()) if d else "" for n, d in codes.items()}
    work = (args.workdir or Path(tempfile.mkdtemp(prefix="searchkit-updates-"))).resolve()
    work.mkdir(parents=True, exist_ok=True)
    # ``python -m`` and ``-c`` put the working directory before PYTHONPATH: from the
    # repository root every code would be the checkout's.
    os.chdir(work)
    for name, code in codes.items():
        where = run_usage([sys.executable, "-c", WHICH], env=env_for(code)).stdout.strip()
        print(f"<!-- {name}: {where} -->")
        if code and not where.startswith(code):
            raise SystemExit(f"{name} runs {where}, not the code of {code}")

    records = base_records(args.records, work)
    base = write(work / "base.jsonl", records)
    indexes = {name: work / f"ix-{name}" for name in codes}
    rows: list[str] = []
    for name, code in codes.items():
        cpu = ingest(code, indexes[name], base, args.max_docs)
        rows.append(_row(0, name, indexes[name], cpu))
    rng = random.Random(args.seed)
    current = {str(r["pmid"]): r for r in records}
    per_round = round(len(records) * args.share)
    for n in range(1, args.rounds + 1):
        chosen = rng.sample(sorted(current), per_round)
        for pmid in chosen:
            old = current[pmid]
            current[pmid] = {**old, "title": f"{old['title']} (revision {n})"}
        file = write(work / f"round-{n}.jsonl", [current[p] for p in chosen])
        for name, code in codes.items():
            cpu = ingest(code, indexes[name], file, args.max_docs)
            rows.append(_row(n, name, indexes[name], cpu))

    print(
        f"# {len(records):,} records, {args.rounds} rounds of {per_round:,} replaced "
        f"(merge_max_docs {args.max_docs or 'default'})"
    )
    print()
    print("| round | code | index MB | documents held | deleted | segments | ingest CPU s |")
    print("|---:|---|---:|---:|---:|---:|---:|")
    print("\n".join(rows))
    print()
    queries = HERE / "queries.txt"
    cpus: dict[str, list[float]] = {name: [] for name in codes}
    totals: dict[str, int] = {}
    for _ in range(args.repeat):
        for name, code in codes.items():
            cmd = [sys.executable, "-c", SEARCH, str(indexes[name]), str(queries)]
            usage = checked(run_usage(cmd, env=env_for(code)), "search")
            found = json.loads(usage.stdout.strip().splitlines()[-1])
            cpus[name].append(found["cpu"])
            totals[name] = found["total"]
    print("| code | 100 queries, CPU s (each run) | median | records counted |")
    print("|---|---|---:|---:|")
    for name in codes:
        runs = ", ".join(f"{c:.2f}" for c in cpus[name])
        print(f"| {name} | {runs} | {statistics.median(cpus[name]):.2f} | {totals[name]:,} |")
    print()
    print(
        "| code | same top 10 as written at once (of 100) | same count | largest score difference |"
    )
    print("|---|---:|---:|---:|")
    for name, code in codes.items():
        fresh = work / f"fresh-{name}"
        shutil.rmtree(fresh, ignore_errors=True)
        cmd = [sys.executable, "-c", AGAINST_FRESH, str(indexes[name]), str(queries), str(fresh)]
        usage = checked(run_usage(cmd, env=env_for(code)), "against fresh")
        found = json.loads(usage.stdout.strip().splitlines()[-1])
        print(f"| {name} | {found['order']} | {found['total']} | {found['worst']:.2%} |")
    return 0


def _row(n: int, name: str, index: Path, cpu: float) -> str:
    held, deleted, segments = layout(index)
    size = dir_size(index) / 1e6
    return f"| {n} | {name} | {size:.1f} | {held:,} | {deleted:,} | {segments} | {cpu:.1f} |"


if __name__ == "__main__":
    sys.exit(main())
