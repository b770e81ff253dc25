"""What every search needs and no commit changes is computed at the commit and stored
with the index (issue 20): the did-you-mean vocabulary and the acronym table with its
long forms already analysed. Suggestions and acronym expansions are those of the
searches that derived them afresh in each process."""

from __future__ import annotations

import json
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import pytest
from whoosh.searching import Searcher

from searchkit import Record, SearchIndex, ingest
from searchkit.analysis.acronyms import TABLE_FILE, AcronymTable
from searchkit.index import meshwords
from searchkit.index.mesh import NO_TREE_NOTE
from searchkit.index.meshwords import MeshWords
from searchkit.index.vocabulary import FIELDS, FORMAT, MAGIC, Vocabulary, _buckets
from searchkit.index.vocabulary import file_name as vocabulary_file_name
from searchkit.index.vocabulary import load as load_vocabulary
from searchkit.query.free_text import _index_terms, acronyms_by_first_term
from searchkit.searching.pipeline import rank
from searchkit.searching.suggest import correct_word

from .cli_helpers import run
from .conftest import SAMPLE_DIR
from .test_cli import _searchkit_exe

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


@pytest.mark.slow
def test_did_you_mean_corrections_on_the_sample_are_those_of_before(
    sample_index_dir: Path,
) -> None:
    """Through the vocabulary stored with the index (what a search reads), and for a
    few typos through the one read from the segments when none is given."""
    with SearchIndex.open(sample_index_dir) as ix, ix.searcher() as s:
        vocabulary = Vocabulary.open(ix.path, s.reader().generation())  # the stored file
        assert vocabulary is not None
        found = {typo: correct_word(s, typo, vocabulary) for typo in TYPOS}
        some = ["imune", "sluphate", "eviednce"]
        assert {typo: correct_word(s, typo) for typo in some} == {t: TYPOS[t] for t in some}
    assert found == TYPOS


# -- the did-you-mean vocabulary --------------------------------------------------------


def _copy(sample_index_dir: Path, tmp_path: Path) -> Path:
    """A copy of the sample index that a test may write or damage."""
    copy = tmp_path / "ix"
    shutil.copytree(sample_index_dir, copy, ignore=shutil.ignore_patterns("*.lock", "*LOCK"))
    return copy


def _stems(searcher: Searcher) -> list[str]:
    analyzer = searcher.schema["abstract"]
    return [s for typo in TYPOS for s in analyzer.process_text(typo, mode="query")]


@pytest.mark.slow
def test_vocabulary_is_written_at_commit_and_suggests_what_whoosh_did(
    sample_index_dir: Path,
) -> None:
    """Round trip: the file of the generation ranks candidates as Whoosh's reader
    corrector did on the same (multi-segment) index, and as the vocabulary read from the
    segments does."""
    with SearchIndex.open(sample_index_dir) as ix, ix.searcher() as s:
        reader = s.reader()
        stored = Vocabulary.open(ix.path, reader.generation())
        assert stored is not None
        fresh = Vocabulary.from_reader(reader)
        assert len(list(reader.leaf_readers())) > 1
        for field in FIELDS:
            for stem in _stems(s):
                whoosh = reader.corrector(field).suggest(stem, limit=3, maxdist=2, prefix=1)
                assert stored.suggest(field, stem) == whoosh, (field, stem)
                assert fresh.suggest(field, stem) == whoosh, (field, stem)
    only_latest = sorted(p.name for p in sample_index_dir.glob("vocabulary-*.bin"))
    assert len(only_latest) <= 2  # this generation's and the one before, no older


def test_the_vocabulary_file_is_the_one_whooshs_term_reading_gives(
    sample_index_dir: Path, tmp_path: Path
) -> None:
    """The file a commit writes (terms and weights read from the terms files in bulk,
    no letter masks) is byte for byte the file of the vocabulary built from every
    segment's terms as Whoosh's reader gives them (``iter_field``, frequencies summed)."""
    with SearchIndex.open(sample_index_dir) as ix, ix.searcher() as s:
        reader = s.reader()
        assert len(list(reader.leaf_readers())) > 1
        fields = {}
        for field in FIELDS:
            totals: dict[str, float] = {}
            for leaf, _ in reader.leaf_readers():
                for tbytes, info in leaf.iter_field(field):
                    term = tbytes.decode("utf-8")
                    totals[term] = totals.get(term, 0.0) + info.weight()
            fields[field] = _buckets(totals.items())
        (tmp_path / "whoosh").mkdir()
        expected = Vocabulary(reader.generation(), fields).write(tmp_path / "whoosh")
    assert (sample_index_dir / expected.name).read_bytes() == expected.read_bytes()


@pytest.mark.slow
def test_optimize_writes_the_vocabulary_and_suggestions_stay(
    sample_index_dir: Path, tmp_path: Path
) -> None:
    """One segment after optimize: the same corrections (Whoosh's corrector ranked a
    single segment with another edit distance, one that counts a swap as two edits)."""
    index = _copy(sample_index_dir, tmp_path)
    with SearchIndex.open(index) as ix:
        ix.optimize()
    with SearchIndex.open(index) as ix, ix.searcher() as s:
        generation = s.reader().generation()
        assert Vocabulary.open(index, generation) is not None
        vocabulary = load_vocabulary(index, s.reader())
        found = {typo: correct_word(s, typo, vocabulary) for typo in TYPOS}
    assert found == TYPOS


def _flip_byte(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x20
    path.write_bytes(bytes(data))


def _vocabulary_file(index: Path) -> Path:
    with SearchIndex.open(index) as ix, ix.searcher() as s:
        return index / vocabulary_file_name(s.reader().generation())


@pytest.mark.slow
def test_a_damaged_vocabulary_is_one_error_line_naming_it(
    sample_index_dir: Path, tmp_path: Path
) -> None:
    index = _copy(sample_index_dir, tmp_path)
    path = _vocabulary_file(index)
    # Inside the bucket of the abstract's 5-letter terms starting with "i" ("imun" is
    # the stem of "imune"): read to correct it.
    size = struct.unpack_from("<I", path.read_bytes(), len(MAGIC))[0]
    base = len(MAGIC) + 8 + size
    header = json.loads(path.read_bytes()[len(MAGIC) + 8 : base])
    offset, length, _ = header["fields"]["abstract"][f"{ord('i')}:5"]
    _flip_byte(path, base + offset + length // 2)
    result = subprocess.run(
        [_searchkit_exe(), "search", "imune escpe", "--index", str(index)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    assert f"{path.name} does not match its checksum" in lines[0]
    assert f"searchkit rebuild --index {index}" in lines[0]
    # A search that suggests nothing does not read it; 'check' reads it all.
    assert run(index, "search", "immune escape", "-f", "pmid").exit_code == 0
    check = run(index, "check")
    assert check.exit_code == 1
    assert f"damaged: {path.name} does not match its checksum" in check.stderr
    # Its header too.
    path.write_bytes(b"SKVOCAB\n" + path.read_bytes()[8:20] + b"x" + path.read_bytes()[21:])
    result = run(index, "search", "imune escpe")
    assert result.exit_code != 0 and f"{path.name} does not match its checksum" in result.stderr


@pytest.mark.slow
def test_an_index_without_the_vocabulary_suggests_the_same_and_gets_it_on_the_next_write(
    sample_index_dir: Path, tmp_path: Path
) -> None:
    """An index written before the file existed, or one of another format: the
    vocabulary is read from the segments (no error, the same suggestions), and the next
    commit writes the file."""
    index = _copy(sample_index_dir, tmp_path)
    path = _vocabulary_file(index)
    for damage in ("missing", "other format"):
        if damage == "missing":
            path.unlink()
        else:
            header = json.dumps({"format": FORMAT + 1, "generation": 0}).encode()
            path.write_bytes(MAGIC + struct.pack("<II", len(header), zlib.crc32(header)) + header)
        result = run(index, "search", "imune escpe")
        assert result.exit_code == 0, result.stderr
        assert result.stderr.splitlines()[0] == 'Did you mean: "immune escape"?'
    with SearchIndex.open(index) as ix:
        ix.upsert([Record(pmid="990001", title="Immune escape", abstract="A new record.")])
    written = _vocabulary_file(index)
    assert written != path and Vocabulary.open(index, int(written.stem.split("-")[1]))
    assert run(index, "search", "imune escpe").stderr.startswith('Did you mean: "immune escape"?')


# -- the acronym table with its analysed forms -------------------------------------------


def test_acronym_table_is_saved_with_every_form_analysed(sample_index_dir: Path) -> None:
    """Round trip: the saved terms of every short and long form are what the query
    analyzer makes of it, and expansions use them without analysing again."""
    with SearchIndex.open(sample_index_dir) as ix:
        table = AcronymTable.load(ix.path)
        schema = ix.whoosh_index.schema
    forms = {f for sf, _, lf in table.rows() for f in (sf, lf)}
    assert len(forms) > 100 and set(table.analysed) == forms
    for form in forms:
        assert list(table.analysed[form]) == _index_terms(schema, form), form
    by_first = acronyms_by_first_term(schema, table)
    assert ("major", "histocompat", "complex") in {t for e in by_first["major"] for t, _ in [e]}


def _as_format_1(index: Path) -> None:
    """The table as searchkit wrote it before the analysed forms (format 1)."""
    table = AcronymTable.load(index)
    rows = [[sf, lf, n] for sf, n, lf in table.rows()]
    data = {"version": 1, "generation": table.generation, "acronyms": rows}
    (index / TABLE_FILE).write_text(json.dumps(data) + "\n", "utf-8")


@pytest.mark.slow
def test_a_format_1_acronym_table_still_expands_and_is_upgraded_on_the_next_write(
    sample_index_dir: Path, tmp_path: Path
) -> None:
    index = _copy(sample_index_dir, tmp_path)
    before = run(index, "search", "MHC", "-f", "pmid", "--limit", "all").stdout
    _as_format_1(index)
    old = run(index, "search", "MHC", "-f", "pmid", "--limit", "all")
    assert old.exit_code == 0 and old.stdout == before
    with SearchIndex.open(index) as ix:
        assert ix.acronyms.analysed == {}
        ix.upsert([Record(pmid="990001", title="Immune escape", abstract="A new record.")])
    data = json.loads((index / TABLE_FILE).read_text("utf-8"))
    assert data["version"] == 2 and data["table"]["terms"]["MHC"] == ["mhc"]
    assert run(index, "search", "MHC", "-f", "pmid", "--limit", "all").stdout == before


def test_a_damaged_acronym_table_is_one_error_line_naming_it(
    sample_index_dir: Path, tmp_path: Path
) -> None:
    index = _copy(sample_index_dir, tmp_path)
    table = index / TABLE_FILE
    text = table.read_text("utf-8")
    table.write_text(text.replace('"MHC"', '"MHX"', 1), "utf-8")
    result = run(index, "search", "immune escape MHC")
    assert result.exit_code != 0 and result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: the index at ")
    assert f"{TABLE_FILE} does not match its checksum" in lines[0]
    check = run(index, "check")
    assert check.exit_code == 1 and f"damaged: {TABLE_FILE} does not match" in check.stderr


def test_a_vocabulary_removed_after_it_was_opened_is_read_from_the_segments(
    sample_index_dir: Path, tmp_path: Path
) -> None:
    """A long-lived searcher two commits behind: the commits removed its generation's
    file after the header was read. Its buckets then come from its segments, not a
    false report of damage."""
    index = _copy(sample_index_dir, tmp_path)
    with SearchIndex.open(index) as ix, ix.searcher() as s:
        reader = s.reader()
        vocabulary = load_vocabulary(index, reader)
        assert vocabulary.fallback is not None
        (index / vocabulary_file_name(reader.generation())).unlink()
        stem = next(iter(s.schema["abstract"].process_text("imune", mode="query")))
        expected = reader.corrector("abstract").suggest(stem, limit=3, maxdist=2, prefix=1)
        assert vocabulary.suggest("abstract", stem) == expected


# -- the notes on MeSH terms that matched nothing ----------------------------------------

_WHOLE = "is not a MeSH heading of any record (headings match whole)"
#: MeSH terms on data/ and the notes the sample index gave for them when every search
#: scanned the indexed headings through Whoosh's merged lexicon.
MESH_NOTES = {
    "psoas[mh]": [f"psoas[mh] {_WHOLE}; headings with these words: psoas abscess, psoas muscles"],
    "lung[majr]": [],
    "cell[mh]": [
        f"cell[mh] {_WHOLE}; headings with these words: active transport cell nucleus, "
        "adenocarcinoma clear cell, anemia sickle cell, batch cell culture techniques, "
        "carcinoma basal cell"
    ],
    "neoplasms lung[mh]": [
        f"neoplasms lung[mh] {_WHOLE}; headings with these words: lung neoplasms"
    ],
    "carcinoma[mh:noexp]": [],
    "receptors[mh]": [
        f"receptors[mh] {_WHOLE}; headings with these words: erbb receptors, hyaluronan "
        "receptors, receptors adrenergic alpha, receptors adrenergic alpha 1, receptors "
        "androgen"
    ],
    "protein[majr:noexp]": [
        f"protein[majr:noexp] {_WHOLE}; headings with these words: amp activated protein "
        "kinases, bcl 2 associated x protein, bcl 2 like protein 11, bcl associated death "
        "protein, brca1 protein"
    ],
    "disease/surgery[mh]": ["disease/surgery[mh] matches no record"],
    "psoas/su[mh]": [
        f"psoas/su[mh] {_WHOLE}; headings with these words: psoas abscess, psoas muscles"
    ],
    "lung/zz[mh]": ["lung/zz[mh]: 'zz' is not a MeSH qualifier or its abbreviation"],
    "zzzz[sh]": ["zzzz[sh]: 'zzzz' is not a MeSH qualifier or its abbreviation"],
    "secondary[sh]": [],
    "lung/secondary[mh:noexp]": ["lung/secondary[mh:noexp] matches no record"],
    "humans/genetics[majr]": ["humans/genetics[majr] matches no record"],
    "virus[mh] AND cancer": [
        f"virus[mh] {_WHOLE}; headings with these words: chikungunya virus, epstein barr "
        "virus infections, epstein barr virus nuclear antigens, mammary tumor virus mouse, "
        "tumor virus infections"
    ],
    "syndrome[mh]": [],
    "quarks[mh]": [f"quarks[mh] {_WHOLE}"],
}


def _mesh_notes(index: Path) -> dict[str, list[str]]:
    with SearchIndex.open(index) as ix:
        return {q: [n for n in rank(ix, q, limit=0).notes if n != NO_TREE_NOTE] for q in MESH_NOTES}


def test_mesh_notes_on_the_sample_are_those_of_before(sample_index_dir: Path) -> None:
    assert _mesh_notes(sample_index_dir) == MESH_NOTES


def _mesh_words_file(index: Path) -> Path:
    with SearchIndex.open(index) as ix, ix.searcher() as s:
        return index / meshwords.file_name(s.reader().generation())


def test_mesh_words_are_written_at_commit_and_read_as_the_segments_give_them(
    sample_index_dir: Path,
) -> None:
    with SearchIndex.open(sample_index_dir) as ix, ix.searcher() as s:
        stored = MeshWords.open(ix.path, s.reader().generation())
        fresh = MeshWords.from_reader(s.reader())
    assert stored is not None
    for words in (["psoas"], ["cell"], ["lung", "neoplasms"], ["virus"], ["quarks"]):
        assert stored.containing(words, 50) == fresh.containing(words, 50), words
    assert stored.containing(["cell"], 50)[5:]  # more than a note names


@pytest.mark.slow
def test_a_damaged_mesh_words_file_is_one_error_line_naming_it(
    sample_index_dir: Path, tmp_path: Path
) -> None:
    index = _copy(sample_index_dir, tmp_path)
    path = _mesh_words_file(index)
    size = struct.unpack_from("<I", path.read_bytes(), len(meshwords.MAGIC))[0]
    base = len(meshwords.MAGIC) + 8 + size
    header = json.loads(path.read_bytes()[len(meshwords.MAGIC) + 8 : base])
    offset, length, _ = header["groups"]["ps"]
    _flip_byte(path, base + offset + length // 2)
    result = subprocess.run(
        [_searchkit_exe(), "search", "psoas[mh]", "--index", str(index)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0 and result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    assert f"{path.name} does not match its checksum" in lines[0]
    # A search whose MeSH terms all match does not read it; 'check' reads it all.
    assert run(index, "search", "neoplasms[mh]", "--count").exit_code == 0
    check = run(index, "check")
    assert check.exit_code == 1
    assert f"damaged: {path.name} does not match its checksum" in check.stderr


@pytest.mark.slow
def test_an_index_without_mesh_words_notes_the_same_and_gets_them_on_the_next_write(
    sample_index_dir: Path, tmp_path: Path
) -> None:
    index = _copy(sample_index_dir, tmp_path)
    path = _mesh_words_file(index)
    for damage in ("missing", "other format"):
        if damage == "missing":
            path.unlink()
        else:
            header = json.dumps({"format": meshwords.FORMAT + 1, "generation": 0}).encode()
            path.write_bytes(
                meshwords.MAGIC + struct.pack("<II", len(header), zlib.crc32(header)) + header
            )
        assert _mesh_notes(index) == MESH_NOTES
    with SearchIndex.open(index) as ix:
        ix.upsert([Record(pmid="990001", title="Immune escape", abstract="A new record.")])
    written = _mesh_words_file(index)
    assert written != path and MeshWords.open(index, int(written.stem.split("-")[1]))
    assert _mesh_notes(index) == MESH_NOTES


def test_mesh_words_removed_after_they_were_opened_are_read_from_the_segments(
    sample_index_dir: Path, tmp_path: Path
) -> None:
    """A long-lived searcher two commits behind: its generation's file went away after
    the header was read; the note then comes from its segments, not a report of damage."""
    index = _copy(sample_index_dir, tmp_path)
    with SearchIndex.open(index) as ix, ix.searcher() as s:
        words = meshwords.load(index, s.reader())
        assert words.fallback is not None
        (index / meshwords.file_name(s.reader().generation())).unlink()
        assert words.containing(["psoas"], 5) == ["psoas abscess", "psoas muscles"]


def test_a_temporary_file_a_killed_writer_left_goes_at_the_next_write(tmp_path: Path) -> None:
    index = SearchIndex.create(tmp_path / "ix")
    left = [
        index.path / ".vocabulary-1.bin.99999.0a1b2c3d.tmp",
        index.path / ".meshwords-1.bin.99999.0a1b2c3d.tmp",
    ]
    for path in left:
        path.write_bytes(b"half written")
    assert ingest([SAMPLE_DIR / "pubmed-34572009-page.txt"], index).ok
    assert not [p for p in left if p.exists()]
    assert not list(index.path.glob(".*.tmp"))
