"""The tokens of a query: words, quoted phrases (with a ``~N`` proximity), field tags,
``field:`` prefixes, parentheses, the operators AND, OR and NOT, and ``#N``
references; unbalanced quotes and brackets, and a reference run into other characters
(``#1#2``, ``#1,#2``), are errors at their position. A DOI before a DOI tag, or after
``doi:``, is one word, round brackets and all, when it closes those it opens
(:mod:`~searchkit.query.doi_text`); a tagged one that leaves a ``(`` open must be quoted."""

from __future__ import annotations

import re
from typing import NamedTuple

from searchkit.errors import QueryError
from searchkit.query.doi_text import prefixed_doi, tagged_dois_end, unclosed_bracket
from searchkit.query.tags import PREFIXES


class Token(NamedTuple):
    """One token at ``pos`` in the query; ``near``: a phrase's ``~N``."""

    kind: str  # WORD PHRASE TAG FIELD LPAREN RPAREN AND OR NOT REF
    text: str
    pos: int
    near: int | None = None


_SPECIAL = '()"[]'
_FIELD = re.compile(r"^([A-Za-z]+):(.*)$", re.DOTALL)
#: The operators (in capitals, as in PubMed: lower-case and/or/not are words).
OPERATORS = ("AND", "OR", "NOT")
_REFERENCE = re.compile(r"^#(\d{1,9})$")
#: The start of a word that begins as a reference does (``#1`` of ``#1#2``).
_NUMBER = re.compile(r"#\d+")


def tokenize(text: str) -> list[Token]:
    """Split a query into tokens; unbalanced quotes and brackets are errors."""
    toks: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
        elif ch == "(":
            toks.append(Token("LPAREN", ch, i))
            i += 1
        elif ch == ")":
            toks.append(Token("RPAREN", ch, i))
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
            toks.append(Token("PHRASE", text[i + 1 : end], i, near))
            i = j
        elif ch == "[":
            end = text.find("]", i + 1)
            inner = text[i + 1 : end] if end >= 0 else ""
            if end < 0 or "[" in inner:
                raise QueryError("unbalanced '[': this field tag is never closed", i)
            toks.append(Token("TAG", inner, i))
            i = end + 1
        elif ch == "]":
            raise QueryError("unbalanced ']': no '[' before it", i)
        elif (dois := _doi_words(text, i)) is not None:
            toks.extend(dois)
            i = dois[-1].pos + len(dois[-1].text)
        else:
            j = i
            while j < n and not text[j].isspace() and text[j] not in _SPECIAL:
                j += 1
            word = text[i:j]
            if word in OPERATORS:
                toks.append(Token(word, word, i))
            elif _REFERENCE.match(word):
                toks.append(Token("REF", word, i))
            elif (number := _NUMBER.match(word)) is not None:
                raise _joined_reference(word, number.group(), i)
            else:
                match = _FIELD.match(word)
                if match and match.group(1).lower() in PREFIXES:
                    toks.append(Token("FIELD", match.group(1).lower(), i))
                    if match.group(2):
                        toks.append(Token("WORD", match.group(2), i + len(match.group(1)) + 1))
                elif match and match.group(2):
                    raise QueryError(
                        f"unknown field '{match.group(1)}:' (known: "
                        f"{', '.join(p + ':' for p in PREFIXES)})",
                        i,
                    )
                else:
                    toks.append(Token("WORD", word, i))
            i = j
    return toks


def _doi_words(text: str, start: int) -> list[Token] | None:
    """The DOIs at ``start`` that a DOI tag follows (``10.1016/S2352-4642(17)30017-2[doi]``),
    or ``doi:`` and a DOI: each DOI one word, its round brackets included when it closes
    them; None when there is no such DOI there (brackets are then the query's)."""
    end = tagged_dois_end(text, start)
    if end > 0:
        return [
            Token("WORD", m.group(), start + m.start())
            for m in re.finditer(r"\S+", text[start:end])
        ]
    unclosed = unclosed_bracket(text, start)
    if unclosed >= 0:
        raise QueryError(
            "this '(' of a DOI is never closed: quote the DOI (\"10.1000/x(1\"[doi])", unclosed
        )
    prefixed = prefixed_doi(text, start)
    if prefixed is None:
        return None
    begin, end = prefixed
    return [Token("FIELD", "doi", start), Token("WORD", text[begin:end], begin)]


def _joined_reference(word: str, number: str, pos: int) -> QueryError:
    """The error for a word that starts as a reference ``#N`` and goes on (``#1#2``,
    ``#1,#2``, ``#1AND``): searching it as words, as before, searched the numbers; a
    guess at what was meant could be wrong."""
    if len(number) == len(word):
        return QueryError(f"'{word}' is not a search number: they have at most 9 digits", pos)
    return QueryError(
        f"'{word}': a search number such as {number} stands apart: put a space or an "
        "operator after it",
        pos + len(number),
    )


_WILDCARD = re.compile(r"\*(?!\d)")


def has_wildcard(text: str) -> bool:
    """Whether ``text`` holds a wildcard ``*``; a ``*`` before a digit belongs to the
    word, as in the HLA allele name ``HLA-A*02:01``."""
    return _WILDCARD.search(text) is not None


def first_wildcard(text: str) -> int:
    """Where the first wildcard ``*`` of ``text`` is (it must hold one)."""
    match = _WILDCARD.search(text)
    assert match is not None
    return match.start()
