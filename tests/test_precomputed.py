"""What every search needs and no commit changes is computed at the commit and stored
with the index (issue 20): the did-you-mean vocabulary and the acronym table with its
long forms already analysed. Suggestions and acronym expansions are those of the
searches that derived them afresh in each process."""

from __future__ import annotations

from pathlib import Path

from searchkit import SearchIndex
from searchkit.searching.suggest import correct_word

#: Typos made from words of data/'s titles (a letter dropped, swapped or wrong), and
#: the corrections the sample index gave for them when every search scanned the
#: vocabulary through Whoosh's corrector (None: no suggestion).
TYPOS = {
    "coupued": "coupled",
    "prevnt": "prevent",
    "sluphate": None,
    "danih": "danish",
    "comemnsal": "commensal",
    "cmoprehensive": "comprehensive",
    "prelimiary": "preliminary",
    "integraed": "integrated",
    "sooking": "smoking",
    "deetrmines": "determines",
    "inhbiits": "inhibit",
    "arternative": "alternative",
    "cobination": "combination",
    "practicl": "practice",
    "ststem": "system",
    "differeitiation": "differentiation",
    "mnaagement": None,
    "eviednce": "evidenced",
    "circaian": "circadian",
    "associaions": None,
    "immunodficiency": "immunodeficiency",
    "inucible": "inducible",
    "pretemr": "preterm",
    "iuproves": "improves",
    "staus": "status",
    "idipathic": "idiopathic",
    "suvival": "survival",
    "japnaese": "japanese",
    "ankyolsing": "ankylosing",
    "surgry": "surgery",
    "regulatrs": "regulatory",
    "poduct": None,
    "imune": "immune",
    "escpe": "escape",
    "privlege": "privilege",
}


def test_did_you_mean_corrections_on_the_sample_are_those_of_before(
    sample_index_dir: Path,
) -> None:
    with SearchIndex.open(sample_index_dir) as ix, ix.searcher() as s:
        found = {typo: correct_word(s, typo) for typo in TYPOS}
    assert found == TYPOS
