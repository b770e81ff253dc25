"""The other ways records write a code in pieces, for quoted phrases.

The analyzer gives a hyphenated code its pieces at their own positions and its joined
term at the first one (``IL-10 signaling`` → ``il10`` and ``il`` at 0, ``10`` at 1,
``signal`` at 2), so a phrase typed with the code written as one word (``"IL10
signaling"``: ``il10`` at 0, ``signal`` at 1) would miss every record that hyphenates
it. :func:`writings` gives the pieces a code's joined term can be written in: the
term cut where letters meet digits, before a code's letter-and-number tail and
around the name of a Greek letter (``il|10``, ``pd|l1``, ``nf|kappa|b``,
``tgf|beta|1``), each name also as the letter that
stands for it (``nf|kb``), kept only when the analyzer, reading the pieces
hyphenated, gives them back as that code (``nf-kb`` → ``nfkappab``). A phrase's
slot then also matches those pieces side by side
(:func:`searchkit.engine.phrases.with_writings`).
"""

from __future__ import annotations

import itertools
import re
from functools import lru_cache
from typing import Any

from searchkit.analysis.analyzer import GREEK, text_analyzer

#: The Greek letters' names that cut a code: the short ones (eta, mu, nu, pi, xi, ...)
#: are inside too many words ("immune", "metabolism").
CUTTING_NAMES: tuple[str, ...] = tuple(sorted({n for n in GREEK.values() if len(n) >= 4}))
#: A term with more cuts than this is not a code (or has too many writings to try).
MAX_CUTS = 3
#: At most this many writings of a code (those spelling its Greek letters out first):
#: each is more postings for the phrase to read.
MAX_WRITINGS = 8

_LETTERS_DIGITS = re.compile(r"(?<=[a-z])(?=\d)|(?<=\d)(?=[a-z])")
#: A code's tail of a letter and a number after a head of two letters or more (PD-L1).
_TAIL = re.compile(r"(?<=[a-z]{2})(?=[a-z]\d{1,3}[a-z]?\Z)")
_NAMES = re.compile("|".join(CUTTING_NAMES))

Pieces = tuple[str, ...]


def cuts(term: str) -> list[int]:
    """Where ``term`` may be cut into a code's pieces: between letters and digits,
    before a letter-and-number tail, before and after a Greek letter's name."""
    found = {m.start() for m in _LETTERS_DIGITS.finditer(term)}
    found.update(m.start() for m in _TAIL.finditer(term))
    for m in _NAMES.finditer(term):
        found.update((m.start(), m.end()))
    return sorted(c for c in found if 0 < c < len(term))


def candidates(term: str) -> list[Pieces]:
    """Every way to cut ``term`` at some of its :func:`cuts` (two pieces or more), and
    each with its Greek letters' names as their initials; none when it has more than
    :data:`MAX_CUTS` places to cut."""
    places = cuts(term)
    if not places or len(places) > MAX_CUTS:
        return []
    spelled: list[Pieces] = []
    initials: list[Pieces] = []
    for k in range(1, len(places) + 1):
        for chosen in itertools.combinations(places, k):
            bounds = (0, *chosen, len(term))
            pieces = tuple(term[a:b] for a, b in itertools.pairwise(bounds))
            spelled.append(pieces)
            # Each name as the letter standing for it (NF-kB, TNF-a).
            short = tuple(_NAMES.sub(lambda m: m.group()[0], p) for p in pieces)
            if short != pieces:
                initials.append(short)
    return list(dict.fromkeys([*spelled, *initials]))


def written_pieces(analyzer: Any, term: str, pieces: Pieces) -> Pieces | None:
    """The index terms of ``pieces`` written hyphenated, one position each, when the
    analyzer reads them as the code ``term`` (its joined term); else None."""
    # (The analyzer yields one token object, changed in place: read it as it comes.)
    tokens = [
        (t.text, t.pos, getattr(t, "kind", "word"))
        for t in analyzer("-".join(pieces), positions=True, mode="index")
    ]
    joined = [text for text, _, kind in tokens if kind == "cat"]
    parts = [(text, pos) for text, pos, kind in tokens if kind == "part"]
    if joined != [term] or len(parts) < 2:
        return None
    if [pos for _, pos in parts] != list(range(len(parts))):
        return None
    return tuple(text for text, _ in parts)


def writings(analyzer: Any, term: str) -> tuple[Pieces, ...]:
    """The pieces (each an index term, at consecutive positions) records can write the
    code ``term`` in, as ``analyzer`` indexes them; none for a word that is no code."""
    if analyzer == text_analyzer():
        return _text_writings(term)
    return _writings(analyzer, term)


@lru_cache(maxsize=4096)
def _text_writings(term: str) -> tuple[Pieces, ...]:
    return _writings(text_analyzer(), term)


def _writings(analyzer: Any, term: str) -> tuple[Pieces, ...]:
    found = (written_pieces(analyzer, term, pieces) for pieces in candidates(term))
    return tuple(dict.fromkeys(p for p in found if p is not None))[:MAX_WRITINGS]


__all__ = ["CUTTING_NAMES", "MAX_CUTS", "MAX_WRITINGS", "candidates", "cuts", "writings"]
