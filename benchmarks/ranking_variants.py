"""Ranking on SciFact train in four forms, searchkit's values against stock Whoosh in
the same run: the claims as written and as keyword queries (the ``--keywords`` rarest
content words of each claim, in its order), over the records with their titles and
without them (each title left empty: collections of plain abstracts). The judgments
are SciFact's for every form.

SciFact's claims restate their abstracts' wording and every record has a title;
collections of short keyword queries or of abstracts without titles rank differently
(RANKING-NOTES), and a value chosen on the claims alone can fit them alone. Each
``--vary FIELD=VALUE[,FIELD=VALUE]`` adds a row ranked with those values of
:class:`searchkit.params.Params` (passed, not patched), beside searchkit's defaults.

    python benchmarks/ranking_variants.py [--keywords 3] [--depth 100] \\
        [--vary rerank_weight=1.5 --vary proximity_weight=0]

The stock Whoosh rows (``StemmingAnalyzer``, BM25F defaults, title + text, OR-grouped,
as ``ranking_quality.py`` builds them) run in a child process that never imports
searchkit. nDCG@10 by ir-measures.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import re
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from paths import shared_data_dir
from ranking_quality import judged_queries, read_qrels, score, stock_whoosh_run

FORMS = [
    ("titles", "claims"),
    ("titles", "keywords"),
    ("no titles", "claims"),
    ("no titles", "keywords"),
]
_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9\-]*")


def keyword_queries(texts: dict[str, str], corpus: Path, k: int) -> dict[str, str]:
    """Each claim's ``k`` rarest content words (not a stop word of Whoosh's list, three
    characters or more, found in the corpus), in the claim's order; claims with none
    are left out."""
    from whoosh.analysis import StopFilter

    stops = set(StopFilter().stops)
    df: Counter[str] = Counter()
    with corpus.open(encoding="utf-8") as f:
        for line in f:
            doc = json.loads(line)
            df.update({w.lower() for w in _WORD.findall(f"{doc['title']} {doc['text']}")})
    out: dict[str, str] = {}
    for qid, text in texts.items():
        seen: set[str] = set()
        words: list[tuple[int, str]] = []
        for i, word in enumerate(_WORD.findall(text)):
            low = word.lower()
            if low in stops or len(low) < 3 or low in seen or not df[low]:
                continue
            seen.add(low)
            words.append((i, word))
        rarest = sorted(words, key=lambda iw: (df[iw[1].lower()], iw[0]))[:k]
        if rarest:
            out[qid] = " ".join(w for _, w in sorted(rarest))
    return out


def write_corpus(source: Path, target: Path, titles: bool) -> None:
    with source.open(encoding="utf-8") as f, target.open("w", encoding="utf-8") as out:
        for line in f:
            doc = json.loads(line)
            kept = {"_id": doc["_id"], "title": doc["title"] if titles else "", "text": doc["text"]}
            out.write(json.dumps(kept) + "\n")


def stock_rows(work: Path, depth: int) -> dict[str, float]:
    """nDCG@10 of stock Whoosh for every form (run in this child process)."""
    spec = json.loads((work / "forms.json").read_text("utf-8"))
    qrels = read_qrels(Path(spec["qrels"]))
    out: dict[str, float] = {}
    for records, queries in FORMS:
        texts = spec["queries"][queries]
        run = stock_whoosh_run(work / spec["corpora"][records], texts, depth)
        out[f"{records}/{queries}"] = score(run, {q: qrels[q] for q in texts})["nDCG@10"]
    return out


def parse_vary(text: str) -> dict[str, float | int]:
    values: dict[str, float | int] = {}
    for part in text.split(","):
        name, _, value = part.partition("=")
        values[name.strip()] = int(value) if value.strip().isdigit() else float(value)
    return values


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, help="SciFact in the BEIR layout")
    ap.add_argument("--keywords", type=int, default=3, help="words of a keyword query")
    ap.add_argument("--depth", type=int, default=100)
    ap.add_argument("--vary", action="append", default=[], help="FIELD=VALUE[,FIELD=VALUE]")
    ap.add_argument("--stock-only", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.stock_only is not None:  # the child process: no searchkit import
        print(json.dumps(stock_rows(args.stock_only, args.depth)))
        return 0

    from searchkit import SearchIndex, ingest
    from searchkit.params import DEFAULT
    from searchkit.searching.evaluation import evaluate, parse_metric

    data = args.data or shared_data_dir() / "beir" / "scifact"
    if not (data / "corpus.jsonl").is_file():
        print(f"Error: no SciFact corpus in {data}", file=sys.stderr)
        return 2
    qrels_path = data / "qrels" / "train.tsv"
    qrels = read_qrels(qrels_path)
    texts = judged_queries(data, qrels)
    queries = {
        "claims": texts,
        "keywords": keyword_queries(texts, data / "corpus.jsonl", args.keywords),
    }
    rows = [("searchkit defaults", DEFAULT)]
    rows += [(f"searchkit, {v}", dataclasses.replace(DEFAULT, **parse_vary(v))) for v in args.vary]
    metric = [parse_metric("nDCG@10")]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        corpora = {"titles": "titles.jsonl", "no titles": "no-titles.jsonl"}
        for records, name in corpora.items():
            write_corpus(data / "corpus.jsonl", work / name, records == "titles")
        spec = {"qrels": str(qrels_path), "corpora": corpora, "queries": queries}
        (work / "forms.json").write_text(json.dumps(spec), "utf-8")
        child = subprocess.run(
            [sys.executable, __file__, "--stock-only", str(work), "--depth", str(args.depth)],
            capture_output=True,
            text=True,
            check=True,
        )
        table: dict[str, dict[str, float]] = {"stock Whoosh": json.loads(child.stdout)}
        for records, name in corpora.items():
            with SearchIndex.create(work / f"ix-{name}") as ix:
                ingest([work / name], ix)
                for label, params in rows:
                    for form_records, form_queries in FORMS:
                        if form_records != records:
                            continue
                        result = evaluate(
                            ix,
                            queries[form_queries],
                            qrels,
                            metric,
                            depth=args.depth,
                            params=params,
                        )
                        value = next(iter(result.metrics.values()))
                        table.setdefault(label, {})[f"{records}/{form_queries}"] = value
    print(
        f"SciFact train, {len(texts)} claims ({len(queries['keywords'])} as keyword queries "
        f"of {args.keywords} words), nDCG@10, depth {args.depth}"
    )
    print(f"| ranking | {' | '.join(f'{r}, {q}' for r, q in FORMS)} | mean |")
    print(f"|---|{'---:|' * (len(FORMS) + 1)}")
    for label, values in table.items():
        cells = [values[f"{r}/{q}"] for r, q in FORMS]
        shown = " | ".join(f"{c:.4f}" for c in cells)
        print(f"| {label} | {shown} | {sum(cells) / len(cells):.4f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
