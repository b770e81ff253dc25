"""Proximity searches (``"a b"~N``) matched at positions in arrays
(:mod:`searchkit.engine.near`): the same documents and the same scores as Whoosh's span
matcher (``SpanNear2``) that evaluated them before, on real records of data/ in several
segments with deleted documents."""

from __future__ import annotations

import random
import re
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner
from whoosh import query as wq
from whoosh.query.spans import SpanNear2

from searchkit import SearchIndex
from searchkit.engine import scoring
from searchkit.engine.near import NearTerms, near_docs
from searchkit.engine.nodes import weighting
from searchkit.errors import QueryError
from searchkit.params import DEFAULT
from searchkit.query.parser import parse
from searchkit.searching import pipeline

from .cli_helpers import run
from .conftest import SMALL_SUBSET, segmented_index

runner = CliRunner()


@pytest.fixture(scope="module")
def near_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Real records of data/ in two segments, some deleted."""
    path = tmp_path_factory.mktemp("near") / "ix"
    return segmented_index(path, [SMALL_SUBSET[::2], SMALL_SUBSET[1::2]], 13)


def _as_span_near(q: wq.Query) -> wq.Query:
    """``q`` with each :class:`NearTerms` replaced by the Whoosh query it stands for."""
    if isinstance(q, NearTerms):
        return SpanNear2(list(q.qs), slop=q.slop, ordered=False)
    return q.apply(_as_span_near) if q.children() else q


def _queries(index: SearchIndex, n: int) -> list[str]:
    """``"a b"~N`` searches made of words of the records' titles: neighbours in
    either order, words a few apart (stop words between), three words, hyphenated
    compounds, with and without a field tag."""
    rng = random.Random(20)
    with index.searcher() as searcher:
        titles = [str(f.get("title") or "") for f in searcher.all_stored_fields()]
    out = ['"tumor escape"~5', '"escape tumor"[tiab:~1]', '"immune cells"[ti:~3]']
    words = [re.findall(r"[A-Za-z][\w-]*", t) for t in titles]
    words = [w for w in words if len(w) >= 4]
    hyphenated = [t for w in words for t in w if "-" in t]
    assert hyphenated
    while len(out) < n:
        w = rng.choice(words)
        i = rng.randrange(len(w) - 3)
        kind = rng.randrange(5)
        if kind == 0:
            chosen = [w[i], w[i + 1]]
        elif kind == 1:
            chosen = [w[i + 2], w[i]]  # reversed, one word between (often a stop word)
        elif kind == 2:
            chosen = [w[i], w[i + 1], w[i + 3]]
        elif kind == 3:
            chosen = [rng.choice(hyphenated), w[i]]
        else:
            chosen = [w[i + 1], w[i + 3], w[i]]
        tag = rng.choice(["", "[tiab:~{}]", "[ti:~{}]", "~{}"])
        near = rng.choice([1, 2, 3, 5, 8])
        phrase = '"' + " ".join(chosen) + '"'
        out.append(phrase + (tag.format(near) if tag else f"~{near}"))
    return out


def test_same_documents_and_scores_as_the_span_matcher(near_index: Path) -> None:
    index = SearchIndex.open(near_index)
    searcher = index.shared_searcher(weighting(DEFAULT))
    assert len(searcher.leaf_searchers()) > 1
    matched = 0
    for text in _queries(index, 120):
        try:
            q, _ = pipeline.compile_query(index, parse(text), DEFAULT)
        except QueryError:  # only stop words
            continue
        old_q = _as_span_near(q)
        assert old_q != q or "NearTerms" not in repr(q)
        assert "NearTerms" not in repr(old_q)
        new = scoring.evaluate(searcher, q, DEFAULT)
        old = scoring.evaluate(searcher, old_q, DEFAULT)
        assert new.docnums.tolist() == old.docnums.tolist(), text
        assert new.scores.tolist() == old.scores.tolist(), text  # bitwise
        matched += bool(len(new))
    assert matched > 40


def test_the_span_matcher_is_not_called(near_index: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    index = SearchIndex.open(near_index)
    searcher = index.shared_searcher(weighting(DEFAULT))
    q, _ = pipeline.compile_query(index, parse('"tumor escape"~5 immune'), DEFAULT)
    expected = scoring.evaluate(searcher, q, DEFAULT)
    assert len(expected)

    def refused(*_: object, **__: object) -> None:
        raise AssertionError("span matcher used")

    monkeypatch.setattr(SpanNear2, "matcher", refused)
    assert scoring.evaluate(searcher, q, DEFAULT).as_dict() == expected.as_dict()


def _span_near_docs(positions: list[dict[int, list[int]]], slop: int) -> list[int]:
    """What ``SpanNear2(ordered=False)`` matches, by its own span joining."""
    from whoosh.query.spans import Span

    out = []
    for doc in sorted(set.intersection(*(set(p) for p in positions))):
        spans = {Span(p) for p in positions[0][doc]}
        for word in positions[1:]:
            spans = {
                a.to(Span(p))
                for a in spans
                for p in word[doc]
                if 1 <= a.distance_to(Span(p)) <= slop
            }
        if spans:
            out.append(doc)
    return out


def test_near_docs_joins_spans_as_whoosh_does() -> None:
    """Random positions (words at the same position as compounds have them, several
    documents, positions near 0): the documents Whoosh's span joining keeps."""
    rng = random.Random(7)
    for _ in range(300):
        n_words = rng.choice([2, 2, 3, 4])
        slop = rng.choice([1, 2, 3, 6])
        positions = [
            {d: sorted(rng.sample(range(12), rng.randint(1, 4))) for d in range(4)}
            for _ in range(n_words)
        ]
        keys = [
            np.array([(d << 32) | p for d in sorted(w) for p in w[d]], dtype=np.int64)
            for w in positions
        ]
        assert near_docs(keys, slop).tolist() == _span_near_docs(positions, slop)


def test_near_terms_survives_whoosh_rewrites() -> None:
    q = NearTerms("abstract", ["tumor", "escap"], 3)
    assert q.normalize() == q
    assert isinstance(q.normalize(), NearTerms)
    assert sorted(q.iter_all_terms()) == [("abstract", "escap"), ("abstract", "tumor")]
    other = q.apply(lambda t: wq.Or([t, wq.Term("title", "x")]))
    assert type(other) is SpanNear2


def test_proximity_through_the_cli(near_index: Path) -> None:
    """``"a b"~N`` still finds a record whose title holds the words a few apart."""
    index = SearchIndex.open(near_index)
    with index.searcher() as searcher:
        fields = next(
            f
            for f in searcher.all_stored_fields()
            if len(re.findall(r"[A-Za-z]{5,}", str(f.get("title") or ""))) >= 4
        )
    words = re.findall(r"[A-Za-z]{5,}", str(fields["title"]))
    result = run(near_index, "search", f'"{words[3]} {words[0]}"[ti:~8]', "-f", "pmid", "-n", "500")
    assert result.exit_code == 0, result.stderr
    assert str(fields["pmid"]) in result.stdout.split()
