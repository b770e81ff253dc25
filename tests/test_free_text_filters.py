"""Free text combined with a field tag (``immune response AND virus[tiab]``), a
``NOT`` or a filter (``--year``): the proximity bonus goes to the best of the records
that can match, not to the best of the whole index, which the tag, ``NOT`` or filter
may all leave out (then no record shown got it). A record's score is the one it gets
when every record gets the bonus."""

from __future__ import annotations

import json
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest
from whoosh import query as wq

from searchkit import SearchIndex
from searchkit.engine import scoring
from searchkit.params import DEFAULT
from searchkit.query.parser import parse
from searchkit.searching import pipeline

from .cli_helpers import run
from .test_cli import _searchkit_exe

#: The bonus for every record: the scores the best records must have.
EVERY = replace(DEFAULT, proximity_depth=100_000)
#: No bonus at all: shows that the bonus changes the scores compared.
NONE = replace(DEFAULT, proximity_depth=0)
#: Free text with two words next to each other in some records, and a tag that
#: leaves out the records where they are nearest in the whole of data/.
TAGGED = [
    "immune response AND virus[tiab]",
    "stem cells AND 2015[dp]",
    "cell death AND mitochondria[tiab]",
    "cell proliferation AND 2018[dp]",
]


def _scores(index: SearchIndex, text: str, params: object) -> dict[int, float]:
    q, _ = pipeline.compile_query(index, parse(text), DEFAULT)
    with index.searcher() as searcher:
        return scoring.evaluate(searcher, q, params).as_dict()  # type: ignore[arg-type]


def test_tagged_records_get_the_bonus(sample_index_dir: Path) -> None:
    """With a bonus for the 3 best records (per segment), records matching the tag get
    it: each score is with the bonus or without it, and some are with it."""
    index = SearchIndex.open(sample_index_dir)
    shallow = replace(DEFAULT, proximity_depth=3)
    for text in TAGGED:
        got = _scores(index, text, shallow)
        every = _scores(index, text, EVERY)
        none = _scores(index, text, NONE)
        assert got.keys() == every.keys() == none.keys(), text
        assert all(got[d] in (every[d], none[d]) for d in got), text
        with_bonus = [d for d in got if got[d] == every[d] != none[d]]
        assert 1 <= len(with_bonus) <= 3 * int(index.stats()["segments"]), text


def test_records_a_not_keeps_get_the_bonus(sample_index_dir: Path) -> None:
    """``NOT immune[ti]`` removes the records where the words are nearest: with a bonus
    for the 5 best records (per segment), the best records it keeps get it."""
    index = SearchIndex.open(sample_index_dir)
    shallow = replace(DEFAULT, proximity_depth=5)
    for text in ("immune response NOT immune[ti]", "stem cells NOT stem[ti]"):
        got = _scores(index, text, shallow)
        every = _scores(index, text, EVERY)
        none = _scores(index, text, NONE)
        best = sorted(got, key=lambda d: (-got[d], d))[:3]
        assert [got[d] for d in best] == [every[d] for d in best], text
        assert all(every[d] != none[d] for d in best), f"{text}: no bonus to compare"


def _cli_scores(stdout: str) -> list[tuple[str, float]]:
    return [(h["pmid"], h["score"]) for h in json.loads(stdout)["hits"]]


def test_search_ranks_tagged_records_with_their_bonus(sample_index_dir: Path) -> None:
    """``searchkit search`` (in process and as a program): every hit's score is the one
    it gets when every record gets the bonus."""
    index = SearchIndex.open(sample_index_dir)
    text = "immune response AND virus[tiab]"
    expected = pipeline.rank(index, text, EVERY, limit=10)
    with index.searcher() as searcher:
        pmids = [searcher.stored_fields(d)["pmid"] for _, d in expected.ranked]
    want = [
        (pmid, round(score, 6)) for pmid, (score, _) in zip(pmids, expected.ranked, strict=True)
    ]
    assert want

    result = run(sample_index_dir, "search", text, "--format", "json")
    assert result.exit_code == 0, result.stderr
    assert _cli_scores(result.stdout) == want

    done = subprocess.run(
        [_searchkit_exe(), "search", text, "--format", "json", "--index", str(sample_index_dir)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert _cli_scores(done.stdout) == want


@pytest.mark.parametrize("limit", ["all", "10"])
def test_a_year_filter_ranks_as_the_same_year_tag(sample_index_dir: Path, limit: str) -> None:
    """``--year 2015`` and ``AND 2015[dp]`` rank the same records in the same order,
    every match scored or the first ten pruned. The date adds one constant to every
    score of the tag's query; the second stage's bonus, in units of the best score,
    took it in, so the two differed wherever bonuses were close (at a second-stage
    weight of 1, "stem cells" 2015 swapped its 16th and 17th records)."""
    for text, year in (("stem cells", "2015"), ("cell proliferation", "2018")):
        by_filter = run(sample_index_dir, "search", text, "--year", year, "-f", "pmid", "-n", limit)
        by_tag = run(
            sample_index_dir, "search", f"{text} AND {year}[dp]", "-f", "pmid", "-n", limit
        )
        assert by_filter.exit_code == 0 and by_tag.exit_code == 0
        assert by_filter.stdout.split() == by_tag.stdout.split()
        assert len(by_filter.stdout.split()) >= 8


def test_a_tagged_compound_scores_its_bare_word_only_where_the_tag_matches(
    sample_index_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``T-cell receptor AND signaling[tiab]``: the free text is scored only for the
    records the tag keeps, the hyphenated compound part by part, so its common bare
    word (``cell``) is looked up there rather than scored over all its postings; the
    scores are bitwise those of scoring each concept whole and keeping those records."""
    index = SearchIndex.open(sample_index_dir)
    texts = ["T-cell receptor AND signaling[tiab]", "stem-cell niche AND 2015[dp]"]
    scored: list[str] = []
    real_term = scoring.Evaluator.bm25f_term

    def spy(self: scoring.Evaluator, q: wq.Query) -> scoring.Sparse:
        scored.append(" ".join(sorted({t.text for t in q.subqueries})))
        return real_term(self, q)

    monkeypatch.setattr(scoring.Evaluator, "bm25f_term", spy)
    got = {text: _scores(index, text, DEFAULT) for text in texts}
    assert all(got.values())
    assert "cell" not in scored, scored

    def whole(self: scoring.Evaluator, q: wq.Query, docs: scoring.Ints) -> scoring.Sparse:
        ids, score = self.eval(q)
        at = scoring._positions_in(ids, docs)
        return ids[at], score[at]

    monkeypatch.setattr(scoring.Evaluator, "_at", whole)
    for text in texts:
        assert _scores(index, text, DEFAULT) == got[text], text
    assert "cell" in scored
