"""Commands about index terms: analyze, acronyms."""

from __future__ import annotations

from typing import Annotated

import typer

from searchkit.cli.common import EvalFormat, IndexOption, _call, _err, _open_backend, write_out


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
    from searchkit.analysis.analyzer import text_analyzer
    from searchkit.output.formats import neutralise, to_json

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
        write_out(to_json(tokens))
        return
    if not tokens:
        _err("No index terms (only stop words or punctuation).")
        return
    width = max(len(t["term"]) for t in tokens)
    for t in tokens:
        write_out(neutralise(f"{t['pos']:>3}  {t['term']:<{width}}  {t['kind']:<4}  {t['text']}"))


def acronyms(
    short: Annotated[
        str | None, typer.Argument(help="Only this short form (any case).", show_default=False)
    ] = None,
    fmt: Annotated[EvalFormat, typer.Option("--format", "-f", help="Output format.")] = (
        EvalFormat.text
    ),
    index: IndexOption = None,
) -> None:
    """List the acronyms learned at ingest: short form, number of records, long form.

    A Solr collection keeps its table in its configset."""
    from searchkit.output.formats import neutralise, to_json

    backend = _open_backend(index)
    try:
        table = _call(backend.acronym_table)
    finally:
        backend.close()
    rows = table.rows(short)
    if short is not None and not rows:
        _err(f"Error: no acronym {short!r} was learned from the records in {backend.location}")
        raise typer.Exit(1)
    if fmt is EvalFormat.json:
        write_out(to_json([{"short": sf, "records": n, "long": lf} for sf, n, lf in rows]))
        return
    if not rows:
        _err("No acronyms learned yet (ingest records with abstracts).")
        return
    width = max(len(sf) for sf, _, _ in rows)
    for sf, n, lf in rows:
        write_out(neutralise(f"{sf:<{width}}  {n:>5}  {lf}"))
