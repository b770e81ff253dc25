"""Shell completion of values typer cannot know: a query's PubMed field tags and
the columns of ``--fields``. (Command names, options and ``--format`` choices
complete by themselves.)"""

from __future__ import annotations


def completed_tags() -> tuple[str, ...]:
    """The field tags offered: the short ones without spaces (``[ti]``, ``[mh:noexp]``)."""
    from searchkit.query.tags import TAGS

    return tuple(sorted(tag for tag in TAGS if " " not in tag))


def complete_query(incomplete: str) -> list[str]:
    """A query ending in an open ``[``: the query closed with each tag it can
    become (``cancer[ti`` → ``cancer[ti]``, ``cancer[tiab]``, …)."""
    head, bracket, partial = incomplete.rpartition("[")
    if not bracket or "]" in partial:
        return []
    return [f"{head}[{tag}]" for tag in completed_tags() if tag.startswith(partial.lower())]


def complete_fields(incomplete: str) -> list[str]:
    """``--fields``: the list so far, extended by each column not in it yet."""
    from searchkit.output.formats import HIT_COLUMNS

    head, comma, partial = incomplete.rpartition(",")
    given = set(head.split(",")) if comma else set()
    prefix = head + comma
    return [prefix + c for c in HIT_COLUMNS if c.startswith(partial) and c not in given]
