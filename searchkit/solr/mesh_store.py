"""A collection's MeSH tree (:class:`searchkit.index.meshtree.MeshTree`), kept in its
configset (ZooKeeper) beside the source registry and the acronym table.

The tree is stored as locally (gzipped JSON), base64-encoded (ZooKeeper files are read
back as text) and cut into parts of at most :data:`PART_CHARS` characters, because a
ZooKeeper file holds at most about 1 MB and NLM's whole descriptor file makes a tree of
a few. The parts of one load go to ``mesh/<slot>-<n>.b64``, in the slot (``a`` or ``b``) the
tree in place does not use; then ``mesh.json`` is replaced, naming them with the SHA-256
of the tree; then the other parts are emptied. A reader follows ``mesh.json``, so it
reads the old tree or the new one, never a mix; the checksum catches a part that was
emptied (or lost) while it read, and it reads once more."""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from searchkit.atomic import atomic_write_bytes
from searchkit.errors import IndexFormatError
from searchkit.index.meshtree import MeshTree
from searchkit.solr.client import SolrClient
from searchkit.solr.configset import read_config_file, upload_file
from searchkit.solr.shared_state import list_config_dir

MANIFEST_FILE = "mesh.json"
PARTS_DIR = "mesh"
MANIFEST_FORMAT = 1
#: Characters of base64 per ZooKeeper file (ZooKeeper's default limit is 1 MiB).
PART_CHARS = 512 * 1024


@dataclass(frozen=True)
class StoredTree:
    """What ``mesh.json`` says: the parts, in order, and the SHA-256 of the tree."""

    parts: tuple[str, ...]
    sha256: str


def read_manifest(client: SolrClient, name: str) -> StoredTree | None:
    """The configset ``name``'s tree as ``mesh.json`` names it (None: no tree loaded)."""
    if MANIFEST_FILE not in list_config_dir(client, name, ""):
        return None
    text = read_config_file(client, name, MANIFEST_FILE)
    try:
        data = json.loads(text)
        if data.get("format") != MANIFEST_FORMAT:
            raise ValueError(f"format {data.get('format')!r}, expected {MANIFEST_FORMAT}")
        return StoredTree(tuple(str(p) for p in data["parts"]), str(data["sha256"]))
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise IndexFormatError(
            f"cannot read the MeSH tree of the configset {name} ({exc}); load it again "
            "with searchkit mesh load FILE"
        ) from None


def read_tree_bytes(client: SolrClient, name: str, stored: StoredTree) -> bytes:
    """The tree's bytes (as :meth:`MeshTree.to_bytes` made them), checked."""
    text = "".join(read_config_file(client, name, f"{PARTS_DIR}/{p}") for p in stored.parts)
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if hashlib.sha256(raw).hexdigest() != stored.sha256:
        raise IndexFormatError(
            f"the MeSH tree of the configset {name} is incomplete (its checksum does not "
            "match); load it again with searchkit mesh load FILE"
        )
    return raw


def load_tree(client: SolrClient, name: str, cache_dir: Path | None = None) -> MeshTree | None:
    """The tree of the configset ``name`` (None: none loaded). ``cache_dir``: a folder
    where the tree's bytes are kept by checksum, so that a later search reads only
    ``mesh.json`` from the cluster."""
    stored = read_manifest(client, name)
    if stored is None:
        return None
    cached = cache_dir / f"mesh-{stored.sha256}.json.gz" if cache_dir is not None else None
    raw = _read_cached(cached, stored.sha256)
    if raw is None:
        try:
            raw = read_tree_bytes(client, name, stored)
        except IndexFormatError:  # replaced while it was read: read the new one
            again = read_manifest(client, name)
            if again is None or again == stored:
                raise
            stored, raw = again, read_tree_bytes(client, name, again)
            cached = cache_dir / f"mesh-{stored.sha256}.json.gz" if cache_dir is not None else None
        if cached is not None:
            _write_cached(cached, raw)
    return MeshTree.from_bytes(raw, f"of the configset {name}")


def _read_cached(path: Path | None, sha256: str) -> bytes | None:
    if path is None:
        return None
    try:
        raw = path.read_bytes()
    except OSError:
        return None
    return raw if hashlib.sha256(raw).hexdigest() == sha256 else None


def _write_cached(path: Path, raw: bytes) -> None:
    """Keep only this tree in the cache folder (a cache: failures are ignored)."""
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        for old in path.parent.glob("mesh-*.json.gz"):
            old.unlink(missing_ok=True)
        atomic_write_bytes(path, raw)


def save_tree(client: SolrClient, name: str, tree: MeshTree, part_chars: int = PART_CHARS) -> None:
    """Store ``tree`` in the configset ``name`` in place of any tree before (the caller
    holds the writer lease: two loads at once would each remove the other's parts)."""
    save_tree_bytes(client, name, tree.to_bytes(), part_chars)


def save_tree_bytes(
    client: SolrClient, name: str, raw: bytes, part_chars: int = PART_CHARS
) -> None:
    """:func:`save_tree` of the bytes :meth:`MeshTree.to_bytes` made."""
    text = base64.b64encode(raw).decode("ascii")
    before = read_manifest(client, name)
    slot = "b" if before is not None and before.parts[0].startswith("a-") else "a"
    parts = [f"{slot}-{n}.b64" for n in range(max(1, -(-len(text) // part_chars)))]
    for n, part in enumerate(parts):
        chunk = text[n * part_chars : (n + 1) * part_chars]
        upload_file(client, name, f"{PARTS_DIR}/{part}", chunk.encode("ascii"))
    digest = hashlib.sha256(raw).hexdigest()
    manifest = {"format": MANIFEST_FORMAT, "parts": parts, "sha256": digest}
    upload_file(client, name, MANIFEST_FILE, json.dumps(manifest).encode("utf-8"))
    # A configset file cannot be deleted alone (Solr deletes whole configsets): the
    # parts no longer named are emptied instead.
    for old in list_config_dir(client, name, PARTS_DIR):
        if old not in parts:
            upload_file(client, name, f"{PARTS_DIR}/{old}", b"")


def copy_tree(client: SolrClient, source: str, target: str) -> None:
    """Store the tree of the configset ``source`` (if any) in ``target`` too (a rebuild
    keeps the tree)."""
    stored = read_manifest(client, source)
    if stored is not None:
        save_tree_bytes(client, target, read_tree_bytes(client, source, stored))
