"""Measuring ranking quality against relevance judgments (``searchkit eval``).

Queries come from a BEIR ``queries.jsonl`` (``_id``, ``text``) or a ``qid<TAB>text``
file; judgments from BEIR qrels (``query-id corpus-id score``, with a header) or TREC
qrels (``qid 0 docid rel``). Only judged queries are run. The metrics themselves are
computed by ``ir-measures`` (trec_eval's implementations), not by hand.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, Any

from searchkit.errors import InputError, SearchkitError
from searchkit.index.searchindex import SearchIndex
from searchkit.params import DEFAULT, Params
from searchkit.plural import plural
from searchkit.searching import DEFAULT_DEPTH
from searchkit.searching.pipeline import MeaningProvider
from searchkit.searching.search import Ranker

DEFAULT_METRICS = ("ndcg@10", "recall@100", "map")
#: How many unsearchable queries the note names (the rest are counted).
NAMED_FAILURES = 20
RUN_TAG = "searchkit"

_METRIC = re.compile(r"^(ndcg|recall|r|map|ap|p|precision|mrr|rr)(?:@(\d+))?$")
_IR_MEASURES_NAME = {
    "ndcg": "nDCG",
    "recall": "R",
    "r": "R",
    "map": "AP",
    "ap": "AP",
    "p": "P",
    "precision": "P",
    "mrr": "RR",
    "rr": "RR",
}
_NEEDS_CUTOFF = {"recall", "r", "p", "precision"}


class EvalDependencyError(SearchkitError):
    """The optional evaluation library is not installed."""


class MetricError(SearchkitError):
    """A metric name searchkit does not know."""

    exit_code = 2


@dataclass(frozen=True)
class Metric:
    """A metric as the user named it (``ndcg@10``) and its ir-measures spelling."""

    name: str
    measure: str
    cutoff: int | None


def parse_metric(text: str) -> Metric:
    """``ndcg@10``, ``recall@100``, ``map``, ``P@5``, ``mrr@10`` … → :class:`Metric`."""
    name = text.strip().lower()
    m = _METRIC.match(name)
    if not m:
        raise MetricError(
            f"unknown metric {text!r}; use ndcg@K, recall@K, map, map@K, p@K or mrr[@K]"
        )
    kind, cutoff = m.group(1), m.group(2)
    if kind in _NEEDS_CUTOFF and cutoff is None:
        raise MetricError(f"the metric {text!r} needs a cutoff, e.g. {kind}@100")
    if cutoff is not None and int(cutoff) < 1:
        raise MetricError(f"the cutoff of {text!r} must be at least 1")
    base = _IR_MEASURES_NAME[kind]
    return Metric(
        name=name,
        measure=f"{base}@{int(cutoff)}" if cutoff else base,
        cutoff=int(cutoff) if cutoff else None,
    )


# -- reading queries and judgments -------------------------------------------------


def _lines(path: Path, what: str) -> Iterator[tuple[int, str]]:
    """(line number, line) of a UTF-8 text file of ``what``; a file that cannot be read
    is an :class:`InputError` naming it."""
    try:
        with path.open(encoding="utf-8") as f:
            yield from enumerate(f, start=1)
    except OSError as exc:
        raise InputError(str(path), f"cannot read the {what}: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise InputError(str(path), f"the {what} file is not UTF-8 text") from exc


def read_queries(path: Path) -> dict[str, str]:
    """Query id → text, from BEIR ``queries.jsonl`` or a ``qid<TAB>text`` file."""
    queries: dict[str, str] = {}
    for lineno, line in _lines(path, "queries"):
        stripped = line.strip()
        if not stripped:
            continue
        if stripped.startswith("{"):
            qid, text = _jsonl_query(path, lineno, stripped)
        else:
            parts = line.rstrip("\r\n").split("\t", 1)
            if len(parts) != 2:
                raise InputError(
                    str(path), "expected 'qid<TAB>text' or a JSON object", f"line {lineno}"
                )
            qid, text = parts[0].strip(), parts[1].strip()
        queries[qid] = text
    if not queries:
        raise InputError(str(path), "no queries in the file")
    return queries


def _jsonl_query(path: Path, lineno: int, line: str) -> tuple[str, str]:
    try:
        obj = json.loads(line)
    except ValueError as exc:
        raise InputError(str(path), f"invalid JSON: {exc}", f"line {lineno}") from exc
    if not isinstance(obj, dict) or "_id" not in obj or "text" not in obj:
        raise InputError(str(path), "a query needs '_id' and 'text'", f"line {lineno}")
    return str(obj["_id"]), str(obj["text"])


def read_qrels(path: Path) -> dict[str, dict[str, int]]:
    """Query id → {document id → relevance}, from BEIR or TREC qrels."""
    qrels: dict[str, dict[str, int]] = {}
    for lineno, line in _lines(path, "judgments"):
        cols = line.split()
        if not cols:
            continue
        if len(cols) == 3:
            qid, docid, rel = cols
        elif len(cols) == 4:
            qid, _, docid, rel = cols
        else:
            raise InputError(
                str(path),
                "expected 'query-id corpus-id score' or 'qid 0 docid rel'",
                f"line {lineno}",
            )
        try:
            relevance = int(float(rel))
        except ValueError:
            if lineno == 1:  # the BEIR header: query-id corpus-id score
                continue
            raise InputError(
                str(path), f"relevance {rel!r} is not a number", f"line {lineno}"
            ) from None
        qrels.setdefault(qid, {})[docid] = relevance
    if not qrels:
        raise InputError(str(path), "no judgments in the file")
    return qrels


# -- running and scoring -----------------------------------------------------------


@dataclass
class EvalResult:
    """Mean of each metric over the judged queries, per-query values and the run."""

    metrics: dict[str, float]
    queries: int
    per_query: dict[str, dict[str, float]] = field(default_factory=dict)
    run: dict[str, list[tuple[str, float]]] = field(default_factory=dict)
    #: What the user should know about how the run was ranked (one line each).
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"metrics": dict(self.metrics), "queries": self.queries}


def _ir_measures() -> Any:
    try:
        import ir_measures
    except ImportError as exc:
        raise EvalDependencyError(
            "searchkit eval needs the ir-measures package; install it with: "
            "pip install 'searchkit[eval]'  (or: pip install ir-measures)"
        ) from exc
    return ir_measures


def score_run(
    run: dict[str, list[tuple[str, float]]],
    qrels: dict[str, dict[str, int]],
    metrics: Sequence[Metric],
) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
    """Mean and per-query values of ``metrics`` for ranked lists ``run`` (in rank order).

    Every query in ``run`` counts, an empty ranking as zero. The documents are scored in
    the order given (the scores only break nothing: rank order is what is measured).
    """
    irm = _ir_measures()
    measures = {irm.parse_measure(m.measure): m.name for m in metrics}
    judged = [qid for qid in run if qid in qrels]
    qrel_rows = [
        irm.Qrel(qid, docid, rel) for qid in judged for docid, rel in sorted(qrels[qid].items())
    ]
    scored = [
        irm.ScoredDoc(qid, docid, float(len(run[qid]) - i))
        for qid in judged
        for i, (docid, _) in enumerate(run[qid])
    ]
    per_query: dict[str, dict[str, float]] = {
        qid: dict.fromkeys((m.name for m in metrics), 0.0) for qid in judged
    }
    if scored:
        for row in irm.iter_calc(list(measures), qrel_rows, scored):
            per_query[row.query_id][measures[row.measure]] = float(row.value)
    n = len(judged)
    means = {
        m.name: (sum(v[m.name] for v in per_query.values()) / n if n else 0.0) for m in metrics
    }
    return means, per_query


def evaluate(
    index: SearchIndex,
    queries: dict[str, str],
    qrels: dict[str, dict[str, int]],
    metrics: Sequence[Metric] | None = None,
    *,
    depth: int = DEFAULT_DEPTH,
    expand: bool = False,
    semantic_rank: bool | None = None,
    params: Params = DEFAULT,
    meaning: MeaningProvider | None = None,
) -> EvalResult:
    """Run every judged query against ``index`` and measure the rankings (re-ranked by
    meaning when ``meaning`` is given and the index has sentence vectors, unless
    ``semantic_rank`` is False).
    The ranking is :func:`searchkit.searching.pipeline.rank`'s with ``params`` (``expand``: with
    feedback), exactly what ``search`` gives for the same words.

    Queries are natural language, not search syntax: each is searched as free text
    (:class:`Ranker` with ``natural=True``). A query with no searchable word ranks
    nothing, scores zero, and is named in a note."""
    chosen = list(metrics) if metrics else [parse_metric(m) for m in DEFAULT_METRICS]
    _ir_measures()  # fail before the (slow) run when the library is missing
    cutoffs = [m.cutoff for m in chosen]
    limit = depth if None in cutoffs else max(c for c in cutoffs if c is not None)
    judged = [qid for qid in queries if qid in qrels]
    run: dict[str, list[tuple[str, float]]] = {}
    notes: list[str] = []
    failed: list[str] = []
    chosen_params = replace(params, expand=True) if expand else params
    with Ranker(
        index, params=chosen_params, semantic_rank=semantic_rank, natural=True, meaning=meaning
    ) as ranker:
        for qid in judged:
            run[qid] = ranker.rank(queries[qid], limit=limit)
            if ranker.error is not None:
                failed.append(qid)
        if failed:
            named = ", ".join(failed[:NAMED_FAILURES])
            more = (
                f" and {len(failed) - NAMED_FAILURES} more" if len(failed) > NAMED_FAILURES else ""
            )
            notes.append(
                f"{len(failed)} of {plural(len(judged), 'query', 'queries')} ranked nothing "
                "(no searchable "
                f"words): {named}{more}"
            )
        if ranker.note:
            notes.append(ranker.note)
        if semantic_rank is None and meaning is not None and ranker.words_only:
            notes.append(
                "ranked by words only: the index has no sentence vectors ('searchkit embed' "
                "adds ranking by meaning; see README)"
            )
        if ranker.missing_vectors:
            notes.append(
                f"{plural(ranker.missing_vectors, 'query', 'queries')} had candidates without "
                "a sentence vector "
                "(run 'searchkit embed')"
            )
    means, per_query = score_run(run, qrels, chosen)
    return EvalResult(
        metrics=means, queries=len(judged), per_query=per_query, run=run, notes=tuple(notes)
    )


def write_trec_run(
    run: dict[str, list[tuple[str, float]]], out: IO[str], tag: str = RUN_TAG
) -> None:
    """``qid Q0 docid rank score tag`` lines, in rank order."""
    for qid, ranking in run.items():
        for rank, (docid, score) in enumerate(ranking, start=1):
            out.write(f"{qid} Q0 {docid} {rank} {score:.6f} {tag}\n")


def format_text(result: EvalResult) -> str:
    width = max(len(name) for name in [*result.metrics, "queries"])
    lines = [f"{name:<{width}}  {value:.4f}" for name, value in result.metrics.items()]
    lines.append(f"{'queries':<{width}}  {result.queries}")
    return "\n".join(lines)
