"""British spellings folded to American ones, so that ``tumour`` and ``tumor`` are one term.

A word is looked up in the shipped table (``data/uk_us_spellings.txt``: some 1,700
British/American pairs, inflections included); a word the table lacks is folded by a few
rules for the patterns of medical British spelling, each written so that ordinary words
that merely look British stay as they are (``promise``, ``toe``, ``aerobic``):

* ``ae`` and ``oe`` in the Greek and Latin stems of medicine (``haem``, ``-aemia``,
  ``paed``, ``oedem``, ``oesophag``, ``-rrhoea``, ``-pnoea`` …), by stem, never alone;
* ``-ise``, ``-ised``, ``-ising``, ``-isation`` … after a stem of at least
  :data:`MIN_ISE_STEM` letters, except the words that American English also writes with
  ``-ise`` (``exercise``, ``supervise``, ``improvisation``: :data:`ISE_WORDS`);
* ``-our`` words (``tumourigenesis``) through the table's own ``-our`` stems.

The same function runs at index and query time (in the text analyzer), so the folding
is invisible except that both spellings find the same records.
"""

from __future__ import annotations

import re
from functools import lru_cache

from searchkit.packaged import packaged_text

#: (British fragment, American fragment): the stems of medical words whose British
#: spelling keeps the ``ae``/``oe`` digraph. A fragment is replaced wherever it occurs.
STEM_RULES: tuple[tuple[str, str], ...] = (
    ("haem", "hem"),  # haemoglobin, haematoma, haemorrhage, haemolysis
    ("aemia", "emia"),  # anaemia, leukaemia, ischaemia, septicaemia, hypoglycaemia
    ("aemic", "emic"),  # ischaemic, glycaemic, leukaemic
    ("anaesth", "anesth"),  # anaesthesia, anaesthetist
    ("paed", "ped"),  # paediatric, orthopaedic, paedophilia
    ("gynaec", "gynec"),
    ("aetiol", "etiol"),
    ("caec", "cec"),  # caecum, caecal
    ("faec", "fec"),  # faeces, faecal
    ("caesar", "cesar"),
    ("palaeo", "paleo"),
    ("pnoea", "pnea"),  # dyspnoea, apnoea, tachypnoea
    ("rrhoea", "rrhea"),  # diarrhoea, amenorrhoea, gonorrhoea
    ("manoeuv", "maneuv"),
    # Only at the start of a word: American "gastroesophageal", "phytoestrogen",
    # "proestrus" hold the same letters across a prefix.
    ("^oedem", "edem"),  # oedema, oedematous
    ("^oesophag", "esophag"),
    ("^oestr", "estr"),  # oestrogen, oestradiol
    ("^foet", "fet"),  # foetus, foetal
    ("^coeli", "celi"),  # coeliac
    ("^homoeo", "homeo"),
)
_STEM_RULE = re.compile("|".join(british for british, _ in STEM_RULES))
_STEM_TO_US = {british.lstrip("^"): us for british, us in STEM_RULES}

#: The shortest stem before ``-ise``/``-isation`` that is folded (``rise``, ``noise``,
#: ``raise`` are not).
MIN_ISE_STEM = 4
_ISE = re.compile(r"(?P<stem>[a-z]+)is(?P<end>e|es|ed|ing|er|ers|ation|ations|ational)")
#: Stems of words that American English writes with ``-ise`` too (a stem here, or a word
#: ending in one, is never folded): exercise, supervise, improvisation …
ISE_WORDS = frozenset(
    {
        "absc", "adv", "advert", "ambro", "appr", "appra", "chast", "chem", "circumc",
        "comprom", "compr", "conc", "desp", "dev", "disgu", "enterpr", "exc", "exerc", "exorc",
        "expert", "franca", "franch", "improv", "inc", "mala", "merchand", "mort", "no",
        "parad", "ponto", "porpo", "prec", "prem", "prom", "repr", "rev", "sunr", "surm",
        "surpr", "superv", "telev", "torto", "treat", "we",
    }
)  # fmt: skip


#: A comment line of the shipped table.
_COMMENT = re.compile(r"^#.*$", re.MULTILINE)


@lru_cache(maxsize=1)
def table() -> dict[str, str]:
    """The shipped British → American table."""
    # Split in C: a line at a time in Python was 0.8 ms of each search process. Each
    # line is one pair (tests/test_spelling.py checks the file).
    words = _COMMENT.sub("", packaged_text("uk_us_spellings.txt")).split()
    return dict(zip(words[::2], words[1::2], strict=True))


def _ise_exception(stem: str) -> bool:
    """``-wise`` words (otherwise, clockwise), and stems of :data:`ISE_WORDS` or words
    ending in one (imprecise, unsupervised, denoised, malaise, German ``-weise``)."""
    return stem.endswith("w") or any(stem.endswith(w) for w in ISE_WORDS)


@lru_cache(maxsize=200_000)
def american(word: str) -> str:
    """The American spelling of a lower-case word (the word itself when it has none)."""
    found = table().get(word)
    if found is not None:
        return found
    if not word.isalpha() or not word.isascii():
        return word
    folded = _STEM_RULE.sub(lambda m: _STEM_TO_US[m.group()], word)
    ise = _ISE.fullmatch(folded)
    if ise and len(ise["stem"]) >= MIN_ISE_STEM and not _ise_exception(ise["stem"]):
        folded = f"{ise['stem']}iz{ise['end']}"
    if "our" in folded:
        folded = _our(folded)
    return folded


@lru_cache(maxsize=1)
def _head_changing() -> frozenset[str]:
    """The table's British words whose American spelling begins with other letters
    (``aeroplane``, ``gaols``, ``haemoglobin``: 71 of the table's)."""
    return frozenset(b for b, us in table().items() if b[:2] != us[:2])


def keeps_head(word: str) -> bool:
    """Whether :func:`american` certainly leaves the first two characters of the
    lower-case ``word`` as they are, told without folding it (snippets ask this of
    every new word of the hits they show). Only the table and the stem rules change a word's start:
    each stem rule drops the ``a`` or ``o`` of an ``ae`` or ``oe`` (``haem`` →
    ``hem``), which moves the second character only when the pair begins in the
    first two; ``-ise`` is folded after a stem of :data:`MIN_ISE_STEM` letters and
    ``-our`` after a table stem of six (``tests/test_spelling.py`` checks every rule
    and table word, and the words of the bundled records)."""
    start = word[:3]
    return "ae" not in start and "oe" not in start and word not in _head_changing()


@lru_cache(maxsize=1)
def _our_stems() -> tuple[tuple[str, str], ...]:
    """``-our`` stems of the table (``tumour`` → ``tumor``), longest first."""
    stems = {
        b: u
        for b, u in table().items()
        if b.endswith("our") and u.endswith("or") and b[:-3] == u[:-2] and len(b) >= 6
    }
    return tuple(sorted(stems.items(), key=lambda p: -len(p[0])))


def _our(word: str) -> str:
    """A derived ``-our`` word the table lacks (``tumourigenesis``, ``behavioural``)."""
    for british, us in _our_stems():
        if word.startswith(british):
            return us + word[len(british) :]
    return word


__all__ = ["american", "keeps_head", "table"]
