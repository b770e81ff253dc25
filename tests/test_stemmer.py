"""The stemmer loaded without the rest of NLTK (nor the ``regex`` package its Arabic
stemmer uses) is NLTK's, and leaves NLTK importable."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from .conftest import SAMPLE_DIR

_CHECK = textwrap.dedent(
    """
    import re, sys
    from pathlib import Path
    from searchkit.analysis.stemmer import english_stemmer_class
    isolated = english_stemmer_class()()
    assert "nltk" not in sys.modules, "the stand-in packages were left behind"
    assert "regex" not in sys.modules, "nltk.redos was imported, not deferred"
    from nltk.stem.snowball import EnglishStemmer
    assert type(isolated) is not EnglishStemmer  # two loads of the same code
    words = set()
    for path in Path(sys.argv[1]).rglob("*"):
        if path.is_file():
            words.update(re.findall(r"[a-z]+", path.read_text("utf-8", "replace").lower()))
    assert len(words) > 5000, len(words)
    real = EnglishStemmer()
    for word in words | {"generously", "skies", "dying", "news", "proceeding", "'s"}:
        assert isolated.stem(word) == real.stem(word), word
    import nltk
    assert hasattr(nltk, "word_tokenize")  # the real package, imported afterwards
    # The isolated module's other stemmers use the deferred redos's patterns.
    from nltk.stem.snowball import ArabicStemmer
    loaded = type(isolated).stem.__globals__
    for word in ("الكتاب", "والمكتبات", "يكتبون"):
        assert loaded["ArabicStemmer"]().stem(word) == ArabicStemmer().stem(word), word
    """
)


@pytest.mark.slow
def test_isolated_stemmer_gives_nltks_stems() -> None:
    result = subprocess.run(
        [sys.executable, "-c", _CHECK, str(SAMPLE_DIR)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
