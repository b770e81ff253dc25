"""Tests of searchkit.readers on real PubMed / BEIR exports in tests/data.

The fixtures are small real files, or real files cut down to a few complete
records (see tests/data/README.md). Damaged inputs are made in ``tmp_path`` from
those fixtures, so every test runs on real record text.
"""

from __future__ import annotations

import gzip
import json
import re
import time
from pathlib import Path

import pytest

from searchkit.errors import InputError
from searchkit.items import Deletion, Item, Skipped
from searchkit.readers import (
    FORMATS,
    detect_format,
    iter_files,
    read_abstract_text,
    read_file,
    read_medline,
    read_page_text,
    read_pubmed_xml,
)
from searchkit.readers._text import parse_date_text
from searchkit.records import Author, MeshHeading, Record

DATA = Path(__file__).parent / "data"

ORTHO_XML = DATA / "pubmed_xml" / "p1m-ortho_qs-global-ortho-search-queries__pubmed_result.cut.xml"
BOOKS_XML = DATA / "pubmed_xml" / "filiperigueiro_ArticleSearch__pubmed_result.cut.xml"
UPDATE_XML = DATA / "pubmed_xml" / "handmade-update-with-deletions.xml"
ORTHO_NBIB = DATA / "medline" / "p1m-ortho_qs-global-ortho-search-queries__citations.cut.nbib"
BIOPYTHON_MEDLINE = DATA / "medline" / "biopython__Tests_Medline_pubmed_result2.txt"
CRLF_MEDLINE = DATA / "medline" / "dreamytang_Pubmed_Author_Ranking__pubmed_result.txt"
ABSTRACT_TEXT = DATA / "abstract_text" / "OliverCardiff_Literature_networks__pubmed_result.cut.txt"
PAGE_TEXT = DATA / "page_text" / "pubmed-34572009-page.txt"
SCIFACT = DATA / "jsonl" / "scifact-corpus.head.jsonl"
NEGATIVE = DATA / "negative"
JSON_ESCAPED_XML = NEGATIVE / "jmjamison_pubmedExtracts__output.json-escaped-xml.head.txt"
BEIR_QUERIES = NEGATIVE / "scifact-queries.head.jsonl"

ORTHO_PMIDS = ["28748004", "25238468", "27506154", "28630219", "28504498"]


def _names(authors: tuple[Author, ...]) -> list[tuple[str, str | None]]:
    """Authors' short and full names (affiliations are checked on their own)."""
    return [(a.name, a.full_name) for a in authors]


def read_all(path: Path) -> list[Item]:
    return list(read_file(path))


def records_by_pmid(path: Path) -> dict[str, Record]:
    return {item.pmid: item for item in read_file(path) if isinstance(item, Record)}


def read_until_error(path: Path) -> tuple[list[Item], InputError]:
    """The items yielded before the InputError the file must raise, and the error."""
    items: list[Item] = []
    with pytest.raises(InputError) as caught:
        for item in read_file(path):
            items.append(item)
    return items, caught.value


def _line_count(data: bytes) -> int:
    """The number of the line on which ``data`` ends."""
    return data.count(b"\n") + 1


def gzip_copy(source: Path, target: Path) -> Path:
    target.write_bytes(gzip.compress(source.read_bytes()))
    return target


# --- PubMed XML -----------------------------------------------------------------


def test_xml_known_record_fields() -> None:
    record = records_by_pmid(ORTHO_XML)["28748004"]
    assert record.title == "[Dorsolumbar cold abscess revealing Pott's disease]."
    assert record.abstract is not None
    assert record.abstract.startswith(
        "Tuberculous cold abscesses are a rare and unusual form of extrapulmonary tuberculosis."
    )
    assert "Pott’s disease" in record.keywords  # noqa: RUF001 - the typographic apostrophe is kept
    assert (
        MeshHeading("Tuberculosis, Spinal", True, ("diagnosis", "drug therapy"), ("diagnosis",))
        in record.mesh
    )
    assert MeshHeading("Humans", False, ()) in record.mesh
    assert _names(record.authors)[0] == ("Kouassi KJ", "Kouassi, Kouame Jean-Eric")
    assert record.authors[0].affiliations == (
        "Service d'Orthopédie, Traumatologie, CHU de Bouake, Côte d'Ivoire.",
    )
    assert ("Sery BJLN", "Sery, Bada Justin Léopold Niaore") in _names(record.authors)
    assert record.journal == "The Pan African medical journal"
    assert record.journal_abbrev == "Pan Afr Med J"
    assert record.year == 2017
    assert record.pub_date == "2017"
    assert record.doi == "10.11604/pamj.2017.27.2.11174"
    assert record.pmcid == "PMC5511723"
    assert record.publication_types == ("Case Reports", "Journal Article")
    assert record.languages == ("fre",)


def test_xml_reads_every_record_in_order() -> None:
    items = read_all(ORTHO_XML)
    assert [item.pmid for item in items if isinstance(item, Record)] == ORTHO_PMIDS
    assert all(isinstance(item, Record) for item in items)


def test_xml_structured_abstract_keeps_labels_one_section_per_line() -> None:
    record = records_by_pmid(ORTHO_XML)["25238468"]
    assert record.abstract is not None
    sections = record.abstract.split("\n")
    assert [s.split(":")[0] for s in sections] == ["BACKGROUND", "METHODS", "RESULTS", "CONCLUSION"]
    assert sections[0].startswith("BACKGROUND: A psoas (or iliopsoas) abscess is a rare")
    assert "Reina Sofía's General University Hospital" in record.abstract  # non-ASCII


def test_xml_medline_date_gives_year_and_start_month() -> None:
    record = records_by_pmid(ORTHO_XML)["25238468"]  # <MedlineDate>2014 May-Jun</MedlineDate>
    assert (record.year, record.pub_date) == (2014, "2014-05")


def test_xml_full_pub_date_with_month_name() -> None:
    record = records_by_pmid(ORTHO_XML)["28630219"]  # Year 2017, Month Jun, Day 19
    assert record.pub_date == "2017-06-19"


def test_xml_record_without_abstract_has_none() -> None:
    record = records_by_pmid(ORTHO_XML)["27506154"]
    assert record.abstract is None
    assert record.keywords == ()
    assert record.pmcid is None


def test_xml_inline_markup_in_titles_is_flattened() -> None:
    ortho = records_by_pmid(ORTHO_XML)
    assert ortho["28630219"].title == (
        "A Rare Case Of Sigmoid Colon Perforation With Subsequent Psoas Abscess "
        "Collection With Extensive Involvement Of The Sartorius Muscle."
    )  # <b>...</b>.
    books = records_by_pmid(BOOKS_XML)
    title = books["29880878"].title
    assert title is not None
    assert title.startswith("Publisher Correction: N6-methyladenosine RNA modification")


def test_xml_non_ascii_author_names() -> None:
    record = records_by_pmid(ORTHO_XML)["28504498"]
    assert _names(record.authors) == [
        ("Pons M", "Pons, Mauricio"),
        ("Pérez L", "Pérez, Leila"),
        ("Juárez F", "Juárez, Facundo"),
    ]


def test_xml_book_article() -> None:
    book = records_by_pmid(BOOKS_XML)["29165978"]
    assert book.title == (
        "Measurement of cAMP for Gαs- and Gαi Protein-Coupled Receptors (GPCRs)"  # noqa: RUF001
    )  # chapter title with <sub>
    assert book.journal == "Assay Guidance Manual"  # the book holding the chapter
    assert book.year == 2004
    assert book.pub_date == "2004"
    # The chapter's authors, not the book's editors.
    assert _names(book.authors)[0] == ("Wang T", "Wang, Tao")
    assert len(book.authors) == 5
    assert book.abstract is not None
    assert book.abstract.startswith("Cyclic adenosine monophosphate (cAMP) is an important")
    assert book.publication_types == ("Review",)
    assert book.languages == ("eng",)


def test_xml_delete_citation_yields_deletions() -> None:
    items = read_all(UPDATE_XML)
    assert isinstance(items[0], Record)
    assert items[0].pmid == "27506154"
    assert items[1:] == [Deletion("10000101"), Deletion("10000102"), Deletion("10000103")]


def test_xml_gzip_gives_same_records(tmp_path: Path) -> None:
    committed = ORTHO_XML.with_name(ORTHO_XML.name + ".gz")
    assert read_all(committed) == read_all(ORTHO_XML)
    # Detection is by magic bytes, not by suffix.
    renamed = gzip_copy(ORTHO_XML, tmp_path / "no-suffix")
    assert read_all(renamed) == read_all(ORTHO_XML)


def test_xml_empty_article_title_falls_back_to_vernacular_title(tmp_path: Path) -> None:
    text = ORTHO_XML.read_text(encoding="utf-8").replace(
        "<ArticleTitle>[Dorsolumbar cold abscess revealing Pott's disease].</ArticleTitle>",
        "<ArticleTitle></ArticleTitle>",
    )
    path = tmp_path / "empty-title.xml"
    path.write_text(text, encoding="utf-8")
    assert records_by_pmid(path)["28748004"].title == (
        "Abcès froid dorsolombaire révélant un mal de Pott."
    )


def test_xml_article_without_pmid_is_skipped(tmp_path: Path) -> None:
    text = ORTHO_XML.read_text(encoding="utf-8").replace(
        '<PMID Version="1">25238468</PMID>', "<PMID/>", 1
    )
    path = tmp_path / "no-pmid.xml"
    path.write_text(text, encoding="utf-8")
    items = read_all(path)
    assert items[1] == Skipped(str(path), "record 2", "record has no PMID")
    assert [i.pmid for i in items if isinstance(i, Record)] == [
        p for p in ORTHO_PMIDS if p != "25238468"
    ]


@pytest.mark.parametrize(
    ("anchor", "bad", "lost"),
    [
        (b"Pott's ", b"\xe9", "28748004"),  # a Latin-1 byte in record 1's title
        (b"Mycotic Aneu", b"\xc3", "27506154"),  # a two-byte sequence cut short, record 3
        (b'<AbstractText Label="', b"\xff", "25238468"),  # in an attribute, record 2
    ],
    ids=["latin-1 byte", "cut sequence", "in an attribute"],
)
def test_xml_invalid_utf8_skips_only_that_record(
    tmp_path: Path, anchor: bytes, bad: bytes, lost: str
) -> None:
    data = ORTHO_XML.read_bytes()
    at = data.index(anchor) + len(anchor)
    data = data[:at] + bad + data[at:]
    path = tmp_path / "latin.xml"
    path.write_bytes(data)
    items = read_all(path)
    assert [i.pmid for i in items if isinstance(i, Record)] == [p for p in ORTHO_PMIDS if p != lost]
    column = at - data.rfind(b"\n", 0, at)
    assert [i for i in items if isinstance(i, Skipped)] == [
        Skipped(
            str(path),
            f"line {_line_count(data[:at])}",
            f"invalid UTF-8 (byte 0x{bad[0]:02x} at byte {column} of the line); "
            "the file must be UTF-8 encoded",
        )
    ]


def test_xml_characters_across_read_boundaries_are_kept(tmp_path: Path) -> None:
    # Multi-byte characters over hundreds of kilobytes: some straddle every way the
    # parser's reads can cut the stream, none may be taken for invalid UTF-8.
    long_text = "\u03b1-\u00e9 \U0001f9ec " * 40_000  # alpha, e acute, an emoji
    data = ORTHO_XML.read_text(encoding="utf-8").replace("Pott's disease]", long_text, 1)
    path = tmp_path / "long.xml"
    path.write_text(data, encoding="utf-8")
    items = read_all(path)
    assert [i.pmid for i in items if isinstance(i, Record)] == ORTHO_PMIDS
    first = items[0]
    assert isinstance(first, Record) and first.title is not None
    assert long_text.strip() in first.title


@pytest.mark.parametrize("size", [1, 2, 3, 5, 64])
def test_utf8_repair_keeps_characters_cut_by_any_read_size(size: int) -> None:
    import io

    from searchkit.readers._io import INVALID_BYTE_MARK, ByteStream, Utf8Repair

    data = "\u00e9 \U0001f9ec\n\u03b1".encode() + b"\xff x\n\xe9\n\xf0\x9f"  # cut at the end
    stream = Utf8Repair(ByteStream(io.BytesIO(data), "memory"))
    out = b"".join(iter(lambda: stream.read(size), b""))
    mark = INVALID_BYTE_MARK
    assert out.decode("utf-8") == f"\u00e9 \U0001f9ec\n\u03b1{mark} x\n{mark}\n{mark}"
    reason = "invalid UTF-8 (byte 0x{:02x} at byte {} of the line); the file must be UTF-8 encoded"
    assert list(stream.problems) == [
        (2, reason.format(0xFF, 3)),
        (3, reason.format(0xE9, 1)),
        (4, reason.format(0xF0, 1)),
    ]


def test_xml_declared_in_another_encoding_is_read_in_it(tmp_path: Path) -> None:
    text = ORTHO_XML.read_text(encoding="utf-8").replace("\u2019", "'")
    utf8 = tmp_path / "utf8.xml"
    utf8.write_text(text, encoding="utf-8")
    latin = tmp_path / "latin.xml"
    declaration = '<?xml version="1.0" encoding="ISO-8859-1"?>'
    latin.write_bytes(text.replace('<?xml version="1.0"?>', declaration).encode("latin-1"))
    assert any(ord(c) > 127 for c in text)
    assert read_all(latin) == read_all(utf8)


def _cut_inside_third_record(data: bytes) -> bytes:
    third = [m.start() for m in re.finditer(rb"<PubmedArticle>", data)][2]
    return data[: third + 500]


def test_xml_truncated_file_yields_records_before_the_cut(tmp_path: Path) -> None:
    cut = _cut_inside_third_record(ORTHO_XML.read_bytes())
    path = tmp_path / "truncated.xml"
    path.write_bytes(cut)
    items, error = read_until_error(path)
    assert [i.pmid for i in items if isinstance(i, Record)] == ORTHO_PMIDS[:2]
    assert error.source == str(path)
    assert error.reason.startswith("malformed XML")
    assert error.location == f"line {_line_count(cut)}"


def test_xml_malformed_mid_file_names_the_line(tmp_path: Path) -> None:
    lines = ORTHO_XML.read_text(encoding="utf-8").split("\n")
    number = next(i for i, line in enumerate(lines) if "<ArticleTitle><b>" in line)
    lines[number] = lines[number].replace("</b>", "</i>")  # mismatched tags
    path = tmp_path / "mismatched.xml"
    path.write_text("\n".join(lines), encoding="utf-8")
    items, error = read_until_error(path)
    assert [i.pmid for i in items if isinstance(i, Record)] == ORTHO_PMIDS[:3]
    assert error.location == f"line {number + 1}"
    assert "mismatch" in error.reason


def test_xml_truncated_gzip(tmp_path: Path) -> None:
    packed = gzip.compress(ORTHO_XML.read_bytes())
    path = tmp_path / "truncated.xml.gz"
    path.write_bytes(packed[: len(packed) // 2])
    items, error = read_until_error(path)
    assert "truncated" in error.reason
    assert error.location is not None and error.location.startswith("line ")
    assert all(isinstance(item, Record) for item in items)


def test_xml_never_loads_the_dtd(tmp_path: Path) -> None:
    # A DOCTYPE naming a local DTD that defines an entity: if the DTD were loaded,
    # "&injected;" would turn into its replacement text.
    dtd = tmp_path / "pubmed.dtd"
    dtd.write_text('<!ENTITY injected "LOADED-FROM-DTD">', encoding="utf-8")
    text = ORTHO_XML.read_text(encoding="utf-8")
    text = re.sub(r"<!DOCTYPE[^>]*>", f'<!DOCTYPE PubmedArticleSet SYSTEM "{dtd.as_uri()}">', text)
    text = text.replace(
        "Pott's disease].</ArticleTitle>", "Pott's &injected; disease].</ArticleTitle>"
    )
    path = tmp_path / "local-dtd.xml"
    path.write_text(text, encoding="utf-8")
    items = read_all(path)
    assert "LOADED" not in repr(items)
    # The entity is not declared in the file: its record is skipped, not indexed
    # with a hole where the entity was.
    [skipped] = [item for item in items if isinstance(item, Skipped)]
    assert skipped.reason.startswith("uses the entity &injected; which the file does not")
    assert set(records_by_pmid(path)) == set(ORTHO_PMIDS[1:])


UNDECLARED = (
    "uses the entity &eacute; which the file does not declare (PubMed XML writes "
    "characters, not named entities); the record is not read, to keep its text whole"
)


@pytest.mark.parametrize("doctype", [True, False])
def test_xml_undeclared_entity_skips_only_its_record(tmp_path: Path, doctype: bool) -> None:
    """``&eacute;`` in the second article. With PubMed's DOCTYPE it was indexed as a
    silent hole ("Caf undeclared"); without one the file broke off there with "no
    element found" and no line, losing every record after it."""
    text = ORTHO_XML.read_text(encoding="utf-8")
    if not doctype:
        text = re.sub(r"<!DOCTYPE[^>]*>\n", "", text)
    second = [m.end() for m in re.finditer("<ArticleTitle>", text)][1]
    text = text[:second] + "Caf&eacute; " + text[second:]
    path = tmp_path / "entity.xml"
    path.write_text(text, encoding="utf-8")
    items = read_all(path)
    line = text[:second].count("\n") + 1
    assert [i for i in items if isinstance(i, Skipped)] == [
        Skipped(str(path), f"line {line}", UNDECLARED)
    ]
    original = records_by_pmid(ORTHO_XML)
    assert [i for i in items if isinstance(i, Record)] == [
        original[pmid] for pmid in ORTHO_PMIDS if pmid != "25238468"
    ]


def test_xml_errors_name_their_own_file_cause_and_line(tmp_path: Path) -> None:
    """A standalone document may not use an undeclared entity at all: the file
    breaks off there, with the entity and its line (it said "no element found" and
    no line). A file read after it has its own error, not the earlier file's (libxml2
    keeps its error log across files)."""
    text = ORTHO_XML.read_text(encoding="utf-8")
    text = text.replace('<?xml version="1.0"?>', '<?xml version="1.0" standalone="yes"?>', 1)
    text = re.sub(r"<!DOCTYPE[^>]*>\n", "", text)
    second = [m.end() for m in re.finditer("<ArticleTitle>", text)][1]
    standalone = tmp_path / "standalone.xml"
    standalone.write_text(text[:second] + "Caf&eacute; " + text[second:], encoding="utf-8")
    items, error = read_until_error(standalone)
    assert [i.pmid for i in items if isinstance(i, Record)] == ORTHO_PMIDS[:1]
    assert error.location == f"line {text[:second].count(chr(10)) + 1}"
    assert error.reason == "malformed XML: Entity 'eacute' not defined"
    data = ORTHO_XML.read_bytes()
    cut = tmp_path / "cut.xml"
    cut.write_bytes(data[: data.index(b"</AbstractText>")])
    _, error = read_until_error(cut)
    assert error.reason.startswith("malformed XML: Premature end of data in tag"), error.reason


@pytest.mark.parametrize("size", [1, 7, 100, 65536])
def test_xml_doctype_is_added_only_where_missing(size: int) -> None:
    """The reader adds a DOCTYPE (never loaded) before the root of a file without
    one, on the root's line, whatever the size of the reads; any other file passes
    through unchanged."""
    import io

    from searchkit.readers._xml import DoctypeShim

    def through(data: bytes) -> bytes:
        shim, out = DoctypeShim(io.BytesIO(data)), b""
        while chunk := shim.read(size):
            out += chunk
        return out

    with_doctype = ORTHO_XML.read_bytes()
    assert through(with_doctype) == with_doctype
    without = re.sub(rb"<!DOCTYPE[^>]*>\n", b"", with_doctype)
    prolog = b'\xef\xbb\xbf<?xml version="1.0"?>\n<!-- a <Comment> -->\n<?pi x?>\n'
    without = prolog + without.split(b"\n", 1)[1]
    added = through(without)
    assert added == without.replace(
        b"<PubmedArticleSet>",
        b'<!DOCTYPE PubmedArticleSet SYSTEM "searchkit:no-dtd"><PubmedArticleSet>',
        1,
    )
    assert through(b"not xml at all") == b"not xml at all"


def test_xml_external_entity_is_not_expanded(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-CONTENT-4711", encoding="utf-8")
    text = ORTHO_XML.read_text(encoding="utf-8")
    text = re.sub(
        r"<!DOCTYPE[^>]*>",
        f'<!DOCTYPE PubmedArticleSet [\n<!ENTITY xxe SYSTEM "{secret.as_uri()}">\n]>',
        text,
    )
    text = text.replace("Pott's disease].</ArticleTitle>", "Pott's disease &xxe;].</ArticleTitle>")
    path = tmp_path / "xxe.xml"
    path.write_text(text, encoding="utf-8")
    try:
        items = read_all(path)
    except InputError:
        items = []  # refusing the file is as good as not expanding
    assert all("TOP-SECRET" not in repr(item) for item in items)


def test_xml_billion_laughs_finishes_quickly(tmp_path: Path) -> None:
    entities = ['<!ENTITY lol0 "lol">'] + [
        f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10)
    ]
    text = ORTHO_XML.read_text(encoding="utf-8")
    text = re.sub(
        r"<!DOCTYPE[^>]*>", "<!DOCTYPE PubmedArticleSet [\n" + "\n".join(entities) + "\n]>", text
    )
    text = text.replace("Pott's disease].</ArticleTitle>", "Pott's &lol9; disease].</ArticleTitle>")
    path = tmp_path / "bomb.xml"
    path.write_text(text, encoding="utf-8")
    started = time.monotonic()
    try:
        items = read_all(path)
    except InputError as error:
        assert error.source == str(path)
        items = []
    assert time.monotonic() - started < 5
    assert all("lollol" not in repr(item) for item in items)


def test_xml_that_is_not_pubmed_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "other.xml"
    path.write_text('<?xml version="1.0"?>\n<html><body>hi</body></html>\n', encoding="utf-8")
    with pytest.raises(InputError, match="not PubMed XML"):
        read_all(path)
    with pytest.raises(InputError, match="no <PubmedArticleSet>"):
        list(read_pubmed_xml(path))


# --- MEDLINE --------------------------------------------------------------------


def test_medline_known_record_fields() -> None:
    record = records_by_pmid(ORTHO_NBIB)["28748004"]
    assert record.title == "[Dorsolumbar cold abscess revealing Pott's disease]."
    assert record.abstract is not None
    assert record.abstract.startswith("Tuberculous cold abscesses are a rare and unusual form")
    assert record.abstract.endswith("the sequelae was slight gibbosity.")  # continuation lines
    assert "Pott's disease" in record.keywords
    # "MH  - Tuberculosis, Spinal/*diagnosis/drug therapy"
    assert (
        MeshHeading("Tuberculosis, Spinal", True, ("diagnosis", "drug therapy"), ("diagnosis",))
        in record.mesh
    )
    assert _names(record.authors)[0] == ("Kouassi KJ", "Kouassi, Kouame Jean-Eric")
    # "AD  - " after an author's AU line is that author's affiliation.
    assert record.authors[0].affiliations == (
        "Service d'Orthopedie, Traumatologie, CHU de Bouake, Cote d'Ivoire.",
    )
    assert record.journal == "The Pan African medical journal"
    assert record.journal_abbrev == "Pan Afr Med J"
    assert (record.year, record.pub_date) == (2017, "2017")
    assert record.doi == "10.11604/pamj.2017.27.2.11174"
    assert record.pmcid == "PMC5511723"
    assert record.publication_types == ("Case Reports", "Journal Article")
    assert record.languages == ("fre",)


def test_medline_mesh_major_flags_and_qualifiers() -> None:
    record = records_by_pmid(BIOPYTHON_MEDLINE)["16403221"]
    assert (
        MeshHeading("Information Storage and Retrieval", True, ("methods",), ("methods",))
        in record.mesh
    )
    assert MeshHeading("Software", True, ()) in record.mesh
    assert MeshHeading("Programming Languages", False, ()) in record.mesh
    assert record.authors[2] == Author("Saqi MA", "Saqi, Mansoor A S")
    assert record.doi == "10.1186/1471-2105-7-10"  # the [doi] AID, not the [pii]
    assert record.journal == "BMC bioinformatics"
    assert (record.year, record.pub_date) == (2006, "2006")


def test_medline_date_with_day() -> None:
    record = records_by_pmid(BIOPYTHON_MEDLINE)["16377612"]  # DP  - 2006 Mar 1
    assert record.pub_date == "2006-03-01"


def test_medline_major_keywords_lose_their_star(tmp_path: Path) -> None:
    text = ORTHO_NBIB.read_text(encoding="utf-8").replace(
        "OT  - Cold abscess", "OT  - *Cold abscess"
    )
    path = tmp_path / "star.nbib"
    path.write_text(text, encoding="utf-8")
    assert records_by_pmid(path)["28748004"].keywords[0] == "Cold abscess"


def test_medline_crlf_file_and_gzip() -> None:
    records = records_by_pmid(CRLF_MEDLINE)
    assert len(records) == 7
    record = records["30038950"]
    assert record.title == (
        "Association Between Cancer and Utilization of Traditional Chinese Medicine in "
        "U.S. Chinese Women: Findings From the PINE Study."
    )
    assert (record.year, record.pub_date) == (2018, "2018-01")  # DP  - 2018 Jan-Dec
    assert not any("\r" in repr(r) for r in records.values())
    assert records_by_pmid(CRLF_MEDLINE.with_name(CRLF_MEDLINE.name + ".gz")) == records


def test_cross_format_same_pmids_and_titles() -> None:
    xml = [item for item in read_all(ORTHO_XML) if isinstance(item, Record)]
    nbib = [item for item in read_all(ORTHO_NBIB) if isinstance(item, Record)]
    assert [r.pmid for r in xml] == [r.pmid for r in nbib] == ORTHO_PMIDS
    assert [r.title for r in xml] == [r.title for r in nbib]
    assert [r.mesh for r in xml] == [r.mesh for r in nbib]
    assert [(r.year, r.pub_date, r.doi) for r in xml] == [(r.year, r.pub_date, r.doi) for r in nbib]


def _nbib_with(tmp_path: Path, edit: str, name: str = "edited.nbib") -> Path:
    """The ortho MEDLINE fixture with ``edit`` applied to the lines of 25238468."""
    text = ORTHO_NBIB.read_text(encoding="utf-8")
    path = tmp_path / name
    if edit == "drop-pmid":
        text = text.replace("PMID- 25238468\n", "")
    elif edit == "unindent":
        text = text.replace("\n      etiological range.", "\netiological range.")
    path.write_text(text, encoding="utf-8")
    return path


def _line_of(path: Path, needle: str) -> int:
    lines = path.read_text(encoding="utf-8").split("\n")
    return next(n for n, line in enumerate(lines, start=1) if needle in line)


def test_medline_record_without_pmid_is_skipped(tmp_path: Path) -> None:
    path = _nbib_with(tmp_path, "drop-pmid")
    items = read_all(path)
    skipped = [item for item in items if isinstance(item, Skipped)]
    # The record now starts where its PMID line was.
    assert skipped == [
        Skipped(str(path), f"line {_line_of(ORTHO_NBIB, 'PMID- 25238468')}", "record has no PMID")
    ]
    assert [i.pmid for i in items if isinstance(i, Record)] == [
        p for p in ORTHO_PMIDS if p != "25238468"
    ]


def test_medline_broken_continuation_skips_only_that_record(tmp_path: Path) -> None:
    path = _nbib_with(tmp_path, "unindent")
    items = read_all(path)
    broken = _line_of(path, "etiological range.")
    assert items[1] == Skipped(
        str(path),
        f"line {broken}",
        "neither a 'TAG - value' line nor an indented continuation line",
    )
    assert [i.pmid for i in items if isinstance(i, Record)] == [
        p for p in ORTHO_PMIDS if p != "25238468"
    ]


def test_medline_invalid_utf8_skips_only_that_record(tmp_path: Path) -> None:
    data = ORTHO_NBIB.read_bytes()
    target = b"TI  - Mycotic Aneurysm"
    data = data.replace(target, b"TI  - Mycotic \xff Aneurysm")
    path = tmp_path / "latin.nbib"
    path.write_bytes(data)
    items = read_all(path)
    bad_line = _line_count(data[: data.index(b"\xff")])
    assert [i.pmid for i in items if isinstance(i, Record)] == [
        p for p in ORTHO_PMIDS if p != "27506154"
    ]
    assert [i for i in items if isinstance(i, Skipped)] == [
        Skipped(
            str(path),
            f"line {bad_line}",
            "invalid UTF-8 (byte 0xff at byte 15 of the line); the file must be UTF-8 encoded",
        )
    ]


def test_medline_invalid_utf8_in_the_pmid_line_keeps_the_records_apart(tmp_path: Path) -> None:
    data = ORTHO_NBIB.read_bytes().replace(b"PMID- 27506154", b"PMID- 2750\xe96154")
    path = tmp_path / "latin.nbib"
    path.write_bytes(data)
    items = read_all(path)
    assert [i.pmid for i in items if isinstance(i, Record)] == [
        p for p in ORTHO_PMIDS if p != "27506154"
    ]
    [skipped] = [i for i in items if isinstance(i, Skipped)]
    assert skipped.location == f"line {_line_count(data[: data.index(bytes([0xE9]))])}"


def test_medline_truncated_gzip(tmp_path: Path) -> None:
    packed = gzip.compress(ORTHO_NBIB.read_bytes())
    path = tmp_path / "truncated.nbib.gz"
    path.write_bytes(packed[: len(packed) // 2])
    items, error = read_until_error(path)
    assert "truncated" in error.reason
    assert error.location is not None and error.location.startswith("line ")
    assert all(isinstance(item, Record) for item in items)


TRUNCATED_MEDLINE = "file ends mid-record (truncated?); the record is not read"


@pytest.mark.parametrize("cut", ["mid-line", "at a line end", "mid-pmid", "in an indent"])
def test_medline_file_ending_mid_record_skips_that_record(tmp_path: Path, cut: str) -> None:
    """A MEDLINE file cut in its third record: the first two are read, the third is
    not (it would replace a complete copy in the index), and the file is reported as
    broken off, naming the line where the cut record starts."""
    data = ORTHO_NBIB.read_bytes()
    start = data.index(b"PMID- 27506154")
    if cut == "mid-line":
        end = data.index(b"Spondylodiscitis in", start)  # inside the title
    elif cut == "at a line end":
        end = data.index(b"\nMH  - ", start) + 1
    elif cut == "mid-pmid":
        end = start + len(b"PMID- 2750")
    else:  # after the line break and spaces of a continuation line
        end = data.index(b"\n      Infectious", start) + len(b"\n      ")
    path = tmp_path / "cut.nbib"
    path.write_bytes(data[:end])
    items, error = read_until_error(path)
    assert [i.pmid for i in items if isinstance(i, Record)] == ORTHO_PMIDS[:2]
    assert len(items) == 2
    assert (error.source, error.location) == (str(path), f"line {_line_count(data[:start])}")
    assert error.reason == TRUNCATED_MEDLINE


def test_medline_complete_files_are_not_taken_for_truncated(tmp_path: Path) -> None:
    """Every record of PubMed's MEDLINE output ends with its SO line; a file without
    a final line break whose last record ends so is whole, and so are files whose
    records carry no SO line at all (hand-made, or searchkit's own export)."""
    no_final_newline = tmp_path / "no-final-newline.nbib"
    no_final_newline.write_bytes(ORTHO_NBIB.read_bytes().rstrip(b"\n"))
    assert read_all(no_final_newline) == read_all(ORTHO_NBIB)
    handmade = tmp_path / "handmade.nbib"
    handmade.write_text("PMID- 1\nTI  - Title one.\n\nPMID- 2\nTI  - Title two.\n", "utf-8")
    assert [i.pmid for i in read_all(handmade) if isinstance(i, Record)] == ["1", "2"]
    for path in (BIOPYTHON_MEDLINE, CRLF_MEDLINE, ORTHO_NBIB):
        assert all(isinstance(i, Record) for i in read_all(path))


# --- PubMed "Abstract" text export -------------------------------------------------


def test_abstract_text_known_record_fields() -> None:
    record = records_by_pmid(ABSTRACT_TEXT)["30831485"]
    assert record.title == (
        "Anti-inflammatory and immune-modulating effects of rice callus suspension culture "
        "(RCSC) and bioactive fractions in an in vitro inflammatory bowel disease model."
    )
    assert record.authors[0] == Author("Driscoll K")  # "(1)" affiliation marker dropped
    assert record.authors[-1] == Author("Ramakrishna W")
    assert len(record.authors) == 6
    assert record.journal_abbrev == "Phytomedicine"
    assert (record.year, record.pub_date) == (2018, "2018-12-31")
    assert record.doi == "10.1016/j.phymed.2018.12.034"
    assert record.pmcid is None
    assert record.abstract is not None
    assert record.abstract.startswith(
        "BACKGROUND: Rice callus suspension culture (RCSC) has been shown to exhibit potent"
    )
    assert "\nHYPOTHESIS/PURPOSE: The anti-inflammatory potential" in record.abstract
    assert "Copyright" not in record.abstract
    assert "Author information" not in record.abstract


def test_abstract_text_reads_every_record() -> None:
    items = read_all(ABSTRACT_TEXT)
    records = [item for item in items if isinstance(item, Record)]
    assert records == items
    assert [item.pmid for item in records] == [
        "30831485", "30820436", "30819129", "30818341",
        "30721250", "30700240", "25886032", "25565206",
    ]  # fmt: skip


def test_abstract_text_pmcid_and_non_ascii() -> None:
    records = records_by_pmid(ABSTRACT_TEXT)
    assert records["30820436"].pmcid == "PMC6390416"  # "[Available on 2020-02-01]" dropped
    abstract = records["30819129"].abstract
    assert abstract is not None
    assert "NF-κB" in abstract and "Tumour Necrosis Factor-ɑ" in abstract  # noqa: RUF001
    assert records["25565206"].title == (
        "Pyruvate kinase M2 regulates Hif-1α activity and IL-1β induction and is a critical "  # noqa: RUF001
        "determinant of the warburg effect in LPS-activated macrophages."
    )


def test_abstract_text_blocks_that_are_not_abstract() -> None:
    records = records_by_pmid(ABSTRACT_TEXT)
    # "Conflict of interest statement" after the PMID line.
    pathog = records["30818341"].abstract
    assert pathog is not None and pathog.endswith("promotion of mucosal vaccine efficacy.")
    # "Erratum for" and "[This corrects the article ...]": no abstract at all.
    assert records["30721250"].abstract is None
    # "Erratum in" whose long entry wraps without indentation.
    metab = records["25565206"].abstract
    assert metab is not None and metab.startswith("Macrophages activated by the TLR4")
    # [Article in German] and the publisher's German abstract.
    umsch = records["30700240"]
    assert umsch.title == (
        "[Insights into the Pathogenesis of Inflammatory Bowel Diseases: Genetics and Microbiota]."
    )
    assert umsch.authors == (Author("Marchukov D"), Author("Misselwitz B"))
    assert umsch.abstract is not None and "Zusammenfassung" not in umsch.abstract
    assert umsch.doi == "10.1024/0040-5930/a000999"


def test_abstract_text_collective_author_alone() -> None:
    record = records_by_pmid(ABSTRACT_TEXT)["25886032"]
    assert record.authors == (Author("PLOS Genetics Staff", collective=True),)
    assert record.abstract is None


def test_abstract_text_gzip_gives_same_records() -> None:
    gz = ABSTRACT_TEXT.with_name(ABSTRACT_TEXT.name + ".gz")
    assert read_all(gz) == read_all(ABSTRACT_TEXT)


def test_abstract_text_record_without_pmid_is_skipped(tmp_path: Path) -> None:
    data = ABSTRACT_TEXT.read_bytes().replace(b"PMID: 30819129 \r\n", b"")
    path = tmp_path / "no-pmid.txt"
    path.write_bytes(data)
    items = read_all(path)
    line = _line_count(data[: data.index(b"3. BMC Cancer")])
    assert Skipped(str(path), f"line {line}", "record has no PMID") in items
    # Record 4 still starts a record of its own: it follows number 3.
    assert "30818341" in {i.pmid for i in items if isinstance(i, Record)}


def test_abstract_text_citation_without_pmid_is_not_merged_into_the_next(tmp_path: Path) -> None:
    """Record 4 without its PMID line, then record 19: a gap in the numbers. Record 4
    is skipped; record 19 keeps its own title, authors and DOI (it took record 4's)."""
    data = ABSTRACT_TEXT.read_bytes().replace(b"PMID: 30818341 \r\n", b"")
    path = tmp_path / "no-pmid.txt"
    path.write_bytes(data)
    items = read_all(path)
    line = _line_count(data[: data.index(b"4. PLoS Pathog")])
    assert [i for i in items if isinstance(i, Skipped)] == [
        Skipped(str(path), f"line {line}", "record has no PMID")
    ]
    original = records_by_pmid(ABSTRACT_TEXT)
    records = [i for i in items if isinstance(i, Record)]
    assert records == [r for pmid, r in original.items() if pmid != "30818341"]


def test_abstract_text_numbered_paragraph_never_splits_a_record(tmp_path: Path) -> None:
    """An abstract paragraph opening "2. " after a blank line (the number following
    the record's own) stays in its record, before or after the PMID line."""
    data = ABSTRACT_TEXT.read_bytes()
    data = data.replace(
        b"CONCLUSION: RCSC and its fractions", b"\r\n2. To conclude, RCSC and its fractions", 1
    )
    data = data.replace(
        b"Conflict of interest statement: The authors",
        b"5. Conflict of interest statement: The authors",
        1,
    )
    path = tmp_path / "numbered.txt"
    path.write_bytes(data)
    items = read_all(path)
    assert not [i for i in items if isinstance(i, Skipped)]
    original = records_by_pmid(ABSTRACT_TEXT)
    records = {i.pmid: i for i in items if isinstance(i, Record)}
    assert list(records) == list(original)
    for pmid, record in records.items():
        assert (record.title, record.authors, record.doi) == (
            original[pmid].title,
            original[pmid].authors,
            original[pmid].doi,
        ), pmid


def test_abstract_text_invalid_utf8_skips_only_that_record(tmp_path: Path) -> None:
    data = ABSTRACT_TEXT.read_bytes().replace(
        b"Molecular Pathogenesis", b"Molecular \xe9 Pathogenesis"
    )
    path = tmp_path / "latin.txt"
    path.write_bytes(data)
    items = read_all(path)
    good = [i.pmid for i in read_all(ABSTRACT_TEXT) if isinstance(i, Record)]
    assert [i.pmid for i in items if isinstance(i, Record)] == [p for p in good if p != "30819129"]
    [skipped] = [i for i in items if isinstance(i, Skipped)]
    assert skipped.location == f"line {_line_count(data[: data.index(bytes([0xE9]))])}"
    assert skipped.reason.startswith("invalid UTF-8 (byte 0xe9 at byte ")


def test_abstract_text_overlong_line_skips_only_that_record(tmp_path: Path) -> None:
    from searchkit.readers._io import MAX_LINE_BYTES

    data = ABSTRACT_TEXT.read_bytes()
    at = data.index(b"Molecular Pathogenesis")
    data = data[:at] + b"x" * (MAX_LINE_BYTES + 10) + data[at:]
    path = tmp_path / "long.txt"
    path.write_bytes(data)
    items = read_all(path)
    good = [i.pmid for i in read_all(ABSTRACT_TEXT) if isinstance(i, Record)]
    assert [i.pmid for i in items if isinstance(i, Record)] == [p for p in good if p != "30819129"]
    [skipped] = [i for i in items if isinstance(i, Skipped)]
    assert skipped.location == f"line {_line_count(data[:at])}"
    assert skipped.reason == "line is longer than 16,777,216 bytes"


def test_abstract_text_direct_reader_matches_read_file() -> None:
    assert list(read_abstract_text(ABSTRACT_TEXT)) == read_all(ABSTRACT_TEXT)


TRUNCATED_TEXT = "file ends mid-record (truncated?); the record is not read"
ABSTRACT_TEXT_PMIDS = [
    "30831485", "30820436", "30819129", "30818341",
    "30721250", "30700240", "25886032", "25565206",
]  # fmt: skip


@pytest.mark.parametrize(
    ("cut", "expected"),
    [
        # (where the file is cut, records read before the cut record)
        ("mid-abstract", 7),
        ("before the PMID line", 7),
        ("mid-pmid", 7),
        ("pmid line unterminated", 7),
        ("next citation, before its date", 7),
        ("next citation, after its date", 7),
        ("start of a conflict of interest statement", 4),
    ],
)
def test_abstract_text_file_ending_mid_record_skips_that_record(
    tmp_path: Path, cut: str, expected: int
) -> None:
    """``head -c N`` of an "Abstract" export: the last record was skipped ("record
    has no PMID") or, cut inside its PMID line, read under a wrong PMID ("2556"); a
    cut next citation was read as the previous record's abstract. Now the records
    before the cut are read, and the file is reported as broken off, naming the
    line where the cut record starts."""
    data = ABSTRACT_TEXT.read_bytes()
    start = data.index(b"1158. Cell Metab")
    pmid = data.index(b"PMID: 25565206")
    if cut == "mid-abstract":
        end = data.index(b"Macrophages activated by the TLR4") + 20
    elif cut == "before the PMID line":
        end = pmid
    elif cut == "mid-pmid":
        end = pmid + len(b"PMID: 2556")
    elif cut == "pmid line unterminated":  # no space after the number: may be cut
        data = data.replace(b"PMID: 25565206  [Indexed for MEDLINE]", b"PMID: 25565206")
        end = data.index(b"PMID: 25565206") + len(b"PMID: 25565206\r")
    elif cut == "next citation, before its date":
        end = start + len(b"1158. Cell Metab. 20")
    elif cut == "next citation, after its date":
        end = start + len(b"1158. Cell Metab. 2015 Jan")
    else:  # after record 4's PMID line: "Conf"
        start = data.index(b"Conflict of interest statement")
        end = start + len(b"Conf")
    path = tmp_path / "cut.txt"
    path.write_bytes(data[:end])
    items, error = read_until_error(path)
    assert items == read_all(ABSTRACT_TEXT)[:expected]
    assert (error.source, error.location) == (str(path), f"line {_line_count(data[:start])}")
    assert error.reason == TRUNCATED_TEXT


@pytest.mark.parametrize(
    "cut", ["after the PMID line", "inside the PMID line's status", "inside a conflict statement"]
)
def test_abstract_text_cut_after_a_complete_record_reads_it(tmp_path: Path, cut: str) -> None:
    """A file cut after a record's PMID (inside "[Indexed for MEDLINE]", or in the
    conflict of interest statement PubMed prints after it) lost nothing of it."""
    data = ABSTRACT_TEXT.read_bytes()
    if cut == "after the PMID line":
        end = data.index(b"PMID: 25565206") + len(b"PMID: 25565206  [Indexed for MEDLINE]\r\n")
        expected = 8
    elif cut == "inside the PMID line's status":
        end = data.index(b"PMID: 25565206") + len(b"PMID: 25565206  [Index")
        expected = 8
    else:
        statement = b"Conflict of interest statement: The auth"
        end = data.index(statement[:30]) + len(statement)
        expected = 4
    path = tmp_path / "cut.txt"
    path.write_bytes(data[:end])
    assert read_all(path) == read_all(ABSTRACT_TEXT)[:expected]


def test_abstract_text_complete_files_are_not_taken_for_truncated(
    tmp_path: Path, shared_data: Path
) -> None:
    """Every record of a real export ends with its PMID line (then perhaps a
    conflict of interest statement): whole files, and one without its final line
    breaks, read with nothing skipped."""
    no_final_newline = tmp_path / "no-final-newline.txt"
    no_final_newline.write_bytes(ABSTRACT_TEXT.read_bytes().rstrip(b"\r\n"))
    assert read_all(no_final_newline) == read_all(ABSTRACT_TEXT)
    exports = sorted((shared_data / "pubmed_abstract_text").glob("OliverCardiff*"))
    assert exports
    for path in [ABSTRACT_TEXT, ABSTRACT_TEXT.with_name(ABSTRACT_TEXT.name + ".gz"), *exports]:
        items = read_all(path)
        assert items and all(isinstance(i, Record) for i in items), path
    assert [i.pmid for i in read_all(ABSTRACT_TEXT)] == ABSTRACT_TEXT_PMIDS


# --- page text --------------------------------------------------------------------


def test_page_text_record() -> None:
    [record] = read_all(PAGE_TEXT)
    assert isinstance(record, Record)
    assert record.pmid == "34572009"
    assert record.title == (
        "The Immune Privilege of Cancer Stem Cells: A Key to Understanding Tumor Immune "
        "Escape and Therapy Failure"
    )
    assert record.pmcid == "PMC8469208"
    assert record.doi == "10.3390/cells10092361"
    assert record.abstract is not None
    assert record.abstract.startswith("Cancer stem cells (CSCs) are broadly considered immature")
    assert "major histocompatibility complex class I" in record.abstract
    assert "conflict of interest" not in record.abstract
    assert record.keywords == (
        "cancer stem cells",
        "immune escape",
        "immunogenicity",
        "immunotherapy",
        "tumor microenvironment",
    )


def test_page_text_ignores_similar_articles_and_cited_by() -> None:
    [record] = read_all(PAGE_TEXT)
    text = repr(record)
    assert "CD200" not in text  # first "Similar articles" entry
    assert "18775673" not in text and "35530414" not in text


# A second page as a tester pasted it before the real one: title, ids, abstract.
SHORT_PAGE = (
    "Second article title here\n- PMID: 11111111\n- DOI: 10.1/abc\n"
    "Abstract\nSecond page abstract about kidneys.\n"
)
NOT_TWO_PAGES = (
    "a second '- PMID:' line was found (two pages in one file?), and the page it "
    "begins cannot be told apart; not read"
)


def _short_page_record() -> Record:
    return Record(
        pmid="11111111",
        title="Second article title here",
        abstract="Second page abstract about kidneys.",
        doi="10.1/abc",
    )


def test_page_text_two_pages_in_one_file_are_two_records(tmp_path: Path) -> None:
    """Two pages pasted into one file: the first record's abstract swallowed the
    second page's title, ids and abstract, and the second PMID was lost."""
    path = tmp_path / "twopages.txt"
    path.write_bytes(SHORT_PAGE.encode() + PAGE_TEXT.read_bytes())
    assert read_all(path) == [_short_page_record(), *read_all(PAGE_TEXT)]


def test_page_text_whole_pages_one_after_another(tmp_path: Path) -> None:
    """A page after another's "Similar articles" / "Cited by" lists was dropped."""
    page = PAGE_TEXT.read_bytes()
    other = page.replace(b"- PMID: 34572009", b"- PMID: 11111111").replace(
        b"Cancer stem cells (CSCs) are", b"Kidney stem cells are"
    )
    path = tmp_path / "pages.txt"
    path.write_bytes(page + b"\n" + other)  # the page ends without a line break
    first, second = read_all(path)
    assert first == read_all(PAGE_TEXT)[0]
    assert isinstance(second, Record) and second.pmid == "11111111"
    assert second.abstract is not None and second.abstract.startswith("Kidney stem cells are")
    assert second.title == first.title and second.keywords == first.keywords


def test_page_text_second_page_that_cannot_be_told_apart_is_refused(tmp_path: Path) -> None:
    """A second "- PMID:" line whose page does not repeat its title after its ids
    (as PubMed's page does): the line before it may be the first page's abstract, so
    neither page is read; after the first page's lists, only the second is refused."""
    third = SHORT_PAGE.replace("11111111", "22222222").replace("Second", "Third")
    path = tmp_path / "short-pages.txt"
    path.write_text(SHORT_PAGE + third, encoding="utf-8")
    assert read_all(path) == [Skipped(str(path), "line 7", NOT_TWO_PAGES)]
    after_lists = tmp_path / "after-lists.txt"
    after_lists.write_bytes(PAGE_TEXT.read_bytes() + b"\n" + SHORT_PAGE.encode())
    line = _line_count(PAGE_TEXT.read_bytes()) + 2  # its last line, a title, "- PMID:"
    assert read_all(after_lists) == [
        *read_all(PAGE_TEXT),
        Skipped(str(after_lists), f"line {line}", NOT_TWO_PAGES),
    ]


def test_page_text_without_pmid_is_skipped(tmp_path: Path) -> None:
    path = tmp_path / "page.txt"
    text = PAGE_TEXT.read_text(encoding="utf-8").replace("- PMID: 34572009\n", "")
    path.write_text(text, encoding="utf-8")
    assert list(read_page_text(path)) == [
        Skipped(str(path), "line 1", "page text has no '- PMID:' line")
    ]


def test_page_text_invalid_utf8_skips_the_page_naming_the_line(tmp_path: Path) -> None:
    data = PAGE_TEXT.read_bytes().replace(b"immune escape", b"immune \xe9scape", 1)
    path = tmp_path / "page.txt"
    path.write_bytes(data)
    [skipped] = read_all(path)
    assert isinstance(skipped, Skipped)
    assert skipped.location == f"line {_line_count(data[: data.index(bytes([0xE9]))])}"
    assert skipped.reason.startswith("invalid UTF-8 (byte 0xe9 at byte ")


# --- JSON Lines -------------------------------------------------------------------


def test_jsonl_beir_corpus() -> None:
    items = read_all(SCIFACT)
    assert len(items) == 12 and all(isinstance(item, Record) for item in items)
    first = items[0]
    assert isinstance(first, Record)
    assert first.pmid == "4983"
    assert first.title == (
        "Microstructural development of human newborn cerebral white matter assessed in vivo "
        "by diffusion tensor magnetic resonance imaging."
    )
    assert first.abstract is not None
    assert first.abstract.startswith("Alterations of the architecture of cerebral white matter")
    assert first.authors == () and first.year is None


def test_jsonl_record_dicts_round_trip_and_bad_lines_are_skipped(tmp_path: Path) -> None:
    import json

    originals = [item for item in read_all(ORTHO_XML) if isinstance(item, Record)]
    lines = [json.dumps(record.to_dict(), ensure_ascii=False) for record in originals[:2]]
    lines[1:1] = [
        "",  # line 2: blank, ignored
        '{"pmid": "1", "title": ',  # line 3: invalid JSON
        '{"title": "no id"}',  # line 4
        '{"pmid": "2", "colour": "blue"}',  # line 5
        '["pmid", "3"]',  # line 6
        '{"pmid": "4", "title": 5}',  # line 7
    ]
    path = tmp_path / "records.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    items = read_all(path)
    assert [i for i in items if isinstance(i, Record)] == originals[:2]
    skipped = {i.location: i.reason for i in items if isinstance(i, Skipped)}
    assert set(skipped) == {"line 3", "line 4", "line 5", "line 6", "line 7"}
    assert skipped["line 3"].startswith("invalid JSON")
    assert skipped["line 4"] == "record has no pmid"
    assert "colour" in skipped["line 5"]
    assert skipped["line 6"] == "expected a JSON object, found list"
    assert skipped["line 7"] == "title must be a string, not 5"


# Wrong types and ranges, field by field (issue 16): each is the reason for skipping
# that one line; the value is written into the second of three real records.
BAD_JSONL_VALUES = [
    ('"year": 70000', "year 70000 is out of range (1000 to 9999)"),
    ('"year": -1', "year -1 is out of range (1000 to 9999)"),
    ('"year": "0"', "year 0 is out of range (1000 to 9999)"),
    ('"year": true', "year must be an integer, not true"),
    ('"year": 2015.5', "year must be an integer, not 2015.5"),
    ('"year": "2015a"', 'year must be an integer, not "2015a"'),
    ('"year": [2015]', "year must be an integer, not a list"),
    ('"mesh": [{"name": 5}]', "mesh[0].name must be a string, not 5"),
    ('"mesh": [{"name": "Spine", "major": "no"}]', 'mesh[0].major must be true or false, not "no"'),
    (
        '"mesh": [{"name": "Spine", "qualifiers": "ab"}]',
        'mesh[0].qualifiers must be a list, not "ab"',
    ),
    (
        '"mesh": [{"name": "Spine", "qualifiers": [1]}]',
        "mesh[0].qualifiers[0] must be a string, not 1",
    ),
    ('"mesh": [{"major": true}]', "mesh[0] has no name"),
    ('"mesh": [null]', "mesh[0] must be an object or a string, not null"),
    ('"mesh": "Spine"', 'mesh must be a list, not "Spine"'),
    ('"authors": [{"name": null}]', "authors[0].name must be a string, not null"),
    ('"authors": [{"name": "  "}]', "authors[0].name is empty"),
    ('"authors": [{"full_name": "Smith, John"}]', "authors[0] has no name"),
    (
        '"authors": [{"name": "Smith J", "full_name": 3}]',
        "authors[0].full_name must be a string, not 3",
    ),
    ('"authors": [{"name": "Smith J", "email": "x"}]', "authors[0] has an unknown field: email"),
    ('"authors": [5]', "authors[0] must be an object or a string, not 5"),
    ('"authors": ["Li X", {"name": 7}]', "authors[1].name must be a string, not 7"),
    ('"authors": {"name": "Smith J"}', "authors must be a list, not an object"),
    ('"keywords": "spine"', 'keywords must be a list, not "spine"'),
    ('"keywords": [1, 2]', "keywords[0] must be a string, not 1"),
    ('"keywords": ["spine", ["nested"]]', "keywords[1] must be a string, not a list"),
    ('"publication_types": [false]', "publication_types[0] must be a string, not false"),
    ('"languages": {"eng": 1}', "languages must be a list, not an object"),
    ('"title": ["a title"]', "title must be a string, not a list"),
    ('"abstract": 12', "abstract must be a string, not 12"),
    ('"doi": {"value": "10.1/x"}', "doi must be a string, not an object"),
    ('"pub_date": "May 2019"', 'pub_date must be YYYY, YYYY-MM or YYYY-MM-DD, not "May 2019"'),
    ('"pub_date": "2019-13"', 'pub_date must be YYYY, YYYY-MM or YYYY-MM-DD, not "2019-13"'),
    ('"title": "\\ud800 lone"', "title is not valid Unicode (an unpaired surrogate \\ud800)"),
    ('"pmid": true', "pmid must be a string or an integer, not true"),
    ('"pmid": -5', "pmid must be a string or a non-negative integer, not -5"),
    ('"pmid": "  "', "record has no pmid"),
    ('"pmid": "253\\n468"', "pmid must not contain line breaks, tabs or control characters"),
    ('"pmid": "253\\t468"', "pmid must not contain line breaks, tabs or control characters"),
    ('"pmid": ' + "9" * 5000, "invalid JSON (a number with more than 4,300 digits)"),
]


@pytest.mark.parametrize(
    ("value", "reason"), BAD_JSONL_VALUES, ids=[v[:48] for v, _ in BAD_JSONL_VALUES]
)
def test_jsonl_wrong_type_or_range_skips_only_that_line(
    tmp_path: Path, value: str, reason: str
) -> None:
    originals = [item for item in read_all(ORTHO_XML) if isinstance(item, Record)][:3]
    lines = [json.dumps(record.to_dict(), ensure_ascii=False) for record in originals]
    second = json.loads(lines[1])
    field = value.split('"')[1]
    second.pop(field, None)
    lines[1] = json.dumps(second)[:-1] + ", " + value + "}"
    path = tmp_path / "records.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert read_all(path) == [originals[0], Skipped(str(path), "line 2", reason), originals[2]]


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ('{"_id": "1", "title": 5, "text": "x"}', "title must be a string, not 5"),
        ('{"_id": "1", "title": "t", "text": ["x"]}', "text must be a string, not a list"),
        (
            '{"_id": "1", "title": "t", "text": "\\udc80"}',
            "text is not valid Unicode (an unpaired surrogate \\udc80)",
        ),
        (
            '{"_id": "a\\u2028b", "title": "t", "text": "x"}',
            "_id must not contain line breaks, tabs or control characters",
        ),
        (
            '{"_id": true, "title": "t", "text": "x"}',
            "_id must be a string or an integer, not true",
        ),
        ('{"_id": "", "title": "t", "text": "x"}', "record has no _id"),
    ],
)
def test_jsonl_beir_wrong_values_skip_only_that_line(
    tmp_path: Path, line: str, reason: str
) -> None:
    lines = SCIFACT.read_text(encoding="utf-8").splitlines()[:3]
    path = tmp_path / "corpus.jsonl"
    path.write_text("\n".join([lines[0], line, lines[2]]) + "\n", encoding="utf-8")
    good = [item for item in read_all(SCIFACT) if isinstance(item, Record)]
    assert read_all(path) == [good[0], Skipped(str(path), "line 2", reason), good[2]]


def test_jsonl_invalid_utf8_skips_only_that_line(tmp_path: Path) -> None:
    lines = SCIFACT.read_bytes().split(b"\n")
    lines[3] = lines[3].replace(b"The ", b"The \xff", 1)
    path = tmp_path / "corpus.jsonl"
    path.write_bytes(b"\n".join(lines))
    items = read_all(path)
    good = [i for i in read_all(SCIFACT) if isinstance(i, Record)]
    assert [i for i in items if isinstance(i, Record)] == good[:3] + good[4:]
    [skipped] = [i for i in items if isinstance(i, Skipped)]
    assert skipped.location == "line 4"
    assert skipped.reason.startswith("invalid UTF-8 (byte 0xff at byte ")


def test_jsonl_ids_may_hold_spaces_and_are_stripped(tmp_path: Path) -> None:
    path = tmp_path / "corpus.jsonl"
    path.write_text(
        '{"_id": "Sea level rise", "title": "Sea level rise", "text": "x"}\n'
        '{"pmid": " 30038950 ", "title": "t"}\n',
        encoding="utf-8",
    )
    assert [i.pmid for i in read_all(path) if isinstance(i, Record)] == [
        "Sea level rise",
        "30038950",
    ]


def test_jsonl_null_means_no_value_and_strings_name_authors_and_headings(
    tmp_path: Path,
) -> None:
    path = tmp_path / "records.jsonl"
    line = {
        "pmid": 30038950,
        "year": "2018",
        "title": "",
        "keywords": ["psoas", " "],
        "mesh": [{"name": "Psoas Abscess", "major": None, "qualifiers": None}, "Spine"],
        "authors": [{"name": "Smith J", "full_name": None}, "Doe A"],
        "languages": None,
    }
    path.write_text(json.dumps(line) + "\n", encoding="utf-8")
    assert read_all(path) == [
        Record(
            pmid="30038950",
            year=2018,
            keywords=("psoas",),
            mesh=(MeshHeading("Psoas Abscess"), MeshHeading("Spine")),
            authors=(Author("Smith J"), Author("Doe A")),
        )
    ]


def test_jsonl_beir_queries_file_is_rejected() -> None:
    with pytest.raises(InputError, match="BEIR queries") as caught:
        read_all(BEIR_QUERIES)
    assert caught.value.location == "line 1"


# --- detection, files, damaged input --------------------------------------------------


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (ORTHO_XML, "pubmed-xml"),
        (ORTHO_XML.with_name(ORTHO_XML.name + ".gz"), "pubmed-xml"),
        (BOOKS_XML, "pubmed-xml"),
        (UPDATE_XML, "pubmed-xml"),
        (ORTHO_NBIB, "medline"),
        (CRLF_MEDLINE, "medline"),
        (BIOPYTHON_MEDLINE, "medline"),
        (ABSTRACT_TEXT, "abstract-text"),
        (PAGE_TEXT, "page-text"),
        (SCIFACT, "jsonl"),
    ],
    ids=lambda value: value.name if isinstance(value, Path) else value,
)
def test_detect_format(path: Path, expected: str) -> None:
    assert detect_format(path) == expected
    assert expected in FORMATS


def test_detection_follows_content_not_suffix(tmp_path: Path) -> None:
    xml_named_nbib = tmp_path / "records.nbib"
    xml_named_nbib.write_bytes(ORTHO_XML.read_bytes())
    assert detect_format(xml_named_nbib) == "pubmed-xml"
    medline_named_xml = tmp_path / "records.xml"
    medline_named_xml.write_bytes(ORTHO_NBIB.read_bytes())
    assert detect_format(medline_named_xml) == "medline"


def test_detection_strips_utf8_bom(tmp_path: Path) -> None:
    path = tmp_path / "bom.nbib"
    path.write_bytes(b"\xef\xbb\xbf" + ORTHO_NBIB.read_bytes().lstrip())
    assert detect_format(path) == "medline"
    assert [i.pmid for i in read_all(path) if isinstance(i, Record)] == ORTHO_PMIDS


def test_json_escaped_xml_is_rejected_not_parsed() -> None:
    with pytest.raises(InputError, match="XML saved as a JSON string") as caught:
        read_all(JSON_ESCAPED_XML)
    assert caught.value.source == str(JSON_ESCAPED_XML)


@pytest.mark.parametrize("content", [b"", b"\n\n  \r\n"], ids=["zero-bytes", "blank"])
def test_empty_file(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "empty.xml"
    path.write_bytes(content)
    with pytest.raises(InputError, match="file is empty"):
        read_all(path)
    packed = tmp_path / "empty.xml.gz"
    packed.write_bytes(gzip.compress(content))
    with pytest.raises(InputError, match="file is empty"):
        read_all(packed)


def test_binary_file_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "image.png"
    path.write_bytes(bytes(range(256)) * 8)
    with pytest.raises(InputError, match=r"not a recognised record format.*binary"):
        read_all(path)


def test_utf16_file_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "utf16.nbib"
    path.write_bytes(ORTHO_NBIB.read_text(encoding="utf-8").encode("utf-16"))
    with pytest.raises(InputError, match="UTF-16"):
        read_all(path)


def test_unrecognised_text_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("Some notes about PubMed searches.\nNothing else.\n", encoding="utf-8")
    with pytest.raises(InputError) as caught:
        read_all(path)
    assert caught.value.reason == (
        "not a recognised record format (expected PubMed XML, MEDLINE, JSON Lines, or PubMed text)"
    )


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file or directory"):
        read_all(tmp_path / "missing.xml")


def test_iter_files_walks_sorted_and_skips_hidden(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    (tmp_path / ".hidden-dir").mkdir()
    for name in ("b/z.xml", "b/a.nbib", "a.jsonl", ".hidden.xml", ".hidden-dir/x.xml", "c.txt"):
        (tmp_path / name).write_text("x", encoding="utf-8")
    explicit_hidden = tmp_path / ".hidden.xml"
    found = list(iter_files([tmp_path, explicit_hidden]))
    assert found == [
        tmp_path / "a.jsonl",
        tmp_path / "b" / "a.nbib",
        tmp_path / "b" / "z.xml",
        tmp_path / "c.txt",
        explicit_hidden,  # named explicitly, so kept
    ]


def test_iter_files_missing_path_fails_before_any_file(tmp_path: Path) -> None:
    files = iter_files([DATA, tmp_path / "nope"])
    with pytest.raises(InputError) as caught:
        next(files)
    assert caught.value.source == str(tmp_path / "nope")
    assert caught.value.reason == "no such file or directory"


def test_whole_data_directory_walk_and_detection() -> None:
    seen: dict[str, set[str]] = {}
    rejected = []
    for path in iter_files([DATA]):
        relative = path.relative_to(DATA)
        if relative.parts[0] == "semantic":  # encoder fixtures, not records
            continue
        if relative.parts[0] == "mesh":  # MeSH descriptor files are not records
            with pytest.raises(InputError):
                read_all(path)
            continue
        if relative.parts[0] == "negative" or path.name == "README.md":
            with pytest.raises(InputError):
                read_all(path)
            rejected.append(path.name)
            continue
        fmt = detect_format(path)
        seen.setdefault(fmt, set()).add(relative.parts[0])
        items = read_all(path)
        assert items and not any(isinstance(item, Skipped) for item in items), path
    assert set(seen) == set(FORMATS)
    assert seen["pubmed-xml"] == {"pubmed_xml"}
    assert seen["medline"] == {"medline"}
    assert {"README.md", JSON_ESCAPED_XML.name, BEIR_QUERIES.name} <= set(rejected)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2006 Jan 10", (2006, "2006-01-10")),
        ("2002 Sep", (2002, "2002-09")),
        ("1998 Dec-1999 Jan", (1998, "1998-12")),
        ("2017 Fall", (2017, "2017")),
        ("2016", (2016, "2016")),
        ("Spring", (None, None)),
        # An impossible day is dropped: the year and month stay.
        ("2019 Feb 30", (2019, "2019-02")),
        ("2019 Feb 29", (2019, "2019-02")),
        ("2020 Feb 29", (2020, "2020-02-29")),
        ("2019 Apr 31", (2019, "2019-04")),
        ("2019 Apr 0", (2019, "2019-04")),
        # A season or month before the year still gives the year.
        ("Spring 2018", (2018, "2018")),
        ("Winter 2017-2018", (2017, "2017")),
        ("Dec 2018", (2018, "2018-12")),
        ("2018 Spring", (2018, "2018")),
        # A day range keeps its first day, as a month range its first month.
        ("1998 Dec 15-31", (1998, "1998-12-15")),
        ("1998 Dec 30-1999 Jan 5", (1998, "1998-12-30")),
        ("2018 Jan-Dec", (2018, "2018-01")),
    ],
)
def test_date_text(text: str, expected: tuple[int | None, str | None]) -> None:
    assert parse_date_text(text) == expected


def test_impossible_day_is_not_stored_from_any_format(tmp_path: Path) -> None:
    """XML ``PubDate`` Year/Month/Day 2019 Feb 30 (make_date checked only day <= 31),
    and a history date that does not exist, which is dropped as history dates are
    kept only whole."""
    xml = ORTHO_XML.read_text(encoding="utf-8")
    pub_date = re.search(r"<PubDate>.*?</PubDate>", xml, re.S)
    assert pub_date is not None
    xml = xml.replace(
        pub_date[0], "<PubDate><Year>2019</Year><Month>Feb</Month><Day>30</Day></PubDate>", 1
    )
    path = tmp_path / "feb30.xml"
    path.write_text(xml, encoding="utf-8")
    record = read_all(path)[0]
    assert isinstance(record, Record) and (record.year, record.pub_date) == (2019, "2019-02")
    nbib = ORTHO_NBIB.read_text(encoding="utf-8")
    nbib = re.sub(r"EDAT- \S+", "EDAT- 2017/02/30", nbib, count=1)
    path = tmp_path / "feb30.nbib"
    path.write_text(nbib, encoding="utf-8")
    record = read_all(path)[0]
    assert isinstance(record, Record) and record.entrez_date is None


def test_medline_reader_used_directly() -> None:
    assert list(read_medline(ORTHO_NBIB)) == read_all(ORTHO_NBIB)


def test_paths_may_be_given_as_strings() -> None:
    """``read_file`` and ``iter_files`` take what ``ingest`` takes: a path or a
    string (they took a ``Path`` only: a string failed on ``str.is_dir``)."""
    assert list(read_file(str(ORTHO_NBIB))) == list(read_file(ORTHO_NBIB))
    assert list(iter_files([str(DATA / "medline")])) == list(iter_files([DATA / "medline"]))
    with pytest.raises(InputError, match="no such file"):
        list(iter_files([str(DATA / "missing.xml")]))
