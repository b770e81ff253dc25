"""Ranking parity: SciFact nDCG@10 through a SolrCloud collection vs the local index.

    python benchmarks/solr_parity.py [--data SCIFACT_DIR] [--split train]
                                     [--solr solr://HOST:PORT/solr/COLLECTION]
                                     [--local DIR] [--depth 1000] [--latency]
                                     [--solr-only] [--semantic]

Ingests the corpus into a fresh local index (or uses ``--local``) and into a Solr
collection made by ``searchkit solr init`` (``--solr``: an existing cluster, credentials
from the environment; without it, the tests' 2-node cluster is built and started from
tests/solr and stopped at the end), then ranks the judged queries of the split on both
with ``searchkit eval --run-out`` (words only) and scores both runs with the same
ir-measures code. Prints ingest and eval seconds and the metrics of both; ``--latency``
also the p50/p95 of the fixed queries of ``queries.txt`` on both (query_latency.py's
set, top 10 with snippets, through the backend the CLI uses). ``--semantic`` then runs
``searchkit embed`` on the collection (timed) and ranks the queries again with the
semantic stage (``eval --semantic``: the top 100 re-ranked by meaning).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from paths import repo_root, shared_data_dir
from ranking_quality import read_qrels, read_run, score, searchkit_cmd


def run_searchkit(args: list[str], env: dict[str, str]) -> float:
    """Run a searchkit command; its wall-clock seconds."""
    t0 = time.perf_counter()
    done = subprocess.run([*searchkit_cmd(), *args], capture_output=True, text=True, env=env)
    if done.returncode != 0:
        raise SystemExit(f"searchkit {args[0]} failed:\n{done.stderr}")
    return time.perf_counter() - t0


def measure(
    index: str,
    corpus: Path,
    judged: Path,
    qrels: Path,
    depth: int,
    tmp: Path,
    env: dict[str, str],
    ingest: bool,
    semantic: bool = False,
) -> tuple[dict[str, float], float, float]:
    ingest_s = run_searchkit(["ingest", str(corpus), "--index", index], env) if ingest else 0.0
    run_file = tmp / f"run-{abs(hash(index))}-{semantic}.txt"
    eval_s = run_searchkit(
        ["eval", "--index", index, "--queries", str(judged), "--qrels", str(qrels),
         "--depth", str(depth), "--run-out", str(run_file),
         "--semantic" if semantic else "--no-semantic"],
        env,
    )  # fmt: skip
    return score(read_run(run_file), read_qrels(qrels)), ingest_s, eval_s


def query_latency(index: str, env: dict[str, str]) -> tuple[float, float]:
    """p50 and p95 milliseconds of the 200 fixed queries of queries.txt (top 10 with
    snippets, through the backend the CLI uses, in this process, after 20 warm-up
    queries)."""
    from query_latency import WARM_UP, pct, queries

    from searchkit.solr.backends import open_backend

    saved = dict(os.environ)
    os.environ.update(env)
    try:
        backend = open_backend(index)
        qs = queries()
        times = []
        for n, q in enumerate([*qs[:WARM_UP], *qs]):
            t0 = time.perf_counter()
            backend.search(
                q, limit=10, offset=0, filters=None, sort="relevance", with_snippets=True,
                expand=False, semantic_rank=False, refs={}, partial=True, meaning=None,
            )  # fmt: skip
            if n >= WARM_UP:
                times.append((time.perf_counter() - t0) * 1000)
        backend.close()
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return pct(times, 50), pct(times, 95)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, help="SciFact in the BEIR layout")
    ap.add_argument("--split", default="train")
    ap.add_argument("--solr", help="an existing collection address (it is created)")
    ap.add_argument("--local", type=Path, help="an existing local index of the corpus")
    ap.add_argument("--depth", type=int, default=1000)
    ap.add_argument("--solr-only", action="store_true", help="measure the collection only")
    ap.add_argument(
        "--latency", action="store_true", help="also time queries.txt on both (p50, p95)"
    )
    ap.add_argument(
        "--semantic",
        action="store_true",
        help="then embed the collection and rank again with the semantic stage",
    )
    args = ap.parse_args()
    data = args.data or shared_data_dir() / "beir" / "scifact"
    if not (data / "corpus.jsonl").is_file():
        print(f"Error: no SciFact corpus in {data}", file=sys.stderr)
        return 2
    qrels = data / "qrels" / f"{args.split}.tsv"
    wanted = read_qrels(qrels)
    env = dict(os.environ)
    cluster = None
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        judged = tmp / "queries.jsonl"
        queries = 0
        with (data / "queries.jsonl").open(encoding="utf-8") as f, judged.open("w") as out:
            for line in f:
                if json.loads(line)["_id"] in wanted:
                    out.write(line)
                    queries += 1
        try:
            if args.solr is None:
                sys.path.insert(0, str(repo_root()))
                from tests.solr import cluster as test_cluster

                t0 = time.perf_counter()
                cluster = test_cluster.start(tmp)
                print(f"test cluster started in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
                env.update(cluster.env())
                solr = cluster.url("scifact")
            else:
                solr = args.solr
            run_searchkit(["solr", "init", solr, "--shards", "2"], env)
            rows = []
            local = str(args.local or tmp / "local")
            if not args.solr_only:
                rows.append(
                    (
                        "local",
                        *measure(
                            local,
                            data / "corpus.jsonl",
                            judged,
                            qrels,
                            args.depth,
                            tmp,
                            env,
                            args.local is None,
                        ),
                    )
                )
            rows.append(
                (
                    "solr (2 shards)",
                    *measure(
                        solr, data / "corpus.jsonl", judged, qrels, args.depth, tmp, env, True
                    ),
                )
            )
            if args.semantic:
                embed_s = run_searchkit(["embed", "--index", solr], env)
                print(f"embed of the collection: {embed_s:.1f} s", file=sys.stderr)
                rows.append(
                    (
                        "solr (2 shards) + semantic",
                        *measure(
                            solr, data / "corpus.jsonl", judged, qrels, args.depth, tmp, env,
                            False, semantic=True,
                        ),
                    )
                )  # fmt: skip
            if args.latency:
                indexes = [("solr (2 shards)", solr)]
                if not args.solr_only:
                    indexes.insert(0, ("local", local))
                latency = [(name, *query_latency(index, env)) for name, index in indexes]
        finally:
            if cluster is not None:
                cluster.shutdown()
    print(f"SciFact {args.split}: {queries} judged queries, depth {args.depth}")
    print("| index | nDCG@10 | Recall@100 | MAP | ingest s | eval s |")
    print("|---|---|---|---|---|---|")
    for name, metrics, ingest_s, eval_s in rows:
        print(
            f"| {name} | {metrics['nDCG@10']:.4f} | {metrics['Recall@100']:.4f} | "
            f"{metrics['MAP']:.4f} | {ingest_s:.1f} | {eval_s:.1f} |"
        )
    if args.latency:
        print("\n| index | p50 ms | p95 ms |  (queries.txt: 200 queries, top 10, snippets)")
        print("|---|---|---|")
        for name, p50, p95 in latency:
            print(f"| {name} | {p50:.1f} | {p95:.1f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
