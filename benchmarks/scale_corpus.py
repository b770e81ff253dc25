"""A synthetic corpus of any size (up to millions of records) whose vocabulary keeps
growing the way real PubMed text does.

    python benchmarks/scale_corpus.py fit                      # Heaps' law of the real records
    python benchmarks/scale_corpus.py generate 1000000 out.jsonl [--seed 0]
    python benchmarks/scale_corpus.py check out.jsonl          # the vocabulary it really has

The real records are every record of the bundled sample (``data/``) and of the shared
real data (PubMed XML, MEDLINE, the Abstract-text export, SciFact's corpus), read with
searchkit's own readers and deduplicated by id: about 7,500 records.

**Heaps' law.** Words are the lower-cased runs of letters and digits of title and
abstract (``TOKEN`` below). Streaming the real records in a seeded shuffled order and
counting distinct words ``V`` after ``n`` words gives points that ``V = K * n**beta``
fits by least squares in log-log (points from 10,000 words on).

**Generation.** Each record takes the metadata of a real record (authors, journal,
year, MeSH, keywords, publication types; DOI and PMCID dropped, PMID fresh:
``SCALE_PMID_BASE + i``), a real title and as many real abstract sentences, drawn at
random from all real abstracts, as its donor's abstract has. Recombined real sentences
alone stop adding words once every real word has been drawn, so after each record the
generator compares the distinct words emitted so far with ``K * n**beta`` at the words
emitted so far (from ``FIT_FROM_WORDS`` on, where the law was fitted), and mints the
shortfall: new pseudo-words (consonant-vowel syllables
spelling a permuted counter, with a Latin-looking ending, never a real word) that replace words
of the abstract. Each minted word is also repeated once at a random earlier-minted
word with probability ``REUSE`` (skewed towards early ones), so rare words are not all
hapaxes. The vocabulary is tracked by construction (a set of the real words, bounded
by the real corpus, plus a counter of minted ones), so memory does not grow with the
output, which is streamed as JSON Lines of searchkit records (what ``searchkit
ingest`` reads). Everything is drawn from one ``random.Random(seed)``: the same seed
gives the same file.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import re
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

sys.path.insert(0, str(Path(__file__).resolve().parent))

from paths import repo_root, shared_data_dir

from searchkit import Record
from searchkit.readers import iter_files, read_file

TOKEN = re.compile(r"[^\W_]+")
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z(\[])")
SCALE_PMID_BASE = 60_000_000
FIT_FROM_WORDS = 10_000  # Heaps' law is fitted on the points from here on
REUSE = 0.5  # chance that a minted word also brings back an earlier minted one
_CONSONANTS = "bcdfgklmnprstvz"
_VOWELS = "aeiou"
_SYLLABLES = [c + v for c in _CONSONANTS for v in _VOWELS]
_ENDINGS = ("in", "ium", "ix", "ul", "ur", "id")


def real_sources(data: Path | None = None) -> list[Path]:
    shared = data or shared_data_dir()
    return [
        repo_root() / "data",
        shared / "pubmed_xml",
        shared / "medline",
        shared / "pubmed_abstract_text",
        shared / "beir" / "scifact" / "corpus.jsonl",
    ]


def real_records(data: Path | None = None) -> list[Record]:
    """Every real record, first occurrence of each id, in file order."""
    records: list[Record] = []
    seen: set[str] = set()
    for path in iter_files(real_sources(data)):
        for item in read_file(path):
            if isinstance(item, Record) and item.pmid not in seen:
                seen.add(item.pmid)
                records.append(item)
    return records


def words(text: str | None) -> list[str]:
    return TOKEN.findall(text.lower()) if text else []


@dataclass(frozen=True)
class Heaps:
    k: float
    beta: float
    words: int  # real words the fit was made on
    vocabulary: int  # their distinct words
    points: tuple[tuple[int, int], ...]

    def __call__(self, n: float) -> float:
        return self.k * n**self.beta


def growth(texts: Iterator[list[str]], points: int = 60) -> tuple[list[tuple[int, int]], int]:
    """(words so far, distinct words so far) at log-spaced points, and the total."""
    seen: set[str] = set()
    n = 0
    out: list[tuple[int, int]] = []
    mark = 1000.0
    step = 10 ** (1 / (points / 6))  # ``points`` over six decades
    for tokens in texts:
        for w in tokens:
            n += 1
            seen.add(w)
            if n >= mark:
                out.append((n, len(seen)))
                while mark <= n:
                    mark *= step
    out.append((n, len(seen)))
    return out, n


def fit_heaps(records: list[Record], seed: int = 0) -> Heaps:
    order = list(range(len(records)))
    random.Random(seed).shuffle(order)
    texts = (words(records[i].title) + words(records[i].abstract) for i in order)
    points, total = growth(texts)
    used = [(n, v) for n, v in points if n >= FIT_FROM_WORDS]
    xs = [math.log(n) for n, _ in used]
    ys = [math.log(v) for _, v in used]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    beta = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sum(
        (x - mx) ** 2 for x in xs
    )
    k = math.exp(my - beta * mx)
    return Heaps(k, beta, total, points[-1][1], tuple(points))


_MINT_SPACE = len(_SYLLABLES) ** 4  # four syllables; counters beyond add syllables in front
_MINT_STRIDE = 7919  # prime, so ``i * stride`` runs through the whole space: spread initials


def minted_word(i: int) -> str:
    """The ``i``-th minted word: four consonant-vowel syllables spelling a permutation of
    ``i`` (more in front past 75**4), then an ending that starts with a vowel, so that no
    two counters give the same word."""
    high, low = divmod(i, _MINT_SPACE)
    low = (low * _MINT_STRIDE) % _MINT_SPACE
    parts: list[str] = []
    for _ in range(4):
        low, digit = divmod(low, len(_SYLLABLES))
        parts.append(_SYLLABLES[digit])
    while high:
        high, digit = divmod(high, len(_SYLLABLES))
        parts.append(_SYLLABLES[digit])
    return "".join(reversed(parts)) + _ENDINGS[i % len(_ENDINGS)]


@dataclass
class Progress:
    records: int = 0
    words: int = 0
    real_vocabulary: int = 0
    minted: int = 0

    @property
    def vocabulary(self) -> int:
        return self.real_vocabulary + self.minted


class Generator:
    """Streams ``count`` synthetic records; ``progress`` is kept up to date."""

    def __init__(self, records: list[Record], heaps: Heaps, seed: int = 0) -> None:
        self.heaps = heaps
        self.rng = random.Random(seed)
        self.sentences: list[str] = []
        self.sentence_words: list[list[str] | None] = []
        self.donors: list[tuple[dict[str, Any], int]] = []
        for record in records:
            parts = _SENTENCE.split(record.abstract.strip()) if record.abstract else []
            self.sentences.extend(parts)
            meta = record.to_dict()
            for key in ("pmid", "title", "abstract", "doi", "pmcid"):
                meta.pop(key, None)
            self.donors.append((meta, len(parts)))
        self.sentence_words = [None] * len(self.sentences)
        self.titles = [r.title for r in records if r.title]
        self.title_words: list[list[str] | None] = [None] * len(self.titles)
        self.real_vocabulary = {w for r in records for w in words(r.title) + words(r.abstract)}
        self.seen: set[str] = set()
        self.progress = Progress()
        self._next_mint = 0

    def _count(self, cache: list[list[str] | None], texts: list[str], i: int) -> int:
        tokens = cache[i]
        if tokens is None:  # first draw of this text: its words join the vocabulary
            tokens = words(texts[i])
            cache[i] = tokens
            self.seen.update(tokens)
        return len(tokens)

    def _mint(self) -> str:
        while True:
            word = minted_word(self._next_mint)
            self._next_mint += 1
            if word not in self.real_vocabulary:
                self.progress.minted += 1
                return word

    def _earlier_minted(self) -> str:
        # Skewed towards early minted words: a few of them recur often, most rarely.
        return minted_word(int(self._next_mint * self.rng.random() ** 3))

    def records(self, count: int) -> Iterator[dict[str, Any]]:
        rng, p = self.rng, self.progress
        for i in range(count):
            meta, size = self.donors[rng.randrange(len(self.donors))]
            t = rng.randrange(len(self.titles))
            n_words = self._count(self.title_words, self.titles, t)
            picks = [rng.randrange(len(self.sentences)) for _ in range(size)]
            for s in picks:
                n_words += self._count(self.sentence_words, self.sentences, s)
            abstract = " ".join(self.sentences[s] for s in picks)
            p.words += n_words
            p.real_vocabulary = len(self.seen)
            short = int(self.heaps(p.words)) - p.vocabulary
            if short > 0 and abstract and p.words >= FIT_FROM_WORDS:
                tokens = abstract.split(" ")
                for _ in range(short):
                    new = [self._mint()]
                    if self._next_mint > 1 and rng.random() < REUSE:
                        new.append(self._earlier_minted())
                    for word in new:
                        j = rng.randrange(len(tokens))
                        tail = tokens[j][-1:] if tokens[j][-1:] in ".,;:)" else ""
                        tokens[j] = word + tail
                abstract = " ".join(tokens)
            p.records += 1
            yield {
                **meta,
                "pmid": str(SCALE_PMID_BASE + i),
                "title": self.titles[t],
                "abstract": abstract or None,
            }


def generate(
    count: int,
    out: TextIO,
    seed: int = 0,
    *,
    records: list[Record] | None = None,
    heaps: Heaps | None = None,
    checkpoints: tuple[int, ...] = (),
) -> tuple[Heaps, Progress, list[Progress]]:
    """Write ``count`` records to ``out``; the fit, the final counts and the counts at
    each of ``checkpoints`` (numbers of records)."""
    records = records if records is not None else real_records()
    heaps = heaps or fit_heaps(records, seed)
    gen = Generator(records, heaps, seed)
    marks = set(checkpoints)
    seen_at: list[Progress] = []
    dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    for record in gen.records(count):
        out.write(dumps(record))
        out.write("\n")
        if gen.progress.records in marks:
            seen_at.append(Progress(**vars(gen.progress)))
    return heaps, gen.progress, seen_at


def check(path: Path, heaps: Heaps | None = None) -> list[tuple[int, int, int]]:
    """Re-read a generated file and count its words independently of the generator:
    (records, words, distinct words) at log-spaced points and at the end."""
    seen: set[str] = set()
    n = records = 0
    out: list[tuple[int, int, int]] = []
    mark = 1000
    with path.open(encoding="utf-8") as f:
        for line in f:
            doc = json.loads(line)
            for w in words(doc.get("title")) + words(doc.get("abstract")):
                n += 1
                seen.add(w)
            records += 1
            if records >= mark:
                out.append((records, n, len(seen)))
                mark *= 10
    if not out or out[-1][0] != records:
        out.append((records, n, len(seen)))
    return out


def _report_fit(heaps: Heaps, say: Any = print) -> None:
    say(
        f"Heaps' law on the real records: K = {heaps.k:.2f}, beta = {heaps.beta:.4f} "
        f"(fitted on {heaps.words:,} words, {heaps.vocabulary:,} distinct)"
    )
    worst = max(abs(v / heaps(n) - 1) for n, v in heaps.points if n >= FIT_FROM_WORDS)
    say(f"largest deviation of a real point from the curve: {worst:.1%}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, help="the shared real-data folder")
    ap.add_argument("--seed", type=int, default=0)
    sub = ap.add_subparsers(dest="command", required=True)
    sub.add_parser("fit", help="fit Heaps' law on the real records")
    g = sub.add_parser("generate", help="write COUNT records as JSON Lines")
    g.add_argument("count", type=int)
    g.add_argument("out", type=Path, help="output file ('-' for stdout)")
    c = sub.add_parser("check", help="count the words of a generated file")
    c.add_argument("file", type=Path)
    args = ap.parse_args(argv)
    started = time.perf_counter()
    to_stdout = args.command == "generate" and str(args.out) == "-"

    def say(*parts: object) -> None:
        print(*parts, file=sys.stderr if to_stdout else sys.stdout)

    records = real_records(args.data)
    heaps = fit_heaps(records, args.seed)
    _report_fit(heaps, say)
    if args.command == "generate":
        marks = tuple(m for m in (10**e for e in range(3, 8)) if m <= args.count)
        with sys.stdout if to_stdout else args.out.open("w", encoding="utf-8") as out:
            t0 = time.perf_counter()
            _, final, at = generate(
                args.count, out, args.seed, records=records, heaps=heaps, checkpoints=marks
            )
        seconds = time.perf_counter() - t0
        say(
            f"{final.records:,} records in {seconds:.1f} s "
            f"({final.records / max(seconds, 1e-9):,.0f}/s; real records read and fitted "
            f"in {t0 - started:.1f} s)",
        )
        say("| records | words | distinct words | K*n^beta | ratio | minted |")
        say("|---:|---:|---:|---:|---:|---:|")
        for p in [*at, *([final] if not at or at[-1].records != final.records else [])]:
            expected = heaps(p.words)
            say(
                f"| {p.records:,} | {p.words:,} | {p.vocabulary:,} | {expected:,.0f} "
                f"| {p.vocabulary / expected:.3f} | {p.minted:,} |"
            )
    elif args.command == "check":
        print("| records | words | distinct words (re-counted) | K*n^beta | ratio |")
        print("|---:|---:|---:|---:|---:|")
        for n_records, n, v in check(args.file):
            print(f"| {n_records:,} | {n:,} | {v:,} | {heaps(n):,.0f} | {v / heaps(n):.3f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
