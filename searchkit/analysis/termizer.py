"""The index terms of the biomedical analyzer, computed once per distinct written word.

``text_analyzer()`` (``BiomedTokenizer`` → ``BiomedStopFilter`` →
``SnowballStemFilter``) runs its Python per token: splitting compounds, folding
(Unicode normalisation), stop-word checks and stemming. Everything it does to one
written word (a ``_COMPOUND`` match) depends only on that word, except the joined codes
("PD L1", "MHC class I") which look at the previous word. :class:`BiomedTermizer`
therefore works out each distinct matched text once (its final terms and whether it can
head or end a joined code) and keeps it in a cache; per token only the small joined-code
state machine runs. It emits exactly the terms and positions of the analyzer, in the same
order (tests compare the two on real records).
"""

from __future__ import annotations

import re
from itertools import compress, count, repeat
from operator import is_
from typing import Final

from searchkit.analysis.analyzer import (
    _CODE_HEAD,
    _CODE_TAIL,
    _COMPOUND,
    _JOINERS,
    _norm_part,
    catenated,
    joined_code,
    joins,
    stem,
    stopwords,
    sub_codes,
    whole_term,
)

# What one matched text is. A compound: (_COMPOUND_KIND, catenation term or None,
# part terms, the terms of the codes inside it by the part they start at). A plain
# word: (_WORD_KIND, term or None when a stop word, folded text, its term as a code
# tail, is "class", can end a code, can head a code).
_COMPOUND_KIND: Final = 0
_WORD_KIND: Final = 1
_Info = tuple  # one of the two shapes above

# The same pattern without its capture group: ``findall`` then returns whole matches,
# ``split`` the text between them.
_WORDS = re.compile(_COMPOUND.pattern.replace("(?P<tail>", "(?:"))
_FIND_WORDS = _WORDS.findall
_GAPS = _WORDS.split

CACHE_LIMIT = 500_000  # distinct words kept (then the cache restarts)


def _final(text: str) -> bytes:
    """A token text after the stemming filter, as index bytes."""
    return (stem(text) if text.isalpha() else text).encode("utf-8")


#: The term id of a stop word in :meth:`BiomedTermizer.tokens` (a position, no term).
STOP = -1


class BiomedTermizer:
    """Callable mapping a field value to ``{term: [positions]}``, as indexing it with
    ``text_analyzer()`` would (positions in the order the analyzer emits them);
    :meth:`tokens` gives the same terms as ids, in the order emitted."""

    def __init__(self) -> None:
        self._stops = stopwords()
        self._class_term: bytes | None = None if "class" in self._stops else _final("class")
        self._reset()

    def _reset(self) -> None:
        # New objects, not cleared ones: the term ids a caller holds keep their list.
        self._words: dict[str, _Info] = {}
        # The plain words of ``_words`` (see :func:`_is_plain`): word → its term's id,
        # or STOP for a stop word.
        self._plain: dict[str, int] = {}
        self._joined: dict[str, int] = {}
        self._term_ids: dict[bytes, int] = {}
        #: The terms by id (of the ids :meth:`tokens` last gave).
        self.terms: list[bytes] = []

    def _id(self, term: bytes) -> int:
        found = self._term_ids.get(term)
        if found is None:
            found = self._term_ids[term] = len(self.terms)
            self.terms.append(term)
        return found

    def _info(self, matched: str) -> _Info:
        # Matched alone, the text splits into word and tail as it did in the value
        # (the pattern's look-arounds only look inside the match, or at its end).
        found = _COMPOUND.match(matched)
        assert found is not None and found.end() == len(matched)
        tail = found.group("tail")
        word = matched[: len(matched) - len(tail)] if tail else matched
        pieces = [p for p in _JOINERS.split(word) if p]
        term_id = self._id
        if len(pieces) > 1:
            cat = (
                term_id(_final(whole_term("".join(_norm_part(p) for p in pieces))))
                if catenated(pieces)
                else None
            )
            parts = tuple(term_id(_final(_norm_part(p))) for p in pieces)
            subs = {k: term_id(_final(text)) for k, text in sub_codes(pieces).items()}
            return (_COMPOUND_KIND, cat, parts, subs)
        text = whole_term(_norm_part(word))
        part = term_id(_final(text))
        return (
            _WORD_KIND,
            None if text in self._stops else part,
            text,
            part,
            word.lower() == "class",
            _CODE_TAIL.fullmatch(word) is not None,
            not tail and _CODE_HEAD.fullmatch(word) is not None,
        )

    def _joined_term(self, text: str) -> int:
        term = self._joined.get(text)
        if term is None:
            term = self._joined[text] = self._id(_final(text))
        return term

    def __call__(self, value: str) -> dict[bytes, list[int]]:
        ids, places = self.tokens(value)
        terms = self.terms
        positions: dict[bytes, list[int]] = {}
        for term, pos in zip(ids, range(len(ids)) if places is None else places, strict=True):
            if term != STOP:
                _append(positions, terms[term], pos)
        return positions

    def tokens(self, value: str) -> tuple[list[int], list[int] | None]:
        """The terms of ``value`` in the order the analyzer emits them, as ids in
        :attr:`terms` (read it after the call: it is a new list when the caches
        restart), each with its position: ``(ids, positions)``, where ``positions`` is
        ``None`` when the positions are ``0, 1, 2, ...``; the id ``STOP`` stands for a
        stop word (it takes its position but is no term).

        Most words are plain (one term, or a stop word, at their own position, and no
        part of a joined code): their ids come from the cache in one ``map``, and only
        the other words (compounds, code heads and tails, "class", words not seen
        before) go through the per-word steps."""
        if len(self._words) > CACHE_LIMIT:
            self._reset()
        words = self._words
        plain = self._plain
        found = _FIND_WORDS(value)
        cached = list(map(plain.get, found))
        if None not in cached:
            return cached, None  # type: ignore[return-value]
        ids: list[int] = []
        places: list[int] = []
        emit_id = ids.append
        emit_place = places.append
        pos = 0
        done = 0  # the words before this one are emitted
        head: tuple[str, int] | None = None  # (folded text, position) of a code head
        between_class = False  # only ever True while ``head`` is set
        # The text before each word, as far as a code has needed it (the last piece is
        # the rest of the value): most values never need it.
        gaps: list[str] = []
        for index in compress(count(), map(is_, cached, repeat(None))):
            if index > done:
                # Plain words: each its term (STOP for a stop word) at its position; a
                # plain word also ends any code being joined.
                ids += cached[done:index]  # type: ignore[arg-type]
                places += range(pos, pos + index - done)
                pos += index - done
                head, between_class = None, False
            done = index + 1
            matched = found[index]
            info = words.get(matched)
            if info is None:
                info = words[matched] = self._info(matched)
                if _is_plain(info):
                    plain[matched] = STOP if info[1] is None else info[1]
            if info[0] == _COMPOUND_KIND:
                _, cat, parts, subs = info
                if cat is not None:
                    emit_id(cat)
                    emit_place(pos)
                for k, part in enumerate(parts):
                    if subs and k in subs:
                        emit_id(subs[k])
                        emit_place(pos)
                    emit_id(part)
                    emit_place(pos)
                    pos += 1
                head, between_class = None, False
                continue
            _, term, text, part, is_class, is_tail, is_head = info
            if head is not None and (is_class or is_tail):
                if index >= len(gaps) - 1:
                    gaps = _GAPS(value, index + 1)
                if not joins(gaps[index]):
                    head, between_class = None, False
            if head is not None:
                if is_class and not between_class:
                    between_class = True
                    if self._class_term is not None:
                        emit_id(self._id(self._class_term))
                        emit_place(pos)
                    pos += 1
                    continue
                if is_tail:
                    emit_id(self._joined_term(joined_code(head[0], gaps[index], text)))
                    emit_place(head[1])
                    emit_id(part)
                    emit_place(pos)
                    pos += 1
                    head, between_class = None, False
                    continue
            if term is not None:
                emit_id(term)
                emit_place(pos)
            head = (text, pos) if is_head else None
            between_class = False
            pos += 1
        if done < len(found):
            ids += cached[done:]  # type: ignore[arg-type]
            places += range(pos, pos + len(found) - done)
        return ids, places


def _is_plain(info: _Info) -> bool:
    """A whole word that is not "class", a code tail or a code head: it never takes part
    in a joined code, so it stands for its term (or nothing) at its own position."""
    return info[0] == _WORD_KIND and not (info[4] or info[5] or info[6])


def _append(positions: dict[bytes, list[int]], term: bytes, pos: int) -> None:
    plist = positions.get(term)
    if plist is None:
        positions[term] = [pos]
    else:
        plist.append(pos)


__all__ = ["BiomedTermizer"]
