"""Expanding the paths given on the command line into input files."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import NamedTuple

from searchkit.errors import InputError


class InputFile(NamedTuple):
    """A file to read, and whether it was named itself (not found in a folder)."""

    path: Path
    named: bool


def iter_files(paths: Iterable[str | os.PathLike[str]]) -> Iterator[Path]:
    """Yield the files named in ``paths`` (paths or strings), walking directories
    recursively; see :func:`iter_inputs`."""
    for found in iter_inputs(paths):
        yield found.path


def iter_inputs(paths: Iterable[str | os.PathLike[str]]) -> Iterator[InputFile]:
    """Yield the files named in ``paths`` (paths or strings), walking directories
    recursively, each once.

    Directory entries come in sorted name order; hidden entries (names starting
    with ".") are skipped, but a hidden file named explicitly is kept. Entries that
    cannot be read (a directory that cannot be listed, a broken symbolic link, a
    pipe) are yielded too, so that reading them reports the problem while the
    other files are still read. A file reached twice (a path given twice, as
    ``f.nbib`` and ``./f.nbib``, or both in a folder and by name) comes once, where
    first reached, by its resolved path; ``named`` when it was named anywhere. Every
    path is checked before the first file is yielded, so a typo in the last argument
    fails before any work is done: a missing path raises
    ``InputError(str(path), "no such file or directory")``.
    """
    given = [Path(path) for path in paths]
    for path in given:
        if not path.exists():
            raise InputError(str(path), "no such file or directory")
    named = {path.resolve() for path in given if not path.is_dir()}
    seen: set[Path] = set()
    for path in given:
        found = _walk(path, set()) if path.is_dir() else iter((path,))
        for file in found:
            key = file.resolve()
            if key not in seen:
                seen.add(key)
                yield InputFile(file, key in named)


def _walk(directory: Path, seen: set[Path]) -> Iterator[Path]:
    # ``seen`` holds resolved directories so that a symlink loop ends the walk
    # instead of recursing forever.
    resolved = directory.resolve()
    if resolved in seen:
        return
    seen.add(resolved)
    try:
        entries = sorted(directory.iterdir(), key=lambda entry: entry.name)
    except OSError:
        yield directory  # read_file reports why it cannot be listed
        return
    for entry in entries:
        if entry.name.startswith("."):
            continue
        if entry.is_dir():
            yield from _walk(entry, seen)
        else:
            yield entry


def directory_problem(path: Path) -> InputError:
    """The error for a directory given where a file is read."""
    try:
        next(iter(path.iterdir()), None)
    except PermissionError:
        return InputError(str(path), "permission denied (cannot list the directory)")
    except OSError as exc:
        return InputError(str(path), f"cannot list the directory ({exc.strerror or exc})")
    return InputError(str(path), "is a directory, not a file")
