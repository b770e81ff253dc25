"""Sentence-encoder comparison on SciFact: ranking quality, encoding rate, query latency.

    python benchmarks/encoder_compare.py [--data ../shared/data/beir/scifact] [--split train]
                                         [--model DIR] [--procs N] [--label NAME]

Ingests the corpus into a fresh index, runs ``embed`` with the given model (default: the
packaged one) and reports:

- nDCG@10 (and Recall@100, MAP) of the split with the semantic stage, depth 1000;
- records encoded per CPU-second of this process (user + system time of all its
  threads, so the figure does not depend on how busy the shared machine was) and per
  wall-clock second;
- query encode latency: each of the split's queries encoded alone (after one warm-up),
  median and 90th percentile in milliseconds of wall-clock time and of CPU time (the
  latter is what a query costs on a machine that others share).

``--sample N`` measures only the encoding rate (the first N abstracts of the corpus,
encoded with the packaged model, ``--procs`` threads) and the query latency, without an
index: minutes instead of the hour a full ``embed`` takes on a shared machine. It also
runs on checkouts from before the ONNX encoder, for the baseline.

The last line is one Markdown table row for BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from searchkit import SearchIndex, ingest
from searchkit.searching.evaluation import DEFAULT_METRICS, evaluate, parse_metric, read_qrels
from searchkit.semantic.embed import embed
from searchkit.semantic.models import store_encoder
from searchkit.semantic.vectors import VectorStore, embed_text

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "beir" / "scifact"


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def load_default_encoder(threads: int) -> Any:
    """The packaged model's encoder, through whichever API this checkout has (before
    the ONNX encoder, the thread count is OpenBLAS's: OPENBLAS_NUM_THREADS)."""
    from searchkit.semantic import stage as semantic

    if hasattr(semantic, "model_spec"):
        return semantic.load_encoder(semantic.model_spec(), threads=threads)[0]
    return semantic.load_encoder(semantic.model_dir(), packaged=True)  # type: ignore[attr-defined]


def query_latency(encoder: Any, texts: list[str]) -> tuple[float, float, float, float]:
    """Median and 90th percentile of wall-clock and CPU milliseconds per query."""
    encoder.encode(texts[:1])
    wall, cpu = [], []
    for text in texts:
        c0, t0 = time.process_time(), time.perf_counter()
        encoder.encode([text])
        wall.append((time.perf_counter() - t0) * 1000)
        cpu.append((time.process_time() - c0) * 1000)
    wall.sort()
    cpu.sort()
    p90 = int(0.9 * (len(texts) - 1))
    return statistics.median(wall), wall[p90], statistics.median(cpu), cpu[p90]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--split", default="train")
    ap.add_argument("--model", type=Path, help="a model folder (default: the packaged model)")
    ap.add_argument("--procs", type=int, default=None, help="encoder threads (embed --procs)")
    ap.add_argument("--label", default="packaged model")
    ap.add_argument("--sample", type=int, help="only the rate on N abstracts and the latency")
    args = ap.parse_args()
    metrics = [parse_metric(m) for m in DEFAULT_METRICS]
    qrels = read_qrels(args.data / "qrels" / f"{args.split}.tsv")
    queries: dict[str, str] = {}
    with (args.data / "queries.jsonl").open(encoding="utf-8") as f:
        for line in f:
            q = json.loads(line)
            if q["_id"] in qrels:
                queries[q["_id"]] = q["text"]
    if args.sample:
        encoder = load_default_encoder(args.procs or 1)
        texts = []
        with (args.data / "corpus.jsonl").open(encoding="utf-8") as f:
            for line in f:
                doc = json.loads(line)
                texts.append(embed_text(doc.get("title"), doc.get("text")))
                if len(texts) == args.sample:
                    break
        encoder.encode(texts[:8])
        cpu0, wall0 = cpu_seconds(), time.perf_counter()
        encoder.encode(texts)
        cpu, wall = cpu_seconds() - cpu0, time.perf_counter() - wall0
        lat = query_latency(encoder, list(queries.values()))
        print(
            f"| {args.label} | {len(texts) / cpu:.1f} | {len(texts) / wall:.1f} | "
            f"{lat[2]:.1f} / {lat[3]:.1f} | {lat[0]:.1f} / {lat[1]:.1f} |"
        )
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        index_dir = Path(tmp) / "index"
        ingest([args.data / "corpus.jsonl"], SearchIndex.create(index_dir))
        index = SearchIndex.open(index_dir)
        kwargs = {} if args.procs is None else {"threads": args.procs}
        cpu0, wall0 = cpu_seconds(), time.perf_counter()
        report = embed(index, args.model, **kwargs)  # type: ignore[arg-type]
        cpu, wall = cpu_seconds() - cpu0, time.perf_counter() - wall0
        per_cpu, per_wall = report.encoded / cpu, report.encoded / wall
        print(
            f"embed: {report.encoded} records in {wall:.1f} s wall, {cpu:.1f} CPU-s: "
            f"{per_cpu:.1f} per CPU-second, {per_wall:.1f} per second",
            file=sys.stderr,
        )
        encoder = store_encoder(VectorStore(index_dir))
        wall, wall90, cpu, cpu90 = query_latency(encoder, list(queries.values()))
        result = evaluate(index, queries, qrels, metrics, depth=1000, semantic_rank=True)
    m = result.metrics
    names = [x.name for x in metrics]
    print(
        f"SciFact {args.split}: {len(queries)} judged queries; "
        + ", ".join(f"{n} {m[n]:.4f}" for n in names)
    )
    print(
        f"query encode: wall median {wall:.1f} ms (p90 {wall90:.1f}), CPU {cpu:.1f} ({cpu90:.1f})"
    )
    print(
        f"| {args.label} | {m[names[0]]:.4f} | {per_cpu:.1f} | {per_wall:.1f} | "
        f"{cpu:.1f} / {cpu90:.1f} | {wall:.1f} / {wall90:.1f} |"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
