"""Dates indexed at three levels, so that a date range reads a few terms.

A record's dates (publication, Entrez, creation, MeSH) are indexed as "YYYYMMDD"
terms (:func:`searchkit.index.documents.date_key`). A range of them was the union of
every day term in it: a `2015:2020[dp]` on a 1,000,000-record index walked a thousand
terms through the merged lexicon and read each one's postings in every segment, which
cost more than the words the range limited. As Lucene's trie ranges do, each date is
now also indexed as its month (``m201503``) and its year (``y2015``): a range is the
days of its partial first and last months, the months of its partial first and last
years, and the whole years between, at most five short runs of terms
(:func:`level_ranges`). The month and year terms begin with a letter, so they sort
after every day term and a range of day terms never meets them.

Only an index whose schema gives its date fields a :class:`DateTokenizer` holds these
terms (format 9 on); an older index keeps its day terms alone, and its ranges are
walked as before (:func:`has_levels`).
"""

from __future__ import annotations

import calendar
from collections.abc import Iterator
from typing import Any

from whoosh.analysis import Token, Tokenizer

from searchkit.analysis.analyzer import Stateless

MONTH_PREFIX = "m"
YEAR_PREFIX = "y"
#: The bounds of an open end of a range.
FIRST_DAY = "00000101"
LAST_DAY = "99991231"


def month_term(year: int, month: int) -> str:
    """The term of a whole month: ``m201503``."""
    return f"{MONTH_PREFIX}{year:04d}{month:02d}"


def year_term(year: int) -> str:
    """The term of a whole year: ``y2015``."""
    return f"{YEAR_PREFIX}{year:04d}"


def level_terms(day: str) -> tuple[str, ...]:
    """The terms a date key ("YYYYMMDD") is indexed as: itself, its month and its
    year; only itself when it is not eight digits."""
    if not _is_key(day):
        return (day,)
    return (day, MONTH_PREFIX + day[:6], YEAR_PREFIX + day[:4])


class DateTokenizer(Stateless, Tokenizer):
    """A date field's value (one "YYYYMMDD" key) as its day, month and year terms when
    indexing (:func:`level_terms`); as the day alone otherwise (a query's term)."""

    def __call__(  # type: ignore[override]
        self,
        value: str,
        positions: bool = False,
        chars: bool = False,
        keeporiginal: bool = False,
        removestops: bool = True,
        start_pos: int = 0,
        start_char: int = 0,
        tokenize: bool = True,
        mode: str = "",
        **kwargs: Any,
    ) -> Iterator[Token]:
        t = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        texts = level_terms(value) if mode == "index" else (value,)
        for text in texts:
            t.original = value
            t.text = text
            t.boost = 1.0
            t.stopped = False
            if positions:
                t.pos = start_pos
            if chars:
                t.startchar, t.endchar = start_char, start_char + len(value)
            yield t

    def index_positions(self, value: str) -> dict[str, list[int]]:
        """The terms of ``value`` as ``self(value, positions=True, mode="index")``
        yields them, for the writer's fast path
        (:func:`searchkit.engine.segment_writer.compile_simple`)."""
        return {text: [0] for text in level_terms(value)}


def has_levels(field: Any) -> bool:
    """Whether the index field ``field`` holds month and year terms."""
    return isinstance(getattr(field, "analyzer", None), DateTokenizer)


def level_ranges(low: str | None, high: str | None) -> list[tuple[str, str]]:
    """The inclusive term ranges whose terms (:func:`level_terms`) hold exactly the
    dates from ``low`` to ``high`` ("YYYYMMDD", inclusive; ``None`` or anything but
    eight digits: open): the days of a partial first month, the months of a partial
    first year, the whole years, then the months and days at the other end. A day
    past the end of its month (the parser closes "2014/09" at "20140931") reads as
    the month's last."""
    lo = _day_or(low, FIRST_DAY)
    hi = _day_or(high, LAST_DAY)
    if lo > hi:
        return []
    ly, lm, ld = int(lo[:4]), int(lo[4:6]), int(lo[6:])
    hy, hm, hd = int(hi[:4]), int(hi[4:6]), int(hi[6:])
    if not (1 <= lm <= 12 and 1 <= hm <= 12):  # not a date: its days alone
        return [(lo, hi)]
    if (ly, lm) == (hy, hm):
        whole = ld == 1 and hd >= _month_days(hy, hm)
        return [(month_term(ly, lm),) * 2] if whole else [(lo, hi)]
    out: list[tuple[str, str]] = []
    # The first whole month and the last one.
    if ld > 1:
        out.append((lo, f"{lo[:6]}31"))
        ly, lm = (ly + 1, 1) if lm == 12 else (ly, lm + 1)
    tail: tuple[str, str] | None = None
    if hd < _month_days(hy, hm):
        tail = (f"{hi[:6]}01", hi)
        hy, hm = (hy - 1, 12) if hm == 1 else (hy, hm - 1)
    if (ly, lm) <= (hy, hm):
        out.extend(_months(ly, lm, hy, hm))
    if tail is not None:
        out.append(tail)
    return out


def _months(ly: int, lm: int, hy: int, hm: int) -> list[tuple[str, str]]:
    """Term ranges for the whole months from ``ly``/``lm`` to ``hy``/``hm``."""
    if ly == hy:
        if lm == 1 and hm == 12:
            return [(year_term(ly),) * 2]
        return [(month_term(ly, lm), month_term(hy, hm))]
    out: list[tuple[str, str]] = []
    first_year, last_year = ly, hy
    if lm > 1:
        out.append((month_term(ly, lm), month_term(ly, 12)))
        first_year += 1
    tail: tuple[str, str] | None = None
    if hm < 12:
        tail = (month_term(hy, 1), month_term(hy, hm))
        last_year -= 1
    if first_year <= last_year:
        out.append((year_term(first_year), year_term(last_year)))
    if tail is not None:
        out.append(tail)
    return out


def _is_key(text: str) -> bool:
    """Whether ``text`` is a date key: eight digits."""
    return len(text) == 8 and text.isdigit()


def _day_or(key: str | None, default: str) -> str:
    """``key`` when it is a date key, else ``default``."""
    return key if key is not None and _is_key(key) else default


def _month_days(year: int, month: int) -> int:
    return calendar.monthrange(max(year, 1), month)[1]


__all__ = [
    "DateTokenizer",
    "has_levels",
    "level_ranges",
    "level_terms",
    "month_term",
    "year_term",
]
