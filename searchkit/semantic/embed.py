"""``searchkit embed``: store a sentence vector for every record that lacks a current one.

Only records whose text (title and abstract) has no vector yet are encoded, so running
it again after an ingest encodes just the new and changed records; vectors of records
that are gone are dropped. Progress is saved every :data:`CHECKPOINT` records, so an
interrupted run keeps what it had encoded and the next run goes on from there.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from searchkit.errors import IndexWriteError, VectorStoreError
from searchkit.index.ingest import default_procs
from searchkit.index.searchindex import SearchIndex
from searchkit.searching.embedding import EmbedProgress, EmbedReport
from searchkit.semantic import CHECKPOINT
from searchkit.semantic.encoder import Encoder
from searchkit.semantic.models import load_encoder, model_spec, verified_id
from searchkit.semantic.vectors import (
    StoreInfo,
    VectorStore,
    embed_text,
    record_key,
    remove_vectors,
)

#: Records encoded between two progress reports.
PROGRESS_EVERY = 64


def embed(
    index: SearchIndex,
    model: Path | None = None,
    *,
    threads: int | None = None,
    progress: EmbedProgress | None = None,
    checkpoint: int = CHECKPOINT,
) -> EmbedReport:
    """Encode the records of ``index`` that have no current vector and store them,
    saving every ``checkpoint`` records (a run that is stopped keeps what it saved, and
    the next run encodes only the rest). ``threads``: encoder threads (default: one per
    core). ``model``: a model folder (default: the packaged all-MiniLM-L6-v2)."""
    spec = model_spec(model)
    try:
        damaged = None
        try:
            store = VectorStore(index.path)
        except VectorStoreError as exc:  # derived data: start again rather than stop
            damaged = str(exc)
            remove_vectors(index.path)
            store = VectorStore(index.path)
        store.check_writable()
        encoder, verified = load_encoder(
            spec,
            recorded=store.info.files if store.info else (),
            threads=threads or default_procs(),
        )
        info = StoreInfo(spec.name, verified_id(verified), encoder.dimension, tuple(verified))
        report = EmbedReport(model=info.model, threads=encoder.threads, damaged=damaged)
        return _encode_missing(index, store, encoder, info, report, progress, checkpoint)
    except OSError as exc:  # a read-only index, a full disk: the stored vectors stay
        raise IndexWriteError(
            f"cannot store sentence vectors in the index at {index.path} "
            f"({exc.strerror or exc}); the vectors stored before are unchanged"
        ) from None


def _encode_missing(
    index: SearchIndex,
    store: VectorStore,
    encoder: Encoder,
    info: StoreInfo,
    report: EmbedReport,
    progress: EmbedProgress | None,
    checkpoint: int,
) -> EmbedReport:
    same_model = store.info is not None and store.info.sha256 == info.sha256
    have = store.digests() if same_model else set()
    live: set[bytes] = set()
    todo: dict[bytes, int] = {}  # digest -> a document with that text (texts read later)
    with index.searcher() as searcher:
        for docnum, fields in searcher.reader().iter_docs():
            report.records += 1
            key = record_key(fields)
            if key is None:
                report.no_text += 1
                continue
            live.add(key)
            if key in have:
                report.current += 1
            elif key not in todo:
                todo[key] = docnum
        start = time.perf_counter()
        pending = list(todo.items())
        if progress is not None:
            progress(0, len(pending), 0.0)
        if not pending and (not same_model or len(store) != len(live & have) or store.info != info):
            store.write(info, live, [])  # drop vectors of records gone; record the files
        for first in range(0, len(pending), checkpoint):
            chunk = pending[first : first + checkpoint]
            new: list[tuple[bytes, np.ndarray]] = []
            for part in range(0, len(chunk), PROGRESS_EVERY):
                keys = chunk[part : part + PROGRESS_EVERY]
                texts = [_text(searcher.stored_fields(docnum)) for _, docnum in keys]
                new.extend(zip((k for k, _ in keys), encoder.encode(texts), strict=True))
                report.encoded += len(keys)
                if progress is not None:
                    progress(report.encoded, len(pending), time.perf_counter() - start)
            store.write(info, live, new)
    report.seconds = time.perf_counter() - start
    report.stored = len(store)
    return report


def _text(fields: dict[str, Any]) -> str:
    return embed_text(fields.get("title"), fields.get("abstract"))
