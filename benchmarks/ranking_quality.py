"""Ranking quality on SciFact: searchkit against stock Whoosh, in the same run.

    python benchmarks/ranking_quality.py [--data SCIFACT_DIR] [--split train]
                                         [--index DIR] [--semantic]

Ingests the corpus into a fresh searchkit index (or uses ``--index``) and ranks the
judged queries of the split with ``searchkit eval --run-out`` (the CLI, as users run
it); builds a stock Whoosh index of the same corpus in memory (``StemmingAnalyzer``,
BM25F defaults, title + text, OR-grouped ``MultifieldParser``) and ranks the same
queries. Both runs are scored here by the same ir-measures code (nDCG@10, Recall@100,
MAP, depth ``--depth``).

``--semantic`` also stores sentence vectors (``searchkit embed``; minutes) and adds a
row with the semantic re-ranking stage; the plain searchkit row never uses it.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import ir_measures
from whoosh import fields, qparser, scoring
from whoosh.analysis import StemmingAnalyzer
from whoosh.filedb.filestore import RamStorage

sys.path.insert(0, str(Path(__file__).resolve().parent))

from paths import shared_data_dir

METRICS = [ir_measures.parse_measure(m) for m in ("nDCG@10", "R@100", "AP")]
NAMES = ("nDCG@10", "Recall@100", "MAP")
Run = dict[str, dict[str, float]]


def searchkit_cmd() -> list[str]:
    exe = Path(sys.executable).parent / "searchkit"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "searchkit"]


def read_qrels(path: Path) -> dict[str, dict[str, int]]:
    """BEIR qrels TSV (``query-id corpus-id score``, with a header)."""
    qrels: dict[str, dict[str, int]] = {}
    for line in path.read_text("utf-8").splitlines()[1:]:
        if line.strip():
            qid, doc, rel = line.split("\t")[:3]
            qrels.setdefault(qid, {})[doc] = int(rel)
    return qrels


def read_run(path: Path) -> Run:
    """A TREC run file (``qid Q0 doc rank score tag``), scored by its ranks: the
    printed scores are rounded, and ir-measures would break their ties by id."""
    run: Run = {}
    for line in path.read_text("utf-8").splitlines():
        qid, _, doc, rank, *_ = line.split()
        run.setdefault(qid, {})[doc] = -float(rank)
    return run


def score(run: Run, qrels: dict[str, dict[str, int]]) -> dict[str, float]:
    means = ir_measures.calc_aggregate(METRICS, qrels, run)
    return {name: float(means[m]) for name, m in zip(NAMES, METRICS, strict=True)}


def searchkit(args: list[str]) -> None:
    result = subprocess.run([*searchkit_cmd(), *args], capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"searchkit {args[0]} failed:\n{result.stderr}")


def judged_queries(data: Path, qrels: dict[str, dict[str, int]]) -> dict[str, str]:
    """The queries of ``data`` (BEIR ``queries.jsonl``) that ``qrels`` judges, by id."""
    found: dict[str, str] = {}
    with (data / "queries.jsonl").open(encoding="utf-8") as f:
        for line in f:
            q = json.loads(line)
            if q["_id"] in qrels:
                found[q["_id"]] = q["text"]
    return found


def stock_whoosh_run(corpus: Path, queries: dict[str, str], depth: int) -> Run:
    schema = fields.Schema(
        id=fields.ID(stored=True, unique=True),
        title=fields.TEXT(analyzer=StemmingAnalyzer()),
        text=fields.TEXT(analyzer=StemmingAnalyzer()),
    )
    ix = RamStorage().create_index(schema)
    writer = ix.writer()
    with corpus.open(encoding="utf-8") as f:
        for line in f:
            doc = json.loads(line)
            writer.add_document(id=doc["_id"], title=doc.get("title", ""), text=doc["text"])
    writer.commit()
    parser = qparser.MultifieldParser(["title", "text"], schema, group=qparser.OrGroup)
    run: Run = {}
    with ix.searcher(weighting=scoring.BM25F()) as searcher:
        for qid, text in queries.items():
            hits = searcher.search(parser.parse(text), limit=depth)
            run[qid] = {hit["id"]: float(hit.score or 0.0) for hit in hits}
    return run


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, help="SciFact in the BEIR layout")
    ap.add_argument("--split", default="train")
    ap.add_argument("--index", type=Path, help="an existing searchkit index of the corpus")
    ap.add_argument("--depth", type=int, default=1000)
    ap.add_argument("--no-stock", action="store_true", help="skip the stock Whoosh run")
    ap.add_argument(
        "--semantic", action="store_true", help="also measure with sentence vectors (embed)"
    )
    args = ap.parse_args()
    data = args.data or shared_data_dir() / "beir" / "scifact"
    if not (data / "corpus.jsonl").is_file():
        print(f"Error: no SciFact corpus in {data}", file=sys.stderr)
        return 2
    qrels_path = data / "qrels" / f"{args.split}.tsv"
    qrels = read_qrels(qrels_path)
    queries = judged_queries(data, qrels)

    rows: list[tuple[str, dict[str, float], float]] = []
    with tempfile.TemporaryDirectory() as tmp:
        index = args.index or Path(tmp) / "index"
        if args.index is None:
            t0 = time.perf_counter()
            searchkit(["ingest", str(data / "corpus.jsonl"), "--index", str(index)])
            print(f"ingest: {time.perf_counter() - t0:.1f} s", file=sys.stderr)
        judged = Path(tmp) / "queries.jsonl"
        judged.write_text(
            "".join(json.dumps({"_id": k, "text": v}) + "\n" for k, v in queries.items()),
            "utf-8",
        )
        systems = [("searchkit", "--no-semantic")]
        if args.semantic:
            t0 = time.perf_counter()
            searchkit(["embed", "--index", str(index)])
            print(f"embed: {time.perf_counter() - t0:.0f} s", file=sys.stderr)
            systems.append(("searchkit + semantic", "--semantic"))
        for name, flag in systems:
            run_file = Path(tmp) / "run.txt"
            t0 = time.perf_counter()
            searchkit(
                [
                    "eval",
                    "--index",
                    str(index),
                    "--queries",
                    str(judged),
                    "--qrels",
                    str(qrels_path),
                    "--depth",
                    str(args.depth),
                    "--run-out",
                    str(run_file),
                    flag,
                ]
            )
            rows.append((name, score(read_run(run_file), qrels), time.perf_counter() - t0))
    if not args.no_stock:
        t0 = time.perf_counter()
        run = stock_whoosh_run(data / "corpus.jsonl", queries, args.depth)
        rows.append(("stock Whoosh", score(run, qrels), time.perf_counter() - t0))

    print(f"SciFact {args.split}: {len(queries)} judged queries, depth {args.depth}")
    print(f"| system | {' | '.join(NAMES)} | seconds |")
    print(f"|---|{'---|' * len(NAMES)}---|")
    for system, values, seconds in rows:
        cells = " | ".join(f"{values[n]:.4f}" for n in NAMES)
        print(f"| {system} | {cells} | {seconds:.0f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
