"""`searchkit eval`: reading queries and judgments, the metrics, the CLI and its run file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from searchkit import SearchIndex, ingest
from searchkit.cli import app
from searchkit.errors import InputError
from searchkit.searching.evaluation import (
    MetricError,
    parse_metric,
    read_qrels,
    read_queries,
    score_run,
)

from .conftest import TEST_DATA
from .test_cli import _searchkit_exe

runner = CliRunner()
CORPUS = TEST_DATA / "jsonl" / "scifact-corpus.head.jsonl"


def test_metrics_match_a_hand_computed_example() -> None:
    # q1: relevant a and b, ranked 1st and 3rd. q2: judged, but nothing retrieved.
    run = {"q1": [("a", 3.0), ("x", 2.0), ("b", 1.0)], "q2": []}
    qrels = {"q1": {"a": 1, "b": 1}, "q2": {"c": 2}}
    metrics = [parse_metric(m) for m in ("ndcg@10", "recall@100", "map", "p@2", "mrr")]
    means, per_query = score_run(run, qrels, metrics)
    ndcg_q1 = (1 + 1 / 2) / (1 + 1 / 1.584962500721156)  # DCG / ideal DCG, log2(rank+1)
    assert per_query["q1"]["ndcg@10"] == pytest.approx(ndcg_q1)
    assert per_query["q1"]["map"] == pytest.approx((1 / 1 + 2 / 3) / 2)
    assert per_query["q1"]["recall@100"] == pytest.approx(1.0)
    assert per_query["q1"]["p@2"] == pytest.approx(0.5)
    assert per_query["q1"]["mrr"] == pytest.approx(1.0)
    assert per_query["q2"] == dict.fromkeys(per_query["q2"], 0.0)
    assert means["ndcg@10"] == pytest.approx(ndcg_q1 / 2)  # the empty query counts as 0
    assert means["map"] == pytest.approx((1 + 2 / 3) / 4)


def test_metrics_follow_rank_order_not_score_ties() -> None:
    run = {"q": [("x", 1.0), ("a", 1.0)]}  # tied scores: rank order is what counts
    means, _ = score_run(run, {"q": {"a": 1}}, [parse_metric("mrr")])
    assert means["mrr"] == pytest.approx(0.5)


@pytest.mark.parametrize("bad", ["ndcg@0", "bleu", "recall", "ndcg@x"])
def test_unknown_metrics_are_refused(bad: str) -> None:
    with pytest.raises(MetricError):
        parse_metric(bad)


def test_read_queries_jsonl_and_tsv(tmp_path: Path) -> None:
    beir = TEST_DATA / "negative" / "scifact-queries.head.jsonl"
    queries = read_queries(beir)
    assert queries["0"] == "0-dimensional biomaterials lack inductive properties."
    assert len(queries) == 5
    tsv = tmp_path / "q.tsv"
    tsv.write_text("1\tPD-L1 in tumours\n2\timmune escape MHC\n", "utf-8")
    assert read_queries(tsv) == {"1": "PD-L1 in tumours", "2": "immune escape MHC"}
    bad = tmp_path / "bad.tsv"
    bad.write_text("no tab here\n", "utf-8")
    with pytest.raises(InputError, match="line 1"):
        read_queries(bad)


def test_read_qrels_beir_and_trec(tmp_path: Path) -> None:
    beir = tmp_path / "train.tsv"
    beir.write_text("query-id\tcorpus-id\tscore\n1\td1\t1\n1\td2\t2\n3\td9\t0\n", "utf-8")
    assert read_qrels(beir) == {"1": {"d1": 1, "d2": 2}, "3": {"d9": 0}}
    trec = tmp_path / "qrels.txt"
    trec.write_text("1 0 d1 1\n2 0 d4 1\n", "utf-8")
    assert read_qrels(trec) == {"1": {"d1": 1}, "2": {"d4": 1}}
    bad = tmp_path / "bad.txt"
    bad.write_text("1 0 d1 1\n2 0 d4 high\n", "utf-8")
    with pytest.raises(InputError, match="line 2"):
        read_qrels(bad)


@pytest.fixture
def small_eval(tmp_path: Path) -> tuple[Path, Path, Path]:
    """A 12-document SciFact index, queries made of three titles, judgments for two."""
    index = tmp_path / "ix"
    ingest([CORPUS], SearchIndex.create(index))
    docs = [json.loads(line) for line in CORPUS.read_text("utf-8").splitlines()]
    queries = tmp_path / "queries.jsonl"
    queries.write_text(
        "".join(json.dumps({"_id": f"q{i}", "text": docs[i]["title"]}) + "\n" for i in range(3)),
        "utf-8",
    )
    qrels = tmp_path / "qrels.tsv"
    qrels.write_text(
        f"query-id\tcorpus-id\tscore\nq0\t{docs[0]['_id']}\t1\nq1\t{docs[1]['_id']}\t1\n", "utf-8"
    )
    return index, queries, qrels


def test_eval_cli_json_shape_and_run_file(
    small_eval: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    index, queries, qrels = small_eval
    run_file = tmp_path / "run.trec"
    args = ["eval", "--queries", str(queries), "--qrels", str(qrels), "--index", str(index)]
    result = runner.invoke(app, [*args, "--format", "json", "--run-out", str(run_file)])
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert set(data) == {"metrics", "queries"}
    assert data["queries"] == 2  # q2 has no judgments: not run
    assert set(data["metrics"]) == {"ndcg@10", "recall@100", "map"}
    assert all(isinstance(v, float) for v in data["metrics"].values())
    assert data["metrics"]["ndcg@10"] == pytest.approx(1.0)  # a title finds its own abstract
    assert f"run written to {run_file}" in result.stderr
    lines = [line.split() for line in run_file.read_text("utf-8").splitlines()]
    assert {line[0] for line in lines} == {"q0", "q1"}
    assert all(len(line) == 6 and line[1] == "Q0" and line[5] == "searchkit" for line in lines)
    for qid in ("q0", "q1"):
        rows = [line for line in lines if line[0] == qid]
        assert [int(r[3]) for r in rows] == list(range(1, len(rows) + 1))
        keys = [(-float(r[4]), r[2]) for r in rows]
        assert keys == sorted(keys)  # ties broken by (-score, docid)


def test_eval_cli_text_with_chosen_metrics(small_eval: tuple[Path, Path, Path]) -> None:
    index, queries, qrels = small_eval
    result = runner.invoke(
        app,
        ["eval", "--queries", str(queries), "--qrels", str(qrels), "--index", str(index),
         "-m", "P@1", "-m", "mrr@10"],
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines() == ["p@1      1.0000", "mrr@10   1.0000", "queries  2"]


@pytest.mark.parametrize(
    ("extra", "code", "message"),
    [
        (["--metric", "bleu"], 2, "unknown metric 'bleu'"),
        (["--queries", "no/such.jsonl"], 2, "no/such.jsonl: no such file"),
    ],
)
def test_eval_cli_mistakes_are_one_line(
    small_eval: tuple[Path, Path, Path], extra: list[str], code: int, message: str
) -> None:
    index, queries, qrels = small_eval
    args = ["eval", "--queries", str(queries), "--qrels", str(qrels), "--index", str(index)]
    result = runner.invoke(app, [*args, *extra])
    assert result.exit_code == code
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error:") and message in lines[0]


def test_eval_without_ir_measures_names_the_pip_command(
    small_eval: tuple[Path, Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "ir_measures", None)  # import fails
    index, queries, qrels = small_eval
    args = ["eval", "--queries", str(queries), "--qrels", str(qrels), "--index", str(index)]
    result = runner.invoke(app, args)
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: searchkit eval needs the ir-measures package")
    assert "pip install" in result.stderr and result.stderr.count("\n") == 1


@pytest.mark.slow
def test_eval_on_a_scifact_subset(shared_data: Path, tmp_path: Path) -> None:
    """Freshly ingested real SciFact documents: the 30 first judged train queries' relevant
    abstracts among 400 others; the ranking must put most of them on top."""
    scifact = shared_data / "beir" / "scifact"
    qrels = read_qrels(scifact / "qrels" / "train.tsv")
    chosen = dict(list(qrels.items())[:30])
    wanted = {doc for rels in chosen.values() for doc in rels}
    subset = tmp_path / "corpus.jsonl"
    with (scifact / "corpus.jsonl").open(encoding="utf-8") as src, subset.open("w") as out:
        for n, line in enumerate(src):
            if n < 400 or json.loads(line)["_id"] in wanted:
                out.write(line)
    qrels_file = tmp_path / "qrels.tsv"
    qrels_file.write_text(
        "query-id\tcorpus-id\tscore\n"
        + "".join(f"{q}\t{d}\t{r}\n" for q, rels in chosen.items() for d, r in rels.items()),
        "utf-8",
    )
    index = str(tmp_path / "ix")
    assert runner.invoke(app, ["ingest", str(subset), "--index", index]).exit_code == 0
    result = runner.invoke(
        app,
        ["eval", "--queries", str(scifact / "queries.jsonl"), "--qrels", str(qrels_file),
         "--index", index, "--format", "json"],
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["queries"] == 30
    assert data["metrics"]["ndcg@10"] > 0.7
    assert data["metrics"]["recall@100"] > 0.9


@pytest.mark.slow
def test_eval_real_subprocess(small_eval: tuple[Path, Path, Path]) -> None:
    index, queries, qrels = small_eval
    proc = subprocess.run(
        [_searchkit_exe(), "eval", "--queries", str(queries), "--qrels", str(qrels),
         "--index", str(index), "-f", "json"],
        capture_output=True, text=True, check=False, env=dict(os.environ),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["queries"] == 2
    # The index has no sentence vectors: one line says the ranking is by words only.
    assert proc.stderr.splitlines() == [
        "note: ranked by words only: the index has no sentence vectors ('searchkit embed' "
        "adds ranking by meaning; see README)"
    ]


# Natural-language questions as SciFact and BEIR write them: every one of these is a
# malformed or different query in the search language (an unbalanced ')', a quote never
# closed, a field tag, 'NOT' first, capital AND/OR/NOT, 'word:' as a field name).
NATURAL_QUERIES = {
    "n1": "Two questions 1) does myelodysplasia follow myeloid-derived suppressor cells 2) how?",
    "n2": 'The "white matter of newborn brains develops in vivo',
    "n3": "[Review] diffusion tensor imaging: cerebral white matter [ti]",
    "n4": "NOT only suppressor cells AND myelodysplasia OR induction",
    "n5": "Targeting A20 (a deubiquitinase] decreases glioma stem cell survival",
    "n6": "title: DNA methylome of peripheral blood mononuclear cells*",
}
# Which SciFact document each question is about.
NATURAL_ANSWERS = {"n1": "5836", "n2": "4983", "n3": "4983", "n4": "5836", "n5": "33370",
                   "n6": "18670"}  # fmt: skip


@pytest.mark.slow
def test_eval_reads_queries_as_natural_language(tmp_path: Path) -> None:
    index = tmp_path / "ix"
    ingest([CORPUS], SearchIndex.create(index))
    queries = tmp_path / "queries.tsv"
    queries.write_text(
        "".join(f"{qid}\t{text}\n" for qid, text in NATURAL_QUERIES.items())
        + "n7\tthe of and (with) [to]\n",  # nothing searchable at all
        "utf-8",
    )
    qrels = tmp_path / "qrels.tsv"
    qrels.write_text(
        "query-id\tcorpus-id\tscore\n"
        + "".join(f"{qid}\t{doc}\t1\n" for qid, doc in NATURAL_ANSWERS.items())
        + "n7\t4983\t1\n",
        "utf-8",
    )
    run_file = tmp_path / "run.trec"
    result = runner.invoke(
        app,
        ["eval", "--queries", str(queries), "--qrels", str(qrels), "--index", str(index),
         "-m", "P@1", "--run-out", str(run_file)],
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    lines = [line.split() for line in run_file.read_text("utf-8").splitlines()]
    for qid, doc in NATURAL_ANSWERS.items():
        ranked = [line[2] for line in lines if line[0] == qid]
        assert ranked, f"{qid} ranked nothing: {NATURAL_QUERIES[qid]!r}"
        assert ranked[0] == doc, qid
    assert not [line for line in lines if line[0] == "n7"]
    # The one query that cannot be searched is counted and named, not silently zero.
    assert "note: 1 of 7 queries ranked nothing (no searchable words): n7" in result.stderr, (
        result.stderr
    )
    assert result.stdout.splitlines() == ["p@1      0.8571", "queries  7"]
    proc = subprocess.run(
        [_searchkit_exe(), "eval", "--queries", str(queries), "--qrels", str(qrels),
         "--index", str(index), "-m", "P@1"],
        capture_output=True, text=True, check=False, env=dict(os.environ),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == result.stdout
    assert "note: 1 of 7 queries ranked nothing (no searchable words): n7" in proc.stderr
