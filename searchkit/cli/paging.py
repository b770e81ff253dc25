"""Paging through hits on the command line: the ``--limit`` option ``search`` and
``similar`` share (a number of hits, or 'all'), and the note an export writes when
``--offset`` or ``--limit`` left counted hits out."""

from __future__ import annotations

from typing import Annotated

import typer

from searchkit.errors import OptionError

#: What ``--limit`` says it takes, with each command's default after it.
_LIMIT_HELP = "Number of hits, or 'all' (default: {})."


def limit_option(default: str) -> typer.models.OptionInfo:
    """A ``--limit``/``-n`` option taking a number of hits or 'all' (read by
    :func:`parse_limit`); ``default`` says what the command shows without it."""
    return typer.Option("--limit", "-n", help=_LIMIT_HELP.format(default), show_default=False)


SearchLimitOption = Annotated[
    str | None, limit_option("10 for table and json; all for csv, jsonl, pmid, medline and ris")
]
#: ``similar`` has no natural end (nearly every record shares a word with the seed):
#: 10 in every format.
SimilarLimitOption = Annotated[str | None, limit_option("10 in every format")]


def parse_limit(text: str | None, default: int | None) -> int | None:
    """``--limit``: a number of hits, or None for every hit ('all'); ``default`` when
    it is not given."""
    if text is None:
        return default
    if text.strip().lower() == "all":
        return None
    if text.strip().isdigit():
        return int(text)
    raise OptionError(f"--limit: {text!r} is not a number of hits or 'all'")


def left_out_note(shown: int, total: int, offset: int, limit: int | None) -> str | None:
    """What an export says when it holds fewer than the ``total`` counted hits: the
    hits ``--offset`` skipped and those ``--limit`` cut (advising ``--limit all`` only
    when the limit cut some); None when it holds them all."""
    if shown >= total:
        return None
    if not offset:
        return f"{shown} of {total} shown; --limit all for every hit"
    if offset >= total:
        return f"0 of {total} shown: --offset {offset} is past the last hit"
    after = total - offset - shown
    note = (
        f"{shown} of {total} shown, hits {offset + 1} to {offset + shown}: "
        f"--offset {offset} left out the first {offset}"
    )
    if after > 0:
        note += f" and --limit {limit if limit is not None else shown} the last {after}"
    return note
