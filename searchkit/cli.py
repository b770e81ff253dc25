"""The ``searchkit`` command: a thin typer layer over the library.

Results go to stdout; progress, summaries and errors go to stderr. A user mistake
is one ``Error: …`` line and a non-zero exit code, never a traceback.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated, TypeVar

import typer

from searchkit import __version__, evaluation
from searchkit.acronyms import AcronymTable
from searchkit.analysis import text_analyzer
from searchkit.errors import SearchkitError
from searchkit.index import SearchIndex
from searchkit.ingest import ingest as run_ingest
from searchkit.location import ENV_VAR, resolve_index_dir
from searchkit.output import format_record, format_search, format_stats
from searchkit.search import search as run_search

app = typer.Typer(
    name="searchkit",
    help="Ranked full-text search over PubMed-style literature records.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

T = TypeVar("T")

IndexOption = Annotated[
    Path | None,
    typer.Option(
        "--index",
        help=f"Index directory (default: ${ENV_VAR}, else the per-user data directory).",
        show_default=False,
    ),
]


class SearchFormat(StrEnum):
    table = "table"
    json = "json"
    jsonl = "jsonl"
    csv = "csv"
    pmid = "pmid"


class RecordFormat(StrEnum):
    text = "text"
    json = "json"


class EvalFormat(StrEnum):
    text = "text"
    json = "json"


def _err(message: str) -> None:
    typer.echo(message, err=True)


@contextmanager
def _user_errors() -> Iterator[None]:
    """Turn library errors into one stderr line and the error's exit code."""
    try:
        yield
    except SearchkitError as exc:
        _err(f"Error: {exc}")
        raise typer.Exit(exc.exit_code) from None
    except KeyboardInterrupt:
        _err("Interrupted; the index holds what was last committed.")
        raise typer.Exit(130) from None


def _call(fn: Callable[[], T]) -> T:
    with _user_errors():
        return fn()


def _use_color() -> bool:
    return sys.stdout.isatty() and "NO_COLOR" not in os.environ


def _version(value: bool) -> None:
    if value:
        typer.echo(f"searchkit {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Show the version."),
    ] = False,
) -> None:
    """Ranked full-text search over PubMed-style literature records."""


@app.command()
def ingest(
    paths: Annotated[
        list[Path],
        typer.Argument(help="Files or directories (read recursively).", show_default=False),
    ],
    index: IndexOption = None,
) -> None:
    """Add records to the index (upsert by PMID; deletions applied).

    Reads PubMed XML, MEDLINE/.nbib, JSON Lines (incl. BEIR corpus.jsonl), PubMed
    abstract-page text and PubMed "Abstract" text exports, gzipped or not.
    Exit code 0: everything ingested; 1: some input skipped (the rest is committed).
    """
    missing = [p for p in paths if not p.exists()]
    if missing:
        _err(f"Error: {missing[0]}: no such file or directory")
        raise typer.Exit(2)
    index_dir = resolve_index_dir(index)
    ix = _call(lambda: SearchIndex.open_or_create(index_dir))
    show_progress = sys.stderr.isatty()

    def on_file(path: Path, records: int) -> None:
        if show_progress:
            _err(f"  {path}: {records} records")

    report = _call(lambda: run_ingest(paths, ix, on_file=on_file))
    c = report.counts
    for skip in report.skipped:
        _err(f"skipped: {skip}")
    _err(
        f"{report.files} file(s) read, {report.records_read} record(s): {c.added} added, "
        f"{c.replaced} replaced, {c.unchanged} unchanged, {c.deleted} deleted, "
        f"{len(report.skipped)} skipped. Index: {index_dir} ({len(ix)} records)"
    )
    if c.not_found:
        _err(f"{len(c.not_found)} deletion(s) named records not in the index")
    if not report.ok:
        raise typer.Exit(1)


@app.command()
def search(
    query: Annotated[str, typer.Argument(help='The query, e.g. "immune escape MHC".')],
    limit: Annotated[int, typer.Option("--limit", "-n", min=0, help="Number of hits.")] = 10,
    fmt: Annotated[SearchFormat, typer.Option("--format", "-f", help="Output format.")] = (
        SearchFormat.table
    ),
    expand: Annotated[
        bool,
        typer.Option(
            "--expand",
            help="Add the top terms of the first hits to the query (pseudo-relevance "
            "feedback; off by default: it did not help on SciFact).",
        ),
    ] = False,
    index: IndexOption = None,
) -> None:
    """Search the index; best matches first."""
    ix = _call(lambda: SearchIndex.open(resolve_index_dir(index)))
    result = _call(lambda: run_search(ix, query, limit=limit, expand=expand))
    if fmt is SearchFormat.table and not result.hits:
        _err(f"No records match {query!r}.")
        return
    text = format_search(result, fmt.value, color=_use_color())
    if text:
        typer.echo(text)


@app.command()
def show(
    pmid: Annotated[str, typer.Argument(help="The record's PMID (or id).")],
    fmt: Annotated[RecordFormat, typer.Option("--format", "-f", help="Output format.")] = (
        RecordFormat.text
    ),
    index: IndexOption = None,
) -> None:
    """Print one whole record."""
    ix = _call(lambda: SearchIndex.open(resolve_index_dir(index)))
    record = _call(lambda: ix.get(pmid.strip()))
    typer.echo(format_record(record, fmt.value))


@app.command()
def stats(
    fmt: Annotated[RecordFormat, typer.Option("--format", "-f", help="Output format.")] = (
        RecordFormat.text
    ),
    index: IndexOption = None,
) -> None:
    """Record count, size on disk, last update and schema version."""
    ix = _call(lambda: SearchIndex.open(resolve_index_dir(index)))
    typer.echo(format_stats(_call(ix.stats), fmt.value))


@app.command("eval")
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
    ] = evaluation.DEFAULT_DEPTH,
    expand: Annotated[
        bool, typer.Option("--expand", help="Measure with pseudo-relevance feedback.")
    ] = False,
    fmt: Annotated[EvalFormat, typer.Option("--format", "-f", help="Output format.")] = (
        EvalFormat.text
    ),
    index: IndexOption = None,
) -> None:
    """Measure ranking quality: run the judged queries and report the mean metrics."""
    for path in (queries, qrels):
        if not path.is_file():
            _err(f"Error: {path}: no such file")
            raise typer.Exit(2)
    metrics = _call(lambda: [evaluation.parse_metric(m) for m in metric or []])
    ix = _call(lambda: SearchIndex.open(resolve_index_dir(index)))
    query_texts = _call(lambda: evaluation.read_queries(queries))
    judgments = _call(lambda: evaluation.read_qrels(qrels))
    result = _call(
        lambda: evaluation.evaluate(
            ix, query_texts, judgments, metrics or None, depth=depth, expand=expand
        )
    )
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
        typer.echo(json.dumps(result.to_dict()))
    else:
        typer.echo(evaluation.format_text(result))


@app.command()
def analyze(
    text: Annotated[str, typer.Argument(help='Text to analyze, e.g. "PD-L1 and TNF-alpha".')],
    fmt: Annotated[EvalFormat, typer.Option("--format", "-f", help="Output format.")] = (
        EvalFormat.text
    ),
) -> None:
    """Show the index terms the biomedical analyzer makes of TEXT.

    One line per token: position, term, kind (word; part of a compound; cat: the
    compound or code catenated, e.g. PD-L1 → pdl1) and the text it came from.
    """
    tokens = [
        {
            "pos": t.pos,
            "term": t.text,
            "kind": t.kind,
            "text": t.original,
        }
        for t in text_analyzer()(text, positions=True, keeporiginal=True)
    ]
    if fmt is EvalFormat.json:
        typer.echo(json.dumps(tokens, ensure_ascii=False))
        return
    if not tokens:
        _err("No index terms (only stop words or punctuation).")
        return
    width = max(len(t["term"]) for t in tokens)
    for t in tokens:
        typer.echo(f"{t['pos']:>3}  {t['term']:<{width}}  {t['kind']:<4}  {t['text']}")


@app.command()
def acronyms(
    short: Annotated[
        str | None, typer.Argument(help="Only this short form (any case).", show_default=False)
    ] = None,
    fmt: Annotated[EvalFormat, typer.Option("--format", "-f", help="Output format.")] = (
        EvalFormat.text
    ),
    index: IndexOption = None,
) -> None:
    """List the acronyms learned at ingest: short form, number of records, long form."""
    ix = _call(lambda: SearchIndex.open(resolve_index_dir(index)))
    table: AcronymTable = _call(lambda: ix.acronyms)
    rows = table.rows(short)
    if short is not None and not rows:
        _err(f"Error: no acronym {short!r} was learned from the records in {ix.path}")
        raise typer.Exit(1)
    if fmt is EvalFormat.json:
        typer.echo(
            json.dumps(
                [{"short": sf, "records": n, "long": lf} for sf, n, lf in rows],
                ensure_ascii=False,
            )
        )
        return
    if not rows:
        _err("No acronyms learned yet (ingest records with abstracts).")
        return
    width = max(len(sf) for sf, _, _ in rows)
    for sf, n, lf in rows:
        typer.echo(f"{sf:<{width}}  {n:>5}  {lf}")
