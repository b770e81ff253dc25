"""Checking a JSON object against the :class:`Record` model and building the record.

Every value is checked before a record is made, so that a value of the wrong type
or range is the reason for skipping its line rather than a crash later, when the
index is written. The checks follow the type hints of :class:`Record` and of the
dataclasses it holds (:class:`Author`, :class:`MeshHeading`), so a field added to
the model is checked too:

* ``str | None``: a string; ``""`` (or only spaces) and ``null`` mean no value;
* ``str`` (a required name): a string with something in it;
* ``int | None``: an integer, or a string of digits, within :data:`INT_RANGES`;
* ``bool``: ``true`` or ``false``;
* ``tuple[str, ...]``: a list of strings (empty strings are dropped);
* ``tuple[Author, ...]``, ``tuple[MeshHeading, ...]``: a list of objects with
  those field names, or of strings (a string is the name alone).

Every string must be valid Unicode (JSON's ``\\ud800`` escapes can write halves of
a character, which no file or index can hold). Ids (``pmid``, BEIR ``_id``) are
stripped and must not contain line breaks, tabs or control characters: they are
written one per line and in tab-separated files (spaces are allowed, as in ids
that are Wikipedia titles). ``pub_date`` is ``YYYY``, ``YYYY-MM`` or
``YYYY-MM-DD``, as the other readers write it.
"""

from __future__ import annotations

import dataclasses
import json
import re
import types
import typing
from collections.abc import Callable
from typing import Any

from searchkit.records import Record

#: Allowed values of integer fields, inclusive. A year has four digits, as in
#: PubMed (and the other readers only read four-digit years).
YEAR_RANGE = (1000, 9999)
INT_RANGES: dict[str, tuple[int, int]] = {"year": YEAR_RANGE}
#: The range of an integer field not named in :data:`INT_RANGES`.
DEFAULT_INT_RANGE = (0, 2**31 - 1)

#: Longest value quoted back in a reason.
_QUOTE_CHARS = 40
_PUB_DATE = re.compile(r"^[0-9]{4}(?:-(?:0?[1-9]|1[0-2])(?:-(?:0?[1-9]|[12][0-9]|3[01]))?)?$")
_DIGITS = re.compile(r"^[0-9]+$")
_ID_PROBLEM = re.compile(r"[^\S ]|[\x00-\x1f\x7f-\x9f]")


class BadValue(ValueError):
    """A value that does not fit the model; the message is the reason."""


Check = Callable[[str, Any], Any]


def record_from_json(data: dict[str, Any]) -> Record:
    """The :class:`Record` for a JSON object with :class:`Record` field names.

    Raises :class:`BadValue` naming the first field (and list position) that does
    not fit, an unknown field, or a missing or empty ``pmid``.
    """
    unknown = set(data) - set(_RECORD_CHECKS)
    if unknown:
        raise BadValue(f"unknown field(s): {', '.join(sorted(unknown))}")
    pmid = data.get("pmid")
    if pmid is None or (isinstance(pmid, str) and not pmid.strip()):
        raise BadValue("record has no pmid")
    values = {name: _RECORD_CHECKS[name](name, value) for name, value in data.items()}
    return Record(**values)


def check_id(name: str, value: Any) -> str:
    """A record id: a string or a non-negative integer, as text, without whitespace
    or control characters."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise BadValue(f"{name} must be a string or an integer, not {describe(value)}")
    if isinstance(value, int):
        if value < 0:
            raise BadValue(f"{name} must be a string or a non-negative integer, not {value}")
        return str(value)
    check_unicode(name, value)
    text = value.strip()
    if not text:
        raise BadValue(f"record has no {name}")
    if _ID_PROBLEM.search(text):
        raise BadValue(f"{name} must not contain line breaks, tabs or control characters")
    return text


def optional_string(name: str, value: Any) -> str | None:
    """A string value; ``None`` for ``null`` and for a blank string."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise BadValue(f"{name} must be a string, not {describe(value)}")
    check_unicode(name, value)
    return value if value.strip() else None


def check_unicode(name: str, value: str) -> None:
    """Refuse a string holding half of a surrogate pair (JSON can write one)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        code = ord(value[exc.start])
        raise BadValue(
            f"{name} is not valid Unicode (an unpaired surrogate \\u{code:04x})"
        ) from None


def describe(value: Any) -> str:
    """A value as a reason quotes it: JSON text for scalars, the kind for the rest."""
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    text = json.dumps(value, ensure_ascii=True)
    return text if len(text) <= _QUOTE_CHARS else text[: _QUOTE_CHARS - 4] + '..."'


def _list_string(name: str, value: Any) -> str | None:
    """An entry of a list of strings; ``None`` (dropped) when blank."""
    if not isinstance(value, str):
        raise BadValue(f"{name} must be a string, not {describe(value)}")
    check_unicode(name, value)
    return value if value.strip() else None


def _required_string(name: str, value: Any) -> str:
    if not isinstance(value, str):
        raise BadValue(f"{name} must be a string, not {describe(value)}")
    check_unicode(name, value)
    if not value.strip():
        raise BadValue(f"{name} is empty")
    return value


def _optional_int(name: str, value: Any) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, str) and _DIGITS.match(value.strip()):
        number = int(value.strip())
    elif isinstance(value, int) and not isinstance(value, bool):
        number = value
    else:
        raise BadValue(f"{name} must be an integer, not {describe(value)}")
    low, high = INT_RANGES.get(name.rpartition(".")[2], DEFAULT_INT_RANGE)
    if not low <= number <= high:
        raise BadValue(f"{name} {number} is out of range ({low} to {high})")
    return number


def _boolean(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise BadValue(f"{name} must be true or false, not {describe(value)}")
    return value


def _pub_date(name: str, value: Any) -> str | None:
    text = optional_string(name, value)
    if text is None:
        return None
    match = _PUB_DATE.match(text.strip())
    if not match:
        raise BadValue(f"{name} must be YYYY, YYYY-MM or YYYY-MM-DD, not {describe(value)}")
    # Written by hand, "2014-9" is September 2014: stored as the readers write it.
    return "-".join(part.zfill(2) for part in match.group(0).split("-"))


def _list_of(item: Check) -> Check:
    def check(name: str, value: Any) -> tuple[Any, ...]:
        if value is None:
            return ()
        if not isinstance(value, list):
            raise BadValue(f"{name} must be a list, not {describe(value)}")
        try:
            # The entry's name is only needed for a message: each is checked under the
            # list's name first (a formatted name per author cost ~2% of an ingest).
            items = [item(name, entry) for entry in value]
        except BadValue:
            # Checks have no effects: checked again, by position, for the message.
            for position, entry in enumerate(value):
                item(f"{name}[{position}]", entry)
            raise
        return tuple(entry for entry in items if entry is not None)

    return check


def _object(cls: type[Any]) -> Check:
    """A check that builds ``cls`` from a JSON object, or from a string naming it."""
    checks = _checks_for(cls)
    required = [
        f.name
        for f in dataclasses.fields(cls)
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    ]

    def check(name: str, value: Any) -> Any:
        if isinstance(value, str) and len(required) == 1:
            return cls(**{required[0]: checks[required[0]](f"{name}.{required[0]}", value)})
        if not isinstance(value, dict):
            raise BadValue(f"{name} must be an object or a string, not {describe(value)}")
        unknown = sorted(set(value) - set(checks))
        if unknown:
            plural = "s" if len(unknown) > 1 else ""
            raise BadValue(f"{name} has an unknown field{plural}: {', '.join(unknown)}")
        for field_name in required:
            if field_name not in value:
                raise BadValue(f"{name} has no {field_name}")
        # null leaves a field with a default at its default, as at the top level.
        given = {k: v for k, v in value.items() if v is not None or k in required}
        return cls(**{key: checks[key](f"{name}.{key}", entry) for key, entry in given.items()})

    return check


#: Checks of particular fields, over the ones their type gives.
_NAMED_CHECKS: dict[str, Check] = {"pmid": check_id, "pub_date": _pub_date}


def _check_for(field_name: str, hint: Any) -> Check:
    """The check for one field, from its type hint."""
    if field_name in _NAMED_CHECKS:
        return _NAMED_CHECKS[field_name]
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is str:
        return _required_string
    if hint is bool:
        return _boolean
    if origin in (types.UnionType, typing.Union) and type(None) in args:
        (inner,) = [arg for arg in args if arg is not type(None)]
        if inner is str:
            return optional_string
        if inner is int:
            return _optional_int
    if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
        if args[0] is str:
            return _list_of(_list_string)
        if isinstance(args[0], type) and dataclasses.is_dataclass(args[0]):
            return _list_of(_object(args[0]))
    raise TypeError(f"no JSON check for field {field_name!r} of type {hint!r}")


def _checks_for(cls: type[Any]) -> dict[str, Check]:
    hints = typing.get_type_hints(cls)
    return {f.name: _check_for(f.name, hints[f.name]) for f in dataclasses.fields(cls)}


_RECORD_CHECKS = _checks_for(Record)

__all__ = [
    "DEFAULT_INT_RANGE",
    "INT_RANGES",
    "YEAR_RANGE",
    "BadValue",
    "check_id",
    "check_unicode",
    "describe",
    "optional_string",
    "record_from_json",
]
