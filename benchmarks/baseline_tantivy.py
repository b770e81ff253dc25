"""tantivy baseline (the Rust engine's Python bindings, ``pip install -e ".[bench]"``):
JSON Lines records → a tantivy index with English stemming, one writer thread, one
commit, the id, title and abstract stored. Run as a whole process:

    python benchmarks/baseline_tantivy.py records.jsonl INDEX_DIR [--threads 1]

Reads searchkit records (``pmid``, ``title``, ``abstract``) or BEIR lines (``_id``,
``title``, ``text``).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import tantivy

HEAP_BYTES = 128_000_000  # tantivy's default writer budget


def schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    builder.add_text_field("pmid", stored=True, tokenizer_name="raw")
    builder.add_text_field("title", stored=True, tokenizer_name="en_stem")
    builder.add_text_field("abstract", stored=True, tokenizer_name="en_stem")
    return builder.build()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("corpus", type=Path)
    ap.add_argument("index", type=Path)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    args.index.mkdir(parents=True, exist_ok=True)
    index = tantivy.Index(schema(), path=str(args.index))
    writer = index.writer(heap_size=HEAP_BYTES * args.threads, num_threads=args.threads)
    count = 0
    with args.corpus.open(encoding="utf-8") as f:
        for line in f:
            doc = json.loads(line)
            writer.add_document(
                tantivy.Document(
                    pmid=doc.get("pmid") or doc["_id"],
                    title=doc.get("title") or "",
                    abstract=doc.get("abstract") or doc.get("text") or "",
                )
            )
            count += 1
    writer.commit()
    writer.wait_merging_threads()
    print(count, file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
