"""The query language's syntax: a tokenizer and a recursive-descent parser producing
a small syntax tree (turned into a Whoosh query by :mod:`searchkit.query.compile`).

Grammar (operators in capitals, as in PubMed; lower-case and/or/not are words)::

    query    := chain
    chain    := sequence (("AND" | "OR" | "NOT") sequence)*   # left to right
    sequence := unit+                                      # implicit AND of the units
    unit     := "(" chain ")"
              | "#" N                                      # search N of the history
              | PHRASE ["~" N] [TAG]                       # "tumor escape"~5[tiab]
              | PHRASE "[" ("ti"|"ab"|"tiab") ":~" N "]"   # PubMed: "tumor escape"[tiab:~3]
                                                           # (long forms: [Title/Abstract:~3])
              | FIELD ":" (WORD | PHRASE)                  # title:cancer, year:2015..2020
              | WORD+ [TAG]                                # cancer stem cells[ti]
              | DATE DTAG ":" DATE DTAG                    # "2015/01/01"[dp] : "3000"[dp]
              | NAME "[Filter]"                            # english[Filter] (PubMed's filters)

Wildcards (PubMed's rules): a ``*`` in a word stands for 0 or more characters
(``immun*``, ``tumo*r``), with at least :data:`MIN_PREFIX` letters or digits before
the first one; untagged, such a word is a term of its own. A tagged run of words
holding one (``breast feed*[tiab]``), a quoted phrase holding one (``"colo*
cancer*"``) and a hyphenated word holding one (``breast-feed*``) are phrases. A ``*``
before a digit is part of the word (``HLA-A*02:01``).

Operators are applied left to right, as PubMed does: ``a OR b AND c`` is
``(a OR b) AND c`` and ``a NOT b OR c`` is ``(a NOT b) OR c``; parentheses group.
``NOT`` means AND NOT. A sequence (units side by side, without an operator between
them) is one operand of that chain: ``breast cancer OR tumor`` is
``(breast cancer) OR tumor``. Inside a sequence, all bare words (without a tag) form
one ranked free-text group built by :func:`searchkit.query.free_text.free_text_query`, and
the other units must match as well; a field tag applies to the run of words just
before it. A query cannot start with ``NOT``. Every malformed query raises
:class:`QueryError` with the 0-based position of the problem.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from searchkit.errors import QueryError
from searchkit.query import filters

#: Deepest nesting accepted, of parentheses and of the tree (deeper is refused).
MAX_DEPTH = 64
#: Characters needed before the first ``*`` of a word (PubMed's rule).
MIN_PREFIX = 4

#: The key of PubMed's ``[Filter]`` tag: the words before it name a filter.
FILTER_KEY = "filter"
#: The word PubMed reads as its "Abstract" filter (records with an abstract).
HAS_ABSTRACT = "hasabstract"

# PubMed field tags (lower case), short and long forms → the field key used below.
TAGS: dict[str, str] = {
    "ti": "title",
    "title": "title",
    "ab": "abstract",
    "abstract": "abstract",
    "tiab": "tiab",
    "title/abstract": "tiab",
    "tw": "textword",
    "text word": "textword",
    "text words": "textword",
    "all": "all",
    "all fields": "all",
    "au": "author",
    "author": "author",
    "fau": "author",
    "full author name": "author",
    "author - full": "author",
    "1au": "first_author",
    "first author name": "first_author",
    "author - first": "first_author",
    "lastau": "last_author",
    "last author name": "last_author",
    "author - last": "last_author",
    "cn": "collective",
    "corporate author": "collective",
    "author - corporate": "collective",
    "ad": "affiliation",
    "affiliation": "affiliation",
    "mh": "mesh",
    "mesh": "mesh",
    "mesh terms": "mesh",
    "majr": "majr",
    "mesh major topic": "majr",
    "mh:noexp": "mesh_noexp",
    "mesh:noexp": "mesh_noexp",
    "mesh terms:noexp": "mesh_noexp",
    "majr:noexp": "majr_noexp",
    "mesh major topic:noexp": "majr_noexp",
    "sh": "subheading",
    "mesh subheading": "subheading",
    "ot": "keyword",
    "kw": "keyword",
    "keyword": "keyword",
    "other term": "keyword",
    "ta": "journal",
    "jour": "journal",
    "journal": "journal",
    "vi": "volume",
    "volume": "volume",
    "ip": "issue",
    "issue": "issue",
    "pg": "pages",
    "pagination": "pages",
    "is": "issn",
    "issn": "issn",
    "doi": "doi",
    "aid": "doi",
    "article identifier": "doi",
    "lid": "doi",
    "location id": "doi",
    "dp": "pdat",
    "pdat": "pdat",
    "publication date": "pdat",
    "date - publication": "pdat",
    "edat": "edat",
    "entrez date": "edat",
    "date - entrez": "edat",
    "crdt": "crdt",
    "create date": "crdt",
    "date - create": "crdt",
    "mhda": "mhda",
    "mesh date": "mhda",
    "date - mesh": "mhda",
    "pt": "pubtype",
    "publication type": "pubtype",
    "pmid": "pmid",
    "uid": "pmid",
    "lang": "language",
    "la": "language",
    "language": "language",
    # PubMed's sidebar filters (searchkit.query.filters): resolved by the parser.
    "filter": FILTER_KEY,
    "filters": FILTER_KEY,
}

#: Keys searched as dates ("YYYY[/MM[/DD]]" or a range of them).
#: PubMed field tags that searchkit cannot search, each with the reason (the data is
#: not in the records searchkit reads, or needs NLM data no package ships). A query
#: using one is an error that says so, never a silent reinterpretation.
UNSUPPORTED_TAGS: dict[str, str] = {
    "auid": "author identifiers (ORCID) are not stored",
    "author identifier": "author identifiers (ORCID) are not stored",
    "book": "book and chapter details are not stored",
    "cois": "conflict of interest statements are not stored",
    "conflict of interest statement": "conflict of interest statements are not stored",
    "dcom": "the completion date is not stored",
    "completion date": "the completion date is not stored",
    "ed": "book editors are not stored",
    "editor": "book editors are not stored",
    "sb": "PubMed's subsets are NLM search strategies that are not shipped",
    "subset": "PubMed's subsets are NLM search strategies that are not shipped",
    "gr": "grant numbers are not stored",
    "grants and funding": "grant numbers are not stored",
    "ir": "investigators are not stored",
    "investigator": "investigators are not stored",
    "fir": "investigators are not stored",
    "full investigator name": "investigators are not stored",
    "isbn": "book ISBNs are not stored",
    "jid": "NLM journal ids are not stored (search the journal with [ta])",
    "nlm unique id": "NLM journal ids are not stored (search the journal with [ta])",
    "lr": "the modification date is not stored",
    "modification date": "the modification date is not stored",
    "nm": "supplementary concepts are not stored",
    "supplementary concept": "supplementary concepts are not stored",
    "pa": "pharmacological actions need NLM's MeSH data, which is not loaded",
    "pharmacological action": "pharmacological actions need NLM's MeSH data, which is not loaded",
    "pl": "the journal's country is not stored",
    "place of publication": "the journal's country is not stored",
    "ps": "personal names as subject are not stored",
    "personal name as subject": "personal names as subject are not stored",
    "pubn": "book publishers are not stored",
    "publisher": "book publishers are not stored",
    "rn": "EC/RN numbers (substances) are not stored",
    "ec/rn number": "EC/RN numbers (substances) are not stored",
    "si": "secondary source ids (databanks) are not stored",
    "secondary source id": "secondary source ids (databanks) are not stored",
    "tt": "transliterated titles are not stored",
    "transliterated title": "transliterated titles are not stored",
    "pmcid": "PMC ids are stored but not searchable (they are shown and exported)",
}
DATE_KEYS = frozenset({"pdat", "edat", "crdt", "mhda"})
#: Keys a proximity tag ``[tiab:~N]`` may name.
PROXIMITY_KEYS = frozenset({"title", "abstract", "tiab"})

# ``field:value`` prefixes → field key.
PREFIXES: dict[str, str] = {
    "title": "title",
    "abstract": "abstract",
    "tiab": "tiab",
    "author": "author",
    "mesh": "mesh",
    "majr": "majr",
    "keyword": "keyword",
    "journal": "journal",
    "year": "year",
    "type": "pubtype",
    "pmid": "pmid",
    "lang": "language",
    "language": "language",
    "affiliation": "affiliation",
    "doi": "doi",
    "volume": "volume",
    "issue": "issue",
    "pages": "pages",
    "issn": "issn",
}

# -- the syntax tree -------------------------------------------------------------


@dataclass(frozen=True)
class FreeText:
    """Bare words: one ranked free-text group."""

    words: tuple[str, ...]
    pos: int


@dataclass(frozen=True)
class Tagged:
    """Words searched in one field (``cancer stem cells[ti]``, ``title:cancer``)."""

    key: str
    words: tuple[str, ...]
    pos: int


@dataclass(frozen=True)
class Phrase:
    """A quoted phrase, in the text fields or in one field; ``near`` is the
    proximity (``"a b"~5``: within 5 words, any order)."""

    text: str
    key: str | None
    near: int | None
    pos: int


@dataclass(frozen=True)
class Truncated:
    """``immun*``: every word starting with ``prefix``."""

    prefix: str
    key: str | None
    pos: int


@dataclass(frozen=True)
class Wildcard:
    """``tumo*r``, ``organi*ation*``: every word matching ``pattern`` (``*``: any
    characters)."""

    pattern: str
    key: str | None
    pos: int


@dataclass(frozen=True)
class WildPhrase:
    """A phrase with wildcard words: ``"breast feed*"``, ``psoas absc*[tiab]``,
    ``breast-feed*``."""

    words: tuple[str, ...]
    key: str | None
    pos: int


@dataclass(frozen=True)
class Years:
    """Publication years ``low``..``high`` (either end may be open)."""

    low: int | None
    high: int | None
    pos: int


@dataclass(frozen=True)
class Dates:
    """Dates of one kind (``key``: pdat, edat, crdt, mhda) from ``low`` to ``high``,
    inclusive, as "YYYYMMDD" (``None``: open)."""

    key: str
    low: str | None
    high: str | None
    pos: int


@dataclass(frozen=True)
class HasAbstract:
    """Records with an abstract (PubMed's ``hasabstract``, ``fha[Filter]``)."""

    pos: int


@dataclass(frozen=True)
class And:
    children: tuple[Node, ...]
    implicit: bool = False


@dataclass(frozen=True)
class Or:
    children: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    """``positive NOT negative``."""

    positive: Node
    negative: Node


Node = (
    FreeText
    | Tagged
    | Phrase
    | Truncated
    | Wildcard
    | WildPhrase
    | Years
    | Dates
    | HasAbstract
    | And
    | Or
    | Not
)


# -- tokens ----------------------------------------------------------------------


@dataclass(frozen=True)
class _Tok:
    kind: str  # WORD PHRASE TAG FIELD LPAREN RPAREN AND OR NOT REF
    text: str
    pos: int
    near: int | None = None


_SPECIAL = '()"[]'
_FIELD = re.compile(r"^([A-Za-z]+):(.*)$", re.DOTALL)
_OPERATORS = ("AND", "OR", "NOT")
_REFERENCE = re.compile(r"^#(\d{1,9})$")
_PROXIMITY_TAG = re.compile(r"^\s*([A-Za-z][A-Za-z/ ]*?)\s*:\s*~\s*(\d+)\s*$")


def tokenize(text: str) -> list[_Tok]:
    """Split a query into tokens; unbalanced quotes and brackets are errors."""
    toks: list[_Tok] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
        elif ch == "(":
            toks.append(_Tok("LPAREN", ch, i))
            i += 1
        elif ch == ")":
            toks.append(_Tok("RPAREN", ch, i))
            i += 1
        elif ch == '"':
            end = text.find('"', i + 1)
            if end < 0:
                raise QueryError('unbalanced quote: this " is never closed', i)
            near: int | None = None
            j = end + 1
            if j < n and text[j] == "~":
                digits = re.match(r"\d+", text[j + 1 :])
                if digits is None:
                    raise QueryError("expected a number of words after '~'", j)
                near = int(digits.group())
                if not 1 <= near <= 1000:
                    raise QueryError("the proximity after '~' must be between 1 and 1000", j)
                j += 1 + len(digits.group())
            toks.append(_Tok("PHRASE", text[i + 1 : end], i, near))
            i = j
        elif ch == "[":
            end = text.find("]", i + 1)
            inner = text[i + 1 : end] if end >= 0 else ""
            if end < 0 or "[" in inner:
                raise QueryError("unbalanced '[': this field tag is never closed", i)
            toks.append(_Tok("TAG", inner, i))
            i = end + 1
        elif ch == "]":
            raise QueryError("unbalanced ']': no '[' before it", i)
        else:
            j = i
            while j < n and not text[j].isspace() and text[j] not in _SPECIAL:
                j += 1
            word = text[i:j]
            if word in _OPERATORS:
                toks.append(_Tok(word, word, i))
            elif _REFERENCE.match(word):
                toks.append(_Tok("REF", word, i))
            else:
                match = _FIELD.match(word)
                if match and match.group(1).lower() in PREFIXES:
                    toks.append(_Tok("FIELD", match.group(1).lower(), i))
                    if match.group(2):
                        toks.append(_Tok("WORD", match.group(2), i + len(match.group(1)) + 1))
                elif match and match.group(2):
                    raise QueryError(
                        f"unknown field '{match.group(1)}:' (known: "
                        f"{', '.join(p + ':' for p in PREFIXES)})",
                        i,
                    )
                else:
                    toks.append(_Tok("WORD", word, i))
            i = j
    return toks


# -- parser ----------------------------------------------------------------------


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

    def peek(self) -> _Tok | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def next(self) -> _Tok:
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

    def chain(self, after: _Tok | None) -> Node:
        """Operands joined by AND, OR and NOT, read left to right as PubMed does:
        ``a OR b AND c`` is ``(a OR b) AND c``."""
        node = self.sequence(after)
        while (tok := self.peek()) is not None and tok.kind in _OPERATORS:
            self.next()
            following = self.peek()
            if tok.kind == "AND" and following is not None and following.kind == "NOT":
                tok = self.next()  # "A AND NOT B", as other engines write it, is A NOT B
            right = self.sequence(tok)
            node = _combine(node, tok.kind, right)
        return node

    def sequence(self, after: _Tok | None) -> Node:
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

    def _missing_term(self, after: _Tok | None) -> None:
        tok = self.peek()
        if tok is None:
            assert after is not None  # an empty query is caught in parse()
            if after.kind == "LPAREN":
                raise QueryError("unbalanced '(': no ')' after it", after.pos)
            raise QueryError(
                f"'{after.text}' at the end of the query needs a term after it", after.pos
            )
        if tok.kind in _OPERATORS:
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
        key = self._tag()
        if key == FILTER_KEY:
            assert tag is not None
            return [_filter(" ".join(t.text for t in run), tag.text, run[0].pos)]
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
        return _word_run(run, key)

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

    def wild_phrase(self, tok: _Tok) -> Node:
        """A quoted phrase with a wildcard: ``"breast feed*"``, ``"psoas absc*"[tiab]``."""
        star = tok.pos + 1 + _first_wildcard(tok.text)
        if tok.near is not None:
            raise QueryError("a wildcard '*' cannot be used in a proximity search", star)
        after = self.peek()
        if after is not None and after.kind == "TAG" and _PROXIMITY_TAG.match(after.text):
            raise QueryError("a wildcard '*' cannot be used in a proximity search", star)
        key = self._tag()
        words = [
            _Tok("WORD", m.group(), tok.pos + 1 + m.start()) for m in re.finditer(r"\S+", tok.text)
        ]
        if key in DATE_KEYS:
            raise QueryError("truncation '*' is not supported for dates", star)
        if key == FILTER_KEY:
            raise QueryError("a filter's name cannot hold a wildcard '*'", star)
        return _wild_run(words, key, tok.pos)

    def reference(self, tok: _Tok) -> Node:
        """``#N``: the query of search N, as one parenthesised group."""
        number = int(tok.text[1:])
        if number not in self.refs:
            if not self.refs:
                raise QueryError(f"{tok.text}: there is no earlier search to refer to", tok.pos)
            known = sorted(self.refs)
            raise QueryError(
                f"{tok.text}: there is no search #{number} (earlier searches: "
                f"#{known[0]} to #{known[-1]})",
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
                node = _Parser(self.refs[number], earlier, self.expanded, self.level + 1).parse()
            except QueryError as exc:
                raise QueryError(
                    f"{tok.text} cannot be used, its query does not parse: {exc.reason}",
                    tok.pos,
                ) from None
            self.expanded[number] = node
        return node

    def field(self, tok: _Tok) -> Node:
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
                        value.pos + 1 + _first_wildcard(value.text),
                    )
                words = [
                    _Tok("WORD", m.group(), value.pos + 1 + m.start())
                    for m in re.finditer(r"\S+", value.text)
                ]
                return _wild_run(words, key, tok.pos)
            return Phrase(value.text, key, value.near, tok.pos)
        if has_wildcard(value.text):
            return _wild_run([value], key, tok.pos)
        return Tagged(key, (value.text,), tok.pos)

    def _proximity_tag(self, phrase: _Tok) -> tuple[str, int] | None:
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
                f"proximity works with [ti:~N], [ab:~N] or [tiab:~N], not [{tok.text}]", tok.pos
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
            raise QueryError(
                f"unknown field tag [{tok.text}] (known: {', '.join('[' + t + ']' for t in TAGS)})",
                tok.pos,
            )
        self._no_tag("a field tag")
        return TAGS[name]

    def _no_tag(self, what: str) -> None:
        tok = self.peek()
        if tok is not None and tok.kind == "TAG":
            raise QueryError(f"a field tag cannot follow {what}", tok.pos)


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


_WILDCARD = re.compile(r"\*(?!\d)")


def has_wildcard(text: str) -> bool:
    """Whether ``text`` holds a wildcard ``*``; a ``*`` before a digit belongs to the
    word, as in the HLA allele name ``HLA-A*02:01``."""
    return _WILDCARD.search(text) is not None


def _first_wildcard(text: str) -> int:
    match = _WILDCARD.search(text)
    assert match is not None
    return match.start()


def _date_text(words: list[_Tok]) -> str | None:
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


def _word_run(run: list[_Tok], key: str | None) -> list[Node]:
    """A run of words and the tag after it (``key``). Untagged, the plain words are
    one free-text group and each wildcard word stands alone (a hyphenated one,
    ``breast-feed*``, is a phrase); tagged, the tag applies to the whole run, which is
    a phrase when it holds a wildcard (as in PubMed: ``breast feed*[tiab]``)."""
    pos = run[0].pos
    if key is None:
        # PubMed's ``hasabstract`` is its "Abstract" filter, not a word.
        special = [t for t in run if t.text.lower() == HAS_ABSTRACT]
        run = [t for t in run if t.text.lower() != HAS_ABSTRACT]
        words = [t for t in run if not has_wildcard(t.text)]
        nodes: list[Node] = [FreeText(tuple(t.text for t in words), words[0].pos)] if words else []
        nodes.extend(_wild_run([t], None, t.pos) for t in run if has_wildcard(t.text))
        nodes.extend(HasAbstract(t.pos) for t in special)
        return nodes
    if not any(has_wildcard(t.text) for t in run):
        return [Tagged(key, tuple(t.text for t in run), pos)]
    return [_wild_run(run, key, pos)]


#: Field keys whose values are matched whole (a ``*`` may only end them).
_WHOLE_VALUE_KEYS = frozenset({"journal", "pubtype", "language"})


def _wild_run(words: list[_Tok], key: str | None, pos: int) -> Node:
    """Words of which at least one holds a ``*``: one wildcard word, or a phrase."""
    if key == "pmid":
        raise QueryError("a wildcard '*' is not supported for PMIDs", pos)
    if key in _WHOLE_VALUE_KEYS:
        text = " ".join(t.text for t in words)
        if text.count("*") > 1 or not text.endswith("*"):
            raise QueryError(
                f"in a [{key}] value '*' can only come at the end", pos + text.index("*")
            )
        _check_wildcard(_Tok("WORD", text, words[0].pos))
        return Truncated(text[:-1], key, pos)
    parts: list[_Tok] = []
    for t in words:
        if not has_wildcard(t.text) or "-" not in t.text:
            parts.append(t)
            continue
        # breast-feed* is the phrase "breast feed*" (PubMed).
        for m in re.finditer(r"[^-]+", t.text):
            parts.append(_Tok("WORD", m.group(), t.pos + m.start()))
    for t in parts:
        if has_wildcard(t.text):
            _check_wildcard(t)
    if len(parts) == 1:
        text = parts[0].text
        if text.endswith("*") and text.count("*") == 1:
            return Truncated(text[:-1], key, pos)
        return Wildcard(text, key, pos)
    return WildPhrase(tuple(t.text for t in parts), key, pos)


def _check_wildcard(tok: _Tok) -> None:
    """PubMed's rule: at least :data:`MIN_PREFIX` characters (letters or digits) before
    the first ``*``."""
    star = _first_wildcard(tok.text)
    if len(re.sub(r"[\W_]", "", tok.text[:star])) < MIN_PREFIX:  # letters and digits
        raise QueryError(
            f"a wildcard needs at least {MIN_PREFIX} characters before the first '*' "
            f"(as in PubMed): '{tok.text}'",
            tok.pos + star,
        )


_YEAR = r"(\d{4})(?:[/-]\d{1,2}){0,2}"
_YEAR_RANGE = re.compile(rf"^(?:{_YEAR})?(?:\.\.|:)(?:{_YEAR})?$")
_ONE_YEAR = re.compile(rf"^{_YEAR}$")


def parse_years(text: str) -> tuple[int | None, int | None]:
    """``2015``, ``2015:2020``, ``2015..2020``, ``2015..``, ``..2019`` → (low, high).

    Raises ``ValueError`` naming the problem.
    """
    text = text.strip()
    one = _ONE_YEAR.match(text)
    if one:
        year = int(one.group(1))
        return year, year
    match = _YEAR_RANGE.match(text)
    if match is None or (match.group(1) is None and match.group(2) is None):
        raise ValueError(f"'{text}' is not a year or a year range such as 2015..2020")
    low = int(match.group(1)) if match.group(1) else None
    high = int(match.group(2)) if match.group(2) else None
    if low is not None and high is not None and low > high:
        raise ValueError(f"the year range '{text}' runs backwards")
    return low, high


def _years(text: str, pos: int, where: str) -> Years:
    try:
        low, high = parse_years(text)
    except ValueError as exc:
        raise QueryError(f"{where}: {exc}", pos) from None
    return Years(low, high, pos)


_DATE = re.compile(r"^(\d{4})(?:[/-](\d{1,2})(?:[/-](\d{1,2}))?)?$")
#: PubMed's "present" as the end of a range (``2020:3000[dp]``).
OPEN_END_YEAR = "3000"


def _date_bound(text: str, end: bool) -> str | None:
    """ "2014/09" → "20140901" (a range's start) or "20140931" (its end); ``None``
    for an empty bound or PubMed's open end "3000". Raises ``ValueError``."""
    text = text.strip()
    if not text or (end and text == OPEN_END_YEAR):
        return None
    match = _DATE.match(text)
    if match is None:
        raise ValueError(
            f"'{text}' is not a date such as 2014, 2014/09, 2014/09/23 or \"last 5 years\""
        )
    year, month, day = match.groups()
    if month is not None and not 1 <= int(month) <= 12:
        raise ValueError(f"'{text}' has no month {month}")
    if day is not None and not 1 <= int(day) <= 31:
        raise ValueError(f"'{text}' has no day {day}")
    filler = ("12", "31") if end else ("01", "01")
    return f"{year}{(month or filler[0]):0>2}{(day or filler[1]):0>2}"


def parse_dates(text: str) -> tuple[str | None, str | None]:
    """PubMed's date forms → inclusive "YYYYMMDD" bounds: ``2014`` (the whole
    year), ``2014/09``, ``2014/09/23``, ranges ``2015/06/15:2016/03/01`` (also
    ``..``), with ``3000`` or nothing as an open end, and the relative "last 5 years",
    "last 6 months", "last 30 days" (from that day to the present). Raises
    ``ValueError``."""
    text = text.strip()
    since = filters.relative_start(text)
    if since is not None:
        return since.strftime("%Y%m%d"), None
    for sep in (":", ".."):
        if sep in text:
            start, _, stop = text.partition(sep)
            low, high = _date_bound(start, False), _date_bound(stop, True)
            if low is None and high is None:
                raise ValueError(f"'{text}' is not a date range such as 2015/06:2016/03")
            break
    else:
        low, high = _date_bound(text, False), _date_bound(text, True)
        if low is None:
            raise ValueError(
                f"'{text}' is not a date such as 2014, 2014/09, 2014/09/23 or \"last 5 years\""
            )
    if low is not None and high is not None and low > high:
        raise ValueError(f"the date range '{text}' runs backwards")
    return low, high


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


def depth(node: Node) -> int:
    """How deep the tree is (computed without recursion)."""
    deepest = 0
    stack: list[tuple[Node, int]] = [(node, 1)]
    while stack:
        current, level = stack.pop()
        deepest = max(deepest, level)
        if isinstance(current, And | Or):
            stack.extend((child, level + 1) for child in current.children)
        elif isinstance(current, Not):
            stack.extend(((current.positive, level + 1), (current.negative, level + 1)))
    return deepest


def parse(text: str, refs: Mapping[int, str] | None = None) -> Node:
    """The syntax tree of a query. Raises :class:`QueryError` for a malformed query.

    ``refs`` maps search numbers to earlier queries (the history, or the lines of a
    strategy): ``#N`` in ``text`` stands for query N, parsed with the searches before
    it, as one group."""
    if not text or not text.strip():
        raise QueryError("the query is empty; give some words to search for")
    node = _Parser(text, refs or {}).parse()
    if depth(node) > MAX_DEPTH:
        raise QueryError(
            f"the query nests more than {MAX_DEPTH} levels deep (AND and NOT alternate too "
            "often); simplify it"
        )
    return node


def describe(node: Node) -> str:
    """A readable rendering of a syntax tree."""
    if isinstance(node, FreeText):
        return f"words({' '.join(node.words)})"
    if isinstance(node, Tagged):
        return f"{node.key}:({' '.join(node.words)})"
    if isinstance(node, Phrase):
        where = f"{node.key}:" if node.key else ""
        near = f" within {node.near} words" if node.near is not None else ""
        return f'{where}"{node.text}"{near}'
    if isinstance(node, Truncated):
        where = f"{node.key}:" if node.key else ""
        return f"{where}{node.prefix}*"
    if isinstance(node, Wildcard):
        where = f"{node.key}:" if node.key else ""
        return f"{where}{node.pattern}"
    if isinstance(node, WildPhrase):
        where = f"{node.key}:" if node.key else ""
        return f'{where}"{" ".join(node.words)}"'
    if isinstance(node, Years):
        low = "" if node.low is None else str(node.low)
        high = "" if node.high is None else str(node.high)
        return f"year:{low}..{high}"
    if isinstance(node, Dates):
        return f"{node.key}:{node.low or ''}..{node.high or ''}"
    if isinstance(node, HasAbstract):
        return "has:abstract"
    if isinstance(node, And):
        return "(" + " AND ".join(describe(c) for c in node.children) + ")"
    if isinstance(node, Or):
        return "(" + " OR ".join(describe(c) for c in node.children) + ")"
    return f"({describe(node.positive)} NOT {describe(node.negative)})"
