{{ c.header -}}
"""What every protocol version's codec shares: `FrameError`, field paths, the fast paths'
checks, the exact error reports walked over each version's type tables, and framing.

Each version's ``_codec`` module has straight-line decoders and encoders generated from its
schema; they raise the internal ``_Bad`` at the first problem, and the caller then walks the
value once more with `explain` / `explain_encode` over the version's `Tables` to report exactly
what is wrong and where, in the order the reference decoder reports it (present fields in
declaration order, then missing fields; map entries in code-point order of their keys).
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from json.encoder import encode_basestring as _enc_str
from typing import Any, NamedTuple

from ._json import (
    AnyError,
    TimestampError,
    describe,
    encode_any,
    format_float,
    format_timestamp,
    parse_timestamp,
)
from ._text import format_message

__all__ = [
    "FRAME_HEADER_LEN",
    "FrameError",
    "Spec",
    "Tables",
    "check_length",
    "explain",
    "explain_encode",
    "format_path",
    "frame_body",
    "read_frame",
]

FRAME_HEADER_LEN = {{ c.frame_header_len }}
"""Length of a frame's header: the body length as a big-endian unsigned 32-bit integer."""


class FrameError(ValueError):
    """A frame that cannot be decoded (or a message that cannot be encoded).

    ``kind`` is one of ``"length"`` (the header), ``"json"`` (the body is not JSON the protocol
    accepts), ``"type"`` (a value of the wrong JSON type), ``"missing"`` (a required field is
    absent) or ``"value"`` (right type, value not allowed). ``path`` locates the value, e.g.
    ``payload.context.attempt``, ``payload.items["a b"]``, or ``$`` for the whole message.
    The message reads ``<path>: <expectation>, got <what>``.
    """

    def __init__(self, kind: str, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.kind = kind
        self.path = path


class _Bad(Exception):
    """Raised by the fast paths at the first problem; never escapes the codec modules."""


_MISSING: Any = object()
_new = object.__new__

Path = list[str | int]


def _is_plain_key(key: str) -> bool:
    return (
        key != ""
        and key.isascii()
        and (key[0].isalpha() or key[0] == "_")
        and key.replace("_", "a").isalnum()
    )


def format_path(path: Path) -> str:
    """Renders a path as the reference does: ``a.b[2]["c d"]``; ``$`` when empty."""
    out = ""
    for segment in path:
        if isinstance(segment, int):
            out += f"[{segment}]"
        elif _is_plain_key(segment):
            out += ("." if out else "") + segment
        else:
            out += "[" + _enc_str(segment) + "]"
    return out or "$"


def _error(kind: str, path: Path, expected: str, got: str) -> FrameError:
    return FrameError(kind, format_path(path), f"expected {expected}, got {got}")


# ---------------------------------------------------------------------------------------------
# Decoding helpers (fast path)


def _dec_bool(x: object) -> bool:
    if type(x) is not bool:
        raise _Bad
    return x


def _dec_str(x: object) -> str:
    if type(x) is not str:
        raise _Bad
    return x


def _dec_int(x: object, lo: int | None, hi: int | None) -> int:
    if type(x) is not int or (lo is not None and x < lo) or (hi is not None and x > hi):
        raise _Bad
    return x


def _dec_float(x: object) -> float:
    if type(x) is float:
        return x
    if type(x) is int:
        return float(x)
    raise _Bad


def _dec_list(x: object) -> list[Any]:
    if type(x) is not list:
        raise _Bad
    return x


def _dec_dict(x: object) -> dict[str, Any]:
    if type(x) is not dict:
        raise _Bad
    return x


def _dec_str_map(x: object) -> dict[str, str]:
    if type(x) is not dict:
        raise _Bad
    for value in x.values():
        if type(value) is not str:
            raise _Bad
    return x


# ---------------------------------------------------------------------------------------------
# Encoding helpers (fast path)


def _enc_bool(x: object) -> str:
    if x is True:
        return "true"
    if x is False:
        return "false"
    raise _Bad


def _enc_int(x: object, lo: int | None, hi: int | None) -> str:
    if type(x) is not int or (lo is not None and x < lo) or (hi is not None and x > hi):
        raise _Bad
    return int.__repr__(x)


def _enc_float(x: object) -> str:
    if type(x) is float:
        return format_float(x)
    if type(x) is int:
        return format_float(float(x))
    raise _Bad


def _enc_any(x: object) -> str:
    return encode_any(x)


def _enc_any_list(x: object) -> str:
    if type(x) is not list and type(x) is not tuple:
        raise _Bad
    return encode_any(x)


def _enc_any_map(x: object) -> str:
    if type(x) is not dict:
        raise _Bad
    return encode_any(x)


def _enc_list(x: object) -> list[Any]:
    if type(x) is not list and type(x) is not tuple:
        raise _Bad
    return list(x)


def _enc_items(x: object) -> list[tuple[str, Any]]:
    if type(x) is not dict:
        raise _Bad
    for key in x:
        if type(key) is not str:
            raise _Bad
    return sorted(x.items())


# ---------------------------------------------------------------------------------------------


# ---------------------------------------------------------------------------------------------
# Slow paths: exact error reports

Spec = tuple[Any, ...]
"""A type spec is (kind, expectation, ...): the expectation is the text a FrameError gives after
"expected " (shared with every language); then the bounds (int), the item spec (array, map) or
the type's name (struct, enum, union)."""


class Tables(NamedTuple):
    """One protocol version's types, for the exact error reports."""

    structs: dict[str, tuple[tuple[str, str, Spec, bool, bool, bool, str], ...]]
    """Per struct: (wire key, attribute, type spec, required, nullable, always written, expectation)."""
    struct_classes: dict[str, type]
    enums: dict[str, Any]
    unions: dict[str, tuple[str, str, str, dict[str, tuple[type, Spec]], str]]
    """Per union: (tag key, content key, content attribute, {tag value: (variant class, content
    spec)}, expectation of the tag)."""


_NOTHING = "nothing"


def explain(tables: Tables, spec: Spec, value: object, path: Path, expected: str) -> FrameError | None:
    """The error the reference decoder reports for `value`, or None: in a struct the first
    invalid present field in declaration order (depth first), then the first absent required
    field; in a map the first invalid entry in code-point order of the keys; in an array the
    first invalid item. `expected` is the expectation of the value where it stands."""
    kind = spec[0]
    if kind == "struct":
        if type(value) is not dict:
            return _error("type", path, expected, describe(value))
        rows = tables.structs[spec[2]]
        for key, _, field_spec, _, nullable, _, field_expected in rows:
            if key in value:
                item = value[key]
                if item is None and nullable:
                    continue
                problem = explain(tables, field_spec, item, path + [key], field_expected)
                if problem is not None:
                    return problem
        for key, _, _, required, _, _, field_expected in rows:
            if required and key not in value:
                return _error("missing", path + [key], field_expected, _NOTHING)
        return None
    if kind == "union":
        tag_key, content_key, _, variants, tag_expected = tables.unions[spec[2]]
        if type(value) is not dict:
            return _error("type", path, expected, describe(value))
        if tag_key not in value:
            return _error("missing", path + [tag_key], tag_expected, _NOTHING)
        tag = value[tag_key]
        if type(tag) is not str:
            return _error("type", path + [tag_key], tag_expected, describe(tag))
        if tag not in variants:
            return _error("value", path + [tag_key], tag_expected, describe(tag))
        content_spec = variants[tag][1]
        if content_key not in value:
            return _error("missing", path + [content_key], content_spec[1], _NOTHING)
        return explain(tables, content_spec, value[content_key], path + [content_key], content_spec[1])
    if kind == "bool":
        return None if type(value) is bool else _error("type", path, expected, describe(value))
    if kind == "str":
        return None if type(value) is str else _error("type", path, expected, describe(value))
    if kind == "int":
        if type(value) is not int:
            return _error("type", path, expected, describe(value))
        if not spec[2] <= value <= spec[3]:
            return _error("value", path, expected, describe(value))
        return None
    if kind == "float":
        return None if type(value) in (int, float) else _error("type", path, expected, describe(value))
    if kind == "timestamp":
        if type(value) is not str:
            return _error("type", path, expected, describe(value))
        try:
            parse_timestamp(value)
        except TimestampError:
            return _error("value", path, expected, describe(value))
        return None
    if kind == "any":
        return None
    if kind == "array":
        if type(value) is not list:
            return _error("type", path, expected, describe(value))
        item_spec = spec[2]
        for index, item in enumerate(value):
            problem = explain(tables, item_spec, item, path + [index], item_spec[1])
            if problem is not None:
                return problem
        return None
    if kind == "map":
        if type(value) is not dict:
            return _error("type", path, expected, describe(value))
        item_spec = spec[2]
        for key in sorted(value):
            problem = explain(tables, item_spec, value[key], path + [key], item_spec[1])
            if problem is not None:
                return problem
        return None
    if kind == "enum":
        if type(value) is not str:
            return _error("type", path, expected, describe(value))
        if value not in {m.value for m in tables.enums[spec[2]]}:
            return _error("value", path, expected, describe(value))
        return None
    raise AssertionError(f"unknown spec {spec!r}")


def explain_encode(tables: Tables, spec: Spec, value: object, path: Path) -> FrameError | None:
    """The first value of a model that cannot be encoded, or None."""
    kind = spec[0]
    if kind == "struct":
        cls = tables.struct_classes[spec[2]]
        if not isinstance(value, cls):
            return _error("type", path, f"a {cls.__name__}", describe(value))
        for key, attr, field_spec, _, nullable, _, _ in tables.structs[spec[2]]:
            item = getattr(value, attr, _MISSING)
            if item is _MISSING:
                return _error("missing", path + [key], field_spec[1], "nothing")
            if item is None and (nullable or field_spec[0] == "any"):
                continue
            problem = explain_encode(tables, field_spec, item, path + [key])
            if problem is not None:
                return problem
        return None
    if kind == "union":
        _, content_key, content_attr, variants, _ = tables.unions[spec[2]]
        for cls, content_spec in variants.values():
            if isinstance(value, cls):
                return explain_encode(tables, content_spec, getattr(value, content_attr), path + [content_key])
        names = ", ".join(cls.__name__ for cls, _ in variants.values())
        return _error("type", path, f"one of {names}", describe(value))
    if kind == "bool":
        return None if type(value) is bool else _error("type", path, "a boolean", describe(value))
    if kind in ("str", "any"):
        try:
            encode_any(value).encode("utf-8")
        except AnyError as exc:
            return _error("type" if exc.expected.startswith("a JSON") else "value", path + exc.path, exc.expected, exc.got)
        except UnicodeEncodeError:
            return _error("value", path, "a string without lone surrogates", describe(value))
        if kind == "str" and not isinstance(value, str):
            return _error("type", path, "a string", describe(value))
        return None
    if kind == "int":
        if type(value) is not int:
            return _error("type", path, spec[1], describe(value))
        if not spec[2] <= value <= spec[3]:
            return _error("value", path, spec[1], describe(value))
        return None
    if kind == "float":
        if type(value) not in (int, float):
            return _error("type", path, "a number", describe(value))
        try:
            format_float(float(value))  # type: ignore[arg-type]
        except (ValueError, OverflowError):
            return _error("value", path, "a finite number", describe(value))
        return None
    if kind == "timestamp":
        if not isinstance(value, datetime):
            return _error("type", path, "a timezone-aware datetime", describe(value))
        try:
            format_timestamp(value)
        except TimestampError as exc:
            return _error("value", path, str(exc), repr(value))
        return None
    if kind in ("array", "map"):
        if kind == "array" and type(value) not in (list, tuple):
            return _error("type", path, "a list", describe(value))
        if kind == "map" and type(value) is not dict:
            return _error("type", path, "a dict", describe(value))
        entries: list[tuple[str | int, object]] = []
        if isinstance(value, (list, tuple)):
            entries.extend(enumerate(value))
        elif isinstance(value, dict):
            for name, item in value.items():
                if not isinstance(name, str):
                    return _error("type", path, "a dict with string keys", f"key {name!r}")
                entries.append((name, item))
        for place, item in entries:
            problem = explain_encode(tables, spec[2], item, path + [place])
            if problem is not None:
                return problem
        return None
    if kind == "enum":
        members = tables.enums[spec[2]]
        if value not in list(members) and value not in {m.value for m in members}:
            return _error("value", path, spec[1], describe(value))
        return None
    raise AssertionError(f"unknown spec {spec!r}")


# ---------------------------------------------------------------------------------------------
# Framing


def check_length(length: int, max_frame_len: int, messages: dict[str, str]) -> None:
    """Raises `FrameError` (kind ``length``) for a body length outside 1..=`max_frame_len`."""
    if length == 0:
        raise FrameError("length", "$", messages["length_zero"])
    if length > max_frame_len:
        raise FrameError("length", "$", format_message(messages["length_too_long"], length=length))


def frame_body(data: bytes, max_frame_len: int, messages: dict[str, str]) -> bytes:
    """The body of exactly one complete frame (header and body); raises `FrameError`."""
    if len(data) < FRAME_HEADER_LEN:
        raise FrameError(
            "length", "$", format_message(messages["length_header"], header_len=FRAME_HEADER_LEN, got=len(data))
        )
    length = int.from_bytes(data[:FRAME_HEADER_LEN], "big")
    check_length(length, max_frame_len, messages)
    if len(data) - FRAME_HEADER_LEN != length:
        raise FrameError(
            "length", "$", format_message(messages["length_mismatch"], length=length, got=len(data) - FRAME_HEADER_LEN)
        )
    return data[FRAME_HEADER_LEN:]


async def read_frame(reader: asyncio.StreamReader, max_frame_len: int, messages: dict[str, str]) -> bytes | None:
    """Reads one frame body from a stream; None when the stream ends cleanly between frames.

    The header is checked before any of the body is read: a zero or oversized length raises
    `FrameError` (kind ``length``), as does a stream that ends inside a frame.
    """
    try:
        header = await reader.readexactly(FRAME_HEADER_LEN)
    except asyncio.IncompleteReadError as exc:
        if not exc.partial:
            return None
        raise FrameError("length", "$", f"expected a {FRAME_HEADER_LEN}-byte header, got {len(exc.partial)} bytes before the end of the stream") from None
    length = int.from_bytes(header, "big")
    check_length(length, max_frame_len, messages)
    try:
        return await reader.readexactly(length)
    except asyncio.IncompleteReadError as exc:
        raise FrameError("length", "$", f"expected {length} body bytes, got {len(exc.partial)} before the end of the stream") from None
