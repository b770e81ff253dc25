"""The other ways records write a code in pieces, for quoted phrases.

The analyzer gives a hyphenated code its pieces at their own positions and its joined
term at the first one (``IL-10 signaling`` → ``il10`` and ``il`` at 0, ``10`` at 1,
``signal`` at 2), so a phrase typed with the code written as one word (``"IL10
signaling"``: ``il10`` at 0, ``signal`` at 1) would miss every record that hyphenates
it. :func:`writings` gives the pieces a code's joined term can be written in: the term
cut where letters meet digits, before a code's letter-and-number tail and around the
name of a Greek letter (``il|10``, ``pd|l1``, ``nf|kappa|b``, ``tgf|beta|1``), a name
also as the letter that stands for it (``nf|kb``), each kept only when the analyzer,
reading the pieces hyphenated, gives them back as that code (``nf-kb`` →
``nfkappab``). A phrase's slot then also matches the joined term followed by the last
piece (where a hyphenated writing puts them) or, for the pieces records write apart
and the index does not join (a Greek letter's name: "TNF alpha"), every piece side by
side (:func:`searchkit.engine.phrases.with_writings`).
"""

from __future__ import annotations

import itertools
import re
from functools import lru_cache
from typing import Any, NamedTuple

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
#: A code of a short head, then a tail of a letter and a number (PD-L1, CC-L19).
_TAIL = re.compile(r"\A[a-z]{2,5}(?=[a-z]\d{1,3}[a-z]?\Z)")
_NAMES = re.compile("|".join(CUTTING_NAMES))

Pieces = tuple[str, ...]


def cuts(term: str) -> list[int]:
    """Where ``term`` may be cut into a code's pieces: between letters and digits,
    before a letter-and-number tail, before and after a Greek letter's name."""
    found = {m.start() for m in _LETTERS_DIGITS.finditer(term)}
    found.update(m.end() for m in _TAIL.finditer(term))
    for m in _NAMES.finditer(term):
        found.update((m.start(), m.end()))
    return sorted(c for c in found if 0 < c < len(term))


def candidates(term: str) -> list[tuple[Pieces, bool]]:
    """Every way to cut ``term`` at some of its :func:`cuts` (two pieces or more), and
    each of two pieces with its Greek letters' names as their initials (with True);
    none when it has more than :data:`MAX_CUTS` places to cut."""
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
            # Each name as the letter standing for it, in the second of two pieces
            # (NF-kB, TNF-a, IL-1b; not "NF-k B", "TGFb-1").
            short = (pieces[0], _NAMES.sub(lambda m: m.group()[0], pieces[-1]))
            if len(pieces) == 2 and short != pieces and not _NAMES.search(pieces[0]):
                initials.append(short)
    found = [*((p, False) for p in spelled), *((p, True) for p in initials)]
    return list(dict.fromkeys(found))


def written_apart(pieces: Pieces, initials: bool) -> bool:
    """Whether records write these pieces of a code apart, with spaces: each piece
    with a Greek letter's name starts with it ("NF kappa B", "TNF alpha", "IL1 beta",
    not "NFkappa B"), or, the names as their initials, the last piece starts with its
    letter and is more than that letter ("NF kB"; not "IL1 b")."""
    if initials:
        last = pieces[-1]
        return len(last) > 1 and last[0].isalpha() and _NAMES.search(last) is None
    starts = [m.start() for p in pieces for m in _NAMES.finditer(p)]
    return bool(starts) and not any(starts)


class Writing(NamedTuple):
    """A way records write a code in pieces: the pieces' index terms (one position
    each), and whether records also write them apart, with spaces, where the index
    does not join them: the pieces with a Greek letter in them (``TNF alpha``, ``NF
    kB``; ``IL 10`` and ``PD L1``, a code head and tail, are joined), so that only
    the pieces themselves find those records."""

    pieces: Pieces
    apart: bool


def written_pieces(
    analyzer: Any, term: str, pieces: Pieces, initials: bool = False
) -> Writing | None:
    """How ``analyzer`` indexes ``pieces`` written hyphenated (one position each), when
    it reads them as the code ``term`` (its joined term); else None. ``initials``:
    the pieces write Greek letters as their initials (:func:`candidates`)."""
    tokens = _tokens(analyzer, "-".join(pieces))
    joined = [text for text, _, kind in tokens if kind == "cat"]
    parts = [(text, pos) for text, pos, kind in tokens if kind == "part"]
    if joined != [term] or len(parts) < 2:
        return None
    if [pos for _, pos in parts] != list(range(len(parts))):
        return None
    # Written with spaces, as records write codes (capitals): joined at the first?
    spaced = _tokens(analyzer, " ".join(p.upper() for p in pieces))
    apart = written_apart(pieces, initials) and (term, 0, "cat") not in spaced
    letter = len(pieces[-1]) == 1 and pieces[-1].isalpha() and not initials
    if not apart and (len(pieces) > 2 or letter):
        return None  # codes hyphenated so are rare: "PD-L-1", "NFkappa-B" (not "TNF-a")
    return Writing(tuple(text for text, _ in parts), apart)


def _tokens(analyzer: Any, text: str) -> list[tuple[str, int, str]]:
    # The analyzer yields one token object, changed in place: read it as it comes.
    return [
        (t.text, t.pos, getattr(t, "kind", "word"))
        for t in analyzer(text, positions=True, mode="index")
    ]


def writings(analyzer: Any, term: str) -> tuple[Writing, ...]:
    """The ways records write the code ``term`` in pieces, as ``analyzer`` indexes
    them; none for a word that is no code."""
    if analyzer == text_analyzer():
        return _text_writings(term)
    return _writings(analyzer, term)


@lru_cache(maxsize=4096)
def _text_writings(term: str) -> tuple[Writing, ...]:
    return _writings(text_analyzer(), term)


def _writings(analyzer: Any, term: str) -> tuple[Writing, ...]:
    found = (written_pieces(analyzer, term, *candidate) for candidate in candidates(term))
    return tuple(dict.fromkeys(w for w in found if w is not None))[:MAX_WRITINGS]


__all__ = [
    "CUTTING_NAMES",
    "MAX_CUTS",
    "MAX_WRITINGS",
    "Writing",
    "candidates",
    "cuts",
    "writings",
    "written_apart",
]
