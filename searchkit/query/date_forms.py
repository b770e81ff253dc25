"""The year and date forms a query may write (PubMed's): ``2015``, ``2015:2020``,
``2014/09/23``, open ends, "last 5 years"; each read into inclusive bounds, or a
``ValueError`` naming what is wrong with it."""

from __future__ import annotations

import calendar
import re

from searchkit.query import filters

_YEAR = r"(\d{4})(?:[/-]\d{1,2}){0,2}"
_YEAR_RANGE = re.compile(rf"^(?:{_YEAR})?(?:\.\.|:)(?:{_YEAR})?$")
_ONE_YEAR = re.compile(rf"^{_YEAR}$")


def parse_years(text: str) -> tuple[int | None, int | None]:
    """``2015``, ``2015:2020``, ``2015..2020``, ``2015..``, ``..2019`` → (low, high).

    Raises ``ValueError`` naming the problem.
    """
    text = text.strip()
    one = _ONE_YEAR.match(text)
    if one:
        year = int(one.group(1))
        return year, year
    match = _YEAR_RANGE.match(text)
    if match is None or (match.group(1) is None and match.group(2) is None):
        raise ValueError(f"'{text}' is not a year or a year range such as 2015..2020")
    low = int(match.group(1)) if match.group(1) else None
    high = int(match.group(2)) if match.group(2) else None
    if low is not None and high is not None and low > high:
        raise ValueError(f"the year range '{text}' runs backwards")
    return low, high


_DATE = re.compile(r"^(\d{4})(?:[/-](\d{1,2})(?:[/-](\d{1,2}))?)?$")
#: PubMed's "present" as the end of a range (``2020:3000[dp]``).
OPEN_END_YEAR = "3000"


#: The months as messages name them (not the locale's names).
_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def month_days(year: int, month: int) -> int:
    """How many days ``month`` (1 to 12) of ``year`` has (the Gregorian calendar's leap
    years: 2000 and 2016 have a 29 February, 1900 and 2015 do not)."""
    if month == 2:
        return 29 if calendar.isleap(year) else 28
    return 30 if month in (4, 6, 9, 11) else 31


def _date_bound(text: str, end: bool) -> str | None:
    """ "2014/09" → "20140901" (a range's start) or "20140931" (its end); ``None``
    for an empty bound or PubMed's open end "3000". Raises ``ValueError``."""
    text = text.strip()
    if not text or (end and text == OPEN_END_YEAR):
        return None
    match = _DATE.match(text)
    if match is None:
        raise ValueError(
            f"'{text}' is not a date such as 2014, 2014/09, 2014/09/23 or \"last 5 years\""
        )
    year, month, day = match.groups()
    if month is not None and not 1 <= int(month) <= 12:
        raise ValueError(f"'{text}' has no month {month}")
    if day is not None and not 1 <= int(day) <= 31:
        raise ValueError(f"'{text}' has no day {day}")
    if day is not None and month is not None:
        days = month_days(int(year), int(month))
        if int(day) > days:  # 30 February, 31 April; 29 February outside leap years
            name = _MONTHS[int(month) - 1]
            raise ValueError(f"'{text}' has no day {day}: {name} {year} has {days} days")
    filler = ("12", "31") if end else ("01", "01")
    return f"{year}{(month or filler[0]):0>2}{(day or filler[1]):0>2}"


def parse_dates(text: str) -> tuple[str | None, str | None]:
    """PubMed's date forms → inclusive "YYYYMMDD" bounds: ``2014`` (the whole
    year), ``2014/09``, ``2014/09/23``, ranges ``2015/06/15:2016/03/01`` (also
    ``..``), with ``3000`` or nothing as an open end, and the relative "last 5 years",
    "last 6 months", "last 30 days" (from that day to the present). Raises
    ``ValueError``."""
    text = text.strip()
    since = filters.relative_start(text)
    if since is not None:
        return since.strftime("%Y%m%d"), None
    for sep in (":", ".."):
        if sep in text:
            start, _, stop = text.partition(sep)
            low, high = _date_bound(start, False), _date_bound(stop, True)
            if low is None and high is None:
                raise ValueError(f"'{text}' is not a date range such as 2015/06:2016/03")
            break
    else:
        low, high = _date_bound(text, False), _date_bound(text, True)
        if low is None:
            raise ValueError(
                f"'{text}' is not a date such as 2014, 2014/09, 2014/09/23 or \"last 5 years\""
            )
    if low is not None and high is not None and low > high:
        raise ValueError(f"the date range '{text}' runs backwards")
    return low, high
