"""``--encoder-opt``: refuse the options that make an encoder read or write a file of its own.

Such files are outside the safe-write rule (:mod:`ffmotion.run.outputs`): x264's ``dump-yuv``
writes raw frames to any name given, the input included. Refused: the encoders' own
file options (``passlogfile``, ``stats``, ``x265-stats``...), two-pass flags (x264 and x265
then write ``x264_2pass.log``/``x265_2pass.log`` into the working folder), and every key of
the libraries' ``key=value`` lists (``x264-params``, ``x265-params``, ``aom-params``,
``svtav1-params``, ``kvazaar-params``... and lists nested in their values, like x264's
``zones``) that names a file. The lists are split as ffmpeg splits them
(``av_dict_parse_string``: ``key=value`` pairs, ``:`` between pairs, ``\\`` escapes and
``'quotes'``), and keys compared as the libraries compare them (``_`` and ``-`` alike, a
``no`` prefix negating the option).
"""
from __future__ import annotations

import re
from typing import Iterator

from ffmotion.core.errors import UsageError, field

# options of the encoders themselves (ffmpeg -h encoder=NAME) that name a file
FILE_OPTIONS = frozenset({"passlogfile", "stats", "x265-stats", "fpf", "twopass-stats",
                          "stats-file", "qpfile", "dump-yuv"})
# keys of the libraries' own lists that name a file to read or write
FILE_KEYS = frozenset({
    "dump-yuv", "stats", "qpfile", "cqmfile", "zonefile", "pass", "passlogfile", "fpf",
    "csv", "analysis-save", "analysis-load", "analysis-reuse-file", "recon", "recon-y4m",
    "lambda-file", "scaling-list", "dhdr10-info", "dolby-vision-rpu", "tcfile-in",
    "tcfile-out", "input", "output", "roi", "debug", "fgs-table", "film-grain-table",
    "second-pass-log", "vmaf-model-path", "partition-info-path", "subgop-config-path",
})
# words of a key that say it names a file (CamelCase and hyphenated keys alike)
FILE_WORDS = frozenset({"file", "files", "path", "csv", "dump", "stats", "save", "load",
                        "recon", "rpu", "json", "table", "pass"})
_WHITESPACE = " \n\t\r"
_NESTING = 4  # lists inside values (x264 zones) are looked into this deep


def check(key: str, value: str) -> None:
    """Refuse ``--encoder-opt key=value`` when it names a file the encoder would open itself."""
    if _names_file(key, FILE_OPTIONS, list_key=False):
        _refuse(key, key)
    if key.replace("_", "-") == "flags" and re.search(r"pass[12]", value.lower()):
        raise UsageError(f"{field('encoder_opts')} {key}={value}: two-pass encoding makes the "
                         "encoder write a stats file of its own, outside ffmotion's checks: "
                         f"drop it (use {field('crf')} for the quality)")
    for inner in list_keys(value):
        if _names_file(inner, FILE_KEYS, list_key=True):
            _refuse(key, inner)


def _refuse(option: str, key: str) -> None:
    where = f"{option}: {key}" if key != option else option
    raise UsageError(f"{field('encoder_opts')} {where} names a file the encoder would read or "
                     "write "
                     "itself, outside ffmotion's checks (it could overwrite any file, the "
                     "input included): drop it")


def list_keys(text: str, depth: int = 0) -> Iterator[str]:
    """The keys of ``text`` read as ffmpeg's ``key=value:key=value`` list, and of the lists
    inside its values (a key is also read after the last ``,``/``/``/``;`` of its token, as
    x264's zones and kvazaar's comma lists separate them)."""
    if "=" not in text or depth > _NESTING:
        return
    for key, value in pairs(text):
        yield key
        last = re.split(r"[,/;:]", key)[-1].strip(_WHITESPACE)
        if last != key:
            yield last
        yield from list_keys(value, depth + 1)


def pairs(text: str, pairs_sep: str = ":") -> list[tuple[str, str]]:
    """``av_dict_parse_string(text, "=", pairs_sep)``: the pairs ffmpeg hands the library
    (a pair without a key or a value is kept here with an empty part: ffmpeg refuses it)."""
    out, pos = [], 0
    while pos < len(text):
        key, pos = token(text, pos, "=")
        value = ""
        if pos < len(text) and text[pos] == "=":
            value, pos = token(text, pos + 1, pairs_sep)
        out.append((key, value))
        if pos < len(text):
            pos += 1
    return out


def token(text: str, pos: int, term: str) -> tuple[str, int]:
    """``av_get_token``: leading whitespace skipped, ``\\`` escapes a character, ``'...'``
    is literal, trailing whitespace dropped (not when escaped or quoted); stops at ``term``."""
    while pos < len(text) and text[pos] in _WHITESPACE:
        pos += 1
    out: list[str] = []
    keep = 0  # characters of out that trailing-whitespace trimming must not remove
    while pos < len(text) and text[pos] not in term:
        char = text[pos]
        pos += 1
        if char == "\\" and pos < len(text):
            out.append(text[pos])
            pos += 1
            keep = len(out)
        elif char == "'":
            while pos < len(text) and text[pos] != "'":
                out.append(text[pos])
                pos += 1
            if pos < len(text):
                pos += 1
                keep = len(out)
        else:
            out.append(char)
    while len(out) > keep and out[-1] in _WHITESPACE:
        out.pop()
    return "".join(out), pos


def _names_file(key: str, names: frozenset[str], list_key: bool) -> bool:
    """``key`` names a file: one of ``names``, or (in a library's list) a key whose words
    say so; ``_``/``-`` and case do not matter, nor a ``no``/``no-`` prefix (x264 and x265
    read ``nodump-yuv=1`` as ``dump-yuv=...``)."""
    spelled = key.strip(_WHITESPACE).replace("_", "-")
    forms = {spelled.lower()}
    if spelled.lower().startswith("no"):
        forms.add(spelled.lower()[2:].lstrip("-"))
    if forms & names:
        return True
    if not list_key:
        return False
    words = {w.lower() for form in (spelled, spelled[2:]) for w in _words(form)}
    return bool(words & FILE_WORDS) or any(w.endswith(("file", "path")) for w in words)


def _words(key: str) -> list[str]:
    """``RCStatsFile`` -> RC, Stats, File; ``dump-yuv`` -> dump, yuv."""
    return re.findall(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+", key)
