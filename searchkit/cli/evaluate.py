"""The eval command: ranking quality on judged queries."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from searchkit.cli.common import (
    EvalFormat,
    IndexOption,
    SemanticOption,
    _call,
    _err,
    _open_backend,
    write_out,
)
from searchkit.searching import DEFAULT_DEPTH


def eval_(
    queries: Annotated[
        Path,
        typer.Option(
            "--queries", help="BEIR queries.jsonl or a qid<TAB>text file.", show_default=False
        ),
    ],
    qrels: Annotated[
        Path,
        typer.Option(
            "--qrels",
            help="Judgments: BEIR qrels TSV (with header) or TREC 'qid 0 docid rel'.",
            show_default=False,
        ),
    ],
    metric: Annotated[
        list[str] | None,
        typer.Option(
            "--metric",
            "-m",
            help="ndcg@K, recall@K, map, map@K, p@K, mrr[@K]; repeat for several "
            "(default: ndcg@10, recall@100, map).",
            show_default=False,
        ),
    ] = None,
    run_out: Annotated[
        Path | None,
        typer.Option("--run-out", help="Write the ranking as a TREC run file.", show_default=False),
    ] = None,
    depth: Annotated[
        int, typer.Option("--depth", min=1, help="Hits ranked per query for uncut metrics.")
    ] = DEFAULT_DEPTH,
    expand: Annotated[
        bool, typer.Option("--expand", help="Measure with pseudo-relevance feedback.")
    ] = False,
    semantic: SemanticOption = None,
    fmt: Annotated[EvalFormat, typer.Option("--format", "-f", help="Output format.")] = (
        EvalFormat.text
    ),
    index: IndexOption = None,
) -> None:
    """Measure ranking quality: run the judged queries and report the mean metrics."""
    from searchkit.searching import evaluation

    for path in (queries, qrels):
        if not path.is_file():
            _err(f"Error: {path}: no such file")
            raise typer.Exit(2)
    metrics = _call(lambda: [evaluation.parse_metric(m) for m in metric or []])
    backend = _open_backend(index)
    query_texts = _call(lambda: evaluation.read_queries(queries))
    judgments = _call(lambda: evaluation.read_qrels(qrels))
    from searchkit.semantic.provider import PROVIDER  # the stage itself only for vectors

    result = _call(
        lambda: backend.evaluate(
            query_texts,
            judgments,
            metrics or None,
            depth=depth,
            expand=expand,
            semantic_rank=semantic,
            meaning=PROVIDER,
        )
    )
    for note in result.notes:
        _err(f"note: {note}")
    if result.queries == 0:
        _err(f"Error: none of the queries in {queries} has judgments in {qrels}")
        raise typer.Exit(1)
    if run_out is not None:
        try:
            with run_out.open("w", encoding="utf-8") as out:
                evaluation.write_trec_run(result.run, out)
        except OSError as exc:
            _err(f"Error: cannot write the run file {run_out}: {exc.strerror or exc}")
            raise typer.Exit(1) from None
        _err(f"run written to {run_out}")
    if fmt is EvalFormat.json:
        write_out(json.dumps(result.to_dict()))
    else:
        write_out(evaluation.format_text(result))
