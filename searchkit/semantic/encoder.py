"""A sentence encoder run on ONNX Runtime: tokenizer, transformer graph, declared pooling.

A model is three files (see :mod:`searchkit.semantic.model_files` for where they come from and
how they are checked before use):

- an ONNX graph of the transformer, inputs ``input_ids`` and ``attention_mask`` (and
  ``token_type_ids`` if it takes them), first output the token embeddings
  (batch x tokens x dimension);
- ``tokenizer.json``, the Hugging Face tokenizer of the model (run by ``tokenizers``);
- sentence-transformers' ``1_Pooling/config.json``, which says how token embeddings
  become one sentence vector. Mean pooling over the real (non-padding) tokens and the
  [CLS] token are supported; a model that declares another pooling is refused rather
  than run with a pooling it was not trained for.

Vectors are scaled to unit length (the store and the re-ranking use cosines). Nothing
is downloaded: the files are on disk or the model is refused.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from searchkit.errors import ModelError

#: Tokens per text, [CLS] and [SEP] included, unless the model's
#: ``sentence_bert_config.json`` says otherwise (all-MiniLM-L6-v2: 256).
MAX_TOKENS = 256
#: Texts run through the graph at once, after sorting by length (little padding).
BATCH = 32
#: The poolings supported, by the key of ``1_Pooling/config.json`` that turns them on.
POOLINGS = {"pooling_mode_mean_tokens": "mean", "pooling_mode_cls_token": "cls"}


def read_pooling(path: Path) -> str:
    """The pooling a sentence-transformers ``1_Pooling/config.json`` declares: "mean"
    or "cls"; :class:`ModelError` for a missing file or any other pooling."""
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelError(
            f"{path}: missing: the model declares no pooling (a sentence-transformers "
            "model folder has 1_Pooling/config.json)"
        ) from None
    except (OSError, ValueError) as exc:
        raise ModelError(f"{path}: cannot read the pooling configuration: {exc}") from exc
    if not isinstance(config, dict):
        raise ModelError(f"{path}: not a pooling configuration")
    modes = sorted(
        key.removeprefix("pooling_mode_")
        for key, on in config.items()
        if key.startswith("pooling_mode_") and on is True
    )
    if len(modes) == 1 and f"pooling_mode_{modes[0]}" in POOLINGS:
        return POOLINGS[f"pooling_mode_{modes[0]}"]
    declared = " + ".join(modes) if modes else "none"
    raise ModelError(
        f"{path}: the model declares pooling {declared!r}; searchkit supports mean tokens "
        "or the CLS token alone"
    )


def read_max_tokens(path: Path | None) -> int:
    """``max_seq_length`` of a ``sentence_bert_config.json``, else :data:`MAX_TOKENS`."""
    if path is None:
        return MAX_TOKENS
    try:
        value = json.loads(path.read_text(encoding="utf-8")).get("max_seq_length", MAX_TOKENS)
    except (OSError, ValueError, AttributeError) as exc:
        raise ModelError(f"{path}: cannot read the model configuration: {exc}") from exc
    if not isinstance(value, int) or value < 2:
        raise ModelError(f"{path}: max_seq_length {value!r} is not a token count")
    return value


class Encoder:
    """Encodes texts as unit-length float32 vectors."""

    def __init__(
        self,
        graph: Path,
        tokenizer: Path,
        pooling: Path,
        settings: Path | None = None,
        *,
        threads: int = 1,
    ) -> None:
        """Load the ONNX ``graph``, the ``tokenizer`` and the ``pooling`` configuration
        (``settings``: an optional ``sentence_bert_config.json``). ``threads``: the
        threads ONNX Runtime runs one batch on."""
        self.pooling = read_pooling(pooling)
        self.max_tokens = read_max_tokens(settings)
        self.threads = threads
        self._tokenizer = _load_tokenizer(tokenizer, self.max_tokens)
        self._session = _load_session(graph, threads)
        names = {i.name for i in self._session.get_inputs()}
        if not {"input_ids", "attention_mask"} <= names:
            raise ModelError(
                f"{graph}: not a transformer graph (inputs {sorted(names)}; "
                "input_ids and attention_mask are needed)"
            )
        self._token_types = "token_type_ids" in names
        output = self._session.get_outputs()[0]
        self._output = output.name
        shape = output.shape
        if len(shape) != 3:
            raise ModelError(
                f"{graph}: its first output {output.name!r} is not the token embeddings "
                f"(batch x tokens x dimension; it has shape {shape})"
            )
        dim = shape[2]
        self.dimension = dim if isinstance(dim, int) else int(self._run([[101, 102]]).shape[-1])

    def token_ids(self, texts: Sequence[str]) -> list[list[int]]:
        return [enc.ids for enc in self._tokenizer.encode_batch(list(texts))]

    def encode(self, texts: Iterable[str], batch: int = BATCH) -> np.ndarray:
        """Unit-length vectors, one row per text, in order."""
        texts = list(texts)
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        if not texts:
            return out
        ids = self.token_ids(texts)
        # Longest first, so each batch's padding is small; rows go back in place below.
        order = sorted(range(len(ids)), key=lambda i: -len(ids[i]))
        for group in _chunks(order, batch):
            out[group] = self._run([ids[i] for i in group])
        return out

    def _run(self, ids: list[list[int]]) -> np.ndarray:
        n, length = len(ids), max(len(x) for x in ids)
        tokens = np.zeros((n, length), dtype=np.int64)
        mask = np.zeros((n, length), dtype=np.int64)
        for row, seq in enumerate(ids):
            tokens[row, : len(seq)] = seq
            mask[row, : len(seq)] = 1
        feed = {"input_ids": tokens, "attention_mask": mask}
        if self._token_types:
            feed["token_type_ids"] = np.zeros_like(tokens)
        hidden = np.asarray(self._session.run([self._output], feed)[0], dtype=np.float32)
        if self.pooling == "cls":
            pooled = hidden[:, 0]
        else:
            weights = mask[:, :, None].astype(np.float32)
            pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.maximum(norms, 1e-12)).astype(np.float32)


def _load_tokenizer(path: Path, max_tokens: int) -> Any:
    try:
        from tokenizers import Tokenizer
    except ImportError as exc:
        raise ModelError(
            "the tokenizers package is needed for semantic ranking "
            "(pip install 'searchkit[semantic]')"
        ) from exc
    try:
        tokenizer = Tokenizer.from_file(str(path))
    except Exception as exc:  # the Rust side raises its own exception types
        raise ModelError(f"{path}: cannot read the tokenizer: {_first_line(exc)}") from exc
    tokenizer.no_padding()
    tokenizer.enable_truncation(max_tokens)
    return tokenizer


def _load_session(path: Path, threads: int) -> Any:
    try:
        import onnxruntime as ort
    except ImportError as exc:
        raise ModelError(
            "the onnxruntime package is needed for semantic ranking "
            "(pip install 'searchkit[semantic]')"
        ) from exc
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    # Idle threads sleep instead of spinning: on a machine other jobs share, a spinning
    # thread burns a core waiting for a sibling that is not scheduled.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.log_severity_level = 3  # errors only: its warnings are not the user's business
    try:
        return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own exception types
        raise ModelError(f"{path}: cannot load the ONNX graph: {_first_line(exc)}") from exc


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _chunks(items: list[int], size: int) -> Iterator[list[int]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
