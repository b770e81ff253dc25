"""The sentence vectors of an index's records, kept beside it and keyed by content.

A record's vector is keyed by a digest of the text it encodes (title and abstract), not
by its PMID: a record whose text changes simply has no vector until ``searchkit embed``
runs again, a deleted record's vector is never looked up, and two records with the same
text share one. So ingest, delete and rebuild need not touch this store, and a stale
vector can never be used for the wrong text.

Layout, in ``<index>/vectors/``::

    manifest.json      {"generation": g, "model", "sha256", "dimension": d, "count": n,
                        "files": [{"role", "path", "sha256", "stamp"}, ...]}
    digests-<g>.npy    n x 16 bytes, sorted (looked up with a binary search)
    vectors-<g>.npy    n x d float16, row i belongs to digest i

A new generation is written beside the old one and made current by replacing the
manifest (an atomic rename), so a reader sees either the old set or the new one, and an
interrupted ``embed`` keeps every vector of its last checkpoint.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from searchkit.atomic import atomic_write_text
from searchkit.errors import VectorStoreError
from searchkit.index.locking import holding
from searchkit.semantic import MANIFEST, VECTORS_DIR
from searchkit.semantic.model_files import VerifiedFile

LOCK = "write.lock"
DIGEST_BYTES = 16
#: Stored precision: float16 halves the store; cosine scores move by < 1e-3.
STORE_DTYPE = np.float16


def embed_text(title: str | None, abstract: str | None) -> str:
    """The text a record is encoded from: its title and abstract."""
    parts = [p.strip() for p in (title, abstract) if p and p.strip()]
    return "\n".join(parts)


def digest(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8"), digest_size=DIGEST_BYTES).digest()


def record_key(fields: Mapping[str, Any]) -> bytes | None:
    """The key of a stored record's vector (None for a record with no text to encode)."""
    text = embed_text(fields.get("title"), fields.get("abstract"))
    return digest(text) if text else None


@dataclass(frozen=True)
class StoreInfo:
    """The model the vectors were made with: its name, its identity (``sha256``: of its
    files' hashes, :func:`searchkit.semantic.model_files.model_id`), the dimension, and its
    files as verified when the vectors were made."""

    model: str
    sha256: str
    dimension: int
    files: tuple[VerifiedFile, ...] = ()


def remove_vectors(index_path: Path) -> None:
    """Delete an index's vectors (they are derived data: ``embed`` makes them again)."""
    shutil.rmtree(index_path / VECTORS_DIR, ignore_errors=True)


def copy_vectors(source_index: Path, target_index: Path) -> None:
    """Copy the current vectors of one index into another (which has none)."""
    source = source_index / VECTORS_DIR
    if not (source / MANIFEST).is_file():
        return
    # Holding the lock, no embed replaces the generation meanwhile.
    with (source / LOCK).open("a") as lock, holding(lock):
        store = VectorStore(source_index)
        folder = target_index / VECTORS_DIR
        folder.mkdir()
        g = store.generation
        for name in (f"digests-{g}.npy", f"vectors-{g}.npy", MANIFEST):
            shutil.copy2(source / name, folder / name)


class VectorSidecar:
    """The stored vectors as the index sees them (:class:`searchkit.index.sidecars.Sidecar`):
    carried over by a rebuild, counted by ``stats``."""

    name = "vectors"

    def carry_over(self, source_index: Path, target_index: Path) -> None:
        copy_vectors(source_index, target_index)

    def size(self, index_path: Path) -> int:
        return len(VectorStore(index_path))


#: The sidecars of the semantic stage, for the index's rebuild and stats.
SIDECARS = (VectorSidecar(),)


class VectorStore:
    """The vectors of one index (possibly none yet). Read-only once loaded; writes go
    through :meth:`write`, which makes a new generation."""

    def __init__(self, index_path: Path) -> None:
        self.folder = index_path / VECTORS_DIR
        self.generation = 0
        self.info: StoreInfo | None = None
        self._digests = np.zeros(0, dtype=f"S{DIGEST_BYTES}")
        self._vectors = np.zeros((0, 0), dtype=STORE_DTYPE)
        self._load()

    def _load(self) -> None:
        try:
            self._load_once()
        except VectorStoreError:
            self._load_once()  # a writer replaced the generation between two reads

    def _load_once(self) -> None:
        try:
            manifest = json.loads((self.folder / MANIFEST).read_text(encoding="utf-8"))
        except FileNotFoundError:
            return
        except (OSError, ValueError) as exc:
            raise VectorStoreError(f"{self.folder / MANIFEST}: unreadable ({exc})") from exc
        try:
            g = int(manifest["generation"])
            count = int(manifest["count"])
            info = StoreInfo(
                str(manifest["model"]),
                str(manifest["sha256"]),
                int(manifest["dimension"]),
                tuple(
                    VerifiedFile(str(f["role"]), str(f["path"]), str(f["sha256"]), str(f["stamp"]))
                    for f in manifest.get("files", [])
                ),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise VectorStoreError(f"{self.folder / MANIFEST}: damaged ({exc!r})") from exc
        try:
            digests = np.load(self.folder / f"digests-{g}.npy", mmap_mode="r")
            vectors = np.load(self.folder / f"vectors-{g}.npy", mmap_mode="r")
        except (OSError, ValueError) as exc:
            raise VectorStoreError(f"{self.folder}: generation {g} unreadable ({exc})") from exc
        if len(digests) != len(vectors) or len(digests) != count:
            raise VectorStoreError(f"{self.folder}: generation {g} is inconsistent")
        if vectors.ndim != 2 or vectors.shape[1] != info.dimension:
            raise VectorStoreError(f"{self.folder}: generation {g} is inconsistent")
        self.generation = g
        self.info = info
        self._digests = digests
        self._vectors = vectors

    def __len__(self) -> int:
        return len(self._digests)

    def keys(self) -> list[bytes]:
        """The digests, in store order. (Read through a byte view: NumPy's ``S``
        scalars drop trailing NUL bytes, which a digest may end with.)"""
        raw = self._digests.view(np.uint8).reshape(-1, DIGEST_BYTES)
        return [row.tobytes() for row in raw]

    def digests(self) -> set[bytes]:
        return set(self.keys())

    def lookup(self, keys: list[bytes]) -> tuple[np.ndarray, np.ndarray]:
        """For each key, whether it has a vector, and the vectors (zero rows where not)."""
        n = len(self._digests)
        dim = self.info.dimension if self.info else 0
        found = np.zeros(len(keys), dtype=bool)
        out = np.zeros((len(keys), dim), dtype=np.float32)
        if not n or not keys:
            return found, out
        wanted = np.array(keys, dtype=f"S{DIGEST_BYTES}")
        rows = np.searchsorted(self._digests, wanted)
        ok = rows < n
        ok[ok] = self._digests[rows[ok]] == wanted[ok]
        found[:] = ok
        if ok.any():
            out[ok] = self._vectors[rows[ok]].astype(np.float32)
        return found, out

    def check_writable(self) -> None:
        """Raise the OSError a write would meet (a read-only index), before any work."""
        self.folder.mkdir(parents=True, exist_ok=True)
        with (self.folder / LOCK).open("a"):
            pass

    def write(
        self,
        info: StoreInfo,
        keep: set[bytes],
        new: Iterable[tuple[bytes, np.ndarray]],
    ) -> int:
        """Make a new generation holding the current vectors whose digest is in ``keep``
        (those of another model are dropped) plus ``new``; returns its size. Writers
        take turns (a lock file), and each merges with what the last one stored."""
        self.folder.mkdir(parents=True, exist_ok=True)
        with (self.folder / LOCK).open("a") as lock, holding(lock):
            self._load()
            return self._write(info, keep, list(new))

    def _write(self, info: StoreInfo, keep: set[bytes], new: list[tuple[bytes, np.ndarray]]) -> int:
        same_model = self.info is not None and self.info.sha256 == info.sha256
        pairs: dict[bytes, np.ndarray] = {}
        if same_model and len(self._digests):
            for i, key in enumerate(self.keys()):
                if key in keep:
                    pairs[key] = self._vectors[i]
        for key, vector in new:
            pairs[key] = vector
        order = sorted(pairs)
        digests = np.array(order, dtype=f"S{DIGEST_BYTES}")
        vectors = np.zeros((len(order), info.dimension), dtype=STORE_DTYPE)
        for i, key in enumerate(order):
            vectors[i] = pairs[key]
        g = self.generation + 1
        while (self.folder / f"digests-{g}.npy").exists():
            g += 1
        np.save(self.folder / f"digests-{g}.npy", digests)
        np.save(self.folder / f"vectors-{g}.npy", vectors)
        manifest = {
            "generation": g,
            "model": info.model,
            "sha256": info.sha256,
            "dimension": info.dimension,
            "files": [asdict(f) for f in info.files],
            "count": len(order),
        }
        atomic_write_text(self.folder / MANIFEST, json.dumps(manifest))
        old = self.generation
        self.generation = g
        self.info = info
        self._digests = digests
        self._vectors = vectors
        for name in (f"digests-{old}.npy", f"vectors-{old}.npy"):
            (self.folder / name).unlink(missing_ok=True)
        return len(order)
