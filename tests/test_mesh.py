"""MeSH search end to end through the CLI, on the bundled sample: whole headings,
heading/qualifier pairs, subheadings, major topics, and explosion by NLM's tree.

Every expected count is computed here from the readers' records (the last version of
each PMID in data/), never from the query engine; the tree's expected explosions come
from the descriptor file parsed with the standard library's ElementTree.
"""

from __future__ import annotations

import gzip
import shutil
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Callable
from functools import cache
from pathlib import Path

import pytest
from typer.testing import CliRunner

from searchkit.cli import app
from searchkit.items import Deletion
from searchkit.output.citations import to_medline
from searchkit.query.parser import parse
from searchkit.readers import iter_files, read_file
from searchkit.records import MeshHeading, Record
from searchkit.semantic.topics import query_text

from .cli_helpers import count, run
from .conftest import SAMPLE_DIR, TEST_DATA
from .test_cli import _searchkit_exe

runner = CliRunner()
DESC_SAMPLE = TEST_DATA / "mesh" / "desc-sample.xml"


# -- independent expectations -----------------------------------------------------


@cache
def sample_records() -> tuple[Record, ...]:
    """The records of data/ as the index holds them: the last version of each PMID."""
    found: dict[str, Record] = {}
    for path in iter_files([SAMPLE_DIR]):
        for item in read_file(path):
            if isinstance(item, Record):
                found[item.pmid] = item
            elif isinstance(item, Deletion):
                found.pop(item.pmid, None)
    return tuple(found.values())


def expected(match: Callable[[MeshHeading], bool]) -> int:
    return sum(any(match(m) for m in r.mesh) for r in sample_records())


def heading(name: str) -> Callable[[MeshHeading], bool]:
    return lambda m: m.name == name


@cache
def sample_tree() -> dict[str, tuple[str, ...]]:
    """Heading → tree numbers of the sample descriptor file (ElementTree, not searchkit)."""
    root = ET.parse(DESC_SAMPLE).getroot()
    return {
        rec.findtext("DescriptorName/String", ""): tuple(
            t.text or "" for t in rec.findall("TreeNumberList/TreeNumber")
        )
        for rec in root.findall("DescriptorRecord")
    }


def narrower_or_same(name: str) -> set[str]:
    tree = sample_tree()
    roots = tree[name]
    return {
        other
        for other, numbers in tree.items()
        if other == name or any(n.startswith(r + ".") for n in numbers for r in roots)
    }


# -- helpers ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tree_index_dir(sample_index_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the sample index with the sample MeSH tree loaded."""
    path = tmp_path_factory.mktemp("mesh-tree") / "index"
    shutil.copytree(sample_index_dir, path)
    result = run(path, "mesh", "load", str(DESC_SAMPLE))
    assert result.exit_code == 0, result.stderr
    return path


# -- whole headings -----------------------------------------------------------------


@pytest.mark.slow
def test_the_independent_counts_are_the_ones_reported() -> None:
    assert expected(heading("Lung")) == 13
    assert expected(heading("Carcinoma, Non-Small-Cell Lung")) == 10
    # 49, not 46: all of them in one file, checked against its raw XML too.
    assert expected(lambda m: m.name == "Psoas Abscess" and "surgery" in m.qualifiers) == 49


@pytest.mark.parametrize(
    "query",
    [
        "lung[mh]",
        '"lung"[mh]',
        "Lung[MeSH Terms]",
        "lung[mh:noexp]",
        "lung[MeSH Terms:noexp]",
        "mesh:lung",
    ],
)
@pytest.mark.slow
def test_mh_matches_the_whole_heading(sample_index_dir: Path, query: str) -> None:
    assert count(sample_index_dir, query) == expected(heading("Lung")) == 13


@pytest.mark.parametrize(
    "query",
    [
        '"Carcinoma, Non-Small-Cell Lung"[mh]',
        "Carcinoma, Non-Small-Cell Lung[mh]",
        "carcinoma non small cell lung[mh]",
        '"CARCINOMA, NON-SMALL-CELL LUNG"[MeSH Terms]',
    ],
)
def test_a_heading_as_printed_matches_whatever_its_case_and_punctuation(
    sample_index_dir: Path, query: str
) -> None:
    assert count(sample_index_dir, query) == expected(heading("Carcinoma, Non-Small-Cell Lung"))


def test_a_word_of_a_heading_is_not_the_heading(sample_index_dir: Path) -> None:
    assert count(sample_index_dir, "psoas[mh]") == expected(heading("psoas")) == 0
    assert count(sample_index_dir, "neoplasms[mh]") == expected(heading("Neoplasms"))


def test_a_mesh_term_that_matches_nothing_says_why(sample_index_dir: Path) -> None:
    result = run(sample_index_dir, "search", "psoas[mh:noexp]", "--count")
    assert result.stdout == "0\n"
    assert result.stderr == (
        "note: psoas[mh:noexp] is not a MeSH heading of any record (headings match whole); "
        "headings with these words: psoas abscess, psoas muscles\n"
    )
    assert {"Psoas Abscess", "Psoas Muscles"} == {
        m.name for r in sample_records() for m in r.mesh if "Psoas" in m.name.split()
    }
    result = run(sample_index_dir, "search", "psoas abscess/zz[mh:noexp]", "--count")
    assert "'zz' is not a MeSH qualifier or its abbreviation" in result.stderr
    result = run(sample_index_dir, "search", "lung/secondary[mh:noexp]", "--count")
    assert expected(lambda m: m.name == "Lung" and "secondary" in m.qualifiers) == 0
    assert result.stderr == "note: lung/secondary[mh:noexp] matches no record\n"


def test_truncation_matches_headings_that_start_so(sample_index_dir: Path) -> None:
    want = expected(lambda m: m.name.lower().startswith("lung"))
    assert want > expected(heading("Lung"))
    assert count(sample_index_dir, "lung*[mh]") == want
    assert count(sample_index_dir, "surg*[sh]") == expected(
        lambda m: any(q.startswith("surg") for q in m.qualifiers)
    )


@pytest.mark.parametrize(
    ("prefix", "tag"),
    [
        ("T-Lymphocyte", "mh"),
        ("T-Lymphocytes, ", "mh"),
        ("Anti-Inflammatory", "mh"),
        ("anti-inflammatory agents", "MeSH Terms"),
        ("NF-kappa", "mh:noexp"),
    ],
)
def test_truncation_of_a_heading_with_a_hyphen_comma_or_space(
    sample_index_dir: Path, prefix: str, tag: str
) -> None:
    # The heading is one value: '*' ends it, whatever it holds before ('*' counted
    # against the whole heading, not its last piece).
    want = expected(lambda m: m.name.lower().startswith(prefix.lower()))
    assert want > 0
    assert count(sample_index_dir, f"{prefix}*[{tag}]") == want


@pytest.mark.parametrize(
    ("query", "at"), [("T-Lymph*ocytes[mh]", 8), ("lung* neoplasms[mh]", 5), ("lu*[mh]", 3)]
)
def test_a_star_inside_a_heading_is_one_line_naming_its_place(
    sample_index_dir: Path, query: str, at: int
) -> None:
    result = run(sample_index_dir, "search", query)
    assert result.exit_code != 0 and result.stdout == ""
    assert result.stderr.count("\n") == 1 and f"(at position {at})" in result.stderr


@pytest.mark.parametrize(
    "query",
    [
        "psoas abscess[majr]",
        "Psoas Abscess[MeSH Major Topic]",
        "psoas abscess[majr:noexp]",
        "psoas abscess[MeSH Major Topic:noexp]",
    ],
)
def test_majr_only_major_topics(sample_index_dir: Path, query: str) -> None:
    want = expected(lambda m: m.name == "Psoas Abscess" and m.major)
    assert 0 < want < expected(heading("Psoas Abscess"))
    assert count(sample_index_dir, query) == want


def test_noexp_terms_are_topical_like_mh() -> None:
    assert query_text(parse("lung[mh:noexp] AND tumour[majr:noexp]")) == query_text(
        parse("lung[mh] AND tumour[majr]")
    )


# -- qualifiers ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        "psoas abscess/surgery[mh]",
        "Psoas Abscess/surgery[MeSH Terms]",
        '"Psoas Abscess/surgery"[mh]',
        "psoas abscess/su[mh]",
        "psoas abscess/SU[mh:noexp]",
    ],
)
def test_heading_with_qualifier(sample_index_dir: Path, query: str) -> None:
    want = expected(lambda m: m.name == "Psoas Abscess" and "surgery" in m.qualifiers)
    assert count(sample_index_dir, query) == want == 49


def test_heading_with_major_qualifier(sample_index_dir: Path) -> None:
    # A pair is major when its qualifier is starred, or when the heading is major and
    # none of its qualifiers is starred (the star was on the descriptor).
    want = expected(
        lambda m: (
            m.name == "Psoas Abscess"
            and "surgery" in m.qualifiers
            and ("surgery" in m.major_qualifiers or (m.major and not m.major_qualifiers))
        )
    )
    assert 0 < want < 49
    assert count(sample_index_dir, "psoas abscess/surgery[majr]") == want


def test_qualifiers_with_an_ampersand(sample_index_dir: Path) -> None:
    want = expected(lambda m: "administration & dosage" in m.qualifiers)
    assert want > 0
    assert count(sample_index_dir, "administration & dosage[sh]") == want
    assert count(sample_index_dir, "ad[sh]") == want


@pytest.mark.parametrize("query", ["surgery[sh]", "SU[sh]", "surgery[MeSH Subheading]"])
def test_subheading_alone(sample_index_dir: Path, query: str) -> None:
    want = expected(lambda m: "surgery" in m.qualifiers)
    assert want == 150
    assert count(sample_index_dir, query) == want


def test_an_unknown_qualifier_finds_nothing(sample_index_dir: Path) -> None:
    assert count(sample_index_dir, "psoas abscess/zz[mh]") == 0


def test_per_qualifier_major_flags_survive_medline_export(tmp_path: Path) -> None:
    source = tmp_path / "one.nbib"
    source.write_text(
        "PMID- 1\nTI  - A title.\nMH  - Psoas Abscess/*surgery/therapy\n"
        "MH  - *Lung\nMH  - Abscess/diagnosis\n",
        "utf-8",
    )
    (record,) = [r for r in read_file(source) if isinstance(r, Record)]
    assert record.mesh == (
        MeshHeading("Psoas Abscess", True, ("surgery", "therapy"), ("surgery",)),
        MeshHeading("Lung", True),
        MeshHeading("Abscess", False, ("diagnosis",)),
    )
    again = tmp_path / "again.nbib"
    again.write_text(to_medline(record) + "\n", "utf-8")
    assert [r for r in read_file(again) if isinstance(r, Record)] == [record]


# -- without a tree -------------------------------------------------------------------


def test_without_a_tree_mh_is_not_exploded_and_says_so(sample_index_dir: Path) -> None:
    result = run(sample_index_dir, "search", "neoplasms[mh]", "--count", "--explain")
    assert result.exit_code == 0
    assert int(result.stdout) == expected(heading("Neoplasms"))
    notes = [line for line in result.stderr.splitlines() if line.startswith("note:")]
    assert len(notes) == 1
    assert "no MeSH tree" in notes[0] and "searchkit mesh load" in notes[0]
    assert "not exploded" in result.stderr.split("note:")[0]  # the --explain part
    quiet = run(sample_index_dir, "search", "neoplasms[mh:noexp]", "--count")
    assert quiet.stderr == ""
    words = run(sample_index_dir, "search", "neoplasms", "--count")
    assert words.stderr == ""


# -- with the tree ----------------------------------------------------------------------


def test_mh_explodes_to_narrower_headings(tree_index_dir: Path) -> None:
    names = narrower_or_same("Lung Neoplasms")
    assert names == {
        "Lung Neoplasms",
        "Adenocarcinoma of Lung",
        "Carcinoma, Non-Small-Cell Lung",
        "Small Cell Lung Carcinoma",
    }
    want = expected(lambda m: m.name in names)
    assert want > expected(heading("Lung Neoplasms"))
    assert count(tree_index_dir, "lung neoplasms[mh]") == want
    assert count(tree_index_dir, "lung neoplasms[mh:noexp]") == expected(heading("Lung Neoplasms"))
    result = run(tree_index_dir, "search", "lung neoplasms[mh]", "--count", "--explain")
    assert "explodes to 4 headings" in result.stderr
    assert "note:" not in result.stderr


def test_the_top_of_a_tree_explodes_to_all_below_it(tree_index_dir: Path) -> None:
    names = narrower_or_same("Neoplasms")
    assert len(names) == 9
    assert count(tree_index_dir, "neoplasms[mh]") == expected(lambda m: m.name in names)
    # a heading without narrower ones is itself
    assert count(tree_index_dir, "lung[mh]") == 13


def test_explosion_keeps_the_qualifier_and_majr(tree_index_dir: Path) -> None:
    names = narrower_or_same("Lung Neoplasms")
    assert count(tree_index_dir, "lung neoplasms/surgery[mh]") == expected(
        lambda m: m.name in names and "surgery" in m.qualifiers
    )
    assert count(tree_index_dir, "lung neoplasms[majr]") == expected(
        lambda m: m.name in names and m.major
    )
    assert count(tree_index_dir, "lung neoplasms[majr:noexp]") == expected(
        lambda m: m.name == "Lung Neoplasms" and m.major
    )


def test_entry_terms_find_their_descriptor(tree_index_dir: Path) -> None:
    names = narrower_or_same("Lung Neoplasms")
    want = expected(lambda m: m.name in names)
    assert count(tree_index_dir, "lung cancer[mh]") == want
    assert count(tree_index_dir, '"Non-Small Cell Lung Cancer"[mh]') == expected(
        heading("Carcinoma, Non-Small-Cell Lung")
    )
    result = run(tree_index_dir, "search", "lung cancer[mh]", "--count", "--explain")
    assert "entry term of Lung Neoplasms" in result.stderr


def test_mesh_show(tree_index_dir: Path) -> None:
    result = run(tree_index_dir, "mesh", "show", "lung neoplasms")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "Lung Neoplasms"
    # Adenocarcinoma of Lung is .055, one level down; the carcinomas are deeper.
    assert "  C04.588.894.797.520  3 narrower (1 one level down)" in lines
    assert "  C08.381.540  0 narrower (0 one level down)" in lines
    assert "lung cancer" in lines[-1]
    missing = run(tree_index_dir, "mesh", "show", "no such heading")
    assert missing.exit_code == 1
    assert missing.stderr.startswith("Error: no MeSH heading 'no such heading'")


def test_mesh_show_without_a_tree(sample_index_dir: Path) -> None:
    result = run(sample_index_dir, "mesh", "show", "lung")
    assert result.exit_code == 1
    assert "no MeSH tree" in result.stderr and "searchkit mesh load" in result.stderr


# -- loading descriptor files ------------------------------------------------------------


@pytest.fixture
def small_index(tmp_path: Path) -> Path:
    source = tmp_path / "one.nbib"
    source.write_text(
        "PMID- 1\nTI  - Title one.\nMH  - Carcinoma, Non-Small-Cell Lung\n\n"
        "PMID- 2\nTI  - Title two.\nMH  - *Lung Neoplasms/surgery\n",
        "utf-8",
    )
    result = runner.invoke(app, ["ingest", str(source), "--index", str(tmp_path / "ix")])
    assert result.exit_code == 0, result.stderr
    return tmp_path / "ix"


def test_load_reads_gzip_and_reports(small_index: Path) -> None:
    result = run(small_index, "mesh", "load", str(DESC_SAMPLE) + ".gz")
    assert result.exit_code == 0, result.stderr
    assert "10 descriptors" in result.stderr
    assert count(small_index, "lung neoplasms[mh]") == 2


def test_a_malformed_file_names_the_line_and_keeps_the_old_tree(
    small_index: Path, tmp_path: Path
) -> None:
    assert run(small_index, "mesh", "load", str(DESC_SAMPLE)).exit_code == 0
    lines = DESC_SAMPLE.read_text("utf-8").splitlines()
    broken = tmp_path / "broken.xml"
    broken.write_text("\n".join([*lines[:40], "<TreeNumber>C04</Tree>", *lines[40:]]), "utf-8")
    result = run(small_index, "mesh", "load", str(broken))
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: {broken}, line 41: malformed XML")
    assert len(result.stderr.splitlines()) == 1
    assert count(small_index, "lung neoplasms[mh]") == 2  # the loaded tree is kept
    truncated = tmp_path / "truncated.xml.gz"
    truncated.write_bytes(gzip.compress(DESC_SAMPLE.read_bytes())[:600])
    result = run(small_index, "mesh", "load", str(truncated))
    assert result.exit_code == 1 and result.stderr.startswith(f"Error: {truncated}")


def test_other_files_are_refused(small_index: Path, tmp_path: Path) -> None:
    pubmed = next(TEST_DATA.glob("pubmed_xml/*.cut.xml"))
    result = run(small_index, "mesh", "load", str(pubmed))
    assert result.exit_code == 1
    assert "not a MeSH descriptor file" in result.stderr
    empty = tmp_path / "empty.xml"
    empty.write_text('<?xml version="1.0"?>\n<DescriptorRecordSet>\n</DescriptorRecordSet>\n')
    result = run(small_index, "mesh", "load", str(empty))
    assert result.exit_code == 1 and "no descriptors" in result.stderr
    missing = run(small_index, "mesh", "load", str(tmp_path / "nope.xml"))
    assert missing.exit_code == 1 and "nope.xml" in missing.stderr


def test_entities_are_never_expanded(small_index: Path, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("Lung Neoplasms")
    hostile = tmp_path / "hostile.xml"
    hostile.write_text(
        '<?xml version="1.0"?>\n'
        f'<!DOCTYPE DescriptorRecordSet [<!ENTITY x SYSTEM "file://{secret}">]>\n'
        "<DescriptorRecordSet>\n<DescriptorRecord>\n"
        "<DescriptorName><String>&x;</String></DescriptorName>\n"
        "<TreeNumberList><TreeNumber>C99</TreeNumber></TreeNumberList>\n"
        "</DescriptorRecord>\n</DescriptorRecordSet>\n"
    )
    result = run(small_index, "mesh", "load", str(hostile))
    assert result.exit_code == 1
    assert "entity" in result.stderr
    assert "Lung Neoplasms" not in result.stderr


def test_an_entity_bomb_is_refused(small_index: Path, tmp_path: Path) -> None:
    levels = ['<!ENTITY e0 "' + "a" * 50 + '">']
    levels += [f'<!ENTITY e{i} "{f"&e{i - 1};" * 16}">' for i in range(1, 7)]
    bomb = tmp_path / "bomb.xml"
    bomb.write_text(
        '<?xml version="1.0"?>\n<!DOCTYPE DescriptorRecordSet [\n'
        + "\n".join(levels)
        + "\n]>\n<DescriptorRecordSet><DescriptorRecord><DescriptorName><String>&e6;"
        "</String></DescriptorName></DescriptorRecord></DescriptorRecordSet>\n"
    )
    result = run(small_index, "mesh", "load", str(bomb))
    assert result.exit_code == 1
    assert "billion laughs" in result.stderr and len(result.stderr.splitlines()) == 1


def test_only_the_descriptors_own_name_counts(small_index: Path, tmp_path: Path) -> None:
    made = tmp_path / "nested.xml"
    made.write_text(
        "<DescriptorRecordSet><DescriptorRecord>"
        "<DescriptorName><String>Lung Neoplasms</String></DescriptorName>"
        "<PharmacologicalActionList><PharmacologicalAction><DescriptorReferredTo>"
        "<DescriptorName><String>Neoplasms</String></DescriptorName>"
        "</DescriptorReferredTo></PharmacologicalAction></PharmacologicalActionList>"
        "<TreeNumberList><TreeNumber>C04.1</TreeNumber></TreeNumberList>"
        "</DescriptorRecord><DescriptorRecord>"
        "<DescriptorName><String>Carcinoma, Non-Small-Cell Lung</String></DescriptorName>"
        "<TreeNumberList><TreeNumber>C04.1.2</TreeNumber></TreeNumberList>"
        "</DescriptorRecord></DescriptorRecordSet>"
    )
    assert run(small_index, "mesh", "load", str(made)).exit_code == 0
    shown = run(small_index, "mesh", "show", "Lung Neoplasms")
    assert "  C04.1  1 narrower (1 one level down)" in shown.stdout.splitlines()
    assert run(small_index, "mesh", "show", "Neoplasms").exit_code == 1


@pytest.mark.slow
def test_mesh_load_and_search_as_a_subprocess(small_index: Path) -> None:
    exe = _searchkit_exe()

    def sk(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [exe, *args, "--index", str(small_index)], capture_output=True, text=True, check=False
        )

    before = run(small_index, "search", "lung neoplasms[mh]", "--count")  # in-process
    assert before.exit_code == 0 and before.stdout == "1\n"
    assert "no MeSH tree" in before.stderr
    loaded = sk("mesh", "load", str(DESC_SAMPLE))
    assert loaded.returncode == 0, loaded.stderr
    after = sk("search", "lung neoplasms[mh]", "--count")
    assert after.returncode == 0 and after.stdout == "2\n" and after.stderr == ""


def test_rebuild_keeps_the_tree(small_index: Path) -> None:
    assert run(small_index, "mesh", "load", str(DESC_SAMPLE)).exit_code == 0
    rebuilt = run(small_index, "rebuild")
    assert rebuilt.exit_code == 0, rebuilt.stderr
    result = run(small_index, "search", "lung neoplasms[mh]", "--count")
    assert result.stdout == "2\n" and result.stderr == ""


def test_a_damaged_tree_file_is_one_error_line(small_index: Path) -> None:
    assert run(small_index, "mesh", "load", str(DESC_SAMPLE)).exit_code == 0
    stored = next(small_index.glob("mesh_tree*"))
    stored.write_bytes(stored.read_bytes()[:100])
    result = run(small_index, "search", "lung neoplasms[mh]", "--count")
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: cannot read the MeSH tree")
    assert "searchkit mesh load" in result.stderr and len(result.stderr.splitlines()) == 1
    # a search without MeSH terms does not need the tree
    assert run(small_index, "search", "title", "--count").exit_code == 0
