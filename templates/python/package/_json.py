{{ c.header -}}
"""JSON as the wire needs it: strict parsing, canonical writing, nanosecond timestamps.

Parsing gives the reference decoder's verdicts: UTF-8 only, no ``NaN``/``Infinity``, no lone
surrogate escapes, numbers that overflow a 64-bit float rejected, integers outside
[-2**63, 2**64) read as floats and ``-0`` read as ``-0.0`` (as the reference does), nesting deeper
than the limit rejected, duplicate keys keeping the last value. Writing is canonical: compact,
object keys sorted by code point at every depth, the reference's string escaping and float format.
"""

from __future__ import annotations

import importlib
import json
import os
import re
import sys
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from itertools import accumulate
from json.encoder import encode_basestring as _c_encode_str
from typing import TYPE_CHECKING, Any, TypeAlias

if TYPE_CHECKING:
    from typing_extensions import Self

__all__ = [
    "ACCELERATED",
    "JsonError",
    "JsonValue",
    "Timestamp",
    "TimestampError",
    "encode_any",
    "encode_str_map",
    "format_float",
    "format_timestamp",
    "json_problem",
    "lenient_strings",
    "loads",
    "parse_timestamp",
    "suspect_any",
]

JsonValue: TypeAlias = None | bool | int | float | str | list["JsonValue"] | dict[str, "JsonValue"]
"""Any JSON value, as decoding produces it: ``None``, ``bool``, ``int``, ``float``, ``str``,
``list`` and ``dict`` with ``str`` keys."""

MAX_NESTING_DEPTH = {{ c.max_nesting_depth }}
"""Deepest accepted nesting of arrays and objects (the envelope object counts as one level)."""

_I64_MIN = -(2**63)
_U64_END = 2**64
_INF = float("inf")
_UTC = timezone.utc


class JsonError(ValueError):
    """The bytes are not one well-formed JSON document the protocol accepts."""


# ---------------------------------------------------------------------------------------------
# Parsing


def _parse_int(text: str) -> int | float:
    if len(text) < 19:
        if text == "-0":
            return -0.0
        return int(text)
    value = int(text)
    if _I64_MIN <= value < _U64_END:
        return value
    try:
        return float(value)
    except OverflowError:
        raise JsonError(f"number out of range: {text[:24]}...") from None


def _parse_float(text: str) -> float:
    value = float(text)
    if value == _INF or value == -_INF:
        raise JsonError(f"number out of range: {text[:24]}")
    return value


def _parse_constant(text: str) -> float:
    raise JsonError(f"{text} is not a JSON value")


# The C scanner's own number conversions agree with the reference except for the integer `-0`
# (the reference reads -0.0), integers outside [-2**63, 2**64) (read as floats) and floats that
# overflow (rejected): integers go through `_parse_int`, floats through `_parse_float` (one call
# per number: cheaper than a scan of the body for the few that need it). `_risky_numbers` says
# which bodies need the integer hook (a `-0` number token; a run of 19 digits anywhere).
_hooked = json.JSONDecoder(parse_float=_parse_float, parse_int=_parse_int, parse_constant=_parse_constant)
_decode_hooked = _hooked.decode
# Its scanner, called directly: `decode` is a Python method that matches whitespace before and
# after the document with regexes; a body that starts with its value needs neither.
# (`scan_once` is the scanner `JSONDecoder` builds for itself; typeshed does not declare it.)
_scan_hooked: Callable[[str, int], tuple[Any, int]] = getattr(_hooked, "scan_once")  # noqa: B009
_decode_plain = json.JSONDecoder(parse_float=_parse_float, parse_constant=_parse_constant).decode
# A number token starts the document or follows `[`, `,`, `:` or whitespace; a `-0` after
# anything else is text inside a string (UUIDs, trace ids: `...-0af7...`, `-01`), which the
# parsers read alike. After `-0`, a digit, `.` or an exponent makes another number.
_BEFORE_NUMBER = frozenset(b"[,: \t\n\r")
_AFTER_ZERO = frozenset(b"0123456789.eE")
_DIGITS_TO_ZERO = bytes.maketrans(b"123456789", b"000000000")
# Digits to `0` and `{` to `[`: one pass, then a count of openers and a search for long runs.
_GATE_TABLE = bytes.maketrans(b"123456789{", b"000000000[")
_LONG_DIGITS = b"0" * 19


def _minus_zero(body: bytes) -> bool:
    """Whether the body may hold the integer `-0` as a number token (conservative: such a `-0`
    inside a string counts too)."""
    at = body.find(b"-0")
    while at >= 0:
        if (at == 0 or body[at - 1] in _BEFORE_NUMBER) and (at + 2 == len(body) or body[at + 2] not in _AFTER_ZERO):
            return True
        at = body.find(b"-0", at + 2)
    return False


def _risky_numbers(body: bytes) -> bool:
    """Whether the body may hold the integer `-0` or a 19+ digit number (cheap, conservative:
    text inside strings counts too, for digits)."""
    return _minus_zero(body) or _LONG_DIGITS in body.translate(_DIGITS_TO_ZERO)


_STRINGS = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def _too_deep(body: bytes) -> bool:
    depth = 0
    for byte in _STRINGS.sub(b"", body).translate(None, _NOT_BRACKETS):
        if byte == 91 or byte == 123:
            depth += 1
            if depth > MAX_NESTING_DEPTH:
                return True
        else:
            depth -= 1
    return False


def _has_lone_surrogate(value: object) -> bool:
    stack = [value]
    while stack:
        item = stack.pop()
        if type(item) is str:
            if _SURROGATE.search(item) is not None:
                return True
        elif type(item) is dict:
            stack.extend(item)
            stack.extend(item.values())
        elif type(item) is list:
            stack.extend(item)
    return False


def _loads_stdlib(body: bytes) -> object:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise JsonError(f"invalid UTF-8 at byte {exc.start}") from None
    if body.count(b"[") + body.count(b"{") > MAX_NESTING_DEPTH and _too_deep(body):
        raise JsonError(f"arrays and objects nested deeper than {MAX_NESTING_DEPTH} levels")
    try:
        # Always the integer hook: a call per integer costs less than scanning every body for
        # the numbers that need it (`_risky_numbers`).
        try:
            value, end = _scan_hooked(text, 0)
        except StopIteration:
            # No value at the very start (whitespace first, or no value at all).
            value = _decode_hooked(text)
        else:
            if end != len(text) and text[end:].lstrip(" \t\n\r"):
                raise JsonError(f"extra data at character {end}")
    except JsonError:
        raise
    except (ValueError, RecursionError) as exc:
        raise JsonError(str(exc)) from None
    if "\\u" in text and _SURROGATE_ESCAPE.search(text) is not None and _has_lone_surrogate(value):
        raise JsonError("lone surrogate in a \\u escape")
    return value


class _Problem(Exception):
    def __init__(self, cause: str) -> None:
        super().__init__(cause)
        self.cause = cause


_WS = re.compile(r"[ \t\n\r]*")
_STRING_SPECIAL = re.compile(r'["\\\x00-\x1f]')
_HEX4 = re.compile(r"[0-9a-fA-F]{4}")
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
_SIMPLE_ESCAPES = frozenset('"\\/bfnrt')


class _Scanner:
    """Reads a document in order and raises `_Problem` with the cause of its first problem;
    only used to explain a body that failed to parse (the same walk as the TypeScript
    package's exact parser, so that both name the same cause)."""

    def __init__(self, text: str) -> None:
        self.t = text
        self.n = len(text)
        self.i = 0
        self.depth = 0

    def ws(self) -> None:
        match = _WS.match(self.t, self.i)
        assert match is not None
        self.i = match.end()

    def document(self) -> None:
        self.ws()
        self.value()
        self.ws()
        if self.i < self.n:
            raise _Problem("syntax")

    def value(self) -> None:
        if self.i >= self.n:
            raise _Problem("syntax")
        c = self.t[self.i]
        if c == '"':
            self.string()
        elif c == "{":
            self.object()
        elif c == "[":
            self.array()
        elif c == "t":
            self.literal("true")
        elif c == "f":
            self.literal("false")
        elif c == "n":
            self.literal("null")
        elif c == "-" or "0" <= c <= "9":
            self.number()
        else:
            raise _Problem("syntax")

    def literal(self, word: str) -> None:
        if not self.t.startswith(word, self.i):
            raise _Problem("syntax")
        self.i += len(word)

    def enter(self) -> None:
        self.depth += 1
        if self.depth > MAX_NESTING_DEPTH:
            raise _Problem("depth")
        self.i += 1
        self.ws()

    def next_char(self) -> str:
        if self.i >= self.n:
            raise _Problem("syntax")
        c = self.t[self.i]
        self.i += 1
        return c

    def array(self) -> None:
        self.enter()
        if self.i < self.n and self.t[self.i] == "]":
            self.i += 1
        else:
            while True:
                self.ws()
                self.value()
                self.ws()
                c = self.next_char()
                if c == "]":
                    break
                if c != ",":
                    raise _Problem("syntax")
        self.depth -= 1

    def object(self) -> None:
        self.enter()
        if self.i < self.n and self.t[self.i] == "}":
            self.i += 1
        else:
            while True:
                self.ws()
                if self.i >= self.n or self.t[self.i] != '"':
                    raise _Problem("syntax")
                self.string()
                self.ws()
                if self.next_char() != ":":
                    raise _Problem("syntax")
                self.ws()
                self.value()
                self.ws()
                c = self.next_char()
                if c == "}":
                    break
                if c != ",":
                    raise _Problem("syntax")
        self.depth -= 1

    def string(self) -> None:
        self.i += 1
        while True:
            match = _STRING_SPECIAL.search(self.t, self.i)
            if match is None:
                raise _Problem("syntax")
            self.i = match.start() + 1
            c = match.group()
            if c == '"':
                return
            if c != "\\":
                raise _Problem("syntax")
            self.escape()

    def hex4(self) -> int:
        match = _HEX4.match(self.t, self.i)
        if match is None:
            raise _Problem("syntax")
        self.i += 4
        return int(match.group(), 16)

    def escape(self) -> None:
        c = self.next_char()
        if c in _SIMPLE_ESCAPES:
            return
        if c != "u":
            raise _Problem("syntax")
        unit = self.hex4()
        if 0xDC00 <= unit <= 0xDFFF:
            raise _Problem("surrogate")
        if not 0xD800 <= unit <= 0xDBFF:
            return
        if not self.t.startswith("\\u", self.i):
            raise _Problem("surrogate")
        self.i += 2
        if not 0xDC00 <= self.hex4() <= 0xDFFF:
            raise _Problem("surrogate")

    def number(self) -> None:
        match = _NUMBER.match(self.t, self.i)
        if match is None:
            raise _Problem("syntax")
        self.i = match.end()
        if abs(float(match.group())) == _INF:
            raise _Problem("number")


def json_problem(body: bytes) -> str:
    """Why a body is not a JSON document the protocol accepts: ``utf8``, ``bom``, ``syntax``,
    ``depth``, ``surrogate`` or ``number`` (invalid UTF-8 first, then the first problem in
    document order); ``""`` when it is one."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return "utf8"
    if text.startswith("\ufeff"):
        return "bom"
    try:
        _Scanner(text).document()
    except _Problem as problem:
        return problem.cause
    return ""


# ---------------------------------------------------------------------------------------------
# The lenient reading (which ids an undecodable frame's answer echoes)

_L_WS = r"[ \t\n\r]*"
_L_STRING_RE = r'"[^"\\\x00-\x1f]*(?:\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4})[^"\\\x00-\x1f]*)*"'
_L_NUMBER_RE = r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?"
_L_SCALAR_RE = "(?:" + _L_STRING_RE + "|" + _L_NUMBER_RE + "|true|false|null)"
_L_SPACE = re.compile(_L_WS)
_L_STRING = re.compile(_L_STRING_RE)
_L_SCALAR = re.compile(_L_SCALAR_RE)
# Runs of array items / object members that are scalars, skipped by one regex call each (a
# bounded count per call keeps the regex engine's memory small).
_L_ITEMS = re.compile("(?:" + _L_WS + _L_SCALAR_RE + _L_WS + ",)" + "{0,4096}")
_L_MEMBERS = re.compile(
    "(?:" + _L_WS + _L_STRING_RE + _L_WS + ":" + _L_WS + _L_SCALAR_RE + _L_WS + ",)" + "{0,4096}"
)
_L_OPENS = re.compile(r"\[[\[ \t\n\r]*")
_L_CLOSES = re.compile(r"[\]}][\]} \t\n\r]*")
_L_DROP_WS = str.maketrans("", "", " \t\n\r")
_L_OPENERS = str.maketrans("]}", "[{")
_OPEN_OBJECT = 0x7B


def _l_after(pattern: re.Pattern[str], text: str, i: int) -> int:
    """Where a match of `pattern` at `i` ends (`pattern` matches the empty string)."""
    match = pattern.match(text, i)
    return i if match is None else match.end()


def _l_string_value(token: str) -> str:
    if "\\" not in token:
        return token[1:-1]
    value: str = json.loads(token)
    return value


# Deepest body given to the standard library's (recursive) parser by `lenient_strings`: within
# the default recursion limit (1000) with room for the caller's frames; a RecursionError (a
# lower limit, a deeper caller) falls back to the scanner.
_LENIENT_C_DEPTH = 900
_DEPTH_STEP = [0] * 256
_DEPTH_STEP[0x5B] = _DEPTH_STEP[0x7B] = 1
_DEPTH_STEP[0x5D] = _DEPTH_STEP[0x7D] = -1


def _nested_deeper(body: bytes, limit: int) -> bool:
    """Whether brackets outside strings nest deeper than `limit` (no loop in Python)."""
    if body.count(b"[") + body.count(b"{") <= limit:
        return False
    brackets = _STRINGS.sub(b"", body).translate(None, _NOT_BRACKETS)
    return max(accumulate(map(_DEPTH_STEP.__getitem__, brackets)), default=0) > limit


def _lenient_constant(text: str) -> object:
    raise ValueError(f"{text} is not JSON")


def _lenient_number(text: str) -> int:
    return 0


_lenient_decode = json.JSONDecoder(
    parse_constant=_lenient_constant, parse_int=_lenient_number, parse_float=_lenient_number
).decode


def lenient_strings(body: bytes | bytearray | memoryview, outer: str, keys: tuple[str, ...]) -> dict[str, str] | None:
    """The members `keys` of the object that is member `outer` of the root object of `body`,
    those that are strings of Unicode scalar values, read by the lenient reading; ``None`` when
    `body` is not a JSON text under that reading.

    The lenient reading differs from `loads` only in what it lets through: numbers of any
    magnitude, lone surrogate escapes (inside strings that are not returned) and any nesting
    depth. It still requires valid UTF-8 and RFC 8259 syntax (no byte-order mark, no ``NaN``,
    no trailing bytes). As in `loads`, the last of duplicate keys wins (keys compared after
    unescaping). It never recurses and builds no value, so any body a frame can hold is read
    in bounded memory.
    """
    try:
        text = bytes(body).decode("utf-8")
    except UnicodeDecodeError:
        return None
    # The standard library's parser reads exactly this grammar once its constants are refused
    # (numbers are not even converted). It recurses (in C), so only shallow bodies go to it;
    # the others take the scanner, which gives the same answer for every body (the tests
    # compare the two) and is faster on deep bodies, slower on wide ones.
    if not _nested_deeper(bytes(body), _LENIENT_C_DEPTH):
        try:
            value = _lenient_decode(text)
        except ValueError:
            return None
        except RecursionError:
            return _lenient_scan(text, outer, keys)
    else:
        return _lenient_scan(text, outer, keys)
    found: dict[str, str] = {}
    content = value.get(outer) if type(value) is dict else None
    if type(content) is dict:
        for key in keys:
            item = content.get(key)
            if type(item) is str and _SURROGATE.search(item) is None:
                found[key] = item
    return found


def _lenient_scan(text: str, outer: str, keys: tuple[str, ...]) -> dict[str, str] | None:
    """`lenient_strings` on decoded text, without recursion and without building values."""
    n = len(text)
    stack = bytearray()
    found: dict[str, str] = {}
    in_outer = False  # the depth-1 member being read is `outer`
    wanted: str | None = None  # the key whose value comes next, when it is one of `keys`
    i = _l_after(_L_SPACE, text, 0)
    state = 0  # 0: a value, 1: a key, 2: after a value
    while True:
        if state == 0:
            if i >= n:
                return None
            c = text[i]
            if c == "{":
                wanted = None
                stack.append(_OPEN_OBJECT)
                i = _l_after(_L_SPACE, text, i + 1)
                if i < n and text[i] == "}":
                    stack.pop()
                    i += 1
                    state = 2
                else:
                    state = 1
            elif c == "[":
                wanted = None
                match = _L_OPENS.match(text, i)
                assert match is not None
                stack.extend(b"[" * match.group().count("["))
                i = match.end()
                if i < n and text[i] == "]":
                    stack.pop()
                    i += 1
                    state = 2
                else:
                    i = _skip_items(text, i)
            else:
                match = _L_SCALAR.match(text, i)
                if match is None:
                    return None
                if wanted is not None:
                    if c == '"':
                        value = _l_string_value(match.group())
                        if _SURROGATE.search(value) is None:
                            found[wanted] = value
                    wanted = None
                i = match.end()
                state = 2
        elif state == 1:
            depth = len(stack)
            if depth > 2 or (depth == 2 and not in_outer):
                i = _skip_members(text, i)
            match = _L_STRING.match(text, i)
            if match is None:
                return None
            i = _l_after(_L_SPACE, text, match.end())
            if i >= n or text[i] != ":":
                return None
            if depth == 1:
                in_outer = _l_string_value(match.group()) == outer
                if in_outer:
                    found.clear()
            elif depth == 2 and in_outer:
                key = _l_string_value(match.group())
                if key in keys:
                    found.pop(key, None)
                    wanted = key
            i = _l_after(_L_SPACE, text, i + 1)
            state = 0
        else:
            i = _l_after(_L_SPACE, text, i)
            if not stack:
                return found if i == n else None
            if i >= n:
                return None
            c = text[i]
            if c == ",":
                i = _l_after(_L_SPACE, text, i + 1)
                if stack[-1] == _OPEN_OBJECT:
                    state = 1
                else:
                    i = _skip_items(text, i)
                    state = 0
            elif c == "]" or c == "}":
                match = _L_CLOSES.match(text, i)
                assert match is not None
                closers = match.group().translate(_L_DROP_WS).translate(_L_OPENERS)[::-1].encode("ascii")
                k = len(closers)
                if k > len(stack) or stack[-k:] != closers:
                    return None
                del stack[-k:]
                i = match.end()
            else:
                return None


def _skip_items(text: str, i: int) -> int:
    while True:
        end = _l_after(_L_ITEMS, text, i)
        if end == i:
            return _l_after(_L_SPACE, text, i)
        i = end


def _skip_members(text: str, i: int) -> int:
    while True:
        end = _l_after(_L_MEMBERS, text, i)
        if end == i:
            return _l_after(_L_SPACE, text, i)
        i = end


_ACCELERATE_VAR = {{ c.env_accelerate_lit }}
_ACCELERATE = os.environ.get(_ACCELERATE_VAR, "1").strip().lower() not in ("0", "false", "no", "off")


def _optional_module(name: str) -> Any:
    """An optional accelerator's module (typed `Any`: the package type-checks without it), or
    None when it is not installed or the accelerators are turned off."""
    if not _ACCELERATE:
        return None
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


_ORJSON = _optional_module("orjson")
MSGSPEC = _optional_module("msgspec")
"""msgspec when installed (the ``fast`` extra) and not turned off, else None: each protocol's
``_fast`` decoder is built on it."""


def _accelerator() -> Callable[[bytes], object] | None:
    """orjson's parser, guarded so that it is only trusted where it agrees with the stdlib."""
    if _ORJSON is None:
        return None
    fast_loads: Callable[[bytes], object] = _ORJSON.loads
    decode_error = _ORJSON.JSONDecodeError
    # orjson agrees with the stdlib path on every body except these, which take the stdlib path
    # (it owns every verdict and every error message): escapes (lone surrogates), deep nesting,
    # and the integer `-0` (orjson reads 0, the reference -0.0). Integers outside
    # [-2**63, 2**64) are read as floats by both, and a float that overflows is an error in both.
    def loads_fast(body: bytes) -> object:
        if (
            b"\\u" in body
            or body.count(b"[") + body.count(b"{") > MAX_NESTING_DEPTH
            or _minus_zero(body)
        ):
            return _loads_stdlib(body)
        try:
            return fast_loads(body)
        except decode_error:
            return _loads_stdlib(body)

    return loads_fast


_fast = _accelerator()

ACCELERATED = _fast is not None or MSGSPEC is not None
"""Whether frames are decoded with the ``fast`` extra's libraries (msgspec, orjson) where they
provably agree with the standard library (and not turned off with ``{{ c.env_accelerate }}=0``);
results are identical either way."""

def suspect_any(value: object, budget: int) -> bool:
    """Whether an any-JSON value decoded by msgspec might read otherwise in the reference: it
    holds an integer 0 (msgspec reads a `-0` token as 0, the reference -0.0), an integer outside
    [-2**63, 2**64) (the reference reads a float), or arrays and objects nested more than
    `budget` levels (the value itself being the first)."""
    t = type(value)
    if t is dict:
        items: Any = value.values()  # type: ignore[attr-defined]
    elif t is list:
        items = value
    elif t is int:
        return value == 0 or not _I64_MIN <= value < _U64_END  # type: ignore[operator]
    else:
        return t is not str and t is not float and t is not bool and value is not None
    if budget <= 0:
        return True
    for item in items:
        it = type(item)
        if it in _PLAIN_SCALARS:
            continue
        if it is int:
            if item == 0 or not _I64_MIN <= item < _U64_END:
                return True
        elif suspect_any(item, budget - 1):
            return True
    return False


_PLAIN_SCALARS = frozenset((str, float, bool, type(None)))


def msgspec_may_differ(body: bytes) -> bool:
    """Whether msgspec's typed decoding might read `body` otherwise than the reference: nesting
    deeper than the limit (msgspec has none of its own), a 19+ digit number (msgspec keeps big
    integers, the reference reads them as floats) or the integer `-0` (msgspec reads 0, the
    reference -0.0). Conservative: text inside strings counts too."""
    digits = body.translate(_GATE_TABLE)
    return digits.count(b"[") > MAX_NESTING_DEPTH or _LONG_DIGITS in digits or _minus_zero(body)


def loads(body: bytes | bytearray | memoryview) -> object:
    """Parses one JSON document strictly; raises `JsonError`."""
    if type(body) is not bytes:
        body = bytes(body)
    if _fast is not None:
        return _fast(body)
    return _loads_stdlib(body)


# ---------------------------------------------------------------------------------------------
# Writing


def _fix_exponent(text: str) -> str:
    # repr() writes 1e-05 .. 9.99e-05 in exponent form; the reference writes them in full, and
    # smaller exponents without the leading zero (1e-7).
    mantissa, exponent = text.split("e-0")
    if exponent != "5":
        return mantissa + "e-" + exponent
    sign = "-" if mantissa[0] == "-" else ""
    return sign + "0.0000" + mantissa.lstrip("-").replace(".", "")


def format_float(value: float) -> str:
    """The reference's text for a finite float: shortest round-trip digits, ``1.0``, ``1e+16``,
    ``0.00001``, ``1e-7``; raises `ValueError` for NaN and infinities."""
    text = float.__repr__(value)
    if "e-0" in text:
        return _fix_exponent(text)
    if text[-1] == "n" or text[-1] == "f":
        raise ValueError(f"expected a finite number, got {text}")
    return text


# The C encoder of `json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), sort_keys=True,
# allow_nan=False, check_circular=False)`, built once (`JSONEncoder.encode` builds one per call).
# It is only given values `_plain_values` accepted; a cycle ends in RecursionError.
_c_make_encoder: Any = getattr(json.encoder, "c_make_encoder", None)
_c_iterencode: Any = (
    None if _c_make_encoder is None else _c_make_encoder(None, None, _c_encode_str, None, ":", ",", True, False, False)
)
_encode_stdlib = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), sort_keys=True, allow_nan=False).encode


def _encode_plain(value: object) -> str:
    if _c_iterencode is not None:
        return "".join(_c_iterencode(value, 0))
    return _encode_stdlib(value)  # pragma: no cover - CPython has the C encoder


def _plain_values(values: Any) -> bool:
    for v in values:
        t = type(v)
        if t is str or t is bool or v is None:
            continue
        if t is int:
            if not _I64_MIN <= v < _U64_END:
                return False
        elif t is float:
            if 9e-11 <= abs(v) < 1e-4:
                return False
        elif t is dict:
            for k in v:
                if type(k) is not str:
                    return False
            if not _plain_values(v.values()):
                return False
        elif t is list:
            if not _plain_values(v):
                return False
        else:
            return False
    return True


def _orjson_writer() -> tuple[Callable[[object], bytes], bool] | None:
    """orjson's writer (keys sorted) when the accelerator is on, and whether its float text is
    the reference's (checked here on values around every format threshold: orjson versions
    differ)."""
    if _ORJSON is None:
        return None
    dumps = _ORJSON.dumps
    option = _ORJSON.OPT_SORT_KEYS | _ORJSON.OPT_PASSTHROUGH_DATETIME | _ORJSON.OPT_PASSTHROUGH_DATACLASS

    def write(value: object) -> bytes:
        written: bytes = dumps(value, option=option)
        return written

    probes = [0.0, -0.0, 1.0, -1.5, 0.1, 249.99, 1e-4, 9.9e-5, 1e-5, 1.5e-7, 1e-7, 5e-324,
              2.2250738585072014e-308, 1e15, 9999999999999998.0, 1e16, 1.5e16, 1e21, 1e22,
              123456789012345.6, 1.7976931348623157e308]
    try:
        floats_ok = all(write(f) == format_float(f).encode("ascii") for f in probes)
    except Exception:  # noqa: BLE001 - a writer that cannot even do this is not used
        return None
    return write, floats_ok


_ORJSON_SCALARS = frozenset((str, int, bool, type(None)))


def _orjson_values(values: Any) -> bool:
    """Whether orjson writes these values exactly as the reference does (its own checks refuse
    non-string keys, integers beyond 64 bits, lone surrogates and extreme nesting)."""
    for v in values:
        t = type(v)
        if t in _ORJSON_SCALARS:
            continue
        if t is float:
            if not _ORJSON_FLOATS or v - v != 0:
                return False
        elif t is dict:
            if not _orjson_values(v.values()):
                return False
        elif t is list:
            if not _orjson_values(v):
                return False
        else:
            return False
    return True


class AnyError(ValueError):
    """A value that cannot be written as JSON; `path` locates it inside the value."""

    def __init__(self, path: list[str | int], expected: str, got: str) -> None:
        super().__init__(f"expected {expected}, got {got}")
        self.path = path
        self.expected = expected
        self.got = got


def describe(value: object) -> str:
    """How an error names a value it did not expect, by the rule every language follows:
    ``null``, ``boolean true``, ``integer -1``, ``float 1.5`` (the canonical float text),
    ``string "..."`` (its first 40 characters, JSON-escaped, then ``...`` when longer),
    ``array``, ``object``."""
    if value is None:
        return "null"
    if value is True:
        return "boolean true"
    if value is False:
        return "boolean false"
    if isinstance(value, str):
        return "string " + _c_encode_str(value[:40]) + ("..." if len(value) > 40 else "")
    if isinstance(value, int):
        return f"integer {int.__repr__(value)}"
    if isinstance(value, float):
        try:
            return "float " + format_float(value)
        except ValueError:
            return "float " + float.__repr__(value)
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    return f"a {type(value).__name__} object"


def _encode_slow(value: object, path: list[str | int]) -> str:
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        if _SURROGATE.search(value) is not None:
            raise AnyError(path, "a string without lone surrogates", describe(value))
        return _c_encode_str(value)
    if isinstance(value, int):
        if _I64_MIN <= value < _U64_END:
            return int.__repr__(value)
        try:
            # The reference holds integers beyond 64 bits as floats.
            return format_float(float(value))
        except OverflowError:
            raise AnyError(path, "a number within the range of a 64-bit float", describe(value)) from None
    if isinstance(value, float):
        if value - value != 0:
            raise AnyError(path, "a finite number", describe(value))
        return format_float(value)
    if isinstance(value, dict):
        items: list[tuple[str, object]] = []
        for k, v in value.items():
            if not isinstance(k, str):
                raise AnyError(path, "an object with string keys", f"key {k!r}")
            items.append((k, v))
        items.sort(key=lambda item: item[0])
        return "{" + ",".join(
            [_encode_slow(k, path) + ":" + _encode_slow(v, path + [k]) for k, v in items]
        ) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join([_encode_slow(v, path + [i]) for i, v in enumerate(value)]) + "]"
    raise AnyError(path, "a JSON value (None, bool, int, float, str, list, dict)", describe(value))


_writer = _orjson_writer()
_orjson_write = None if _writer is None else _writer[0]
_ORJSON_FLOATS = _writer is not None and _writer[1]


def encode_str_map(value: object) -> str:
    """Canonical JSON text of a map of strings (keys sorted); raises `TypeError` for anything
    else (the caller's slow path says what is wrong). orjson writes it where installed: its text
    is the reference's for string keys and values (a lone surrogate, which it refuses, is left to
    the plain writer, whose text then fails to encode, as anywhere else)."""
    if type(value) is not dict:
        raise TypeError("expected a dict")
    for k, v in value.items():
        if type(k) is not str or (type(v) is not str and not isinstance(v, str)):
            raise TypeError("expected string keys and values")
    if _orjson_write is not None:
        try:
            return _orjson_write(value).decode("utf-8")
        except TypeError:
            pass
    return "{" + ",".join([_c_encode_str(k) + ":" + _c_encode_str(v) for k, v in sorted(value.items())]) + "}"


def encode_any(value: object) -> str:
    """Canonical JSON text of a JSON value; raises `AnyError` (a `ValueError`) for anything that
    is not one. (Strings are written as given: a lone surrogate fails when the text is encoded
    to UTF-8.)"""
    if type(value) is str:
        return _c_encode_str(value)
    if type(value) is dict or type(value) is list:
        # (A cycle ends the checks' walks in RecursionError: the slow path then reports it.)
        try:
            if _orjson_write is not None and _orjson_values((value,)):
                return _orjson_write(value).decode("utf-8")
        except (TypeError, ValueError, RecursionError):
            pass
        try:
            if _plain_values((value,)):
                return _encode_plain(value)
        except (ValueError, TypeError, RecursionError):
            pass
    elif type(value) is int:
        if _I64_MIN <= value < _U64_END:
            return int.__repr__(value)
    elif type(value) is float:
        return format_float(value)
    try:
        return _encode_slow(value, [])
    except RecursionError:
        raise AnyError([], "a JSON value without cycles or extreme nesting", "a value nested too deep") from None


# ---------------------------------------------------------------------------------------------
# Timestamps


class TimestampError(ValueError):
    """A timestamp string outside the protocol's strict RFC 3339 grammar."""


class Timestamp(datetime):
    """A UTC `datetime` that keeps the nanoseconds the wire can carry.

    Decoding produces these, so that a decode and re-encode round trip is byte-identical.
    ``nanosecond`` holds the digits below the microsecond (0-999); arithmetic and ``replace()``
    drop them. Any timezone-aware `datetime` can be used where the protocol wants a timestamp;
    a naive one is refused when encoding.
    """

    # Slots, not a __dict__: cheaper to build. `_text` is the text decoding read when it is the
    # canonical text of this instant (written back as is: a datetime is immutable), else None.
    __slots__ = ("_nanosecond", "_text")
    _nanosecond: int
    _text: str | None

    def __new__(cls, *args: Any, nanosecond: int = 0, **kwargs: Any) -> Self:
        self = datetime.__new__(cls, *args, **kwargs)
        if not 0 <= nanosecond <= 999:
            raise ValueError(f"nanosecond must be in 0..999, got {nanosecond}")
        self._nanosecond = nanosecond
        self._text = None
        return self

    def __getattr__(self, name: str) -> Any:
        # An instance made without `__new__` (`datetime.__new__(Timestamp, ...)`) reads as
        # nanosecond 0 with no kept text.
        if name == "_nanosecond":
            return 0
        if name == "_text":
            return None
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    @property
    def nanosecond(self) -> int:
        """Nanoseconds below the microsecond, 0-999."""
        return self._nanosecond

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Timestamp):
            return datetime.__eq__(self, other) is True and self._nanosecond == other._nanosecond
        if isinstance(other, datetime):
            return self._nanosecond == 0 and datetime.__eq__(self, other) is True
        return NotImplemented

    def __ne__(self, other: object) -> bool:
        equal = self.__eq__(other)
        return equal if equal is NotImplemented else not equal

    __hash__ = datetime.__hash__

    def __repr__(self) -> str:
        text = datetime.__repr__(self)
        if self._nanosecond:
            text = text[:-1] + f", nanosecond={self._nanosecond})"
        return text

    def __reduce__(self) -> Any:
        return (_restore, (datetime.__reduce__(self), self._nanosecond))


def _restore(state: Any, nanosecond: int) -> Timestamp:
    base = state[0](*state[1])
    return Timestamp(
        base.year, base.month, base.day, base.hour, base.minute, base.second,
        base.microsecond, base.tzinfo, fold=base.fold, nanosecond=nanosecond,
    )


_TIMESTAMP = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})"
    r"(?:\.([0-9]*))?(Z|[+-][0-9]{2}:[0-9]{2})"
)
_SHAPE = "an RFC 3339 timestamp YYYY-MM-DDThh:mm:ss[.fraction](Z|\u00b1hh:mm)"


_fromisoformat = datetime.fromisoformat
_new_datetime: Any = datetime.__new__
_datetime_state = datetime.__reduce__


# The common shape, UTC with 0 to 9 fraction digits; the others (offsets, bad input) take the
# slow path, which gives the same values and every error message.
_TIMESTAMP_UTC = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.([0-9]{1,9}))?Z").fullmatch
# Fraction digits -> (multiplier to nanoseconds); canonical texts have 0, 3, 6 or 9 digits.
_TO_NANOS = [10 ** (9 - n) for n in range(10)]
# The canonical texts (UTC, 0, 3, 6 or 9 fraction digits) by length: the characters at offsets
# 4, 7, 10, 13, 16 and 19. From Python 3.11 on, `fromisoformat` reads them whole, in C; it reads a
# superset of the grammar (and skips non-ASCII digits past the sixth), which the shape and ASCII
# checks before it exclude.
_FROMISO_Z = sys.version_info >= (3, 11)
_CANONICAL_SHAPES = {20: "--T::Z", 24: "--T::.", 27: "--T::.", 30: "--T::."} if _FROMISO_Z else {}
_NANOS = {f"{n:03d}": n for n in range(1000)}
_NANOS_Z = {f"{n:03d}Z": n for n in range(1000)}


def parse_timestamp(text: str) -> Timestamp:
    """Parses the protocol's strict RFC 3339 grammar; raises `TimestampError` saying what was
    expected."""
    if len(text) == 30 and _FROMISO_Z:
        # The commonest text (chrono writes nanoseconds): its own branch, fewest steps. The
        # digits below the microsecond and the `Z` in one look-up (`fromisoformat` skips them).
        nanos = _NANOS_Z.get(text[26:])
        if nanos is not None and text[4:20:3] == "--T::." and text.isascii():
            try:
                base = _fromisoformat(text)
            except ValueError:
                pass
            else:
                value: Timestamp = _new_datetime(Timestamp, _datetime_state(base)[1][0], _UTC)
                value._nanosecond = nanos
                value._text = text if nanos else None
                return value
        return _parse_timestamp_other(text)
    shape = _CANONICAL_SHAPES.get(len(text))
    if shape is not None and text[4:20:3] == shape and text[-1] == "Z" and text.isascii():
        n = len(text)
        if n == 30:
            # The digits below the microsecond (`fromisoformat` skips them unchecked).
            below = _NANOS.get(text[26:29])
            shaped = below is not None
            nanos = below or 0
        else:
            nanos = 0
            shaped = n == 20 or text[20:-1].isdigit()
        if shaped:
            try:
                # Checks the digits, the date and the time of day; truncates to microseconds.
                base = _fromisoformat(text)
            except ValueError:
                pass
            else:
                # Built from the state bytes (datetime's pickle constructor): the cheapest way.
                value = _new_datetime(Timestamp, _datetime_state(base)[1][0], _UTC)
                value._nanosecond = nanos
                # Canonical unless the last three fraction digits are zeros (fewer are written).
                value._text = text if (nanos if n == 30 else n == 20 or text[-4:-1] != "000") else None
                return value
    return _parse_timestamp_other(text)


def _parse_timestamp_other(text: str) -> Timestamp:
    match = _TIMESTAMP_UTC(text)
    if match is not None and text[11:13] <= "23":
        fraction = match.group(1)
        if fraction is None:
            nanos = 0
            canonical = True
        else:
            nanos = int(fraction) * _TO_NANOS[len(fraction)]
            # Canonical: 3, 6 or 9 digits, the last three not all zero (else fewer are written).
            canonical = len(fraction) % 3 == 0 and not fraction.endswith("000")
        try:
            # The shape is checked: this validates the date and the time of day, in C.
            base = _fromisoformat(text[:19])
        except ValueError:
            pass
        else:
            value: Timestamp = _new_datetime(
                Timestamp, base.year, base.month, base.day, base.hour, base.minute, base.second,
                nanos // 1000, _UTC,
            )
            value._nanosecond = nanos % 1000
            value._text = text if canonical else None
            return value
    return _parse_timestamp_slow(text)


def _parse_timestamp_slow(text: str) -> Timestamp:
    match = _TIMESTAMP.fullmatch(text)
    if match is None:
        if re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{10,}.*", text, re.DOTALL):
            raise TimestampError("1 to 9 digits of fractional seconds")
        raise TimestampError(_SHAPE)
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    nanos = 0
    if fraction is not None:
        if not 0 < len(fraction) <= 9:
            raise TimestampError("1 to 9 digits of fractional seconds")
        nanos = int(fraction) * 10 ** (9 - len(fraction))
    y = int(year)
    if y == 0:
        raise TimestampError("a year in 0001..=9999")
    h, mi, s = int(hour), int(minute), int(second)
    try:
        base = datetime(y, int(month), int(day))
    except ValueError:
        raise TimestampError("a date that exists") from None
    if h > 23 or mi > 59 or s > 59:
        raise TimestampError("a time of day in 00:00:00..=23:59:59")
    micro, nano = divmod(nanos, 1000)
    if zone != "Z":
        oh, om = int(zone[1:3]), int(zone[4:6])
        if oh > 23 or om > 59:
            raise TimestampError("an offset in -23:59..=+23:59")
        offset = timedelta(hours=oh, minutes=om)
        local = base + timedelta(hours=h, minutes=mi, seconds=s)
        try:
            base = local - offset if zone[0] == "+" else local + offset
        except OverflowError:
            raise TimestampError("an instant in 0001..=9999 once converted to UTC") from None
        h, mi, s = base.hour, base.minute, base.second
    return Timestamp(base.year, base.month, base.day, h, mi, s, micro, _UTC, nanosecond=nano)


def format_timestamp(value: datetime) -> str:
    """The JSON string the reference writes for an instant: UTC, ``Z``, and 0, 3, 6 or 9
    fraction digits. Raises `TimestampError` for a naive datetime."""
    if type(value) is Timestamp and value.tzinfo is _UTC:
        text = value._text
        if text is not None:
            return '"' + text + '"'
        nanos = value._nanosecond
        dt: datetime = value
    else:
        if not isinstance(value, datetime):
            raise TypeError(f"expected a datetime, got {describe(value)}")
        offset = value.utcoffset()
        if offset is None:
            raise TimestampError("a timezone-aware datetime, got a naive one")
        nanos = value._nanosecond if isinstance(value, Timestamp) else 0
        try:
            dt = value.replace(tzinfo=None) - offset
        except OverflowError:
            raise TimestampError("an instant in 0001..=9999 once converted to UTC") from None
    micro = dt.microsecond
    if nanos:
        fraction = f".{micro * 1000 + nanos:09d}"
    elif micro:
        fraction = f".{micro // 1000:03d}" if micro % 1000 == 0 else f".{micro:06d}"
    else:
        fraction = ""
    return f'"{dt.year:04d}-{dt.month:02d}-{dt.day:02d}T{dt.hour:02d}:{dt.minute:02d}:{dt.second:02d}{fraction}Z"'
