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
  median and 90th percentile, in milliseconds.

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

from searchkit import SearchIndex, ingest
from searchkit.embed import embed
from searchkit.evaluation import DEFAULT_METRICS, evaluate, parse_metric, read_qrels
from searchkit.semantic import store_encoder
from searchkit.vectors import VectorStore

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "beir" / "scifact"


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--split", default="train")
    ap.add_argument("--model", type=Path, help="a model folder (default: the packaged model)")
    ap.add_argument("--procs", type=int, default=None, help="encoder threads (embed --procs)")
    ap.add_argument("--label", default="packaged model")
    args = ap.parse_args()
    metrics = [parse_metric(m) for m in DEFAULT_METRICS]
    qrels = read_qrels(args.data / "qrels" / f"{args.split}.tsv")
    queries: dict[str, str] = {}
    with (args.data / "queries.jsonl").open(encoding="utf-8") as f:
        for line in f:
            q = json.loads(line)
            if q["_id"] in qrels:
                queries[q["_id"]] = q["text"]
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
        texts = list(queries.values())
        encoder.encode(texts[:1])
        times = []
        for text in texts:
            t0 = time.perf_counter()
            encoder.encode([text])
            times.append((time.perf_counter() - t0) * 1000)
        times.sort()
        median, p90 = statistics.median(times), times[int(0.9 * (len(times) - 1))]
        result = evaluate(index, queries, qrels, metrics, depth=1000, semantic_rank=True)
    m = result.metrics
    names = [x.name for x in metrics]
    print(
        f"SciFact {args.split}: {len(queries)} judged queries; "
        + ", ".join(f"{n} {m[n]:.4f}" for n in names)
    )
    print(f"query encode: median {median:.1f} ms, p90 {p90:.1f} ms")
    print(
        f"| {args.label} | {m[names[0]]:.4f} | {per_cpu:.1f} | {per_wall:.1f} | "
        f"{median:.1f} / {p90:.1f} |"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
