"""The query parser: syntax tree, Whoosh translation and positioned errors."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from searchkit import SearchIndex, search
from searchkit.errors import QueryError
from searchkit.index.schema import build_schema
from searchkit.query.compile import (
    And,
    Dates,
    FreeText,
    Not,
    Or,
    Phrase,
    Tagged,
    Truncated,
    Wildcard,
    WildPhrase,
    Years,
    describe,
    explain,
    parse,
    parse_query,
    parse_years,
)

SCHEMA = build_schema()


def test_bare_words_are_one_free_text_group() -> None:
    assert parse("immune escape MHC") == FreeText(("immune", "escape", "MHC"), 0)


def test_lowercase_operators_are_words() -> None:
    assert parse("immune and escape or not") == FreeText(
        ("immune", "and", "escape", "or", "not"), 0
    )


def test_tag_applies_to_the_run_of_words_before_it() -> None:
    node = parse("cancer stem cells[ti] AND privilege[TI]")
    assert node == And(
        (Tagged("title", ("cancer", "stem", "cells"), 0), Tagged("title", ("privilege",), 26))
    )


def test_operators_are_read_left_to_right_and_parentheses_group() -> None:
    assert parse("a1 OR b1 AND c1") == And(
        (Or((FreeText(("a1",), 0), FreeText(("b1",), 6))), FreeText(("c1",), 13))
    )
    assert parse("a1 AND b1 OR c1") == Or(
        (And((FreeText(("a1",), 0), FreeText(("b1",), 7))), FreeText(("c1",), 13))
    )
    assert parse("a1 OR b1 NOT c1") == Not(
        Or((FreeText(("a1",), 0), FreeText(("b1",), 6))), FreeText(("c1",), 13)
    )
    assert parse("a1 OR (b1 AND c1)") == Or(
        (FreeText(("a1",), 0), And((FreeText(("b1",), 7), FreeText(("c1",), 14))))
    )
    # Runs of one operator stay flat.
    assert parse("a1 OR b1 OR c1 AND d1 AND e1") == And(
        (
            Or((FreeText(("a1",), 0), FreeText(("b1",), 6), FreeText(("c1",), 12))),
            FreeText(("d1",), 19),
            FreeText(("e1",), 26),
        )
    )


def test_a_sequence_of_words_is_one_operand() -> None:
    assert parse('breast cancer OR tumor "mice"[ti]') == Or(
        (
            FreeText(("breast", "cancer"), 0),
            And((FreeText(("tumor",), 17), Phrase("mice", "title", None, 23)), implicit=True),
        )
    )


def test_references_expand_to_earlier_searches() -> None:
    refs = {1: "cancer", 2: "tumor OR neoplasm", 3: "#1 AND #2"}
    assert parse("#3 NOT mice", refs) == Not(
        And(
            (
                FreeText(("cancer",), 0),
                Or((FreeText(("tumor",), 0), FreeText(("neoplasm",), 9))),
            )
        ),
        FreeText(("mice",), 7),
    )
    with pytest.raises(QueryError, match=r"#4: there is no search #4 \(earlier searches: #1 to #3"):
        parse("cancer OR #4", refs)
    with pytest.raises(QueryError, match=r"#2: there is no search #2 \(earlier search: #1\)"):
        parse("cancer OR #2", {1: "tumor"})
    with pytest.raises(QueryError, match=r"#3: there is no search #3 \(earlier searches: #1, #2\)"):
        parse("cancer OR #3", {1: "tumor", 2: "mice"})
    with pytest.raises(QueryError, match="no earlier search") as info:
        parse("cancer AND #1")
    assert info.value.position == 11
    # A reference only sees the searches before it: no loops.
    with pytest.raises(QueryError, match="#2 cannot be used"):
        parse("#2", {1: "a1", 2: "#2 OR b1"})
    assert parse("C# #hashtag") == FreeText(("C#", "#hashtag"), 0)
    # A long chain of references is refused with an error, not a crash.
    chain = {1: "a1", **{n: f"#{n - 1} AND a{n}" for n in range(2, 3001)}}
    with pytest.raises(QueryError, match="more than 64"):
        parse("#3000", chain)


def test_not_is_and_not() -> None:
    assert parse("cancer NOT mice") == Not(FreeText(("cancer",), 0), FreeText(("mice",), 11))
    assert parse("cancer AND NOT mice") == Not(FreeText(("cancer",), 0), FreeText(("mice",), 15))


def test_not_chains_stay_flat_and_deep_nesting_is_refused() -> None:
    assert parse("c1 NOT m1 NOT r1") == Not(
        FreeText(("c1",), 0), Or((FreeText(("m1",), 7), FreeText(("r1",), 14)))
    )
    long_chain = "cell " + " ".join(f"NOT x{i}" for i in range(3000))
    assert "ANDNOT" in str(parse_query(SCHEMA, long_chain))
    alternating = " ".join(f"x{i} AND y{i} NOT" for i in range(100)) + " z"
    with pytest.raises(QueryError, match="nests more than 64 levels"):
        parse(alternating)


def test_phrase_proximity_and_tagged_phrase() -> None:
    assert parse('"tumor escape"~5') == Phrase("tumor escape", None, 5, 0)
    assert parse('"smith j"[au]') == Phrase("smith j", "author", None, 0)
    # PubMed's proximity tag counts the words between: ~2 is within 3 positions.
    assert parse('"tumor escape"[tiab:~2]') == Phrase("tumor escape", "tiab", 3, 0)
    assert parse('"tumor escape"[TI:~0]') == Phrase("tumor escape", "title", 1, 0)


def test_truncation_and_years() -> None:
    assert parse("immun*") == Truncated("immun", None, 0)
    assert parse("tumo*r organi*ation*") == And(
        (Wildcard("tumo*r", None, 0), Wildcard("organi*ation*", None, 7)), implicit=True
    )
    assert parse("psoas absc* cells") == And(
        (FreeText(("psoas", "cells"), 0), Truncated("absc", None, 6)), implicit=True
    )
    # A tag applies to the whole run, a phrase when it holds a wildcard (PubMed).
    assert parse("psoas absc*[tiab]") == WildPhrase(("psoas", "absc*"), "tiab", 0)
    assert parse('"breast feed*"') == WildPhrase(("breast", "feed*"), None, 0)
    # A hyphenated word truncated at its end: its pieces run together, truncated, and
    # (its last piece having 4 letters) the phrase of its pieces (test below).
    assert parse("breast-feed*") == Or(
        (Truncated("breast-feed", None, 0), WildPhrase(("breast", "feed*"), None, 0))
    )
    assert parse('title:"colo* cancer*"') == WildPhrase(("colo*", "cancer*"), "title", 0)
    assert parse("cancer res*[ta]") == Truncated("cancer res", "journal", 0)
    # A * before a digit belongs to an HLA allele name, it is no wildcard.
    assert parse("HLA-A*02:01") == FreeText(("HLA-A*02:01",), 0)
    assert parse('"HLA-A*02:01" cell*') == And(
        (Phrase("HLA-A*02:01", None, None, 0), Truncated("cell", None, 14)), implicit=True
    )
    assert parse("2015:2020[dp]") == Dates("pdat", "20150101", "20201231", 0)
    assert parse("2019[pdat]") == Dates("pdat", "20190101", "20191231", 0)
    assert parse("2014/09[dp]") == Dates("pdat", "20140901", "20140931", 0)
    assert parse("2020:3000[edat]") == Dates("edat", "20200101", None, 0)
    assert parse("year:2015..") == Years(2015, None, 5)
    assert parse("year:..2019") == Years(None, 2019, 5)


def test_a_hyphenated_word_truncated_at_its_end_is_truncated_whole() -> None:
    """``IL-10*`` was refused: the hyphen split it and its last piece, ``10*``, was
    checked alone against PubMed's 4 characters before the ``*``. The rule counts the
    word as written (``IL10``: 4), and the word is every term starting with its pieces
    run together, as the index holds compounds (``IL-10`` and ``IL10``: ``il10``)."""
    assert parse("IL-10*") == Truncated("IL-10", None, 0)
    assert parse("COVID-19*") == Truncated("COVID-19", None, 0)
    assert parse("IL-10*[tiab]") == Truncated("IL-10", "tiab", 0)
    assert parse("COVID-19*[ti]") == Truncated("COVID-19", "title", 0)
    assert parse("title:IL-10*") == Truncated("IL-10", "title", 0)
    assert parse("mice IL-10*") == And(
        (FreeText(("mice",), 0), Truncated("IL-10", None, 5)), implicit=True
    )
    # A last piece of 4 letters or more is also searched as the phrase, as before.
    assert parse("IL-10-defic*") == Or(
        (Truncated("IL-10-defic", None, 0), WildPhrase(("IL", "10", "defic*"), None, 0))
    )
    # The terms: the pieces run together as the analyzer runs them.
    assert str(parse_query(SCHEMA, "IL-10*")) == (
        "(title:il10* OR abstract:il10* OR keywords:il10* OR mesh:il10*)"
    )
    assert str(parse_query(SCHEMA, "IL-10*[tiab]")) == (
        "(title:il10* OR abstract:il10* OR keywords:il10*)"
    )
    assert str(parse_query(SCHEMA, "COVID-19*[ti]")) == "title:covid19*"
    assert str(parse_query(SCHEMA, "TNF-\u03b1*[ti]")) == "title:tnfalpha*"
    assert str(parse_query(SCHEMA, "NF-kB*[ti]")) == "title:nfkappab*"
    assert str(parse_query(SCHEMA, "HLA-A*02*[ti]")) == "title:hlaa02*"


@pytest.mark.parametrize(
    ("query", "word", "position"),
    [
        ("IL-1*", "'IL-1*'", 4),  # IL1: 3 letters and digits
        ("IL-1*[tiab]", "'IL-1*'", 4),
        ("cells IL-1*", "'IL-1*'", 10),
        ("title:IL-1*", "'IL-1*'", 10),
        # Unchanged: a * inside a compound, a quoted phrase, a run of tagged words,
        # a field of names.
        ("IL-*-deficient", "'*'", 3),
        ('"IL-10*"', "'10*'", 6),
        ('"IL-10* deficiency"', "'10*'", 6),
        ("IL-10* deficiency[tiab]", "'10*'", 5),
        ("Li-Xu*[au]", "'Xu*'", 5),
    ],
)
def test_a_hyphenated_word_with_too_short_a_start_is_refused(
    query: str, word: str, position: int
) -> None:
    # In a phrase, the error says the piece is searched alone, and what works.
    rule = r"at least 4 characters before the first|fewer than 4 characters before the '\*'"
    with pytest.raises(QueryError, match=rule) as info:
        parse(query)
    assert word in info.value.reason
    assert info.value.position == position


def test_field_value_form_matches_the_tags() -> None:
    assert parse("title:cancer") == Tagged("title", ("cancer",), 0)
    assert parse('author:"smith j"') == Phrase("smith j", "author", None, 0)
    assert parse("mesh:neoplasms") == Tagged("mesh", ("neoplasms",), 0)
    assert parse("year:2015..2020") == Years(2015, 2020, 5)


def test_words_and_tagged_terms_in_one_sequence_are_and_ed() -> None:
    node = parse('stem "immune escape" cells')
    assert node == And(
        (FreeText(("stem", "cells"), 0), Phrase("immune escape", None, None, 5)), implicit=True
    )


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("cancer stem cells[ti]", "(title:cancer AND title:stem AND title:cell)"),
        ("stem[tiab]", "((title:stem OR abstract:stem OR keywords:stem))"),
        ("smith j[au]", 'authors:"smith j"'),
        ("Inorganic Chemistry[jour]", "(journal:inorganic chemistry)"),
        ("Cancer Res.[ta]", "(journal:cancer res)"),
        ("english[lang]", "(language:eng)"),
        ("Review[pt]", "(pubtype:review)"),
        ("34572009[uid]", "pmid:34572009"),
        ("neoplasms[majr]", "mesh_major_heading:neoplasms"),
        ("Neoplasms, Germ Cell/SU[mh]", "mesh_heading:neoplasms germ cell/surgery"),
        ("surgery[sh]", "mesh_qualifier:surgery"),
    ],
)
def test_whoosh_translation(query: str, expected: str) -> None:
    assert str(parse_query(SCHEMA, query)) == expected


def test_year_ranges_are_exact_value_term_ranges() -> None:
    q = parse_query(SCHEMA, "year:2015..2019")
    assert "TermRange('year', b'\\x00\\x07\\xdf', b'\\x00\\x07\\xe3'" in repr(q)
    assert str(q) == "year:[2015 TO 2019]"
    assert str(parse_query(SCHEMA, "2015:2019[dp]")) == "pdat:[20150101 TO 20191231]"
    open_low = parse_query(SCHEMA, "year:..2000")
    assert str(open_low) == "year:[ TO 2000]"
    assert "TermRange('year', b'\\x00\\x00\\x00', b'\\x00\\x07\\xd0'" in repr(open_low)


def test_explain_shows_tree_and_whoosh_query() -> None:
    text = explain(SCHEMA, "cancer stem cells[ti] AND privilege[ti]")
    assert text.splitlines() == [
        "parsed: (title:(cancer stem cells) AND title:(privilege))",
        "whoosh: ((title:cancer AND title:stem AND title:cell) AND (title:privileg))",
    ]
    assert describe(parse('"a b"~3 NOT wxyz*[ti]')) == ('("a b" within 3 words NOT title:wxyz*)')


@pytest.mark.parametrize(
    ("query", "message", "position"),
    [
        ('"tumor escape', "unbalanced quote", 0),
        ("(cancer OR stem", "unbalanced '('", 0),
        ("cancer)", "unbalanced ')'", 6),
        ("cancer[xx]", "unknown field tag [xx]", 6),
        ("cancer[ti", "unbalanced '['", 6),
        ("cancer]", "unbalanced ']'", 6),
        ("foo:bar", "unknown field 'foo:'", 0),
        ("2020:2015[dp]", "runs backwards", 0),
        ("abc[dp]", "not a date", 0),
        ("year:2015-", "not a year", 5),
        ("NOT cancer", "NOT needs a term before it", 0),
        ("cancer AND", "'AND' at the end", 7),
        ("cancer AND OR stem", "a term is missing", 11),
        ("cancer AND NOT", "'NOT' at the end", 11),
        ("cancer OR NOT mice", "'OR' is followed by 'NOT'", 10),
        ("()", "empty parentheses", 0),
        ("[ti]", "must follow a word", 0),
        ("(cancer)[ti]", "cannot follow a closing ')'", 8),
        ("im*une", "at least 4 characters before the first '*'", 2),
        ("abc*", "at least 4 characters", 3),
        ('"psoas ab*"', "at least 4 characters", 9),
        ('"psoas absc*"~2', "cannot be used in a proximity search", 11),
        ("immun*[dp]", "not supported for dates", 0),
        ("pmid:3457*", "not supported for PMIDs", 0),
        ("3457*[pmid]", "not supported for PMIDs", 0),
        ('"a b"~', "expected a number", 5),
        ('""', "empty phrase", 0),
        ('"a b"[au:~2]', "proximity works with [ti:~N]", 5),
        ('"a b"~2[tiab:~2]', "give the proximity once", 7),
        ("cancer[tiab:~2]", "must follow a quoted phrase", 6),
        ("the[ti]", "no searchable words", 0),
        ("title:", "expected a word or a quoted phrase", 0),
        ("(" * 70 + "x" + ")" * 70, "nested more than", 64),
    ],
)
def test_malformed_queries_name_the_problem_and_position(
    query: str, message: str, position: int
) -> None:
    with pytest.raises(QueryError) as info:
        parse_query(SCHEMA, query)
    assert message in str(info.value)
    assert info.value.position == position
    assert f"(at position {position + 1})" in str(info.value)


def test_parse_years() -> None:
    assert parse_years("2015..2019") == (2015, 2019)
    assert parse_years("2015:2019") == (2015, 2019)
    assert parse_years("2015/06") == (2015, 2015)
    assert parse_years("2015/01/01:2020/12/31") == (2015, 2020)
    with pytest.raises(ValueError, match="runs backwards"):
        parse_years("2019..2015")
    with pytest.raises(ValueError, match="not a year"):
        parse_years("..")


_ALPHABET = st.sampled_from(
    [
        *list('abcxyz019 ()"[]*:~.-'),
        "AND ",
        "OR ",
        "NOT ",
        "[ti]",
        "[au]",
        "[dp]",
        "[mh]",
        "title:",
        "year:",
        "immun*",
        "smith j",
    ]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_ALPHABET, max_size=25).map("".join))
def test_parser_raises_nothing_but_query_error(text: str) -> None:
    try:
        parse_query(SCHEMA, text)
    except QueryError as exc:
        assert exc.position is None or 0 <= exc.position <= len(text)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40))
def test_parser_survives_arbitrary_text(text: str) -> None:
    with contextlib.suppress(QueryError):
        parse_query(SCHEMA, text)


@pytest.fixture(scope="module")
def opened(sample_index_dir: Path) -> SearchIndex:
    """The sample index, opened once for every example (searches only read it)."""
    return SearchIndex.open(sample_index_dir)


@pytest.mark.slow
@settings(max_examples=80, deadline=None)
@given(st.lists(_ALPHABET, max_size=15).map("".join))
def test_searching_raises_nothing_but_query_error(opened: SearchIndex, text: str) -> None:
    index = opened
    try:
        result = search(index, text, limit=3)
    except QueryError:
        return
    assert result.total + result.partial_total >= len(result.hits)
    assert all(h.partial for h in result.hits[result.total :])


_TERMS = st.sampled_from(
    [
        "privilege[ti]",
        "immune escape[kw]",
        "cancer",
        "mice",
        "psoas[mh]",
        "abscess",
        '"stem cells"',
        "2018[dp]",
        "review[pt]",
        "immun*",
    ]
)


@pytest.mark.slow
@settings(max_examples=25, deadline=None)
@given(_TERMS, _TERMS, st.sampled_from(["AND", "OR", "NOT"]))
@example("privilege[ti]", "immune escape[kw]", "NOT")  # Whoosh's AndNot let it through
def test_boolean_operators_are_set_operations(
    opened: SearchIndex, left: str, right: str, op: str
) -> None:
    index = opened

    def ids(query: str) -> set[str]:
        result = search(index, query, limit=3000, suggest=False, with_snippets=False)
        assert result.total == len(result.hits)
        return {h.pmid for h in result.hits}

    a, b = ids(f"({left})"), ids(f"({right})")
    expected = {"AND": a & b, "OR": a | b, "NOT": a - b}[op]
    assert ids(f"({left}) {op} ({right})") == expected
