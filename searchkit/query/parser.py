"""The query language's grammar: a recursive-descent parser over the tokens of
:mod:`searchkit.query.lexer`, producing the syntax tree of :mod:`searchkit.query.syntax`
(turned into a Whoosh query by :mod:`searchkit.query.compile`).

Grammar (operators in capitals, as in PubMed; lower-case and/or/not are words)::

    query    := chain
    chain    := sequence (("AND" | "OR" | "NOT") sequence)*   # left to right
    sequence := unit+                                      # implicit AND of the units
    unit     := "(" chain ")"
              | "#" N                                      # search N of the history
              | PHRASE ["~" N] [TAG]                       # "tumor escape"~5[tiab]
              | PHRASE "[" ("ti"|"ab"|"tiab"|"ad") ":~" N "]"   # PubMed: "tumor escape"[tiab:~3]
                                                           # (long forms: [Title/Abstract:~3])
              | FIELD ":" (WORD | PHRASE)                  # title:cancer, year:2015..2020
              | WORD+ [TAG]                                # cancer stem cells[ti]
              | DATE DTAG ":" DATE DTAG                    # "2015/01/01"[dp] : "3000"[dp]
              | NAME "[Filter]"                            # english[Filter] (PubMed's filters)

Wildcards (PubMed's rules): a ``*`` in a word stands for 0 or more characters
(``immun*``, ``tumo*r``), with at least :data:`MIN_PREFIX` letters or digits before
the first one; untagged, such a word is a term of its own. A tagged run of words
holding one (``breast feed*[tiab]``), a quoted phrase holding one (``"colo*
cancer*"``) and a hyphenated word holding one (``IL-*-deficient``) are phrases (not in
a DOI: ``10.1016/S0140-6736*[doi]`` is the DOIs starting so). A hyphenated word
truncated at its end, unquoted, is truncated whole (``IL-10*``: its 4 characters
counted in ``IL10``; :func:`_truncated_compound`). A ``*`` before a digit is part of
the word (``HLA-A*02:01``).

Operators are applied left to right, as PubMed does: ``a OR b AND c`` is
``(a OR b) AND c`` and ``a NOT b OR c`` is ``(a NOT b) OR c``; parentheses group.
``NOT`` means AND NOT. A sequence (units side by side, without an operator between
them) is one operand of that chain: ``breast cancer OR tumor`` is
``(breast cancer) OR tumor``. Inside a sequence, all bare words (without a tag) form
one ranked free-text group built by :func:`searchkit.query.free_text.free_text_query`, and
the other units must match as well; a field tag applies to the run of words just
before it (``[pt]``, ``[la]`` and ``[Filter]``: to the run's longest end that names a
publication type, language or filter, :func:`_value_start`; a date tag: to the run's
longest end that writes a date). A query cannot start with ``NOT``. Every malformed query raises
:class:`QueryError` with the 0-based position of the problem.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping

from searchkit.errors import QueryError
from searchkit.index.mesh import KEYS as MESH_KEYS
from searchkit.query import filters
from searchkit.query.date_forms import parse_dates, parse_years
from searchkit.query.doi_text import dois_alone
from searchkit.query.lexer import (
    OPERATORS,
    Token,
    first_wildcard,
    has_wildcard,
    tokenize,
)
from searchkit.query.syntax import (
    And,
    Dates,
    FreeText,
    HasAbstract,
    Node,
    Not,
    Or,
    Phrase,
    Tagged,
    Truncated,
    Wildcard,
    WildPhrase,
    Years,
    depth,
)
from searchkit.query.tags import (
    DATE_KEYS,
    FILTER_KEY,
    HAS_ABSTRACT,
    ID_NAMES,
    PREFIXES,
    PROXIMITY_KEYS,
    TAGS,
    TEXT_KEYS,
    UNSUPPORTED_TAGS,
    WHOLE_ID_KEYS,
)

#: A proximity tag's inside, ``tiab:~3`` (also ``Title/Abstract:~3``).
_PROXIMITY_TAG = re.compile(r"^\s*([A-Za-z][A-Za-z/ ]*?)\s*:\s*~\s*(\d+)\s*$")

#: Deepest nesting accepted, of parentheses and of the tree (deeper is refused).
MAX_DEPTH = 64
#: Characters needed before the first ``*`` of a word (PubMed's rule).
MIN_PREFIX = 4


class _Parser:
    def __init__(
        self,
        text: str,
        refs: Mapping[int, str],
        expanded: dict[int, Node] | None = None,
        level: int = 0,
    ) -> None:
        self.text = text
        self.toks = tokenize(text)
        self.i = 0
        self.depth = 0
        self.refs = refs
        #: References already expanded (``#3`` used twice is parsed once).
        self.expanded: dict[int, Node] = {} if expanded is None else expanded
        #: How many references deep this text is (``#5`` naming ``#4`` naming …).
        self.level = level

    def peek(self) -> Token | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def next(self) -> Token:
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def parse(self) -> Node:
        if not self.toks:
            raise QueryError("the query is empty; give some words to search for")
        node = self.chain(None)
        tok = self.peek()
        if tok is not None:  # only a ')' can stop the top-level expression
            raise QueryError("unbalanced ')': no '(' before it", tok.pos)
        return node

    def chain(self, after: Token | None) -> Node:
        """Operands joined by AND, OR and NOT, read left to right as PubMed does:
        ``a OR b AND c`` is ``(a OR b) AND c``."""
        node = self.sequence(after)
        while (tok := self.peek()) is not None and tok.kind in OPERATORS:
            self.next()
            following = self.peek()
            if tok.kind == "AND" and following is not None and following.kind == "NOT":
                tok = self.next()  # "A AND NOT B", as other engines write it, is A NOT B
            right = self.sequence(tok)
            node = _combine(node, tok.kind, right)
        return node

    def sequence(self, after: Token | None) -> Node:
        units: list[Node] = []
        words: list[str] = []
        words_pos = -1
        while (tok := self.peek()) is not None and tok.kind in (
            "WORD",
            "PHRASE",
            "FIELD",
            "LPAREN",
            "REF",
        ):
            for unit in self.units():
                if isinstance(unit, FreeText):
                    if not words:
                        words_pos = unit.pos
                    words.extend(unit.words)
                else:
                    units.append(unit)
        if words:
            units.insert(0, FreeText(tuple(words), words_pos))
        if not units:
            self._missing_term(after)
        return units[0] if len(units) == 1 else And(tuple(units), implicit=True)

    def _missing_term(self, after: Token | None) -> None:
        tok = self.peek()
        if tok is None:
            assert after is not None  # an empty query is caught in parse()
            if after.kind == "LPAREN":
                raise QueryError("unbalanced '(': no ')' after it", after.pos)
            raise QueryError(
                f"'{after.text}' at the end of the query needs a term after it", after.pos
            )
        if tok.kind in OPERATORS:
            if after is None or after.kind == "LPAREN":
                if tok.kind == "NOT":
                    raise QueryError(
                        "NOT needs a term before it: write 'A NOT B' to exclude B", tok.pos
                    )
                raise QueryError(f"'{tok.kind}' needs a term before it", tok.pos)
            raise QueryError(
                f"'{after.text}' is followed by '{tok.kind}': a term is missing", tok.pos
            )
        if tok.kind == "RPAREN":
            if after is not None and after.kind == "LPAREN":
                raise QueryError("empty parentheses '()'", after.pos)
            if after is None:
                raise QueryError("unbalanced ')': no '(' before it", tok.pos)
            raise QueryError(f"'{after.text}' needs a term after it", after.pos)
        # tok.kind == "TAG"
        raise QueryError(f"the field tag [{tok.text}] must follow a word or a phrase", tok.pos)

    def unit(self) -> Node:
        tok = self.next()
        if tok.kind == "LPAREN":
            self.depth += 1
            if self.depth > MAX_DEPTH:
                raise QueryError(f"parentheses nested more than {MAX_DEPTH} deep", tok.pos)
            node = self.chain(tok)
            close = self.peek()
            if close is None or close.kind != "RPAREN":
                raise QueryError("unbalanced '(': no ')' after it", tok.pos)
            self.next()
            self.depth -= 1
            self._no_tag("a closing ')'")
            return node
        if tok.kind == "PHRASE":
            if not tok.text.strip():
                raise QueryError('empty phrase ""', tok.pos)
            if has_wildcard(tok.text):
                return self.wild_phrase(tok)
            proximity = self._proximity_tag(tok)
            if proximity is not None:
                return Phrase(tok.text, proximity[0], proximity[1], tok.pos)
            tag = self.peek()
            key = self._tag()
            if key == FILTER_KEY:
                assert tag is not None
                return _filter(tok.text, tag.text, tok.pos)
            if key in DATE_KEYS:
                assert tag is not None
                return self._date_range(key, tok.text, tag.text, tok.pos)
            if key == "pubtype" and tok.near is None:
                return _value(key, (tok.text,), tok.pos, Phrase(tok.text, key, None, tok.pos))
            if key is None and tok.near is None and (dois := dois_alone(tok.text)):
                # A quoted DOI is its [doi] search, as a bare one is (PubMed maps a DOI
                # to [doi]); as a phrase of the text fields it found nothing.
                return Tagged("doi", dois, tok.pos)
            return Phrase(tok.text, key, tok.near, tok.pos)
        if tok.kind == "FIELD":
            return self.field(tok)
        assert tok.kind == "REF"
        node = self.reference(tok)
        self._no_tag(f"a reference such as {tok.text}")
        return node

    def units(self) -> list[Node]:
        """The next unit; a run of words gives several (free words, wildcards)."""
        tok = self.peek()
        if tok is None or tok.kind != "WORD":
            return [self.unit()]
        run = [self.next()]
        while (nxt := self.peek()) is not None and nxt.kind == "WORD":
            run.append(self.next())
        tag = self.peek()
        if _has_abstract_tag(run, tag):
            # ``hasabstract[text]`` (older PubMed strategies write the filter so),
            # ``hasabstract[tw]``: the filter, not the word in the text (none has it).
            assert tag is not None
            self.next()
            self._no_tag("a field tag")
            return [*(_word_run(run[:-1], None) if len(run) > 1 else []), HasAbstract(run[-1].pos)]
        key = self._tag()
        if key in DATE_KEYS:
            assert tag is not None
            # The tag's date is the run's longest tail that writes one ("breast cancer
            # 2015:2020[dp]": the words before it are free text); else it is refused:
            # the last word when it begins as a date does ("cancer 2020:2015[dp]" runs
            # backwards), the whole run otherwise.
            for start in range(len(run)):
                text = _date_text(run[start:])
                if text is not None:
                    break
            else:
                start = len(run) - 1 if run[-1].text[:1].isdigit() else 0
                text = " ".join(t.text for t in run[start:])
            for t in run[start:]:
                if has_wildcard(t.text):
                    raise QueryError("truncation '*' is not supported for dates", t.pos)
            dates = self._date_range(key, text, tag.text, run[start].pos)
            return [*_word_run(run[:start], None), dates] if start else [dates]
        start = _value_start(key, run) if key is not None else 0
        before = _word_run(run[:start], None) if start else []
        if key == FILTER_KEY:
            assert tag is not None
            name = " ".join(t.text for t in run[start:])
            return [*before, _filter(name, tag.text, run[start].pos)]
        return [*before, *_word_run(run[start:], key)]

    def _date_range(self, key: str, text: str, tag: str, pos: int) -> Dates:
        """The dates of ``text`` tagged ``[tag]`` (of kind ``key``), or the range from
        it to the date after a colon, tagged too, as PubMed writes a range it was given
        in its filters: ``"2015/01/01"[Date - Publication] : "3000"[Date - Publication]``
        (also ``2015[dp]:2020[dp]``)."""
        colon = self.peek()
        if colon is None or colon.kind != "WORD" or not colon.text.startswith(":"):
            return _dates(key, text, pos)
        self.next()
        end = colon.text[1:]
        if not end:
            value = self.peek()
            if value is not None and value.kind in ("WORD", "PHRASE"):
                end = self.next().text
        end_tag = self.peek()
        if not end or end_tag is None or end_tag.kind != "TAG":
            raise QueryError(
                'the end of a date range needs its date tag: \'"2005"[dp] : "2010"[dp]\'',
                colon.pos,
            )
        end_key = self._tag()
        if end_key != key:
            raise QueryError(
                f"a date range's two ends must be dates of one kind: [{tag}] then [{end_tag.text}]",
                colon.pos,
            )
        if any(sep in part for part in (text, end) for sep in (":", "..")):
            raise QueryError("a date range's two ends must each be one date", colon.pos)
        if any(filters.relative_start(part) is not None for part in (text, end)):
            raise QueryError(
                'a relative date such as "last 5 years" is a range already: it cannot be '
                "an end of one",
                colon.pos,
            )
        return _dates(key, f"{text.strip()}:{end.strip()}", pos)

    def wild_phrase(self, tok: Token) -> Node:
        """A quoted phrase with a wildcard: ``"breast feed*"``, ``"psoas absc*"[tiab]``."""
        star = tok.pos + 1 + first_wildcard(tok.text)
        if tok.near is not None:
            raise QueryError("a wildcard '*' cannot be used in a proximity search", star)
        after = self.peek()
        if after is not None and after.kind == "TAG" and _PROXIMITY_TAG.match(after.text):
            raise QueryError("a wildcard '*' cannot be used in a proximity search", star)
        key = self._tag()
        if key is None and len(dois := dois_alone(tok.text)) == 1:
            key = "doi"  # "10.1016/S0140-6736*": the DOIs starting so, as unquoted
            tok = tok._replace(text=dois[0])
        words = [
            Token("WORD", m.group(), tok.pos + 1 + m.start()) for m in re.finditer(r"\S+", tok.text)
        ]
        if key in DATE_KEYS:
            raise QueryError("truncation '*' is not supported for dates", star)
        if key == FILTER_KEY:
            raise QueryError("a filter's name cannot hold a wildcard '*'", star)
        return _wild_run(words, key, tok.pos)

    def reference(self, tok: Token) -> Node:
        """``#N``: the query of search N, as one parenthesised group."""
        number = int(tok.text[1:])
        if number not in self.refs:
            if not self.refs:
                raise QueryError(f"{tok.text}: there is no earlier search to refer to", tok.pos)
            known = sorted(self.refs)
            raise QueryError(
                f"{tok.text}: there is no search #{number} (earlier "
                f"{'search' if len(known) == 1 else 'searches'}: {_numbers(known)})",
                tok.pos,
            )
        node = self.expanded.get(number)
        if node is None:
            if self.level >= MAX_DEPTH:
                raise QueryError(
                    f"{tok.text}: searches refer to searches more than {MAX_DEPTH} deep", tok.pos
                )
            earlier = {n: q for n, q in self.refs.items() if n < number}
            try:
                node = (
                    _alone(self.refs[number])
                    or _Parser(self.refs[number], earlier, self.expanded, self.level + 1).parse()
                )
            except QueryError as exc:
                raise QueryError(
                    f"{tok.text} cannot be used, its query does not parse: {exc.reason}",
                    tok.pos,
                ) from None
            self.expanded[number] = node
        return node

    def field(self, tok: Token) -> Node:
        key = PREFIXES[tok.text]
        value = self.peek()
        if value is None or value.kind not in ("WORD", "PHRASE"):
            raise QueryError(f"expected a word or a quoted phrase after '{tok.text}:'", tok.pos)
        self.next()
        self._no_tag(f"a '{tok.text}:' term")
        if key == "year":
            return _years(value.text, value.pos, "year")
        if value.kind == "PHRASE":
            if not value.text.strip():
                raise QueryError('empty phrase ""', value.pos)
            if has_wildcard(value.text):
                if value.near is not None:
                    raise QueryError(
                        "a wildcard '*' cannot be used in a proximity search",
                        value.pos + 1 + first_wildcard(value.text),
                    )
                words = [
                    Token("WORD", m.group(), value.pos + 1 + m.start())
                    for m in re.finditer(r"\S+", value.text)
                ]
                return _wild_run(words, key, tok.pos)
            if key == "pubtype" and value.near is None:
                return _value(key, (value.text,), tok.pos, Phrase(value.text, key, None, tok.pos))
            return Phrase(value.text, key, value.near, tok.pos)
        if has_wildcard(value.text):
            return _wild_run([value], key, tok.pos, unquoted=True)
        return _value(key, (value.text,), tok.pos)

    def _proximity_tag(self, phrase: Token) -> tuple[str, int] | None:
        """PubMed's ``"a b"[tiab:~N]``: at most N words between the words, in any
        order; returns (field key, proximity) or ``None`` when no such tag follows."""
        tok = self.peek()
        match = _PROXIMITY_TAG.match(tok.text) if tok is not None and tok.kind == "TAG" else None
        if tok is None or match is None:
            return None
        self.next()
        key = TAGS.get(" ".join(match.group(1).lower().split()))
        if key not in PROXIMITY_KEYS:
            raise QueryError(
                f"proximity works with [ti:~N], [ab:~N], [tiab:~N] or [ad:~N], not [{tok.text}]",
                tok.pos,
            )
        if phrase.near is not None:
            raise QueryError("give the proximity once: '~N' or '[tiab:~N]', not both", tok.pos)
        between = int(match.group(2))
        if between > 1000:
            raise QueryError("the proximity after '~' must be between 0 and 1000", tok.pos)
        self._no_tag("a field tag")
        return key, between + 1

    def _tag(self) -> str | None:
        tok = self.peek()
        if tok is None or tok.kind != "TAG":
            return None
        self.next()
        if _PROXIMITY_TAG.match(tok.text):
            raise QueryError(
                f"a proximity tag such as [{tok.text}] must follow a quoted phrase", tok.pos
            )
        name = " ".join(tok.text.lower().split())
        if name in UNSUPPORTED_TAGS:
            raise QueryError(
                f"the PubMed tag [{tok.text}] cannot be searched here: {UNSUPPORTED_TAGS[name]}",
                tok.pos,
            )
        if name not in TAGS:
            raise QueryError(f"unknown field tag [{tok.text}]{_tag_hint(name)}", tok.pos)
        self._no_tag("a field tag")
        return TAGS[name]

    def _no_tag(self, what: str) -> None:
        tok = self.peek()
        if tok is not None and tok.kind == "TAG":
            raise QueryError(f"a field tag cannot follow {what}", tok.pos)


#: Tags after ``hasabstract`` that leave it PubMed's "Abstract" filter: ``[text]``
#: (which follows nothing else) after the last word of a run, or a text tag after
#: ``hasabstract`` alone.
_HAS_ABSTRACT_TAGS = frozenset({"tw", "text word", "text words", "all", "all fields"})


def _has_abstract_tag(run: list[Token], tag: Token | None) -> bool:
    """Whether ``tag`` makes the run's last word PubMed's ``hasabstract`` filter."""
    if tag is None or tag.kind != "TAG" or run[-1].text.lower() != HAS_ABSTRACT:
        return False
    name = " ".join(tag.text.lower().split())
    return name == "text" or (len(run) == 1 and name in _HAS_ABSTRACT_TAGS)


def _numbers(known: list[int]) -> str:
    """Search numbers (ascending) as an error names them: ``#1 to #5`` when more than
    two and none is skipped, else each (``#1``, ``#1, #2``, ``#3, #7, #9``; the first
    and last few of a long list)."""
    if len(known) > 2 and known[-1] - known[0] == len(known) - 1:
        return f"#{known[0]} to #{known[-1]}"
    if len(known) > 8:
        return (
            ", ".join(f"#{n}" for n in known[:3]) + ", …, " + ", ".join(f"#{n}" for n in known[-3:])
        )
    return ", ".join(f"#{n}" for n in known)


def _combine(left: Node, op: str, right: Node) -> Node:
    """``left op right``; runs of one operator stay flat (``a OR b OR c``), and
    ``a NOT b NOT c`` is ``a NOT (b OR c)``."""
    if op == "NOT":
        if isinstance(left, Not):
            negatives = (
                left.negative.children if isinstance(left.negative, Or) else (left.negative,)
            )
            return Not(left.positive, Or((*negatives, right)))
        return Not(left, right)
    if op == "OR":
        return Or((*left.children, right)) if isinstance(left, Or) else Or((left, right))
    if isinstance(left, And) and not left.implicit:
        return And((*left.children, right))
    return And((left, right))


def _value_start(key: str, run: list[Token]) -> int:
    """Where the value tagged ``key`` starts in ``run``: a publication type's, a
    language's or a filter's tag takes the run's longest tail that names one
    (:func:`filters.names_value`), the words before it being free text (``cancer
    review[pt]`` is ``cancer AND review[pt]``, ``cancer english[Filter]`` is ``cancer
    AND english[Filter]``, as PubMed breaks a tagged run that is not in its phrase index
    into words); the whole run when it names one, when no tail does (a type this list
    does not know is searched whole; a filter's run is then refused whole, at its
    start), for a wildcard, and for every other tag (a journal's name is the whole run:
    ``cancer res[ta]``)."""
    if len(run) < 2 or any(has_wildcard(t.text) for t in run):
        return 0
    for start in range(len(run)):
        if filters.names_value(key, " ".join(t.text for t in run[start:])):
            return start
    return 0


def _date_text(words: list[Token]) -> str | None:
    """The date ``words`` write, spaced ("last 5 years") or joined ("2015 : 2020"), or
    None when they write none."""
    for sep in (" ", ""):
        text = sep.join(t.text for t in words)
        try:
            parse_dates(text)
        except ValueError:
            continue
        return text
    return None


def _word_run(run: list[Token], key: str | None) -> list[Node]:
    """A run of words and the tag after it (``key``). Untagged, the plain words are
    one free-text group and each wildcard word stands alone (a hyphenated one is a
    phrase, ``IL-*-deficient``, or truncated whole, ``IL-10*``); tagged, the tag
    applies to the whole run, which is a phrase when it holds a wildcard (as in
    PubMed: ``breast feed*[tiab]``; one hyphenated word: as untagged)."""
    pos = run[0].pos
    if key is None:
        # PubMed's ``hasabstract`` is its "Abstract" filter, not a word.
        special = [t for t in run if t.text.lower() == HAS_ABSTRACT]
        run = [t for t in run if t.text.lower() != HAS_ABSTRACT]
        words = [t for t in run if not has_wildcard(t.text)]
        nodes: list[Node] = [FreeText(tuple(t.text for t in words), words[0].pos)] if words else []
        nodes.extend(
            _wild_run([t], None, t.pos, unquoted=True) for t in run if has_wildcard(t.text)
        )
        nodes.extend(HasAbstract(t.pos) for t in special)
        return nodes
    if not any(has_wildcard(t.text) for t in run):
        return [_value(key, tuple(t.text for t in run), pos)]
    return [_wild_run(run, key, pos, unquoted=True)]


def _value(key: str, words: tuple[str, ...], pos: int, alone: Node | None = None) -> Node:
    """``words`` searched in the field of ``key``: ``alone`` (by default, as a
    :class:`Tagged`), except for a publication type NLM renamed, which is searched under
    each of its names (``Evaluation Study[pt]`` finds the records of older exports
    typed "Evaluation Studies"), as its ``[Filter]`` is."""
    if key == "pubtype":
        names = filters.publication_type_names(" ".join(words))
        if len(names) > 1:
            return Or(tuple(Tagged(key, (name,), pos) for name in names))
    return alone if alone is not None else Tagged(key, words, pos)


#: Field keys whose values are matched whole (a ``*`` may only end them); so are MeSH
#: headings (``T-Lymphocytes, *[mh]``, ``Interleukin-10*[mh]``: :data:`MESH_KEYS`).
_WHOLE_VALUE_KEYS = frozenset({"journal", "pubtype", "language"})


#: Field keys of text analysed as the free text is (compounds indexed whole and by
#: their pieces): a hyphenated word truncated at its end is searched whole in them.
_COMPOUND_KEYS: frozenset[str | None] = frozenset({None, "all", *TEXT_KEYS})


def _wild_run(words: list[Token], key: str | None, pos: int, unquoted: bool = False) -> Node:
    """Words of which at least one holds a ``*``: one wildcard word, or a phrase.
    ``unquoted``: the words were not written in quotes (a quoted phrase's hyphenated
    word is always a phrase of its pieces)."""
    if key in WHOLE_ID_KEYS:
        raise QueryError(f"a wildcard '*' is not supported for {ID_NAMES[key]}", pos)
    if key in _WHOLE_VALUE_KEYS or key in MESH_KEYS:
        text = " ".join(t.text for t in words)
        if text.count("*") > 1 or not text.endswith("*"):
            where = pos + text.index("*")
            if key in MESH_KEYS:
                raise QueryError(
                    "in a MeSH heading '*' can only end the heading (lung*[mh])", where
                )
            raise QueryError(f"in a [{key}] value '*' can only come at the end", where)
        _check_wildcard(Token("WORD", text, words[0].pos))
        return Truncated(text[:-1], key, pos)
    if unquoted and len(words) == 1 and key in _COMPOUND_KEYS:
        compound = _truncated_compound(words[0], key, pos)
        if compound is not None:
            return compound
    parts: list[Token] = []
    for t in words:
        # A DOI's hyphen is one of its characters (10.1016/S0140-6736*[doi]).
        if not has_wildcard(t.text) or "-" not in t.text or key == "doi":
            parts.append(t)
            continue
        # IL-*-deficient is the phrase "IL * deficient" ("breast-feed*" too, PubMed).
        pieces = [
            Token("WORD", m.group(), t.pos + m.start()) for m in re.finditer(r"[^-]+", t.text)
        ]
        last = pieces[-1]
        phrase = len(words) > 1 or not unquoted
        if phrase and has_wildcard(last.text) and _prefix_length(last.text) < MIN_PREFIX:
            # IL-10*: truncated whole alone (outside quotes), piece by piece in a phrase
            raise QueryError(
                f"in a phrase '{t.text}' is searched piece by piece, and '{last.text}' has "
                f"fewer than {MIN_PREFIX} characters before the '*'; {t.text} alone, out "
                "of the phrase, finds every word starting with it",
                last.pos + first_wildcard(last.text),
            )
        parts.extend(pieces)
    for t in parts:
        if has_wildcard(t.text):
            _check_wildcard(t)
    if len(parts) == 1:
        text = parts[0].text
        if text.endswith("*") and text.count("*") == 1:
            return Truncated(text[:-1], key, pos)
        return Wildcard(text, key, pos)
    return WildPhrase(tuple(t.text for t in parts), key, pos)


def _truncated_compound(tok: Token, key: str | None, pos: int) -> Node | None:
    """A hyphenated word whose one wildcard ends it (``IL-10*``, ``COVID-19*``,
    ``breast-feed*``), or None for any other word. PubMed's rule counts the letters and
    digits of the whole word before the ``*`` (``IL-1*`` has three: refused). The index
    holds a compound run together (``IL-10``, ``IL10``: ``il10``; ``IL-10-deficient``:
    ``il10deficient`` and ``il10``), so the word finds every term that starts with its
    pieces run together, as a truncated word does (:class:`Truncated`); when its last
    piece has :data:`MIN_PREFIX` letters or digits itself, also its pieces as a phrase
    with that piece truncated (``"breast feed*"``: "breast feeding"), as before. A
    shorter last piece is not expanded alone (``10*`` would be every term starting
    with 10)."""
    head = tok.text.rstrip("*")
    if "-" not in head or has_wildcard(head) or not _is_compound(head):
        return None
    _check_wildcard(tok)
    whole = Truncated(head, key, pos)
    pieces = [m.group() for m in re.finditer(r"[^-]+", tok.text)]
    if _prefix_length(pieces[-1]) < MIN_PREFIX:
        return whole
    return Or((whole, WildPhrase(tuple(pieces), key, pos)))


def _is_compound(text: str) -> bool:
    """Whether ``text`` is one compound as the analyzer reads it (letters and digits
    joined by hyphens and the like: ``IL-10``, ``HLA-A*02``), which it indexes run
    together."""
    from searchkit.analysis.analyzer import COMPOUND  # hyphenated wildcards only

    match = COMPOUND.fullmatch(text)
    return match is not None and not match.group("tail")


def _prefix_length(text: str) -> int:
    """How many letters and digits come before the first ``*`` of ``text``."""
    return len(re.sub(r"[\W_]", "", text[: first_wildcard(text)]))


def _check_wildcard(tok: Token) -> None:
    """PubMed's rule: at least :data:`MIN_PREFIX` characters (letters or digits) before
    the first ``*``."""
    star = first_wildcard(tok.text)
    if _prefix_length(tok.text) < MIN_PREFIX:  # letters and digits
        raise QueryError(
            f"a wildcard needs at least {MIN_PREFIX} characters before the first '*' "
            f"(as in PubMed): '{tok.text}'",
            tok.pos + star,
        )


def _years(text: str, pos: int, where: str) -> Years:
    try:
        low, high = parse_years(text)
    except ValueError as exc:
        raise QueryError(f"{where}: {exc}", pos) from None
    return Years(low, high, pos)


def _filter(name: str, tag: str, pos: int) -> Node:
    """The search PubMed's filter ``name[tag]`` stands for (:mod:`searchkit.query.filters`)."""
    try:
        found = filters.resolve(name)
    except filters.UnsupportedFilter as exc:
        raise QueryError(
            f"the PubMed filter {name}[{tag}] cannot be searched here: {exc}", pos
        ) from None
    except filters.UnknownFilter:
        raise QueryError(
            f"{name}[{tag}] is not a PubMed filter searchkit knows ({filters.KNOWN})", pos
        ) from None
    if found.abstract:
        return HasAbstract(pos)
    if found.since is not None:
        return Dates("pdat", found.since.strftime("%Y%m%d"), None, pos)
    assert found.key is not None
    nodes = tuple(Tagged(found.key, (value,), pos) for value in found.values)
    return nodes[0] if len(nodes) == 1 else Or(nodes)


def _dates(key: str, text: str, pos: int) -> Dates:
    try:
        low, high = parse_dates(text)
    except ValueError as exc:
        raise QueryError(f"[{'dp' if key == 'pdat' else key}]: {exc}", pos) from None
    return Dates(key, low, high, pos)


#: The tags an unknown tag's message names when none is close to it.
_COMMON_TAGS = "[ti] [ab] [tiab] [au] [mh] [dp] [pt] [la]"


def _tag_hint(name: str) -> str:
    """What the message of an unknown tag ``name`` adds: the known tags closest to it
    (a typo, another system's name), else the common ones. Listing all of them (over
    a hundred with PubMed's long names) made a line of 1,800 characters."""
    from difflib import get_close_matches  # only for this message

    close = get_close_matches(name, list(TAGS), n=3, cutoff=0.6)
    if close:
        return f": did you mean {' or '.join(f'[{t}]' for t in close)}?"
    return f": try {_COMMON_TAGS} (the README lists them all)"


#: A query of numbers alone (spaces or commas between them): PubMed searches them as
#: PMIDs, any of them ("24162591 30108519"); among other words a number is a word.
_PMIDS_ALONE = re.compile(r"^\s*(\d{1,10}(?:[\s,]+\d{1,10})*)[\s,]*$")
#: A query of PMC ids alone ("PMC8469208", "pmc8469208, PMC5442267"): PubMed finds
#: their records; a PMC id among other words is a word.
_PMCIDS_ALONE = re.compile(r"^\s*(PMC\d{1,12}(?:[\s,]+PMC\d{1,12})*)[\s,.]*$", re.IGNORECASE)


def _alone(text: str) -> Node | None:
    """A query that is PMIDs alone, PMC ids alone or DOIs alone, as their ``[pmid]``,
    ``[pmcid]`` or ``[doi]`` search (PubMed reads them so; a DOI's slash and brackets
    are not query syntax); None for any other query. Also for a search an ``#N``
    refers to."""
    pmids = _PMIDS_ALONE.match(text)
    if pmids is not None:
        return Tagged("pmid", (pmids.group(1),), 0)  # the list split as [pmid]'s is
    pmcids = _PMCIDS_ALONE.match(text)
    if pmcids is not None:
        return Tagged("pmcid", (pmcids.group(1),), 0)
    dois = dois_alone(text)
    if any(has_wildcard(doi) for doi in dois):
        # One DOI truncated (10.1016/S0140-6736*): the DOIs starting so; several are
        # left to the grammar.
        return _wild_run([Token("WORD", dois[0], 0)], "doi", 0) if len(dois) == 1 else None
    return Tagged("doi", dois, 0) if dois else None


def parse(text: str, refs: Mapping[int, str] | None = None) -> Node:
    """The syntax tree of a query. Raises :class:`QueryError` for a malformed query.

    ``refs`` maps search numbers to earlier queries (the history, or the lines of a
    strategy): ``#N`` in ``text`` stands for query N, parsed with the searches before
    it, as one group."""
    if not text or not text.strip():
        raise QueryError("the query is empty; give some words to search for")
    if not text.isascii():
        # Composed (NFC), as records are written: a query pasted from a PDF or macOS
        # with "c" and a combining cedilla would split "Behçet" in two (positions in
        # error messages are then the composed query's).
        text = unicodedata.normalize("NFC", text)
    node = _alone(text) or _Parser(text, refs or {}).parse()
    if depth(node) > MAX_DEPTH:
        raise QueryError(
            f"the query nests more than {MAX_DEPTH} levels deep (AND and NOT alternate too "
            "often); simplify it"
        )
    return node
