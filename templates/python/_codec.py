{{ c.header -}}
"""Frames: strict decoding with field paths, canonical encoding, asyncio stream helpers.

Each type has a straight-line decoder (``_decode_<Type>``: parsed JSON to model) and encoder
(``_encode_<Type>``: model to canonical JSON text), generated from the schema. They raise the
internal ``_Bad`` at the first problem; the caller then walks the value once more with the
tables below to report exactly what is wrong and where, in the order the reference decoder
reports it (present fields in declaration order, then missing fields; map entries in code-point
order of their keys), whatever the order of the keys in the input.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from json.encoder import encode_basestring as _enc_str
from typing import Any

from ._json import (
    AnyError,
    JsonError,
    TimestampError,
    describe,
    encode_any,
    format_float,
    format_timestamp,
    json_problem,
    loads,
    parse_timestamp,
)
from ._messages import FRAME_MESSAGES, format_message
from ._models import (
{%- for name in c.codec_imports %}
    {{ name }},
{%- endfor %}
)

__all__ = [
    "FRAME_HEADER_LEN",
    "FrameError",
    "decode_frame",
    "decode_message",
    "encode_frame",
    "encode_message",
    "read_frame",
    "write_frame",
]

FRAME_HEADER_LEN = {{ c.frame_header_len }}
"""Length of a frame's header: the body length as a big-endian unsigned 32-bit integer."""


class FrameError(ValueError):
    """A frame that cannot be decoded (or a message that cannot be encoded).

    ``kind`` is one of ``"length"`` (the header), ``"json"`` (the body is not JSON the protocol
    accepts), ``"type"`` (a value of the wrong JSON type), ``"missing"`` (a required field is
    absent) or ``"value"`` (right type, value not allowed). ``path`` locates the value, e.g.
    ``payload.context.attempt``, ``payload.kwargs["a b"]``, or ``$`` for the whole message.
    The message reads ``<path>: <expectation>, got <what>``.
    """

    def __init__(self, kind: str, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.kind = kind
        self.path = path


class _Bad(Exception):
    """Raised by the fast paths at the first problem; never escapes this module."""


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


def _dec_timestamp(x: object) -> datetime:
    if type(x) is not str:
        raise _Bad
    return parse_timestamp(x)


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


def _enc_timestamp(x: datetime) -> str:
    return format_timestamp(x)


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
# Enums
{% for e in c.enums %}
_{{ e.name }}_BY_VALUE: dict[str, {{ e.name }}] = {member.value: member for member in {{ e.name }}}
_{{ e.name }}_JSON: dict[object, str] = {
    **{member.value: _enc_str(member.value) for member in {{ e.name }}},
    **{member: _enc_str(member.value) for member in {{ e.name }}},
}


def _decode_{{ e.name }}(x: object) -> {{ e.name }}:
    if type(x) is not str:
        raise _Bad
    member = _{{ e.name }}_BY_VALUE.get(x)
    if member is None:
        raise _Bad
    return member


def _encode_{{ e.name }}(x: object) -> str:
    return _{{ e.name }}_JSON[x]
{% endfor %}

# ---------------------------------------------------------------------------------------------
# Structs
{% for s in c.structs %}

def _decode_{{ s.name }}(o: Any) -> {{ s.name }}:
{%- for line in s.decode_lines %}
    {{ line }}
{%- endfor %}


def _encode_{{ s.name }}(v: {{ s.name }}) -> str:
{%- for line in s.encode_lines %}
    {{ line }}
{%- endfor %}
{% endfor %}

# ---------------------------------------------------------------------------------------------
# Unions
{% for u in c.unions %}

def _decode_{{ u.name }}(o: Any) -> {{ u.name }}:
{%- for line in u.decode_lines %}
    {{ line }}
{%- endfor %}


def _encode_{{ u.name }}(m: object) -> str:
{%- for line in u.encode_lines %}
    {{ line }}
{%- endfor %}
{% endfor %}

# ---------------------------------------------------------------------------------------------
# Slow paths: exact error reports

Spec = tuple[Any, ...]
# A type spec is (kind, expectation, ...): the expectation is the text a FrameError gives after
# "expected " (shared with every language); then the bounds (int), the item spec (array, map) or
# the type's name (struct, enum, union).
# Per struct: (wire key, attribute, type spec, required, nullable, always written, expectation).
_STRUCTS: dict[str, tuple[tuple[str, str, Spec, bool, bool, bool, str], ...]] = {
{%- for s in c.structs %}
    "{{ s.name }}": (
{%- for f in s.fields %}
        {{ f.spec_row }}
{%- endfor %}
    ),
{%- endfor %}
}
_STRUCT_CLASSES: dict[str, type] = {
{%- for s in c.structs %}
    "{{ s.name }}": {{ s.name }},
{%- endfor %}
}
_ENUMS: dict[str, Any] = {
{%- for e in c.enums %}
    "{{ e.name }}": {{ e.name }},
{%- endfor %}
}
# Per union: (tag key, content key, content attribute, {tag value: (variant class, content spec)},
# expectation of the tag).
_UNIONS: dict[str, tuple[str, str, str, dict[str, tuple[type, Spec]], str]] = {
{%- for u in c.unions %}
    "{{ u.name }}": {{ u.spec_row }},
{%- endfor %}
}
_ROOT: Spec = {{ c.root_spec }}
_NOTHING = "nothing"


def _explain(spec: Spec, value: object, path: Path, expected: str) -> FrameError | None:
    """The error the reference decoder reports for `value`, or None: in a struct the first
    invalid present field in declaration order (depth first), then the first absent required
    field; in a map the first invalid entry in code-point order of the keys; in an array the
    first invalid item. `expected` is the expectation of the value where it stands."""
    kind = spec[0]
    if kind == "struct":
        if type(value) is not dict:
            return _error("type", path, expected, describe(value))
        rows = _STRUCTS[spec[2]]
        for key, _, field_spec, _, nullable, _, field_expected in rows:
            if key in value:
                item = value[key]
                if item is None and nullable:
                    continue
                problem = _explain(field_spec, item, path + [key], field_expected)
                if problem is not None:
                    return problem
        for key, _, _, required, _, _, field_expected in rows:
            if required and key not in value:
                return _error("missing", path + [key], field_expected, _NOTHING)
        return None
    if kind == "union":
        tag_key, content_key, _, variants, tag_expected = _UNIONS[spec[2]]
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
        return _explain(content_spec, value[content_key], path + [content_key], content_spec[1])
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
            problem = _explain(item_spec, item, path + [index], item_spec[1])
            if problem is not None:
                return problem
        return None
    if kind == "map":
        if type(value) is not dict:
            return _error("type", path, expected, describe(value))
        item_spec = spec[2]
        for key in sorted(value):
            problem = _explain(item_spec, value[key], path + [key], item_spec[1])
            if problem is not None:
                return problem
        return None
    if kind == "enum":
        if type(value) is not str:
            return _error("type", path, expected, describe(value))
        if value not in {m.value for m in _ENUMS[spec[2]]}:
            return _error("value", path, expected, describe(value))
        return None
    raise AssertionError(f"unknown spec {spec!r}")


def _explain_encode(spec: Spec, value: object, path: Path) -> FrameError | None:
    """The first value of a model that cannot be encoded, or None."""
    kind = spec[0]
    if kind == "struct":
        cls = _STRUCT_CLASSES[spec[2]]
        if not isinstance(value, cls):
            return _error("type", path, f"a {cls.__name__}", describe(value))
        for key, attr, field_spec, _, nullable, _, _ in _STRUCTS[spec[2]]:
            item = getattr(value, attr, _MISSING)
            if item is _MISSING:
                return _error("missing", path + [key], field_spec[1], "nothing")
            if item is None and (nullable or field_spec[0] == "any"):
                continue
            problem = _explain_encode(field_spec, item, path + [key])
            if problem is not None:
                return problem
        return None
    if kind == "union":
        _, content_key, content_attr, variants, _ = _UNIONS[spec[2]]
        for cls, content_spec in variants.values():
            if isinstance(value, cls):
                return _explain_encode(content_spec, getattr(value, content_attr), path + [content_key])
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
            problem = _explain_encode(spec[2], item, path + [place])
            if problem is not None:
                return problem
        return None
    if kind == "enum":
        members = _ENUMS[spec[2]]
        if value not in list(members) and value not in {m.value for m in members}:
            return _error("value", path, spec[1], describe(value))
        return None
    raise AssertionError(f"unknown spec {spec!r}")


# ---------------------------------------------------------------------------------------------
# Messages and frames


def decode_message(body: bytes | bytearray | memoryview) -> {{ c.root }}:
    """Decodes one frame body (the JSON, without the header); raises `FrameError`."""
    try:
        value = loads(body)
    except JsonError:
        cause = json_problem(bytes(body)) or "syntax"
        raise FrameError("json", "$", FRAME_MESSAGES["json_" + cause]) from None
    try:
        return _decode_{{ c.root }}(value)
    except (_Bad, KeyError, TypeError, ValueError, AttributeError, OverflowError):
        pass
    problem = _explain(_ROOT, value, [], _ROOT[1])
    if problem is None:  # pragma: no cover - the fast and slow paths agree
        problem = FrameError("value", "$", "expected a valid message, got one the decoder could not read")
    raise problem


def encode_message(message: {{ c.root }}) -> bytes:
    """The canonical JSON body of a message (no header); raises `FrameError` naming the field
    that cannot be encoded."""
    try:
        return _encode_{{ c.root }}(message).encode("utf-8")
    except (_Bad, KeyError, TypeError, ValueError, AttributeError, OverflowError, RecursionError):
        pass
    problem = _explain_encode(_ROOT, message, [])
    if problem is None:  # pragma: no cover - the fast and slow paths agree
        problem = FrameError("value", "$", "expected an encodable message, got one the encoder could not write")
    raise problem


def _check_length(length: int) -> None:
    if length == 0:
        raise FrameError("length", "$", FRAME_MESSAGES["length_zero"])
    if length > MAX_FRAME_LEN:
        raise FrameError("length", "$", format_message(FRAME_MESSAGES["length_too_long"], length=length))


def encode_frame(message: {{ c.root }}) -> bytes:
    """A whole frame: the big-endian length header and the canonical body."""
    body = encode_message(message)
    _check_length(len(body))
    return len(body).to_bytes(FRAME_HEADER_LEN, "big") + body


def decode_frame(data: bytes | bytearray | memoryview) -> {{ c.root }}:
    """Decodes exactly one complete frame (header and body); raises `FrameError`."""
    data = bytes(data)
    if len(data) < FRAME_HEADER_LEN:
        raise FrameError(
            "length", "$", format_message(FRAME_MESSAGES["length_header"], header_len=FRAME_HEADER_LEN, got=len(data))
        )
    length = int.from_bytes(data[:FRAME_HEADER_LEN], "big")
    _check_length(length)
    if len(data) - FRAME_HEADER_LEN != length:
        raise FrameError(
            "length", "$", format_message(FRAME_MESSAGES["length_mismatch"], length=length, got=len(data) - FRAME_HEADER_LEN)
        )
    return decode_message(data[FRAME_HEADER_LEN:])


async def read_frame(reader: asyncio.StreamReader) -> bytes | None:
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
    _check_length(length)
    try:
        return await reader.readexactly(length)
    except asyncio.IncompleteReadError as exc:
        raise FrameError("length", "$", f"expected {length} body bytes, got {len(exc.partial)} before the end of the stream") from None


async def write_frame(writer: asyncio.StreamWriter, message: {{ c.root }}) -> None:
    """Writes one message as a frame and waits until the stream can take more."""
    writer.write(encode_frame(message))
    await writer.drain()
