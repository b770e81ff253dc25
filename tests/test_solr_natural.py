"""A natural-language query as the collection is sent it (searchkit/solr/natural.py): the
local compiler's concepts, each once, compound parts alone at the part weight. The
rankings themselves are compared with the local index's on a real cluster in
tests/solr/test_solr_cli.py."""

from __future__ import annotations

from dataclasses import replace

from searchkit.params import DEFAULT
from searchkit.solr.backend import natural_request
from searchkit.solr.natural import Concept, concepts, parts_query, words_query


def test_a_word_whose_terms_an_earlier_word_gave_is_searched_once() -> None:
    found = concepts("Deltex interacts with eIF3, no known interaction between Deltex and eIF3")
    assert [c.written for c in found] == ["Deltex", "interacts", "eIF3", "no", "known", "between"]
    assert words_query(found) == "Deltex interacts eIF3 no known between"


def test_compound_parts_that_are_words_are_searched_alone_at_the_part_weight() -> None:
    found = concepts("fast-twitch muscle in IL-6 and PD-L1 T-cell")
    assert found == [
        Concept("fast-twitch", ("fast", "twitch")),
        Concept("muscle"),
        Concept("IL-6"),  # neither IL nor 6, PD nor L1: fragments of one or two
        Concept("PD-L1"),  # characters say nothing alone
        Concept("T-cell", ("cell",)),
    ]
    assert parts_query(found) == "fast^0.5 twitch^0.5 cell^0.5"
    assert parts_query(found, replace(DEFAULT, part_weight=0.25)).startswith("fast^0.25 ")
    assert found[0].matching() == r"fast\-twitch fast twitch"


def test_the_request_counts_a_compound_matched_by_a_part_for_coordination() -> None:
    body = natural_request("fast-twitch muscle", 100)
    assert body is not None
    boosted = body["query"]["boost"]
    words, alone = boosted["query"]["bool"]["should"]
    assert words["edismax"]["query"] == r"fast\-twitch muscle"
    assert alone["edismax"]["query"] == "fast^0.5 twitch^0.5"
    assert boosted["b"] == "pow(div(sum(if(query($c0,0),1,0),if(query($c1,0),1,0)),2),0.25)"
    assert body["params"]["w0"] == r"fast\-twitch fast twitch"
    assert body["params"]["w1"] == "muscle"
    assert body["limit"] == 100


def test_a_query_of_stop_words_only_sends_nothing() -> None:
    assert natural_request("the of and", 10) is None
    single = natural_request("muscle", 10)
    assert single is not None and "boost" not in single["query"]
