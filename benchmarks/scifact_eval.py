"""SciFact ranking benchmark: searchkit vs stock Whoosh, in the same run.

    python benchmarks/scifact_eval.py [--data ../shared/data/beir/scifact] [--split train]
                                      [--index DIR] [--semantic]

Ingests the corpus into a fresh searchkit index (or uses ``--index``), builds a stock
Whoosh index of the same corpus (``StemmingAnalyzer``, BM25F defaults, title + text,
OR-grouped ``MultifieldParser``) and measures both on the judged queries of the split
with the same metric code (``searchkit.searching.evaluation.score_run``, i.e. ir-measures).

``--semantic`` also stores sentence vectors (``searchkit embed``; slow: minutes) and
adds a row with the semantic re-ranking stage; the plain searchkit row never uses it.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from whoosh import fields, qparser, scoring
from whoosh.analysis import StemmingAnalyzer
from whoosh.filedb.filestore import RamStorage

from searchkit import SearchIndex, ingest
from searchkit.searching.evaluation import (
    DEFAULT_METRICS,
    evaluate,
    parse_metric,
    read_qrels,
    score_run,
)
from searchkit.semantic.embed import embed

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "beir" / "scifact"


def stock_whoosh_run(
    corpus: Path, queries: dict[str, str], depth: int
) -> dict[str, list[tuple[str, float]]]:
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
    run: dict[str, list[tuple[str, float]]] = {}
    with ix.searcher(weighting=scoring.BM25F()) as searcher:
        for qid, text in queries.items():
            q = parser.parse(text)
            hits = searcher.search(q, limit=depth)
            pairs = [(hit["id"], float(hit.score or 0.0)) for hit in hits]
            run[qid] = sorted(pairs, key=lambda p: (-p[1], p[0]))
    return run


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--split", default="train")
    ap.add_argument("--index", type=Path, help="an existing searchkit index of the corpus")
    ap.add_argument("--depth", type=int, default=1000)
    ap.add_argument("--no-stock", action="store_true", help="skip the stock Whoosh run")
    ap.add_argument(
        "--semantic", action="store_true", help="also measure with sentence vectors (embed)"
    )
    args = ap.parse_args()
    if not (args.data / "corpus.jsonl").is_file():
        print(f"no SciFact data at {args.data}", file=sys.stderr)
        return 2
    metrics = [parse_metric(m) for m in DEFAULT_METRICS]
    qrels = read_qrels(args.data / "qrels" / f"{args.split}.tsv")
    all_queries = {}
    with (args.data / "queries.jsonl").open(encoding="utf-8") as f:
        for line in f:
            q = json.loads(line)
            all_queries[q["_id"]] = q["text"]
    queries = {qid: text for qid, text in all_queries.items() if qid in qrels}

    rows: list[tuple[str, dict[str, float], float]] = []
    with tempfile.TemporaryDirectory() as tmp:
        index_dir = args.index or Path(tmp) / "index"
        if args.index is None:
            t0 = time.perf_counter()
            ingest([args.data / "corpus.jsonl"], SearchIndex.create(index_dir))
            print(f"ingest: {time.perf_counter() - t0:.1f} s", file=sys.stderr)
        t0 = time.perf_counter()
        index = SearchIndex.open(index_dir)
        result = evaluate(index, queries, qrels, metrics, depth=args.depth, semantic_rank=False)
        rows.append(("searchkit", result.metrics, time.perf_counter() - t0))
        if args.semantic:
            report = embed(index)
            print(
                f"embed: {report.encoded} encoded in {report.seconds:.0f} s "
                f"({report.encoded / max(report.seconds, 1e-9):.1f}/s), {report.current} current",
                file=sys.stderr,
            )
            t0 = time.perf_counter()
            result = evaluate(index, queries, qrels, metrics, depth=args.depth, semantic_rank=True)
            rows.append(("searchkit + semantic", result.metrics, time.perf_counter() - t0))
    if not args.no_stock:
        t0 = time.perf_counter()
        run = stock_whoosh_run(args.data / "corpus.jsonl", queries, args.depth)
        means, _ = score_run(run, qrels, metrics)
        rows.append(("stock Whoosh", means, time.perf_counter() - t0))

    names = [m.name for m in metrics]
    print(f"SciFact {args.split}: {len(queries)} judged queries, depth {args.depth}")
    print(f"| system | {' | '.join(names)} | seconds |")
    print(f"|---|{'---|' * len(names)}---|")
    for system, values, seconds in rows:
        cells = " | ".join(f"{values[n]:.4f}" for n in names)
        print(f"| {system} | {cells} | {seconds:.0f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
