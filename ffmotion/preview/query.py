"""The preview's query parameters: read once, by one set of rules, into one 400 or a dict.

Every request's parameters pass :func:`parse` before any route looks at them: known names
only, each at most once, short printable ASCII (so ``int()`` and ``float()`` never meet
Unicode digits such as ``²`` or ``١``, and no value is large), and the numeric ones in the
plain decimal spelling the page sends. What a value means (a look, an offset) is then
checked by the same constructors the command line uses, with the CLI's messages.
"""
from __future__ import annotations

import math
import re
from typing import Iterable, Mapping, Optional
from urllib.parse import parse_qsl

from ffmotion.core.errors import UsageError
from ffmotion.core.looks import FIELDS, LookField

MAX_FIELDS = 64
MAX_VALUE = 64  # characters: the longest value the page sends is an offset list
TOKEN = "t"
# name -> what it is: "frame" (a whole number), "number" (a decimal), or "text" (checked by
# the option constructors: offsets, looks' words and gains, flags). The look's parameters
# come from its field table: a whole number is a "frame", a strength a "number".
_LOOK_KINDS = {"whole": "frame", "unit": "number"}


def look_kind(spec: LookField) -> str:
    """How the page sends a look field: "frame", "number" or "text"."""
    return _LOOK_KINDS.get(spec.kind, "text")


PARAMETERS = {
    "i": "frame", "id": "frame", "start": "frame", "end": "frame",
    "mode": "text", "offset": "text", "stab": "text", "overwrite": "text",
    **{spec.query: look_kind(spec) for spec in FIELDS},
}
_FRAME = re.compile(r"[0-9]{1,9}")
_NUMBER = re.compile(r"[0-9]{1,9}(\.[0-9]{1,12})?|\.[0-9]{1,12}")


def pairs(text: str) -> list[tuple[str, str]]:
    """The query string's (name, value) pairs; at most :data:`MAX_FIELDS` of them."""
    try:
        return parse_qsl(text, keep_blank_values=True, max_num_fields=MAX_FIELDS,
                         errors="replace")
    except ValueError:
        raise UsageError(f"too many query parameters (at most {MAX_FIELDS})") from None


def tokens(found: Iterable[tuple[str, str]]) -> list[str]:
    """Every value given for the access token."""
    return [value for name, value in found if name == TOKEN]


def parse(found: Iterable[tuple[str, str]]) -> dict[str, str]:
    """The parameters other than the token, checked; :class:`UsageError` names the first
    bad one and says what it must be."""
    out: dict[str, str] = {}
    for name, value in found:
        if name == TOKEN:
            continue
        kind = PARAMETERS.get(name)
        if kind is None:
            raise UsageError(f"unknown parameter {_shown(name)} (known: "
                             f"{', '.join(sorted(PARAMETERS))})")
        if name in out:
            raise UsageError(f"parameter {name} is given twice")
        if len(value) > MAX_VALUE or not value.isascii() or not value.isprintable():
            raise UsageError(f"{name} must be printable ASCII text of at most {MAX_VALUE} "
                             f"characters, not {_shown(value)}")
        out[name] = value.strip()
    return out


def frame_number(query: Mapping[str, str], name: str, what: Optional[str] = None,
                 default: Optional[int] = None) -> Optional[int]:
    """A whole number (``0`` .. ``999999999``) written in ASCII digits, or ``default`` when
    absent or empty."""
    text = query.get(name, "")
    if not text:
        return default
    if not _FRAME.fullmatch(text):
        raise UsageError(f"{what or name} must be a whole number (digits 0-9, at most 9), "
                         f"not {_shown(text)}")
    return int(text)


def decimal(query: Mapping[str, str], name: str, what: Optional[str] = None) -> Optional[float]:
    """A plain decimal number (``0.9``, ``1``, ``.5``), or None when absent or empty."""
    text = query.get(name, "")
    if not text:
        return None
    value = float(text) if _NUMBER.fullmatch(text) else math.nan
    if not math.isfinite(value):
        raise UsageError(f"{what or name} must be a number such as 0.5, not {_shown(text)}")
    return value


def _shown(text: str) -> str:
    """``text`` quoted for a message, cut short (a value may be long or odd)."""
    return repr(text if len(text) <= 40 else text[:40] + "...")
