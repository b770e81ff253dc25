"""The data files shipped inside the package (``searchkit/data/``): the stop words, the
British → American spellings, NLM's qualifier abbreviations.

Read through the package's loader (:func:`pkgutil.get_data`), which works where the
package is installed as files or imported from a zip archive, and costs a search
process less than :mod:`importlib.resources`, whose readers load ``zipfile`` and its
dependencies on first use (0.6 against 2.5 ms, BENCHMARKS.md).
"""

from __future__ import annotations

import pkgutil


def packaged_text(name: str) -> str:
    """The UTF-8 text of ``searchkit/data/<name>``."""
    data = pkgutil.get_data("searchkit", f"data/{name}")
    if data is None:  # pragma: no cover - a loader that cannot read data files
        raise FileNotFoundError(f"searchkit's data file {name} cannot be read")
    return data.decode("utf-8")


__all__ = ["packaged_text"]
