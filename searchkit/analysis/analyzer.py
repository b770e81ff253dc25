"""Text analysis for the index and for queries.

Whoosh pickles the schema, analyzers included, into the index: every class here is
top-level and picklable, and its import path is part of the on-disk format. Any
change to what an analyzer emits must show in what :func:`analysis_params` records
(an index made with other rules is refused with a ``searchkit rebuild`` hint), or, for
a change of the classes themselves, bump ``SCHEMA_VERSION`` in ``schema.py``.
"""

from __future__ import annotations

import hashlib
import itertools
import re
import unicodedata
from collections.abc import Iterator
from functools import lru_cache

from whoosh.analysis import (
    Analyzer,
    Filter,
    LowercaseFilter,
    RegexTokenizer,
    Token,
    Tokenizer,
)

from searchkit.analysis.spelling import american, keeps_head
from searchkit.analysis.stemmer import english_stemmer_class
from searchkit.packaged import packaged_text


@lru_cache(maxsize=1)
def stopwords() -> frozenset[str]:
    """The shipped English stop-word list."""
    text = packaged_text("stopwords_en.txt")
    return frozenset(
        line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")
    )


_STEMMER = english_stemmer_class()()


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    """Snowball (Porter2) stem of a lower-case word in its American spelling
    (:func:`searchkit.analysis.spelling.american`: ``tumour`` → ``tumor``), cached: corpora
    repeat words."""
    return _STEMMER.stem(american(word))


# Greek letters are folded to their names so that "TNF-α" and "TNF-alpha" match.
GREEK: dict[str, str] = {
    "α": "alpha", "β": "beta", "γ": "gamma", "δ": "delta", "ε": "epsilon", "ϵ": "epsilon",
    "ζ": "zeta", "η": "eta", "θ": "theta", "ϑ": "theta", "ι": "iota", "κ": "kappa",
    "λ": "lambda", "μ": "mu", "µ": "mu", "ν": "nu", "ξ": "xi", "ο": "omicron", "π": "pi",
    "ρ": "rho", "σ": "sigma", "ς": "sigma", "τ": "tau", "υ": "upsilon", "φ": "phi",
    "ϕ": "phi", "χ": "chi", "ψ": "psi", "ω": "omega",
}  # fmt: skip
_GREEK_TABLE = str.maketrans(
    {**GREEK, **{k.upper(): v for k, v in GREEK.items() if k.upper() != k}}
)
#: Letters that Unicode does not decompose into a base letter and a mark, folded as
#: Lucene's ASCII folding (the Solr configset's) folds them: "Sørensen" meets
#: "Sorensen", "Łukasz" "Lukasz", "Straße" "Strasse".
LETTERS: dict[str, str] = {
    "ø": "o", "Ø": "O", "ł": "l", "Ł": "L", "đ": "d", "Đ": "D", "ð": "d", "Ð": "D",
    "æ": "ae", "Æ": "AE", "œ": "oe", "Œ": "OE", "ß": "ss", "ẞ": "SS", "þ": "th",
    "Þ": "TH", "ı": "i",
}  # fmt: skip
_LETTER_TABLE = str.maketrans(LETTERS)
_FOLD_TABLE = str.maketrans(
    {**GREEK, **{k.upper(): v for k, v in GREEK.items() if k.upper() != k}, **LETTERS}
)

# A compound: alphanumeric runs joined by hyphens, asterisks or colons (PD-L1,
# HLA-A*02:01, SARS-CoV-2), numbers with a decimal point or thousands comma kept whole,
# optional trailing "+" (CD8+) and possessive "'s", both dropped. Written as runs of
# word characters joined by single separators, which the regex engine matches ~1.5x
# faster than the same language written one character at a time (tests compare them).
_COMPOUND = re.compile(
    r"[^\W_]+(?:(?:[-\u2010\u2011\u2012\u2013*:]|(?<=\d)[.,](?=\d))[^\W_]+)*"
    r"(?P<tail>\+*(?:['\u2019]s\b)?)"
)
#: The written units the tokenizer reads as one word or compound (snippets use it too).
COMPOUND = _COMPOUND
_JOINERS = re.compile(r"[-\u2010\u2011\u2012\u2013*:]")
#: What joins a compound's pieces.
JOINERS = _JOINERS
# Written codes that people also write with a space: "PD L1", "IL 6", "COVID 19",
# "MHC class I". A code head is 2-6 capitals/digits starting with a capital; the tail a
# short code (L1, 6, 19, I, II, A).
_CODE_HEAD = re.compile(r"[A-Z][A-Z0-9]{1,5}")
#: A code head, as the query also reads one (a code and its Greek letter as two words).
CODE_HEAD = _CODE_HEAD
_CODE_TAIL = re.compile(r"(?:[A-Z]?\d{1,3}[A-Za-z]?|[A-Z]|[IVX]{1,4})")
# What may stand between the head and the tail (or "class") of a joined code: spaces;
# a parenthesis closing the head, then spaces ("interleukin (IL) 36"); or separators
# without a space (F4/80, PU.1, P2X(7), "(IL)-9"), but not a group closed and another
# opened (DL(CO)/V(A)). Not punctuation then a space: "CD, 108 patients" is a list,
# "AIM: A study" a heading, "CD (P < 0.05)" a statistic.
_CODE_GAP = re.compile(r"\s+|\)\s+|(?:(?![)\]][(\[/])[^\s])+")
MAX_CATENATED_PARTS = 6
#: Whether a compound of numbers alone ("18-65", "1:1", "10:30", "10-12") also gets
#: its parts run together: it would make another number ("1865", "11", "1030", "1012",
#: which a search for that number found); its parts side by side still match it as
#: written.
CATENATE_NUMBERS = False
#: Kept between a code ending in a number and a number after a slash ("CDK1/2": CDK1
#: and CDK2, "F4/80"): joined without it, they would make another name ("cdk12" is
#: CDK12, "cxcl12" CXCL12, "cd48" CD48). Other joined codes lose their separator
#: ("C57BL/6" → ``c57bl6``, "PD L1" → ``pdl1``).
ALTERNATIVES_MARK = "/"


def analysis_params() -> dict[str, str | int]:
    """What the index's terms depend on besides the code of the analyzer classes: the
    stemmer, the stop words, the spelling and Greek folds, the compound rules. An index
    records them when it is created (``searchkit.json``) and is refused, with a
    ``searchkit rebuild`` hint, by a searchkit that would analyse queries otherwise."""
    from searchkit.analysis import spelling  # the spelling folds the stemmer applies

    def digest(value: object) -> str:
        return hashlib.sha256(repr(value).encode("utf-8")).hexdigest()[:16]

    stemmer = type(_STEMMER)
    return {
        "stemmer": f"{stemmer.__module__}.{stemmer.__qualname__}",
        "stop_words": digest(sorted(stopwords())),
        "spelling": digest(
            (spelling.STEM_RULES, sorted(spelling.ISE_WORDS), spelling.MIN_ISE_STEM)
        ),
        "greek": digest(sorted(GREEK.items())),
        "greek_standins": digest(sorted(GREEK_STANDINS.items())),
        "letters": digest(sorted(LETTERS.items())),
        # Author and collective names folded as text is (accents, LETTERS), as PubMed's
        # author search ignores diacritics: the index/schema NameTokenizer's rule.
        "names": "folded",
        "compound": digest(
            (_COMPOUND.pattern, _CODE_HEAD.pattern, _CODE_TAIL.pattern, _CODE_GAP.pattern)
        ),
        # Codes inside longer compounds indexed by their joined name (IL-10-producing
        # → il10): :func:`sub_codes`.
        "sub_codes": digest((_SUB_HEAD.pattern, _SUB_TAIL.pattern)),
        # Short forms looked up without their joiners (PD1 as PD-1): the acronym
        # lookup saved at commit is keyed so (searchkit.analysis.acronyms.short_key).
        "acronym_key": "greek,lower,singular,unjoined,standins",
        "max_catenated_parts": MAX_CATENATED_PARTS,
        "catenate_numbers": int(CATENATE_NUMBERS),
        "alternatives_mark": ALTERNATIVES_MARK,
        "acronym_plural": _ACRONYM_PLURAL.pattern,
    }


def catenated(pieces: list[str]) -> bool:
    """Whether a compound of ``pieces`` (as written) also gets the term of its pieces
    run together: at most :data:`MAX_CATENATED_PARTS` of them, not numbers alone
    (:data:`CATENATE_NUMBERS`; ``1.5-2.0`` is two numbers)."""
    if len(pieces) > MAX_CATENATED_PARTS:
        return False
    return CATENATE_NUMBERS or not all(_NUMBER.fullmatch(p) for p in pieces)


_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")


def unjoined(text: str) -> str:
    """``text`` without the separators that join a compound's pieces (``PD-1`` →
    ``PD1``), as its catenation runs them together."""
    return _JOINERS.sub("", text)


def joins(gap: str) -> bool:
    """Whether ``gap``, the text between two written units, lets the second continue a
    code the first began (:data:`_CODE_GAP`)."""
    return _CODE_GAP.fullmatch(gap) is not None


def joined_code(head: str, gap: str, tail: str) -> str:
    """The term of a code head and its tail (both folded) written with ``gap`` between
    them (:func:`joins` holds): run together, but for numbered alternatives, a number
    after a slash following a code that ends in one, which keep
    :data:`ALTERNATIVES_MARK` between them."""
    if "/" in gap and tail.isdigit() and head[-1:].isdigit():
        return head + ALTERNATIVES_MARK + tail
    return head + tail


# A code written inside a compound of three or more pieces ("IL-10-producing",
# "anti-PD-1", "TNF-α-treated", "Bcl-2-associated"): a piece that heads a code, then
# the piece that ends it. Either a code head and tail as a code written with a space
# has them ("PD-L1", "MHC-II"), or a piece of 2-7 letters and digits starting with a
# letter ("Bcl", "miR", "COVID") before a number of at most three digits (and a letter)
# or a Greek letter (after at most three digits: "1β"). Not a piece of one letter
# ("N-2-hydroxyethyl") nor a word before a word ("non-A-non-B", "anti-CD20-antibody").
_SUB_HEAD = re.compile(r"[A-Za-z][A-Za-z0-9]{1,6}")
_SUB_TAIL = re.compile(r"\d{1,3}[A-Za-z]?|\d{0,3}[\u0391-\u03a9\u03b1-\u03c9]")


#: Codes written with a Latin letter standing for a Greek one (keyboards have no κ; gene
#: symbols use Latin letters: IL1B is IL-1β), folded as the Greek letter is, to its name.
#: A whole word or compound only ("NFkB", "NF-kB"): the ``kb`` of "5-kb" stays kilobases.
#: Only codes whose Latin form means the Greek one in the literature: the NF-κB family,
#: IκB, and the cytokines, receptors and factors most often written both ways.
GREEK_STANDINS: dict[str, str] = {
    "nfkb": "nfkappab", "nfkb1": "nfkappab1", "nfkb2": "nfkappab2",
    "ikb": "ikappab", "ikba": "ikappabalpha", "ikbb": "ikappabbeta",
    "ikbe": "ikappabepsilon", "il1a": "il1alpha", "il1b": "il1beta",
    "tnfa": "tnfalpha", "tgfb": "tgfbeta", "tgfb1": "tgfbeta1", "tgfb2": "tgfbeta2",
    "tgfb3": "tgfbeta3", "ifng": "ifngamma", "ifna": "ifnalpha", "ifnb": "ifnbeta",
    "pparg": "ppargamma", "ppara": "pparalpha", "hif1a": "hif1alpha",
}  # fmt: skip


def whole_term(text: str) -> str:
    """The term of a whole word or compound folded (parts run together):
    :data:`GREEK_STANDINS` read as the Greek letters they stand for."""
    return GREEK_STANDINS.get(text, text)


def sub_codes(pieces: list[str]) -> dict[int, str]:
    """The codes inside a compound of ``pieces`` (as written), by the index of the
    piece they start at: each code's head and tail folded and run together, as the
    query word that names it (``IL10``, ``PD1``, ``TNFα``) is analysed. A compound of
    two pieces has none: its catenation is the code."""
    if len(pieces) < 3:
        return {}
    found: dict[int, str] = {}
    for i, (head, tail) in enumerate(itertools.pairwise(pieces)):
        if (_CODE_HEAD.fullmatch(head) and _CODE_TAIL.fullmatch(tail)) or (
            _SUB_HEAD.fullmatch(head) and _SUB_TAIL.fullmatch(tail)
        ):
            found[i] = whole_term(_norm_part(head) + _norm_part(tail))
    return found


def fold_greek(text: str) -> str:
    """Greek letters to their names, nothing else (TNF-α → TNF-alpha)."""
    return text.translate(_GREEK_TABLE)


def fold_letters(text: str) -> str:
    """:data:`LETTERS` folded, nothing else."""
    return text.translate(_LETTER_TABLE)


def fold(text: str) -> str:
    """Lower-case, Greek letters to names, accents removed (β-catenin → beta-catenin),
    :data:`LETTERS` folded."""
    if text.isascii():  # no Greek letters, nothing to decompose: most words
        return text.lower()
    text = text.translate(_FOLD_TABLE)
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


#: An acronym's plural as written: a capital, one or more capitals or digits, then a
#: lower-case s (``CSCs``, ``RCTs``, ``SNPs``, ``lncRNAs``, ``CD4s``). The stemmer
#: takes a plural s off only when a vowel comes before the letter before it (``TAMs``,
#: not ``RNAs``), so these were terms of their own, which a search for the acronym
#: never found. Not ``GaAs`` (one capital before the s: an element), ``PhDs``,
#: ``AIDS`` or a decade (``1990s``).
_ACRONYM_PLURAL = re.compile(r"[A-Z][A-Z0-9]+s\Z")


def singular(word: str) -> str:
    """``word`` (as written) without the s of an acronym's plural
    (:data:`_ACRONYM_PLURAL`); any other word unchanged."""
    if word.endswith("s") and _ACRONYM_PLURAL.search(word):
        return word[:-1]
    return word


def _norm_part(part: str) -> str:
    folded = fold(singular(part))
    if "," in folded:
        folded = folded.replace(",", "")
    return folded


class Stateless:
    """Equality and hashing for analysis parts without settings: two are equal when
    they are of the same class (Whoosh compares analyzers, e.g. between schemas)."""

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self)

    def __hash__(self) -> int:
        return hash(type(self))


class BiomedTokenizer(Stateless, Tokenizer):
    """Tokenizer that keeps biomedical names matchable in the forms people write them.

    * ``PD-L1`` → ``pd``, ``l1`` and the catenation ``pdl1`` (at the first part's
      position), so ``PDL1`` and ``PD-L1`` share a term; ``PD L1`` (a capitalised code
      then a short code) also emits ``pdl1``, and so does ``MHC class I`` (``mhci``).
    * ``CD8+`` → ``cd8``; ``Alzheimer's`` → ``alzheimer``; ``1.5`` and ``1,000``
      (→ ``1000``) stay whole.
    * Greek letters become names (``TNF-α`` → ``tnf``, ``alpha``, ``tnfalpha``) and
      accents are removed.

    * ``IL-10-deficient`` (three pieces or more) → also ``il10`` at ``IL``'s position
      when indexing (:func:`sub_codes`), so that ``IL10`` finds it; ``NF-kB`` and
      ``NFkB`` → ``nfkappab`` (:func:`whole_term`).

    Each token carries ``kind`` (``word``: a whole word; ``part``: a part of a compound;
    ``cat``: the catenated compound or joined code; ``sub``: a code inside a compound,
    indexing only) and ``group`` (tokens of one written compound share it), which query
    building uses.
    """

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
        **kwargs: object,
    ) -> Iterator[Token]:
        t = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        if not tokenize:
            t.original = t.text = fold(value)
            t.boost = 1.0
            t.kind, t.group = "word", 0
            if positions:
                t.pos = start_pos
            if chars:
                t.startchar, t.endchar = start_char, start_char + len(value)
            yield t
            return
        pos = start_pos
        group = 0
        # The previous whole word, if it can head a joined code: (text, pos, group, start).
        head: tuple[str, int, int, int] | None = None
        between_class = False
        last = 0  # where the previous unit ended
        for m in _COMPOUND.finditer(value):
            word = m.group(0)[: m.start("tail") - m.start()]
            start, end = m.start(), m.start() + len(word)
            gap = value[last:start]
            if head is not None and not joins(gap):
                head, between_class = None, False
            last = m.end()
            pieces = [p for p in _JOINERS.split(word) if p]
            if len(pieces) > 1:
                group += 1
                if catenated(pieces):
                    yield self._emit(
                        t, whole_term("".join(_norm_part(p) for p in pieces)), "cat", group, pos,
                        start, end, start_char, positions, chars, keeporiginal, word,
                    )  # fmt: skip
                spans: list[tuple[int, int]] = []
                offset = start
                for piece in pieces:
                    at = value.index(piece, offset)
                    offset = at + len(piece)
                    spans.append((at, offset))
                # Codes inside the compound only in the index: a query's compound is
                # searched whole or by its parts side by side.
                subs = sub_codes(pieces) if mode == "index" else {}
                for k, piece in enumerate(pieces):
                    at, offset = spans[k]
                    if k in subs:
                        end_at = spans[k + 1][1]
                        yield self._emit(
                            t, subs[k], "sub", group, pos, at, end_at, start_char,
                            positions, chars, keeporiginal, value[at:end_at],
                        )  # fmt: skip
                    yield self._emit(
                        t, _norm_part(piece), "part", group, pos, at, offset,
                        start_char, positions, chars, keeporiginal, piece,
                    )  # fmt: skip
                    pos += 1
                head, between_class = None, False
                continue
            if head is not None and word.lower() == "class" and not between_class:
                between_class = True
                yield self._emit(
                    t, "class", "word", group + 1, pos, start, end, start_char,
                    positions, chars, keeporiginal, word,
                )  # fmt: skip
                group += 1
                pos += 1
                continue
            if head is not None and _CODE_TAIL.fullmatch(word):
                text, hpos, hgroup, hstart = head
                yield self._emit(
                    t, joined_code(text, gap, _norm_part(word)), "cat", hgroup, hpos, hstart, end,
                    start_char, positions, chars, keeporiginal, value[hstart:end],
                )  # fmt: skip
                yield self._emit(
                    t, _norm_part(word), "part", hgroup, pos, start, end, start_char,
                    positions, chars, keeporiginal, word,
                )  # fmt: skip
                pos += 1
                head, between_class = None, False
                continue
            group += 1
            text = whole_term(_norm_part(word))
            yield self._emit(
                t, text, "word", group, pos, start, end, start_char, positions, chars,
                keeporiginal, word,
            )  # fmt: skip
            code = not m.group("tail") and _CODE_HEAD.fullmatch(word)
            head = (text, pos, group, start) if code else None
            between_class = False
            pos += 1

    @staticmethod
    def _emit(
        t: Token,
        text: str,
        kind: str,
        group: int,
        pos: int,
        start: int,
        end: int,
        start_char: int,
        positions: bool,
        chars: bool,
        keeporiginal: bool,
        original: str,
    ) -> Token:
        t.text = text
        t.kind = kind
        t.group = group
        t.boost = 1.0
        t.stopped = False
        if keeporiginal:
            t.original = original
        if positions:
            t.pos = pos
        if chars:
            t.startchar, t.endchar = start_char + start, start_char + end
        return t


class BiomedStopFilter(Stateless, Filter):
    """Removes stop words, but only whole words: parts of compounds (the ``a`` of
    ``HLA-A``) and catenations are kept."""

    def __call__(self, tokens: Iterator[Token]) -> Iterator[Token]:
        stops = stopwords()
        for t in tokens:
            if getattr(t, "kind", "word") == "word" and t.text in stops:
                if not t.removestops:
                    t.stopped = True
                    yield t
                continue
            yield t


class SnowballStemFilter(Stateless, Filter):
    """Replaces each alphabetic token's text with the Snowball stem of its American
    spelling (:func:`stem`; codes with digits, like ``il6``, are left alone)."""

    def __call__(self, tokens: Iterator[Token]) -> Iterator[Token]:
        for t in tokens:
            if not t.stopped and t.text.isalpha():
                t.text = stem(t.text)
            yield t


def text_analyzer() -> Analyzer:
    """The analyzer for title, abstract, keywords and MeSH (index and query time)."""
    return BiomedTokenizer() | BiomedStopFilter() | SnowballStemFilter()


def name_analyzer() -> Analyzer:
    """For authors and journals: lower-cased words, no stemming, no stop words."""
    return RegexTokenizer() | LowercaseFilter()


def word_terms(unit: str) -> frozenset[str] | None:
    """The terms :func:`text_analyzer` gives ``unit``, one written unit (a
    :data:`COMPOUND` match) analysed alone with stop words kept, when it is a single
    word (``cells``, ``CD8+``, ``Alzheimer's``, ``β``): its fold, unchanged if a stop
    word, else stemmed if alphabetic; None for a compound of several parts, which only
    the tokenizer reads. The same terms as the analyzer's (``tests/test_snippets.py``)
    without its token pipeline: snippets look up every unit of the hits they show."""
    m = _COMPOUND.fullmatch(unit)
    if m is None:
        return None
    word = unit[: m.start("tail")]
    if _JOINERS.search(word) or "." in word or "," in word:
        return None
    text = whole_term(fold(singular(word)))
    if text not in stopwords() and text.isalpha():
        text = stem(text)
    return frozenset((text,))


_PART = re.compile(r"[^\W_]+")


def term_head(term: str) -> str:
    """The first two letters or digits of an index term, its separators skipped
    (``1.5`` → ``15``): what :func:`term_heads` gives for the units that can hold it."""
    return "".join(_PART.findall(term))[:2]


def term_heads(unit: str) -> frozenset[str]:
    """Every :func:`term_head` a term of ``unit`` (one written unit, a :data:`COMPOUND`
    match, as :func:`text_analyzer` reads it alone with stop words kept) can have,
    found without stemming. A term is a folded part, a stemmed part or parts joined,
    each in its American spelling (:func:`~searchkit.analysis.spelling.american`:
    ``oedema`` → ``edema``), so its head is the first two characters of a part, of the
    parts from one on joined (``T-cells`` → ``tc``), or of their American spellings
    (``aero-plane`` → ``airplane``); Snowball's English stemmer rewrites only endings
    (its suffix steps work inside regions that begin after the first letter), so a
    stem keeps them, except that a stem may be a single letter (``oed`` → ``o``: its
    one-character head is there too) and the forms ``dying``, ``lying`` and ``tying``
    become ``die``, ``lie`` and ``tie`` (a ``y`` second is also read as an ``i``).
    Snippets analyse only the units one of whose heads a matched term has
    (``tests/test_snippets.py`` checks the set on every unit of the bundled records):
    on the hits of the benchmark's queries, a quarter as many as the first character
    alone let through. A part's American spelling is looked up only when it can
    begin otherwise (:func:`~searchkit.analysis.spelling.keeps_head`)."""
    if unit.isascii() and unit.isalpha():  # one part, nothing to fold but case: most units
        word = unit.lower()
        if keeps_head(word):
            return frozenset(_heads_of_written(word))
        return frozenset(_heads_of_written(word) + _heads_of_written(american(word)))
    parts = _PART.findall(fold(unit))
    last = len(parts) - 1
    found: set[str] = set()
    for i, part in enumerate(parts):
        # The part, and the parts from it on joined (a catenation's head, and a
        # one-letter part's with the next one's first character).
        for form in (part,) if i == last else (part, "".join(parts[i:])):
            alike = not form.isalpha() or keeps_head(form)
            for written in (form,) if alike else (form, american(form)):
                found.update(_heads_of_written(written))
    return frozenset(found)


def _heads_of_written(written: str) -> tuple[str, ...]:
    """The heads of the terms one written form can give (:func:`term_heads`): its
    first character, its first two, and with a second ``y`` the first and ``i``."""
    if written[1:2] == "y":
        return written[:1], written[:2], written[0] + "i"
    return written[:1], written[:2]
