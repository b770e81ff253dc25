"""The mesh command group: NLM's MeSH tree."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from searchkit.cli.common import (
    CONTEXT_SETTINGS,
    DEFAULT_LOCK_TIMEOUT,
    IndexOption,
    LockTimeoutOption,
    _call,
    _err,
    _lock_wait_message,
    _open_backend,
    write_out,
)
from searchkit.cli.usage import Command, epilog
from searchkit.plural import plural

if TYPE_CHECKING:
    from searchkit.index.meshtree import MeshTree

mesh_app = typer.Typer(
    help="MeSH: load NLM's descriptor file so that [mh] explodes; look up headings.",
    no_args_is_help=True,
    context_settings=CONTEXT_SETTINGS,
    rich_markup_mode=None,
)

NO_TREE_HINT = "load NLM's descriptor file with: searchkit mesh load desc2025.xml"


@mesh_app.command("load", cls=Command, epilog=epilog("mesh load"))
def mesh_load(
    file: Annotated[
        Path, typer.Argument(help="NLM's MeSH descriptor XML file (descYYYY.xml, or .gz).")
    ],
    index: IndexOption = None,
    lock_timeout: LockTimeoutOption = DEFAULT_LOCK_TIMEOUT,
) -> None:
    """Store NLM's MeSH tree with the index, so that [mh] explodes.

    Keeps each descriptor's heading, tree numbers and entry terms; [mh] and [majr]
    then also find narrower headings. Replaces a tree loaded before. A Solr collection
    keeps it in its configset."""
    backend = _open_backend(index)
    backend.prepare_writes(lock_timeout, _lock_wait_message(backend.location))
    try:
        tree: MeshTree = _call(lambda: backend.load_mesh(file))
    finally:
        backend.close()
    numbers = sum(len(d.tree_numbers) for d in tree.descriptors)
    entries = sum(len(d.entry_terms) for d in tree.descriptors)
    _err(
        f"Loaded {plural(len(tree), 'descriptor')} ({plural(numbers, 'tree number')}, "
        f"{plural(entries, 'entry term')}) "
        f"from {file} into {backend.location}."
    )


@mesh_app.command("show", cls=Command, epilog=epilog("mesh show"))
def mesh_show(
    heading: Annotated[str, typer.Argument(help="A MeSH heading or entry term (any case).")],
    index: IndexOption = None,
) -> None:
    """Show a heading's tree numbers and what is narrower.

    For each tree number: how many headings are under it (in all, and one level
    down); then the heading's entry terms."""
    from searchkit.output.formats import neutralise

    backend = _open_backend(index)
    try:
        tree = _call(backend.mesh_tree)
    finally:
        backend.close()
    if tree is None:
        _err(f"Error: no MeSH tree is loaded in {backend.location}; {NO_TREE_HINT}")
        raise typer.Exit(1)
    descriptor = tree.find(heading)
    if descriptor is None:
        _err(f"Error: no MeSH heading {heading!r} in the loaded tree (from {tree.source})")
        raise typer.Exit(1)
    write_out(neutralise(descriptor.name))
    for number in descriptor.tree_numbers:
        below, children = len(tree.below(number)), len(tree.children(number))
        write_out(f"  {number}  {below} narrower ({children} one level down)")
    if descriptor.entry_terms:
        write_out(neutralise("  entry terms: " + "; ".join(descriptor.entry_terms)))
