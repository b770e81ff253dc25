"""Counts in messages: "1 record", "2 records", "0 records"."""

from __future__ import annotations


def plural(count: int, noun: str, nouns: str | None = None, *, spec: str = "") -> str:
    """``count`` and ``noun`` as a message says them: the noun singular for exactly 1,
    else ``nouns`` (default: ``noun`` + "s"); ``spec`` formats the number (``","``:
    thousands separated, ``">8"``: right-aligned).

    >>> plural(1, "record"), plural(0, "record"), plural(2, "query", "queries")
    ('1 record', '0 records', '2 queries')
    >>> plural(12345, "byte", spec=",")
    '12,345 bytes'
    """
    word = noun if count == 1 else (nouns if nouns is not None else noun + "s")
    return f"{count:{spec}} {word}"


__all__ = ["plural"]
