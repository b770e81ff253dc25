"""Expanding the paths given on the command line into input files."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

from searchkit.errors import InputError


def iter_files(paths: Iterable[Path]) -> Iterator[Path]:
    """Yield the files named in ``paths``, walking directories recursively.

    Directory entries come in sorted name order; hidden entries (names starting
    with ".") are skipped, but a hidden file named explicitly is kept. Every path
    is checked before the first file is yielded, so a typo in the last argument
    fails before any work is done: a missing path raises
    ``InputError(str(path), "no such file or directory")``.
    """
    given = list(paths)
    for path in given:
        if not path.exists():
            raise InputError(str(path), "no such file or directory")
    for path in given:
        if path.is_dir():
            yield from _walk(path, set())
        else:
            yield path


def _walk(directory: Path, seen: set[Path]) -> Iterator[Path]:
    # ``seen`` holds resolved directories so that a symlink loop ends the walk
    # instead of recursing forever.
    resolved = directory.resolve()
    if resolved in seen:
        return
    seen.add(resolved)
    try:
        entries = sorted(directory.iterdir(), key=lambda entry: entry.name)
    except PermissionError:
        raise InputError(str(directory), "permission denied") from None
    for entry in entries:
        if entry.name.startswith("."):
            continue
        if entry.is_dir():
            yield from _walk(entry, seen)
        elif entry.is_file():
            yield entry
