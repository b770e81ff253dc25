"""Small text helpers shared by the readers: whitespace, dates, names."""

from __future__ import annotations

import calendar
import re

_MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ),
        start=1,
    )
    for name in names
}

# "2006 Jan 10", "2002 Sep", "2018 Jan-Dec", "1998 Dec-1999 Jan", "2017 Fall",
# "1998 Dec 15-31", "2016": a year, then optionally a month (which may open a range),
# then a day (which may open a range). A season or month may come before the year
# instead ("Spring 2018", "Winter 2017-2018", "Dec 2018").
_DATE_TEXT = re.compile(
    r"^\s*(?:(?P<before>[A-Za-z]+)(?:\s*-\s*[A-Za-z]+)?\.?\s+)?(?P<year>\d{4})\b"
    r"(?:\s+(?P<month>[A-Za-z]+|\d{1,2})\b(?:\s+(?P<day>\d{1,2})\b)?)?"
)


def clean(text: str | None) -> str | None:
    """Collapse runs of whitespace to one space and strip; ``None`` when empty."""
    if text is None:
        return None
    joined = " ".join(text.split())
    return joined or None


def month_number(month: str | None) -> int | None:
    """1-12 for "Sep", "September", "09" or "9"; ``None`` for anything else
    (seasons, ranges' second halves, garbage)."""
    if not month:
        return None
    month = month.strip().lower()
    if month.isdigit():
        value = int(month)
        return value if 1 <= value <= 12 else None
    return _MONTHS.get(month)


def make_date(
    year: str | None, month: str | None = None, day: str | None = None
) -> tuple[int | None, str | None]:
    """``(year, pub_date)`` from date parts: pub_date is "YYYY", "YYYY-MM" or
    "YYYY-MM-DD", as precise as the parts allow. A day without a month, or one the
    month does not have (Feb 30, Feb 29 of a common year, Apr 31), is dropped
    without a word: the year and month stay, as for a date given without a day."""
    if not year or not year.strip().isdigit() or len(year.strip()) != 4:
        return None, None
    year_value = int(year)
    month_value = month_number(month)
    if month_value is None:
        return year_value, f"{year_value:04d}"
    day_value = int(day) if day and day.strip().isdigit() else None
    last_day = calendar.monthrange(year_value, month_value)[1] if year_value else 31
    if day_value is None or not 1 <= day_value <= last_day:
        return year_value, f"{year_value:04d}-{month_value:02d}"
    return year_value, f"{year_value:04d}-{month_value:02d}-{day_value:02d}"


def parse_date_text(text: str | None) -> tuple[int | None, str | None]:
    """``(year, pub_date)`` from a free-text PubMed date ("2006 Jan 10",
    "1998 Dec-1999 Jan", "2017 Fall", "Spring 2018", "1998 Dec 15-31"). A range of
    months or days keeps its start; a season gives the year only, before or after it;
    a month before the year gives the year and month."""
    if not text:
        return None, None
    match = _DATE_TEXT.match(text)
    if match is None:
        return None, None
    month = match["month"]
    if month is None and match["before"] is not None:
        month = match["before"]  # "Dec 2018"; a season is no month, so the year alone
    return make_date(match["year"], month, match["day"])


_HISTORY_DATE = re.compile(r"^\s*(\d{4})[/-](\d{1,2})[/-](\d{1,2})\b")


def history_date(text: str | None) -> str | None:
    """ "2019/03/23 06:00" (MEDLINE's EDAT, CRDT, MHDA) → "2019-03-23"; ``None``
    for anything that is not a whole date."""
    match = _HISTORY_DATE.match(text or "")
    if match is None:
        return None
    _, date = make_date(*match.groups())
    return date if date is not None and len(date) == 10 else None


def initials_of(fore_name: str) -> str:
    """PubMed-style initials of a fore name: "Shi-Yuan" → "SY", "John A" → "JA"."""
    return "".join(part[0] for part in re.split(r"[\s\-.]+", fore_name) if part)
