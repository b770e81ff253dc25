"""How free text becomes a ranked Whoosh query (the values it uses: :mod:`searchkit.params`).

A free-text query is a :class:`BestMatch`: one child per query *concept* (a word, with
its alternative spellings and acronym expansions searched in every text field at that
field's weight) plus, optionally, low-weight proximity children. A document's score is
the sum of its matching children's BM25F scores times a coordination factor that grows
with the share of concepts it matches: documents matching all words come first, partial
matches are still returned (PubMed "Best Match"), not a strict AND.

The query nodes themselves (:class:`~searchkit.engine.nodes.BestMatch` and the rest) are
the engine's (:mod:`searchkit.engine.nodes`): standard Whoosh ``Or`` subclasses that
:mod:`searchkit.engine.scoring` gives their scoring (BM25F, coordination, proximity).
"""

from __future__ import annotations

import itertools
import re
from typing import NamedTuple

from whoosh.fields import Schema
from whoosh.query import And, NullQuery, Or, Phrase, Query, Term

from searchkit.analysis.acronyms import AcronymSource
from searchkit.analysis.analyzer import CODE_HEAD, GREEK, JOINERS, fold, unjoined, whole_term
from searchkit.engine.nodes import (
    BestMatch,
    CompoundTerm,
    FieldedPhrase,
    FieldedTerm,
    Proximity,
)
from searchkit.index.schema import TEXT_FIELDS
from searchkit.params import DEFAULT, Params


class QueryToken(NamedTuple):
    """An analyzed query token: index term, kind (word/part/cat), compound group, position."""

    text: str
    kind: str
    group: int
    pos: int
    original: str = ""
    start: int = -1
    end: int = -1


def analyze_query(schema: Schema, text: str) -> list[QueryToken]:
    """The analyzed tokens of free text (all text fields share one analyzer)."""
    analyzer = schema["abstract"].analyzer
    return [
        QueryToken(
            t.text,
            getattr(t, "kind", "word"),
            getattr(t, "group", i),
            t.pos,
            getattr(t, "original", t.text),
            t.startchar,
            t.endchar,
        )
        for i, t in enumerate(
            analyzer(text, mode="query", positions=True, chars=True, keeporiginal=True)
        )
    ]


def analyze_query_words(schema: Schema, text: str) -> list[str]:
    """The index terms a piece of free text becomes."""
    return [t.text for t in analyze_query(schema, text)]


def term_query(schema: Schema, term: str, boost: float = 1.0) -> Query:
    """One analyzed term searched across the weighted text fields."""
    return FieldedTerm([Term(f, term, boost=w) for f, w in TEXT_FIELDS.items()], boost=boost)


def _concepts(tokens: list[QueryToken]) -> list[list[QueryToken]]:
    """Tokens grouped by the written word or compound they come from, in query order;
    a term already used by an earlier concept is not repeated."""
    groups: dict[int, list[QueryToken]] = {}
    seen: set[str] = set()
    for t in tokens:
        if t.text in seen:
            continue
        seen.add(t.text)
        groups.setdefault(t.group, []).append(t)
    return list(groups.values())


def _has_concept(schema: Schema, group: list[QueryToken], written: list[QueryToken]) -> Query:
    """Which records have a written word or compound: its term; a compound in one of
    the forms :func:`_concept_query` matches it by (its joined term, ``pdl1``, or its
    parts side by side, "PD L1"), never by one part alone."""
    if len(group) == 1 and len(written) == 1:
        return term_query(schema, group[0].text)
    forms = _compound_forms(schema, group, written)
    if not forms:
        return And([term_query(schema, t.text) for t in group])
    return forms[0] if len(forms) == 1 else Or(forms)


def searchable_alone(token: QueryToken, params: Params = DEFAULT) -> bool:
    """Whether a compound's part is worth searching by itself: not a number, a roman
    numeral or a fragment of one or two characters (the ``6`` of ``IL-6``, the ``t`` of
    ``T-cell``, the ``l1`` of ``PD-L1``, the ``ii`` of ``MHC-II``), which say nothing
    without the rest of the compound (``rad53`` of ``Rad53-dependent`` does)."""
    text = token.text
    return token.kind == "word" or (
        len(text) >= params.min_part_alone
        and not _NUMBER.fullmatch(text)
        and not _ROMAN.fullmatch(text)
    )


_NUMBER = re.compile(r"[\d.,]+")
_ROMAN = re.compile(r"[ivx]+")


def _concept_query(
    schema: Schema,
    group: list[QueryToken],
    written: list[QueryToken] | None = None,
    params: Params = DEFAULT,
) -> Query:
    """One query concept. A compound (``written``: all its tokens) matches its joined
    term (``PD-L1`` → ``pdl1``), its parts side by side (``PD L1``), and, at
    ``params.part_weight``, those parts that are words in their own right."""
    if len(group) == 1 and (written is None or len(written) == 1):
        return term_query(schema, group[0].text)
    forms = _compound_forms(schema, group, written or group)
    alternatives: list[Query] = []
    if forms:
        alternatives.append(forms[0] if len(forms) == 1 else CompoundTerm(forms))
    alternatives.extend(
        term_query(schema, t.text, params.part_weight)
        for t in group
        if t.kind != "cat" and searchable_alone(t, params)
    )
    if not alternatives:
        return term_query(schema, group[0].text, params.part_weight)
    return alternatives[0] if len(alternatives) == 1 else Or(alternatives)


def _compound_forms(
    schema: Schema, group: list[QueryToken], written: list[QueryToken]
) -> list[Query]:
    """The whole forms of a compound: its joined terms, and its parts side by side."""
    forms: list[Query] = [term_query(schema, t.text) for t in group if t.kind == "cat"]
    pieces = [t.text for t in sorted(written, key=lambda t: t.pos) if t.kind != "cat"]
    if len(pieces) > 1:
        forms.append(_phrase_query(schema, pieces, 1.0, slop=1))
    return forms


def _phrase_query(schema: Schema, terms: list[str], boost: float, slop: int = 2) -> Query:
    """``terms`` in sequence (by default a little slop for compounds) in every weighted
    text field."""
    if len(terms) == 1:
        return term_query(schema, terms[0], boost)
    return FieldedPhrase(
        [Phrase(f, terms, slop=slop, boost=w) for f, w in TEXT_FIELDS.items()], boost=boost
    )


def _index_terms(schema: Schema, text: str) -> list[str]:
    """The terms of a phrase as indexed in sequence (compounds by their catenation)."""
    return [t.text for t in analyze_query(schema, text) if t.kind != "part"]


def _short_form_expansions(
    schema: Schema, group: list[QueryToken], acronyms: AcronymSource, params: Params
) -> list[Query]:
    """A typed short form (``MHC``) → its long forms, weighted by their frequency."""
    written = group[0].original
    if not any(c.isupper() for c in written):  # "age" is a word, "AGE" may be an acronym
        return []
    forms = acronyms.long_forms(written)
    total = sum(n for _, n in forms)
    # Long forms written differently ("non-coding", "noncoding") can be the same index
    # terms: one phrase for them, weighted by their summed counts (the same score as
    # one phrase each, evaluated once).
    counts: dict[tuple[str, ...], int] = {}
    for lf, n in forms:
        terms = acronyms.terms(lf, lambda text: _index_terms(schema, text))
        if terms:
            counts[terms] = counts.get(terms, 0) + n
    return [
        _phrase_query(schema, list(terms), params.acronym_weight * n / total)
        for terms, n in counts.items()
    ]


def _long_form_spans(
    schema: Schema, groups: list[list[QueryToken]], acronyms: AcronymSource
) -> list[tuple[int, int, str]]:
    """Runs of query words that spell a learned long form: (first group, end, short form
    term), longest match first, not overlapping."""
    words = [g[0].text if len(g) == 1 and g[0].kind == "word" else "" for g in groups]
    typed = {t.text for g in groups for t in g}

    def analyse(text: str) -> list[str]:
        return _index_terms(schema, text)

    spans: list[tuple[int, int, str]] = []
    i = 0
    while i < len(words):
        best: tuple[int, str] | None = None
        for terms, short in acronyms.starting_with(words[i], analyse) if words[i] else []:
            end = i + len(terms)
            longer = best is None or end > best[0]
            if longer and tuple(words[i:end]) == terms and short not in typed:
                best = (end, short)
        if best is not None:
            spans.append((i, best[0], best[1]))
            i = best[0]
        else:
            i += 1
    return spans


_GREEK_NAMES = frozenset(GREEK.values())
_CAPITAL = re.compile(r"[A-Z]")
#: A number ending a code after its Greek letter ("TGF beta 1": TGF-β1).
_CODE_NUMBER = re.compile(r"\d{1,3}")


def _written(text: str, written: list[QueryToken]) -> str:
    """The text a concept's tokens come from."""
    return text[min(t.start for t in written) : max(t.end for t in written)]


def _written_unit(text: str, written: list[QueryToken]) -> str | None:
    """The written word or compound a concept's tokens come from (None: several written
    units, a code written with a space, "PD L1")."""
    unit = _written(text, written)
    return None if any(c.isspace() for c in unit) else unit


def _written_code(text: str, written: list[QueryToken]) -> str | None:
    """:func:`_written_unit`, or a code written with a space that the analyzer joins
    (a code head and tail, "IL 1", "HIF 1": a joined term among its tokens) with a
    hyphen for the space ("IL-1", searched as the compound is)."""
    unit = _written(text, written)
    if not any(c.isspace() for c in unit):
        return unit
    return "-".join(unit.split()) if any(t.kind == "cat" for t in written) else None


def _greek_spans(
    text: str, groups: list[list[QueryToken]], written: dict[int, list[QueryToken]]
) -> list[tuple[int, int, str]]:
    """Codes written with their Greek letter as a word of its own ("TNF alpha",
    "IL-1 beta", "NF-kappa B", as MeSH headings and many abstracts write them, or
    with every piece a word, "NF kappa B", "IL 1 beta", "TGF beta 1"): (first group,
    end, the pieces written together, "TNFalpha"). The first is a code head (``TNF``)
    or a compound starting with one (``NF-kappa``, ``IL-1``, also written "IL 1");
    the second, right after it (only spaces between), a Greek letter (``alpha``,
    ``β``) or, after a compound ending in a Greek letter's name (``NF-kappa``), a
    single capital (``B``), or the Latin letter a table reads as that Greek letter
    (``NF kB``); after the letter's name, a capital or a short number may follow
    ("NF kappa B", "TGF beta 1"). The index joins none of these: it joins a code
    head and a short code tail only ("PD L1" → ``pdl1``)."""
    spans: list[tuple[int, int, str]] = []
    i = 0
    while i + 1 < len(groups):
        first, second = written[groups[i][0].group], written[groups[i + 1][0].group]
        joined = _greek_join(text, first, second)
        if joined is None:
            i += 1
            continue
        end = i + 2
        while end < len(groups):
            more = _greek_tail(
                text, joined, written[groups[end - 1][0].group], written[groups[end][0].group]
            )
            if more is None:
                break
            joined += more
            end += 1
        spans.append((i, end, joined))
        i = end
    return spans


def greek_joins(schema: Schema, text: str) -> list[tuple[int, int, str]]:
    """Where free text has a code and its Greek letter as two words
    (:func:`_greek_spans`): (start, end, the two written together), in text order."""
    tokens = analyze_query(schema, text)
    groups = _concepts(tokens)
    written: dict[int, list[QueryToken]] = {}
    for t in tokens:
        written.setdefault(t.group, []).append(t)
    return [
        (
            min(t.start for t in written[groups[start][0].group]),
            max(t.end for t in written[groups[end - 1][0].group]),
            together,
        )
        for start, end, together in _greek_spans(text, groups, written)
    ]


def _greek_join(text: str, first: list[QueryToken], second: list[QueryToken]) -> str | None:
    """A code and its Greek letter written together (:func:`_greek_spans`), if the
    written units of ``first`` and ``second`` are that."""
    if len(second) != 1 or second[0].kind != "word" or not _adjacent(text, first, second):
        return None
    as_written = _written_unit(text, first)
    head, letter = _written_code(text, first), _written_unit(text, second)
    if head is None or letter is None:
        return None
    pieces = [p for p in JOINERS.split(head) if p]
    one_word = len(pieces) == 1 and as_written is not None
    if not CODE_HEAD.fullmatch(pieces[0]) or (one_word and len(first) > 1):
        return None
    if fold(letter) in _GREEK_NAMES or (
        len(pieces) > 1 and _CAPITAL.fullmatch(letter) and fold(pieces[-1]) in _GREEK_NAMES
    ):
        return head + letter
    together = unjoined(fold(head + letter)).lower()
    if whole_term(together) != together:
        return head + letter  # a Latin letter standing for the Greek one: "NF kB"
    return None


def _greek_tail(
    text: str, joined: str, before: list[QueryToken], after: list[QueryToken]
) -> str | None:
    """What a word right after a code joined with its Greek letter adds to it: a
    capital or a short number when the code ends with the letter's name ("NF kappa"
    then "B", "TGF beta" then "1"); else None."""
    if len(after) != 1 or after[0].kind != "word" or not _adjacent(text, before, after):
        return None
    word = _written_unit(text, after)
    if word is None or not any(fold(joined).lower().endswith(n) for n in _GREEK_NAMES):
        return None
    return word if _CAPITAL.fullmatch(word) or _CODE_NUMBER.fullmatch(word) else None


def _adjacent(text: str, first: list[QueryToken], second: list[QueryToken]) -> bool:
    """Whether ``second`` follows ``first`` with nothing but spaces between (not "TNF,
    alpha")."""
    if max(t.pos for t in first) + 1 != min(t.pos for t in second):
        return False
    return not text[max(t.end for t in first) : min(t.start for t in second)].strip()


def _joined_concept(
    schema: Schema, text: str, acronyms: AcronymSource | None, params: Params
) -> tuple[Query, Query] | None:
    """The concept and the records having it (as :func:`free_text_query` builds them)
    of ``text``, one word or compound, by its whole forms only (``TNFalpha`` →
    ``tnfalpha``; ``NF-kappaB`` → ``nfkappab`` or "nf kappab") and, with an acronym
    table, its long forms: what the query ``text`` matches, not its parts alone."""
    tokens = analyze_query(schema, text)
    groups = _concepts(tokens)
    if len(groups) != 1:
        return None
    if len(tokens) == 1 and tokens[0].kind == "word":
        concept = has = term_query(schema, tokens[0].text)
    else:
        if not any(t.kind == "cat" for t in tokens):
            return None
        forms = _compound_forms(schema, groups[0], tokens)
        concept = forms[0] if len(forms) == 1 else CompoundTerm(forms)
        has = forms[0] if len(forms) == 1 else Or(forms)
    if acronyms is not None and len(acronyms) and params.acronym_weight:
        expansions = _short_form_expansions(schema, groups[0], acronyms, params)
        if expansions:
            return Or([concept, *expansions]), Or([has, *expansions])
    return concept, has


def _proximity(schema: Schema, groups: list[list[QueryToken]], params: Params) -> Query | None:
    """Adjacent query words as sloppy phrases (sequential-dependence style)."""
    words = [g[0] for g in groups if len(g) == 1 and g[0].kind == "word"]
    pairs = [(a.text, b.text) for a, b in itertools.pairwise(words) if b.pos - a.pos <= 2]
    if not pairs or not params.proximity_weight:
        return None
    weight, window = params.proximity_weight, params.proximity_window
    return Proximity(
        [
            Phrase(f, list(pair), slop=window, boost=TEXT_FIELDS[f] * weight)
            for pair in pairs
            for f in params.proximity_fields
        ]
    )


def free_text_query(
    schema: Schema,
    text: str,
    *,
    acronyms: AcronymSource | None = None,
    params: Params = DEFAULT,
) -> Query:
    """Ranked free-text query for ``text`` (NullQuery if it has no searchable word).

    With an acronym table, a typed short form also searches its long forms and a typed
    long form its short form, at ``params.acronym_weight``.

    The query's ``required`` part says which records have *all* the words: each word
    (a compound by its catenation) in the title, abstract, keywords or MeSH, where a
    learned short form and its long form count as the same word (``MHC`` is had by a
    record saying "major histocompatibility complex"; "cancer stem cells" by one saying
    ``CSCs``), since the ranking treats them so.
    """
    tokens = analyze_query(schema, text)
    groups = _concepts(tokens)
    if not groups:
        return NullQuery
    written: dict[int, list[QueryToken]] = {}
    for t in tokens:
        written.setdefault(t.group, []).append(t)
    concepts: list[Query] = [_concept_query(schema, g, written[g[0].group], params) for g in groups]
    required: list[Query] = [_has_concept(schema, g, written[g[0].group]) for g in groups]
    # Spans of query words that are one concept, which also matches another form: a
    # long form typed in full its short form (at the acronym weight); a code and its
    # Greek letter typed as two words the two written together ("TNF alpha" →
    # ``tnfalpha``), as that query would match them. The words as typed still match.
    spans: list[tuple[int, int, Query, Query]] = []
    if acronyms is not None and len(acronyms) and params.acronym_weight:
        for i, group in enumerate(groups):
            expansions = _short_form_expansions(schema, group, acronyms, params)
            if expansions:
                concepts[i] = Or([concepts[i], *expansions])
                required[i] = Or([required[i], *expansions])
        for start, end, short in _long_form_spans(schema, groups, acronyms):
            has_short = term_query(schema, short, params.acronym_weight)
            spans.append((start, end, has_short, has_short))
    for start, end, together in _greek_spans(text, groups, written):
        joined = _joined_concept(schema, together, acronyms, params)
        if joined is not None and not any(s < end and start < e for s, e, _, _ in spans):
            spans.append((start, end, *joined))
    for start, end, concept, has in sorted(spans, key=lambda span: span[0], reverse=True):
        concepts[start:end] = [Or([*concepts[start:end], concept])]
        required[start:end] = [Or([And(required[start:end]), has])]
    children = list(concepts)
    near = _proximity(schema, groups, params)
    if near is not None:
        children.append(near)
    return BestMatch(children, required=required)
