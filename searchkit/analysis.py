"""Text analysis for the index and for queries.

Whoosh pickles the schema, analyzers included, into the index: every class here is
top-level and picklable, and its import path is part of the on-disk format. Any
change to what an analyzer emits must bump ``SCHEMA_VERSION`` in ``schema.py``.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache
from importlib import resources

from nltk.stem.snowball import EnglishStemmer
from whoosh.analysis import (
    Analyzer,
    Filter,
    LowercaseFilter,
    RegexTokenizer,
    StopFilter,
    Token,
)


@lru_cache(maxsize=1)
def stopwords() -> frozenset[str]:
    """The shipped English stop-word list."""
    text = resources.files("searchkit").joinpath("data", "stopwords_en.txt").read_text("utf-8")
    return frozenset(
        line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")
    )


_STEMMER = EnglishStemmer()


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    """Snowball (Porter2) stem of a lower-case word, cached: corpora repeat words."""
    return _STEMMER.stem(word)


class SnowballStemFilter(Filter):
    """Replaces each token's text with its Snowball stem."""

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SnowballStemFilter)

    def __hash__(self) -> int:
        return hash(type(self))

    def __call__(self, tokens: Iterator[Token]) -> Iterator[Token]:
        for t in tokens:
            if not t.stopped:
                t.text = stem(t.text)
            yield t


def text_analyzer() -> Analyzer:
    """The analyzer for title, abstract, keywords and MeSH."""
    return (
        RegexTokenizer()
        | LowercaseFilter()
        | StopFilter(stoplist=stopwords(), minsize=1)
        | SnowballStemFilter()
    )


def name_analyzer() -> Analyzer:
    """For authors and journals: lower-cased words, no stemming, no stop words."""
    return RegexTokenizer() | LowercaseFilter()
