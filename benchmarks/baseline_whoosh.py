"""Stock Whoosh baseline: JSON Lines records → a Whoosh index with StemmingAnalyzer,
one writer, one commit, the id, title and abstract stored. Run as a whole process:

    python benchmarks/baseline_whoosh.py records.jsonl INDEX_DIR

Reads searchkit records (``pmid``, ``title``, ``abstract``) or BEIR lines (``_id``,
``title``, ``text``).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from whoosh import index
from whoosh.analysis import StemmingAnalyzer
from whoosh.fields import ID, TEXT, Schema


def main(corpus: Path, index_dir: Path) -> int:
    analyzer = StemmingAnalyzer()
    schema = Schema(
        pmid=ID(stored=True, unique=True),
        title=TEXT(analyzer=analyzer, stored=True),
        abstract=TEXT(analyzer=analyzer, stored=True),
    )
    index_dir.mkdir(parents=True, exist_ok=True)
    ix = index.create_in(str(index_dir), schema)
    writer = ix.writer()
    count = 0
    with corpus.open(encoding="utf-8") as f:
        for line in f:
            doc = json.loads(line)
            writer.add_document(
                pmid=doc.get("pmid") or doc["_id"],
                title=doc.get("title") or "",
                abstract=doc.get("abstract") or doc.get("text") or "",
            )
            count += 1
    writer.commit()
    print(count, file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]), Path(sys.argv[2])))
