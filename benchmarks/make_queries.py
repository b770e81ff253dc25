"""Writes benchmarks/queries.txt: 200 fixed, realistic queries made from SciFact's
claims (train queries): 2-4 content words, every third a quoted phrase of two
adjacent words, every fifth with PubMed field tags ([ti], [tiab], [mh]).

    python benchmarks/make_queries.py     # rewrites queries.txt deterministically
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from paths import shared_data_dir

from searchkit.analysis.analyzer import stopwords

_WORD = re.compile(r"[A-Za-z][A-Za-z0-9-]{3,}")
TAGS = ("[ti]", "[tiab]", "[mh]")


def make(count: int = 200) -> list[str]:
    stop = stopwords()
    queries: list[str] = []
    path = shared_data_dir() / "beir" / "scifact" / "queries.jsonl"
    with path.open(encoding="utf-8") as f:
        claims = [json.loads(line)["text"] for line in f if line.strip()]
    for n, claim in enumerate(claims):
        words = [w for w in _WORD.findall(claim) if w.lower() not in stop]
        if len(words) < 2:
            continue
        size = 2 + n % 3  # 2, 3 or 4 terms
        chosen = words[:size]
        i = len(queries)
        if i % 3 == 2:
            chosen = [f'"{chosen[0]} {chosen[1]}"', *chosen[2:]]
        if i % 5 == 4:
            chosen = [f"{chosen[0]}{TAGS[i % len(TAGS)]}", *chosen[1:]]
        queries.append(" ".join(chosen))
        if len(queries) == count:
            break
    return queries


if __name__ == "__main__":
    out = Path(__file__).with_name("queries.txt")
    out.write_text("\n".join(make()) + "\n", encoding="utf-8")
    print(out)
