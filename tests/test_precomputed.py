"""What every search needs and no commit changes is computed at the commit and stored
with the index (issue 20): the did-you-mean vocabulary and the MeSH headings by word,
written with each segment (a commit writes those of the segments it makes, never the
whole index's), and the acronym table with its long forms already analysed.
Suggestions, MeSH notes and acronym expansions are those of the searches that derived
them afresh in each process."""

from __future__ import annotations

import json
import os
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import pytest
from whoosh.searching import Searcher

from searchkit import Record, SearchIndex, ingest
from searchkit.analysis.acronym_lookup import LOOKUP_FILE, AcronymLookup
from searchkit.analysis.acronyms import TABLE_FILE, AcronymTable
from searchkit.engine import checksums
from searchkit.index import meshwords, vocabulary
from searchkit.index.mesh import NO_TREE_NOTE
from searchkit.index.meshwords import MeshWords, SegmentHeadings
from searchkit.index.vocabulary import FIELDS, MAGIC, SegmentTerms, Vocabulary, segment_readers
from searchkit.index.vocabulary import load as load_vocabulary
from searchkit.query.free_text import _index_terms
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
    """Through the vocabulary stored with each segment (what a search reads), and for a
    few typos through the one read from the segments when none is given."""
    with SearchIndex.open(sample_index_dir) as ix, ix.searcher() as s:
        stored = load_vocabulary(ix.path, s.reader())
        assert len(stored.parts) > 1 and all(_from_file(p) for p in stored.parts)
        found = {typo: correct_word(s, typo, stored) for typo in TYPOS}
        some = ["imune", "sluphate", "eviednce"]
        assert {typo: correct_word(s, typo) for typo in some} == {t: TYPOS[t] for t in some}
    assert found == TYPOS


# -- the did-you-mean vocabulary --------------------------------------------------------


def _copy(sample_index_dir: Path, tmp_path: Path) -> Path:
    """A copy of the sample index that a test may write or damage."""
    copy = tmp_path / "ix"
    shutil.copytree(sample_index_dir, copy, ignore=shutil.ignore_patterns("*.lock", "*LOCK"))
    return copy


def _stems(searcher: Searcher, typos: list[str] | None = None) -> list[str]:
    analyzer = searcher.schema["abstract"]
    return [s for typo in typos or TYPOS for s in analyzer.process_text(typo, mode="query")]


def _from_file(part: SegmentTerms | SegmentHeadings) -> bool:
    return part._path is not None


def _segments(index: Path) -> list[str]:
    with SearchIndex.open(index) as ix, ix.searcher() as s:
        found = segment_readers(s.reader())
    assert found is not None
    return [segment_id for segment_id, _ in found]


def _files(index: Path, suffix: str) -> list[str]:
    return sorted(p.name for p in index.iterdir() if p.name.endswith(suffix))


def _each_segment_has_its_files(index: Path) -> list[str]:
    """The segments' ids, after checking that the files written for them are exactly
    the files of that kind in the index (none of older generations)."""
    segments = _segments(index)
    for kind in (vocabulary, meshwords):
        assert _files(index, kind.SUFFIX) == sorted(kind.file_name(s) for s in segments)
    return segments


def _whoosh_suggests_the_same(index: Path, stems: list[str] | None = None) -> None:
    """The vocabulary a search loads ranks candidates as Whoosh's reader corrector does
    on the same (multi-segment) index."""
    with SearchIndex.open(index) as ix, ix.searcher() as s:
        reader = s.reader()
        stored = load_vocabulary(index, reader)
        for field in FIELDS:
            for stem in stems or _stems(s):
                whoosh = reader.corrector(field).suggest(stem, limit=3, maxdist=2, prefix=1)
                assert stored.suggest(field, stem) == whoosh, (field, stem)


@pytest.mark.slow
def test_vocabulary_is_written_with_each_segment_and_suggests_what_whoosh_did(
    sample_index_dir: Path,
) -> None:
    """Round trip: each segment's file, summed over the segments, ranks candidates as
    Whoosh's reader corrector did on the same (multi-segment) index, and as the
    vocabulary read from the segments in memory does."""
    assert len(_each_segment_has_its_files(sample_index_dir)) > 1
    _whoosh_suggests_the_same(sample_index_dir)
    with SearchIndex.open(sample_index_dir) as ix, ix.searcher() as s:
        reader = s.reader()
        stored, fresh = load_vocabulary(ix.path, reader), Vocabulary.from_reader(reader)
        for stem in _stems(s):
            assert stored.buckets("abstract", stem[0], range(1, 12)) == fresh.buckets(
                "abstract", stem[0], range(1, 12)
            )


@pytest.mark.parametrize("numpy_popcount", [True, False])
def test_a_segments_file_is_filtered_in_arrays_as_whoosh_ranks_non_ascii_terms_too(
    sample_index_dir: Path, numpy_popcount: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bucket read from a file is filtered in arrays by its terms' letters (as many
    bytes as letters) and decoded term by term otherwise: data/'s terms written with
    other scripts (``cd73`` with a Cyrillic c, ``factor`` and a Latin alpha among ASCII
    terms of its bucket) get the corrections Whoosh's corrector gives, and every candidate a scan
    of all the terms would find. NumPy 1.26 has no ``bitwise_count``: its path too."""
    if not numpy_popcount:
        monkeypatch.delattr(vocabulary.np, "bitwise_count", raising=False)
    cyrillic_c, latin_alpha = "\u0441", "\u0251"
    words = [
        f"{cyrillic_c}d74",
        f"{cyrillic_c}d9",
        f"{cyrillic_c}d1055",
        f"factor{latin_alpha}s",
        "factor\u03b1",  # Greek alpha
        "ifn\u028fa",  # small capital Y
        "gr\u00dfb",
        "\u0440\u043a\u043d2",
        "caco2grs",
    ]
    _whoosh_suggests_the_same(sample_index_dir, words)
    with SearchIndex.open(sample_index_dir) as ix, ix.searcher() as s:
        stored = load_vocabulary(ix.path, s.reader())
        every = {
            t
            for part in stored.parts
            for field in FIELDS
            for key in part._keys(field)
            for t, _ in part.entries(field, [key])[0]
        }
        assert any(not t.isascii() for t in every)
        for word in words + _stems(s)[:200]:
            near = set().union(*(stored.near(f, word, 2) for f in FIELDS))
            expected = {
                t
                for t in every
                if t[0] == word[0]
                and abs(len(t) - len(word)) <= 2
                and vocabulary.osa_within(t, word, 2)
            }
            assert near == expected, word
        assert stored.near("abstract", words[0], 2)  # the Cyrillic terms are reached


def test_each_segments_file_is_the_one_whooshs_term_reading_gives(
    sample_index_dir: Path, tmp_path: Path
) -> None:
    """The file a commit writes for a segment (terms and weights read from its terms
    file in bulk) is byte for byte the file of that segment's terms as Whoosh's reader
    gives them (``iter_field``), and reads back as written."""
    with SearchIndex.open(sample_index_dir) as ix, ix.searcher() as s:
        segments = segment_readers(s.reader())
        assert segments is not None and len(segments) > 1
        for segment_id, leaf in segments:
            fields: dict[str, dict[str, list[tuple[str, float]]]] = {}
            for field in FIELDS:
                buckets = fields.setdefault(field, {})
                for tbytes, info in leaf.iter_field(field):
                    term = tbytes.decode("utf-8")
                    buckets.setdefault(f"{ord(term[0])}:{len(term)}", []).append(
                        (term, info.weight())
                    )
            expected = SegmentTerms(segment_id, fields).write(tmp_path)
            written = sample_index_dir / vocabulary.file_name(segment_id)
            assert written.read_bytes() == expected.read_bytes()
            back = SegmentTerms.open(sample_index_dir, segment_id)
            assert back is not None
            for field in FIELDS:
                keys = sorted(fields[field])
                assert back.entries(field, keys) == [fields[field][k] for k in keys]


@pytest.mark.slow
def test_optimize_writes_the_merged_segments_file_and_removes_the_others(
    sample_index_dir: Path, tmp_path: Path
) -> None:
    """One segment after optimize, with its files; the merged-away segments' files are
    gone with them; the same corrections (Whoosh's corrector ranked a single segment
    with another edit distance, one that counts a swap as two edits)."""
    index = _copy(sample_index_dir, tmp_path)
    with SearchIndex.open(index) as ix:
        ix.optimize()
    assert len(_each_segment_has_its_files(index)) == 1
    with SearchIndex.open(index) as ix, ix.searcher() as s:
        vocabulary_ = load_vocabulary(index, s.reader())
        assert _from_file(vocabulary_.parts[0])
        found = {typo: correct_word(s, typo, vocabulary_) for typo in TYPOS}
    assert found == TYPOS


#: A word of no record of data/, and a typo of it.
NEW_WORD, NEW_TYPO = "zyxomatosis", "zyxomatsis"


def _new_records(*pmids: str) -> list[Record]:
    return [
        Record(pmid=pmid, title=f"Immune escape in {NEW_WORD}", abstract=f"Record {pmid}.")
        for pmid in pmids
    ]


@pytest.mark.slow
def test_a_small_ingest_writes_only_its_segments_files_and_updates_suggestions(
    sample_index_dir: Path, tmp_path: Path
) -> None:
    """A commit of two records into the sample's index writes the files of its one new
    segment and leaves every other segment's files as they were; suggestions then
    know the new records' words, summed with the older segments' as Whoosh does."""
    index = _copy(sample_index_dir, tmp_path)
    before = {name: os.stat(index / name) for name in _files(index, vocabulary.SUFFIX)}
    assert "Did you mean" not in run(index, "search", NEW_TYPO).stderr
    with SearchIndex.open(index) as ix:
        ix.upsert(_new_records("990001", "990002"))
    segments = _each_segment_has_its_files(index)
    assert len(segments) == len(before) + 1
    for name, stat in before.items():
        now = os.stat(index / name)
        assert (now.st_ino, now.st_mtime_ns) == (stat.st_ino, stat.st_mtime_ns), name
    result = run(index, "search", f"{NEW_TYPO} imune")
    assert result.exit_code == 0
    assert result.stderr.splitlines()[0] == f'Did you mean: "{NEW_WORD} immune"?'
    with SearchIndex.open(index) as ix, ix.searcher() as s:
        stems = _stems(s, ["imune", "escpe", NEW_TYPO])
    _whoosh_suggests_the_same(index, stems)


def _title_suggestions(index: Path, typo: str) -> list[str]:
    with SearchIndex.open(index) as ix, ix.searcher() as s:
        (stem,) = _stems(s, [typo])
        return load_vocabulary(index, s.reader()).suggest("title", stem)


@pytest.mark.slow
def test_deleting_the_last_records_of_a_word_takes_it_out_of_suggestions(
    sample_index_dir: Path, tmp_path: Path
) -> None:
    """Suggestions follow Whoosh's corrector through deletions: a deleted record's
    words keep their weights while its segment stays (the terms files keep them until
    a merge rewrites the segment), and go with the segment once none of its records is
    left (the commit drops it, with its files)."""
    index = _copy(sample_index_dir, tmp_path)
    with SearchIndex.open(index) as ix, ix.searcher() as s:
        stems = _stems(s, ["imune", NEW_TYPO])
        (stem,) = _stems(s, [NEW_WORD])
    with SearchIndex.open(index) as ix:
        ix.upsert(_new_records("990001", "990002"))
        ix.upsert(_new_records("990003"))
    assert run(index, "search", NEW_TYPO).stderr.startswith(f'Did you mean: "{NEW_WORD}"?')
    for pmid, stays in (("990003", True), ("990001", True), ("990002", False)):
        with SearchIndex.open(index) as ix:
            assert ix.delete([pmid]).deleted == 1
        _each_segment_has_its_files(index)
        _whoosh_suggests_the_same(index, stems)
        assert (stem in _title_suggestions(index, NEW_TYPO)) is stays, pmid
    assert "Did you mean" not in run(index, "search", NEW_TYPO).stderr


def _flip_byte(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x20
    path.write_bytes(bytes(data))


def _group_offset(path: Path, magic: bytes, *keys: str) -> int:
    """Where the middle of a group of a file in groupfile's layout is."""
    size = struct.unpack_from("<I", path.read_bytes(), len(magic))[0]
    base = len(magic) + 8 + size
    entry = json.loads(path.read_bytes()[len(magic) + 8 : base])
    for key in keys:
        entry = entry[key]
    offset, length, _ = entry
    return int(base + offset + length // 2)


def _holding(index: Path, kind: object, *keys: str) -> Path:
    """The file of ``kind`` (vocabulary, meshwords) of the first segment that has the
    group ``keys``."""
    for segment_id in _segments(index):
        path = index / kind.file_name(segment_id)  # type: ignore[attr-defined]
        try:
            _group_offset(path, kind.MAGIC, *keys)  # type: ignore[attr-defined]
        except KeyError:
            continue
        return path
    raise AssertionError(f"no segment has {keys}")


def _one_error_line(result: subprocess.CompletedProcess[str], problem: str) -> None:
    assert result.returncode != 0 and result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    assert problem in lines[0]


def _search(index: Path, query: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [_searchkit_exe(), "search", query, "--index", str(index)],
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.mark.slow
def test_a_damaged_vocabulary_is_one_error_line_naming_it(
    sample_index_dir: Path, tmp_path: Path
) -> None:
    """Caught when the index is opened (the segment's file is in the generation's
    checksums, as its other files), and by ``check``."""
    index = _copy(sample_index_dir, tmp_path)
    # Inside the bucket of the abstract's 5-letter terms starting with "i" ("imun" is
    # the stem of "imune"): read to correct it.
    path = _holding(index, vocabulary, "fields", "abstract", f"{ord('i')}:5")
    _flip_byte(path, _group_offset(path, MAGIC, "fields", "abstract", f"{ord('i')}:5"))
    result = _search(index, "imune escpe")
    _one_error_line(result, f"{path.name} does not match its checksum")
    assert f"searchkit rebuild --index {index}" in result.stderr
    check = run(index, "check")
    assert check.exit_code == 1
    assert f"damaged: {path.name} does not match its checksum" in check.stderr


def test_a_damaged_bucket_of_a_large_index_is_found_when_read(
    sample_index_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An index too large to be checked in full when opened (only file sizes are): the
    bucket's own checksum catches the damage when a search reads it, one Error line
    naming the file; a search that reads no bucket of it is not stopped."""
    index = _copy(sample_index_dir, tmp_path)
    path = _holding(index, vocabulary, "fields", "abstract", f"{ord('i')}:5")
    _flip_byte(path, _group_offset(path, MAGIC, "fields", "abstract", f"{ord('i')}:5"))
    monkeypatch.setattr(checksums, "VERIFY_AT_OPEN_BYTES", 0)
    monkeypatch.setattr(checksums, "SMALL_FILE_BYTES", 0)
    checksums._VERIFIED.clear()
    assert run(index, "search", "immune escape", "-f", "pmid").exit_code == 0
    result = run(index, "search", "imune escpe")
    assert result.exit_code == 1 and result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    assert f"{path.name} does not match its checksum" in lines[0]
    # Its header too.
    data = path.read_bytes()
    path.write_bytes(data[:20] + bytes([data[20] ^ 0x20]) + data[21:])
    result = run(index, "search", "imune escpe")
    assert result.exit_code == 1 and f"{path.name} does not match its checksum" in result.stderr


def _as_written_before_segment_files(index: Path) -> None:
    """The index as the searchkit before these files wrote it: no segment's files (and
    none in its checksums), one whole-index file of each kind per generation."""
    with SearchIndex.open(index) as ix:
        generation = ix.whoosh_index.latest_generation()
    for kind in (vocabulary, meshwords):
        for name in _files(index, kind.SUFFIX):
            (index / name).unlink()
        for g in (generation - 1, generation):
            header = json.dumps({"format": 1, "generation": g}).encode()
            legacy = index / f"{kind.__name__.rsplit('.', 1)[1]}-{g}.bin"
            legacy.write_bytes(kind.MAGIC + struct.pack("<II", len(header), zlib.crc32(header)))
    sums = index / checksums.manifest_name("MAIN", generation)
    body = json.loads(sums.read_text())
    files = {
        k: checksums.Entry(*v)
        for k, v in body["files"].items()
        if not k.endswith((vocabulary.SUFFIX, meshwords.SUFFIX))
    }
    parts = {f: {k: checksums.Entry(*v) for k, v in p.items()} for f, p in body["parts"].items()}
    checksums.write_manifest(index, sums.name, files, parts)


@pytest.mark.slow
def test_an_index_without_segment_files_suggests_the_same_and_gets_them_on_the_next_write(
    sample_index_dir: Path, tmp_path: Path
) -> None:
    """An index written before the segments' files existed (or one whose files are of
    another format): each segment's terms are read from it (no error, the same
    suggestions and notes), and the next commit writes every segment's files and
    removes the older whole-index files."""
    index = _copy(sample_index_dir, tmp_path)
    _as_written_before_segment_files(index)
    assert run(index, "check").exit_code == 0
    with SearchIndex.open(index) as ix, ix.searcher() as s:
        parts = load_vocabulary(index, s.reader()).parts
        assert parts and not any(_from_file(p) for p in parts)
    result = run(index, "search", "imune escpe")
    assert result.exit_code == 0, result.stderr
    assert result.stderr.splitlines()[0] == 'Did you mean: "immune escape"?'
    assert _mesh_notes(index) == MESH_NOTES
    # Files of another format (a newer searchkit's): read from the segment too.
    for segment_id in _segments(index):
        header = json.dumps({"format": vocabulary.FORMAT + 1, "segment": segment_id}).encode()
        (index / vocabulary.file_name(segment_id)).write_bytes(
            MAGIC + struct.pack("<II", len(header), zlib.crc32(header)) + header
        )
    assert run(index, "search", "imune escpe").stderr.startswith('Did you mean: "immune escape"?')
    for segment_id in _segments(index):
        (index / vocabulary.file_name(segment_id)).unlink()
    with SearchIndex.open(index) as ix:
        ix.upsert([Record(pmid="990001", title="Immune escape", abstract="A new record.")])
    _each_segment_has_its_files(index)
    assert not list(index.glob("vocabulary-*.bin")) and not list(index.glob("meshwords-*.bin"))
    assert run(index, "check").exit_code == 0
    with SearchIndex.open(index) as ix, ix.searcher() as s:
        parts = load_vocabulary(index, s.reader()).parts
        assert all(_from_file(p) for p in parts)
    assert run(index, "search", "imune escpe").stderr.startswith('Did you mean: "immune escape"?')
    assert _mesh_notes(index) == MESH_NOTES


def test_a_commit_killed_before_its_table_of_contents_leaves_no_segment_files(
    sample_index_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The files of a segment no table of contents names (the commit failed after
    writing them) go at the next write, with the rest of that segment."""
    from whoosh.writing import SegmentWriter

    index = _copy(sample_index_dir, tmp_path)
    before = set(os.listdir(index))

    def killed(self: object, segments: object) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(SegmentWriter, "_commit_toc", killed)
    record = Record(pmid="990001", title="Immune escape", abstract="A new record.")
    with SearchIndex.open(index) as ix, pytest.raises(Exception, match="Input/output"):
        ix.upsert([record])
    left = {n for n in set(os.listdir(index)) - before if n.startswith("MAIN_") and "." in n}
    assert any(n.endswith(".vocab") for n in left) and any(n.endswith(".seg") for n in left)
    monkeypatch.undo()
    with SearchIndex.open(index) as ix:
        ix.upsert([Record(pmid="990002", title="Immune escape", abstract="Another.")])
    assert not left & set(os.listdir(index))
    _each_segment_has_its_files(index)


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
    by_first = table.by_first_term(lambda text: _index_terms(schema, text))
    assert ("major", "histocompat", "complex") in {t for e in by_first["major"] for t, _ in [e]}


def _as_format_1(index: Path) -> None:
    """The table as searchkit wrote it before the analysed forms (format 1)."""
    table = AcronymTable.load(index)
    rows = [[sf, lf, n] for sf, n, lf in table.rows()]
    data = {"version": 1, "generation": table.generation, "acronyms": rows}
    (index / TABLE_FILE).write_text(json.dumps(data) + "\n", "utf-8")
    (index / LOOKUP_FILE).unlink()  # written since format 2


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
    assert (index / LOOKUP_FILE).is_file()
    assert run(index, "search", "MHC", "-f", "pmid", "--limit", "all").stdout == before


def _lookup(index: Path) -> AcronymLookup:
    with SearchIndex.open(index) as ix:
        generation = ix.whoosh_index.latest_generation()
    lookup = AcronymLookup.open(index)
    assert lookup is not None and lookup.generation == generation
    return lookup


def test_the_lookup_file_answers_what_the_whole_table_does(sample_index_dir: Path) -> None:
    """Every short form (as saved, lower and upper case), every first term of a long
    form and every form's terms: the same answers, in the same order, from
    ``acronyms.lookup`` as from ``acronyms.json`` read whole."""
    table = AcronymTable.load(sample_index_dir)
    lookup = _lookup(sample_index_dir)

    def refuse(text: str) -> list[str]:
        raise AssertionError(f"{text!r} analysed again")

    assert len(lookup) == len(table) > 100
    shorts = {v for sf in table.counts for v in (sf, sf.lower(), sf.upper())}
    for short in sorted(shorts | {"NOTANACRONYM", "mhc", "Mhc"}):
        assert lookup.long_forms(short) == table.long_forms(short), short
    for sf, lfs in table.counts.items():
        for form in (sf, *lfs):
            assert lookup.terms(form, refuse) == table.terms(form, refuse), form
    by_first = table.by_first_term(refuse)
    assert len(by_first) > 50
    for term in [*by_first, "notaterm", "", "zzzz"]:
        assert lookup.starting_with(term, refuse) == table.starting_with(term, refuse), term
    lookup.check()


def test_searches_read_the_lookup_and_give_what_the_whole_table_gave(
    sample_index_dir: Path, tmp_path: Path
) -> None:
    """Short forms, long forms typed out, and both: the same hits and scores in a real
    process with the lookup file as when the search reads the whole table (the file
    removed, as in an index written before it)."""
    index = _copy(sample_index_dir, tmp_path)
    queries = [
        "immune escape MHC",
        "major histocompatibility complex",
        "TNF alpha signalling",
        "mhc class I",
        "CSC markers",
    ]
    exe = _searchkit_exe()

    def search(query: str) -> str:
        args = [exe, "search", query, "--index", str(index), "-f", "json", "--limit", "all"]
        done = subprocess.run(args, capture_output=True, text=True, check=False)
        assert done.returncode == 0, done.stderr
        return done.stdout

    with_lookup = [search(q) for q in queries]
    with SearchIndex.open(index) as ix:  # the whole table is not read
        assert rank(ix, "immune escape MHC", limit=10).total > 0
        assert not isinstance(ix.query_acronyms, AcronymTable) and ix._acronyms is None
    (index / LOOKUP_FILE).unlink()
    assert [search(q) for q in queries] == with_lookup
    assert any(json.loads(out) for out in with_lookup)


def test_a_lookup_file_of_another_generation_is_not_used(
    sample_index_dir: Path, tmp_path: Path
) -> None:
    """A commit killed after the table but before the lookup file: the older file is
    left, and searches read the whole table of the new generation (an acronym the
    new record defines is expanded)."""
    index = _copy(sample_index_dir, tmp_path)
    old = (index / LOOKUP_FILE).read_bytes()
    record = Record(
        pmid="990001",
        title="Zebra quagga lymphocytes (ZQL) escape immune control",
        abstract="We studied zebra quagga lymphocytes (ZQL) in vitro.",
    )
    with SearchIndex.open(index) as ix:
        ix.upsert([record])
    (index / LOOKUP_FILE).write_bytes(old)
    with SearchIndex.open(index) as ix:
        assert isinstance(ix.query_acronyms, AcronymTable)
        assert ix.query_acronyms.long_forms("ZQL") == [("zebra quagga lymphocytes", 1)]
    found = run(index, "search", "ZQL", "-f", "pmid")
    assert found.exit_code == 0 and found.stdout.split() == ["990001"]


def _damage_line(index: Path, key: str) -> int:
    """Change one letter of the entries of ``key``'s line; where the line starts."""
    data = bytearray((index / LOOKUP_FILE).read_bytes())
    start = data.index(b"\n" + json.dumps(key).encode() + b"\t") + 1
    at = data.index(b"\t", start) + 3
    data[at] = ord("X") if data[at] != ord("X") else ord("Y")
    (index / LOOKUP_FILE).write_bytes(bytes(data))
    return start


def test_a_damaged_lookup_line_is_one_error_line_naming_the_file_and_byte(
    sample_index_dir: Path, tmp_path: Path
) -> None:
    index = _copy(sample_index_dir, tmp_path)
    start = _damage_line(index, "s:mhc")
    result = run(index, "search", "immune escape MHC")
    assert result.exit_code != 0 and result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: the index at "), lines
    assert f"{LOOKUP_FILE}: the line at byte {start} does not match its checksum" in lines[0]
    assert "searchkit rebuild" in lines[0]
    check = run(index, "check")
    assert check.exit_code == 1 and f"damaged: {LOOKUP_FILE}: the line at byte" in check.stderr
    # The next commit writes the file again, whole.
    with SearchIndex.open(index) as ix:
        ix.upsert([Record(pmid="990001", title="Immune escape", abstract="A new record.")])
    assert run(index, "search", "immune escape MHC").exit_code == 0
    assert run(index, "check").exit_code == 0


@pytest.mark.parametrize(
    "header",
    [b"SKACRONYMS 1 3 9 00000000\n", b"garbage\n", b"SKACRONYMS 7 3 9 ", b""],
)
def test_a_damaged_lookup_header_is_reported(
    sample_index_dir: Path, tmp_path: Path, header: bytes
) -> None:
    index = _copy(sample_index_dir, tmp_path)
    data = (index / LOOKUP_FILE).read_bytes()
    (index / LOOKUP_FILE).write_bytes(header + data[data.index(b"\n") + 1 :])
    result = run(index, "search", "immune escape MHC")
    assert result.exit_code != 0 and result.stdout == ""
    assert len(result.stderr.splitlines()) == 1 and LOOKUP_FILE in result.stderr


def test_a_damaged_acronym_table_is_one_error_line_naming_it(
    sample_index_dir: Path, tmp_path: Path
) -> None:
    """A search reads the acronyms by key from ``acronyms.lookup`` and never the whole
    table: ``check`` finds the damage, and so does a search of an index without the
    lookup file (one written before it), which reads the whole table."""
    index = _copy(sample_index_dir, tmp_path)
    table = index / TABLE_FILE
    text = table.read_text("utf-8")
    table.write_text(text.replace('"MHC"', '"MHX"', 1), "utf-8")
    check = run(index, "check")
    assert check.exit_code == 1 and f"damaged: {TABLE_FILE} does not match" in check.stderr
    assert run(index, "search", "immune escape MHC").exit_code == 0
    (index / LOOKUP_FILE).unlink()
    result = run(index, "search", "immune escape MHC")
    assert result.exit_code != 0 and result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: the index at ")
    assert f"{TABLE_FILE} does not match its checksum" in lines[0]


def test_a_vocabulary_removed_after_it_was_opened_is_read_from_the_segments(
    sample_index_dir: Path, tmp_path: Path
) -> None:
    """A long-lived searcher behind a commit that merged its segments away: their
    files went after the headers were read. Their buckets then come from the
    segments, not a false report of damage."""
    index = _copy(sample_index_dir, tmp_path)
    with SearchIndex.open(index) as ix, ix.searcher() as s:
        reader = s.reader()
        vocabulary_ = load_vocabulary(index, reader)
        assert all(p.source is not None for p in vocabulary_.parts)
        for segment_id in _segments(index):
            (index / vocabulary.file_name(segment_id)).unlink()
        stem = next(iter(s.schema["abstract"].process_text("imune", mode="query")))
        expected = reader.corrector("abstract").suggest(stem, limit=3, maxdist=2, prefix=1)
        assert vocabulary_.suggest("abstract", stem) == expected


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


def test_mesh_words_are_written_with_each_segment_and_read_as_the_segments_give_them(
    sample_index_dir: Path, tmp_path: Path
) -> None:
    """Round trip: each segment's file reads back as written, and together they give
    what the merged lexicon of every segment gives."""
    with SearchIndex.open(sample_index_dir) as ix, ix.searcher() as s:
        stored = meshwords.load(ix.path, s.reader())
        fresh = MeshWords.from_reader(s.reader())
        segments = segment_readers(s.reader())
        assert segments is not None
        for segment_id, leaf in segments:
            written = SegmentHeadings.from_reader(leaf, segment_id).write(tmp_path)
            assert written.read_bytes() == (ix.path / written.name).read_bytes()
    assert len(stored.parts) > 1 and all(_from_file(p) for p in stored.parts)
    for words in (["psoas"], ["cell"], ["lung", "neoplasms"], ["virus"], ["quarks"]):
        assert stored.containing(words, 50) == fresh.containing(words, 50), words
    assert stored.containing(["cell"], 50)[5:]  # more than a note names


@pytest.mark.slow
def test_a_damaged_mesh_words_file_is_one_error_line_naming_it(
    sample_index_dir: Path, tmp_path: Path
) -> None:
    index = _copy(sample_index_dir, tmp_path)
    path = _holding(index, meshwords, "groups", "ps")
    _flip_byte(path, _group_offset(path, meshwords.MAGIC, "groups", "ps"))
    _one_error_line(_search(index, "psoas[mh]"), f"{path.name} does not match its checksum")
    check = run(index, "check")
    assert check.exit_code == 1
    assert f"damaged: {path.name} does not match its checksum" in check.stderr


def test_a_damaged_mesh_words_group_of_a_large_index_is_found_when_read(
    sample_index_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    index = _copy(sample_index_dir, tmp_path)
    path = _holding(index, meshwords, "groups", "ps")
    _flip_byte(path, _group_offset(path, meshwords.MAGIC, "groups", "ps"))
    monkeypatch.setattr(checksums, "VERIFY_AT_OPEN_BYTES", 0)
    monkeypatch.setattr(checksums, "SMALL_FILE_BYTES", 0)
    checksums._VERIFIED.clear()
    # A search whose MeSH terms all match does not read it.
    assert run(index, "search", "neoplasms[mh]", "--count").exit_code == 0
    result = run(index, "search", "psoas[mh]")
    assert result.exit_code == 1 and result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    assert f"{path.name} does not match its checksum" in lines[0]


def test_mesh_words_removed_after_they_were_opened_are_read_from_the_segments(
    sample_index_dir: Path, tmp_path: Path
) -> None:
    """A long-lived searcher behind a commit that merged its segments away: their
    files went after the headers were read; the note then comes from the segments,
    not a report of damage."""
    index = _copy(sample_index_dir, tmp_path)
    with SearchIndex.open(index) as ix, ix.searcher() as s:
        words = meshwords.load(index, s.reader())
        assert all(p.source is not None for p in words.parts)
        for segment_id in _segments(index):
            (index / meshwords.file_name(segment_id)).unlink()
        assert words.containing(["psoas"], 5) == ["psoas abscess", "psoas muscles"]


def test_an_index_without_segments_suggests_nothing_and_notes_no_heading(
    tmp_path: Path,
) -> None:
    """A new index, or one whose records were all deleted: no segment, no files."""
    index = SearchIndex.create(tmp_path / "ix")
    index.close()
    for query in ("imune escpe", "psoas[mh]"):
        result = run(index.path, "search", query)
        assert result.exit_code == 0, result.stderr
        assert "Did you mean" not in result.stderr and "headings with" not in result.stderr
    with SearchIndex.open(index.path) as ix, ix.searcher() as s:
        assert load_vocabulary(index.path, s.reader()).suggest("abstract", "imun") == []
        assert meshwords.load(index.path, s.reader()).containing(["psoas"], 5) == []


def test_a_temporary_file_a_killed_writer_left_goes_at_the_next_write(tmp_path: Path) -> None:
    index = SearchIndex.create(tmp_path / "ix")
    left = [
        index.path / ".vocabulary-1.bin.99999.0a1b2c3d.tmp",
        index.path / ".meshwords-1.bin.99999.0a1b2c3d.tmp",
        index.path / ".MAIN_0a1b2c3d4e5f6g7h.vocab.99999.0a1b2c3d.tmp",
        index.path / ".MAIN_0a1b2c3d4e5f6g7h.meshwords.99999.0a1b2c3d.tmp",
        index.path / ".acronyms.json.99999.0a1b2c3d.tmp",
        index.path / ".acronyms.lookup.99999.0a1b2c3d.tmp",
        index.path / ".searchkit.json.99999.0a1b2c3d.tmp",
        index.path / ".sources.json.99999.0a1b2c3d.tmp",
        index.path / ".mesh_tree.json.gz.99999.0a1b2c3d.tmp",
    ]
    for path in left:
        path.write_bytes(b"half written")
    assert ingest([SAMPLE_DIR / "pubmed-34572009-page.txt"], index).ok
    assert not [p for p in left if p.exists()]
    assert not list(index.path.glob(".*.tmp"))


def test_searches_of_an_open_index_do_not_read_its_table_of_contents_again(
    sample_index_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whoosh's ``FileIndex.schema`` reads and checks the table of contents on every
    access; the schema is read once per open index, so a search reads the table of
    contents only when another commit has landed (to open its segments)."""
    from whoosh.index import FileIndex

    reads: list[int] = []
    real = FileIndex._read_toc

    def counted(self: FileIndex) -> object:
        reads.append(1)
        return real(self)

    with SearchIndex.open(sample_index_dir) as ix:
        first = search_ranked(ix, "immune escape MHC")
        monkeypatch.setattr(FileIndex, "_read_toc", counted)
        for _ in range(3):
            assert search_ranked(ix, "immune escape MHC") == first
        assert reads == []
        assert ix.schema.names() == ix.whoosh_index.schema.names()


def search_ranked(ix: SearchIndex, query: str) -> list[str]:
    from searchkit import search
    from searchkit.searching.search import Filters

    filters = Filters(years=(1900, 2100))
    return [hit.pmid for hit in search(ix, query, limit=10, filters=filters).hits]
