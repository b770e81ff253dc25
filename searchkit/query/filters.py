"""PubMed's filters (``english[Filter]``, ``review[Filter]``, ``fha[Filter]``,
``y_5[Filter]``): what each stands for in the records searchkit stores.

PubMed writes the filters chosen in its sidebar into the search's details and history
as ``[Filter]`` terms, so a strategy copied from PubMed holds them. Those that are
plain searches of stored data are read as those searches, as PubMed defines them:

* languages (``english[Filter]``): the language, as ``english[la]``;
* article types (``review[Filter]``, ``randomizedcontrolledtrial[Filter]``): the
  publication type whose name, without spaces and punctuation, is the filter's name,
  as ``review[pt]`` (records from older exports carry a type's former name:
  "Evaluation Studies" for "Evaluation Study", both match);
* species and sex (``humans[Filter]``, ``female[Filter]``, ``male[Filter]``): the MeSH
  heading, as ``humans[mh]`` (none of the three has narrower headings);
* text availability "Abstract" (``fha[Filter]``, or the term ``hasabstract``): records
  with an abstract;
* publication date "1, 5 or 10 years" (``y_5[Filter]``): published on or after the
  same day that many years ago.

Filters that are NLM search strategies or need data the records do not hold
(:data:`UNSUPPORTED_FILTERS`) are refused with the reason, never approximated.
"""

from __future__ import annotations

import calendar
import datetime
import re
from typing import NamedTuple

from searchkit.query.tags import FILTER_KEY

# [lang] and the language filters accept the language names PubMed uses as well as
# the codes the records store (MEDLINE's three-letter codes).
LANGUAGE_CODES: dict[str, str] = {
    "afrikaans": "afr",
    "albanian": "alb",
    "arabic": "ara",
    "armenian": "arm",
    "azerbaijani": "aze",
    "bosnian": "bos",
    "bulgarian": "bul",
    "catalan": "cat",
    "chinese": "chi",
    "croatian": "hrv",
    "czech": "cze",
    "danish": "dan",
    "dutch": "dut",
    "english": "eng",
    "esperanto": "epo",
    "estonian": "est",
    "finnish": "fin",
    "french": "fre",
    "georgian": "geo",
    "german": "ger",
    "greek": "gre",
    "hebrew": "heb",
    "hindi": "hin",
    "hungarian": "hun",
    "icelandic": "ice",
    "indonesian": "ind",
    "italian": "ita",
    "japanese": "jpn",
    "korean": "kor",
    "latin": "lat",
    "latvian": "lav",
    "lithuanian": "lit",
    "macedonian": "mac",
    "malay": "may",
    "norwegian": "nor",
    "persian": "per",
    "polish": "pol",
    "portuguese": "por",
    "romanian": "rum",
    "russian": "rus",
    "serbian": "srp",
    "slovak": "slo",
    "slovenian": "slv",
    "spanish": "spa",
    "swedish": "swe",
    "thai": "tha",
    "turkish": "tur",
    "ukrainian": "ukr",
    "vietnamese": "vie",
    "welsh": "wel",
}

#: NLM's publication types that the article-type filters name (the filter's name is the
#: type's, lower case, without spaces and punctuation), each with the former names
#: records from older exports still carry.
PUBLICATION_TYPES: dict[str, tuple[str, ...]] = {
    name: (name, *former)
    for name, *former in (
        ("Adaptive Clinical Trial",),
        ("Address", "Addresses"),
        ("Autobiography",),
        ("Bibliography",),
        ("Biography",),
        ("Case Reports",),
        ("Classical Article",),
        ("Clinical Conference",),
        ("Clinical Study",),
        ("Clinical Trial",),
        ("Clinical Trial Protocol",),
        ("Clinical Trial, Phase I",),
        ("Clinical Trial, Phase II",),
        ("Clinical Trial, Phase III",),
        ("Clinical Trial, Phase IV",),
        ("Clinical Trial, Veterinary",),
        ("Comment",),
        ("Comparative Study",),
        ("Congress", "Congresses"),
        ("Consensus Development Conference",),
        ("Consensus Development Conference, NIH",),
        ("Controlled Clinical Trial",),
        ("Corrected and Republished Article",),
        ("Dataset",),
        ("Dictionary",),
        ("Directory",),
        ("Duplicate Publication",),
        ("Editorial",),
        ("English Abstract",),
        ("Equivalence Trial",),
        ("Evaluation Study", "Evaluation Studies"),
        ("Expression of Concern",),
        ("Festschrift",),
        ("Government Publication", "Government Publications"),
        ("Guideline",),
        ("Historical Article",),
        ("Interactive Tutorial",),
        ("Interview",),
        ("Introductory Journal Article",),
        ("Journal Article",),
        ("Lecture", "Lectures"),
        ("Legal Case",),
        ("Legislation",),
        ("Letter",),
        ("Meta-Analysis",),
        ("Multicenter Study",),
        ("Network Meta-Analysis",),
        ("News",),
        ("Newspaper Article",),
        ("Observational Study",),
        ("Observational Study, Veterinary",),
        ("Overall",),
        ("Patient Education Handout",),
        ("Periodical Index",),
        ("Personal Narrative", "Personal Narratives"),
        ("Portrait", "Portraits"),
        ("Practice Guideline",),
        ("Pragmatic Clinical Trial",),
        ("Preprint",),
        ("Published Erratum",),
        ("Randomized Controlled Trial",),
        ("Randomized Controlled Trial, Veterinary",),
        ("Research Support, American Recovery and Reinvestment Act",),
        ("Research Support, N.I.H., Extramural",),
        ("Research Support, N.I.H., Intramural",),
        ("Research Support, Non-U.S. Gov't",),
        ("Research Support, U.S. Gov't, Non-P.H.S.",),
        ("Research Support, U.S. Gov't, P.H.S.",),
        ("Retracted Publication",),
        ("Retraction of Publication",),
        ("Review",),
        ("Scientific Integrity Review",),
        ("Scoping Review",),
        ("Systematic Review",),
        ("Technical Report",),
        ("Twin Study", "Twin Studies"),
        ("Validation Study", "Validation Studies"),
        ("Video-Audio Media",),
        ("Webcast",),
    )
}

#: The species and sex filters: MeSH headings without narrower headings.
HEADINGS = ("humans", "female", "male")

#: The publication date filters PubMed's sidebar offers: ``y_N`` for the last N years
#: (any N from 1 to :data:`MAX_YEARS` is read the same way).
RECENT_YEARS = (1, 5, 10)
MAX_YEARS = 200

#: Filters that cannot be searched here, with the reason (the query is refused).
UNSUPPORTED_FILTERS: dict[str, str] = {
    "ffrft": "whether free full text exists is not in the records",
    "free full text": "whether free full text exists is not in the records",
    "fft": "whether full text exists is not in the records",
    "full text": "whether full text exists is not in the records",
    "systematicreview": "PubMed's systematic review filter is an NLM search strategy "
    "(systematic[sb]) that is not shipped; search systematic review[pt]",
    "booksdocs": "books and documents are not told apart from articles in the index",
    "animal": "PubMed's Other Animals filter is an NLM search strategy that is not shipped; "
    "search animals[mh] NOT humans[mh]",
    **dict.fromkeys(
        (
            "newborn",
            "infant",
            "allinfant",
            "preschoolchild",
            "child",
            "allchild",
            "adolescent",
            "alladult",
            "youngadult",
            "adult",
            "middleaged",
            "middleagedaged",
            "aged",
            "80andover",
        ),
        "PubMed's age filters are NLM search strategies over the MeSH age groups that are "
        "not shipped; search the age group's heading, such as aged[mh]",
    ),
}

#: What the error for an unknown filter lists.
KNOWN = (
    "languages such as english[Filter], article types such as review[Filter], fha[Filter], "
    + ", ".join(f"{h}[Filter]" for h in HEADINGS)
    + ", "
    + ", ".join(f"y_{n}[Filter]" for n in RECENT_YEARS)
)


def _squeezed(name: str) -> str:
    """A name as a filter writes it: lower case, letters and digits only."""
    return re.sub(r"[^a-z0-9]", "", name.lower())


_BY_FILTER_NAME = {_squeezed(name): names for name, names in PUBLICATION_TYPES.items()}
#: The language codes (with MEDLINE's "und", undetermined).
_LANGUAGE_CODE_SET = frozenset({*LANGUAGE_CODES.values(), "und"})
#: Each name of a type, current or former, squeezed → all the type's names.
_BY_ANY_NAME = {_squeezed(n): names for names in PUBLICATION_TYPES.values() for n in names}
_RECENT = re.compile(r"^y_(\d+)$")


def names_value(key: str, text: str) -> bool:
    """Whether ``text`` is a whole value of ``key``'s closed vocabulary: an NLM
    publication type (current or former name; case, spaces and punctuation ignored), a
    language (name or code) or a PubMed filter (:func:`resolve`; one that cannot be
    searched here names a filter too, refused as it). Journals are an open vocabulary:
    False."""
    if key == "pubtype":
        return _squeezed(text) in _BY_ANY_NAME
    if key == "language":
        word = " ".join(text.lower().split())
        return word in LANGUAGE_CODES or word in _LANGUAGE_CODE_SET
    if key == FILTER_KEY:
        try:
            resolve(text)
        except UnknownFilter:
            return False
        except UnsupportedFilter:
            pass  # a filter all the same, refused as one
        return True
    return False


def publication_type_names(value: str) -> tuple[str, ...]:
    """The names to search for the publication type ``value``: every name of a type
    NLM renamed (``Evaluation Study`` and ``Evaluation Studies``, whichever is written:
    records from older exports carry the former), else ``value`` alone."""
    names = _BY_ANY_NAME.get(_squeezed(value))
    return names if names is not None and len(names) > 1 else (value,)


class UnknownFilter(ValueError):
    """A name that is no filter searchkit knows."""


class UnsupportedFilter(ValueError):
    """A PubMed filter that cannot be searched here (the reason is the message)."""


class Filter(NamedTuple):
    """What a filter stands for: a field key of the query language and the values
    searched there (any of them), or records published since ``since``, or records
    with an abstract."""

    key: str | None = None
    values: tuple[str, ...] = ()
    since: datetime.date | None = None
    abstract: bool = False


def years_ago(years: int, today: datetime.date) -> datetime.date:
    """The same day ``years`` years before ``today`` (28 February for a leap day)."""
    return months_ago(12 * years, today)


def months_ago(months: int, today: datetime.date) -> datetime.date:
    """The same day ``months`` months before ``today``, or the last day of that month
    when it is shorter (31 March → 28 or 29 February)."""
    index = today.year * 12 + today.month - 1 - months
    year, month = divmod(index, 12)
    month += 1
    return datetime.date(year, month, min(today.day, calendar.monthrange(year, month)[1]))


_RELATIVE = re.compile(r"^last\s+(\d{1,5})\s+(day|month|year)s?$")


def relative_start(text: str, today: datetime.date | None = None) -> datetime.date | None:
    """The first day of PubMed's relative date ``text`` ("last 5 years", "last 30
    days", "last 6 months"; case ignored), or None when ``text`` is no such date."""
    match = _RELATIVE.match(" ".join(text.lower().split()))
    if match is None:
        return None
    amount, unit = int(match.group(1)), match.group(2)
    today = today or datetime.date.today()
    if unit == "day":
        return today - datetime.timedelta(days=amount)
    if amount > 12 * MAX_YEARS:
        raise ValueError(f"'{text}' reaches back too far")
    return months_ago(amount * 12 if unit == "year" else amount, today)


def resolve(name: str, today: datetime.date | None = None) -> Filter:
    """The search the filter ``name`` (as written before ``[Filter]``) stands for.
    Raises :class:`UnsupportedFilter` with the reason for a filter that cannot be
    searched here, :class:`UnknownFilter` for a name that is no filter searchkit knows."""
    key = " ".join(name.lower().split())
    squeezed = _squeezed(key)
    # E-utilities' documentation writes filters with spaces ("has abstract [FILT]",
    # "all child [FILT]"), PubMed's search details without (hasabstract, allchild).
    unsupported = UNSUPPORTED_FILTERS.get(key) or UNSUPPORTED_FILTERS.get(squeezed)
    if unsupported:
        raise UnsupportedFilter(unsupported)
    if squeezed in ("fha", "hasabstract"):
        return Filter(abstract=True)
    if key in LANGUAGE_CODES:
        return Filter("language", (key,))
    if key in HEADINGS:
        return Filter("mesh_noexp", (key,))
    recent = _RECENT.match(key)
    if recent is not None:
        years = int(recent.group(1))
        if not 1 <= years <= MAX_YEARS:
            raise UnknownFilter(name)
        return Filter(since=years_ago(years, today or datetime.date.today()))
    names = _BY_FILTER_NAME.get(_squeezed(key))
    if names is None:
        raise UnknownFilter(name)
    return Filter("pubtype", names)
