{{ c.header -}}
"""Frames of protocol {{ c.version_text }}: strict decoding with field paths, canonical encoding,
asyncio stream helpers.

Each type has a straight-line decoder (``_decode_<Type>``: parsed JSON to model) and encoder
(``_encode_<Type>``: model to canonical JSON text), generated from the schema. They raise the
internal ``_Bad`` at the first problem; the caller then walks the value once more with the
tables below (``explain``) to report exactly what is wrong and where.
"""

from __future__ import annotations

import asyncio
from json.encoder import encode_basestring as _enc_str
from typing import Any

{% if c.module.is_none() -%}
from ._fast import decode as _fast_decode
{% endif -%}
from {{ c.up }}_frames import (
{%- for name in c.codec_helpers %}
    {{ name }},
{%- endfor %}
)
from {{ c.up }}_frames import read_frame as _read_frame
from {{ c.up }}_json import JsonError, json_problem, loads
{%- for alias in c.codec_json_aliases %}
from {{ c.up }}_json import {{ alias }}
{%- endfor %}
{%- if c.module.is_some() %}
from ._fast import decode as _fast_decode
{%- endif %}
from ._messages import FRAME_MESSAGES
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
# Slow paths: the exact error reports walk these tables (see ``explain`` in ``_frames``)

_TABLES = Tables(
    structs={
{%- for s in c.structs %}
        "{{ s.name }}": (
{%- for f in s.fields %}
            {{ f.spec_row }}
{%- endfor %}
    ),
{%- endfor %}
    },
    struct_classes={
{%- for s in c.structs %}
        "{{ s.name }}": {{ s.name }},
{%- endfor %}
    },
    enums={
{%- for e in c.enums %}
        "{{ e.name }}": {{ e.name }},
{%- endfor %}
    },
    unions={
{%- for u in c.unions %}
        "{{ u.name }}": {{ u.spec_row }},
{%- endfor %}
    },
)
_ROOT: Spec = {{ c.root_spec }}


# ---------------------------------------------------------------------------------------------
# Messages and frames


def decode_message(body: bytes | bytearray | memoryview) -> {{ c.root }}:
    """Decodes one frame body (the JSON, without the header); raises `FrameError`."""
    if _fast_decode is not None:
        if type(body) is not bytes:
            body = bytes(body)
        message = _fast_decode(body)
        if message is not None:
            return message
    try:
        value = loads(body)
    except JsonError:
        cause = json_problem(bytes(body)) or "syntax"
        raise FrameError("json", "$", FRAME_MESSAGES["json_" + cause]) from None
    try:
        return _decode_{{ c.root }}(value)
    except (_Bad, KeyError, TypeError, ValueError, AttributeError, OverflowError):
        pass
    problem = explain(_TABLES, _ROOT, value, [], _ROOT[1])
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
    problem = explain_encode(_TABLES, _ROOT, message, [])
    if problem is None:  # pragma: no cover - the fast and slow paths agree
        problem = FrameError("value", "$", "expected an encodable message, got one the encoder could not write")
    raise problem


def encode_frame(message: {{ c.root }}) -> bytes:
    """A whole frame: the big-endian length header and the canonical body."""
    body = encode_message(message)
    length = len(body)
    if not 0 < length <= MAX_FRAME_LEN:
        check_length(length, MAX_FRAME_LEN, FRAME_MESSAGES)
    return length.to_bytes(FRAME_HEADER_LEN, "big") + body


def decode_frame(data: bytes | bytearray | memoryview) -> {{ c.root }}:
    """Decodes exactly one complete frame (header and body); raises `FrameError`."""
    if type(data) is bytes:
        # A well-formed header, checked inline (the common case); `frame_body` reports the others.
        length = len(data) - FRAME_HEADER_LEN
        if 0 < length <= MAX_FRAME_LEN and int.from_bytes(data[:FRAME_HEADER_LEN], "big") == length:
            return decode_message(data[FRAME_HEADER_LEN:])
    return decode_message(frame_body(bytes(data), MAX_FRAME_LEN, FRAME_MESSAGES))


async def read_frame(reader: asyncio.StreamReader) -> bytes | None:
    """Reads one frame body from a stream; None when the stream ends cleanly between frames.

    The header is checked before any of the body is read: a zero or oversized length raises
    `FrameError` (kind ``length``), as does a stream that ends inside a frame.
    """
    return await _read_frame(reader, MAX_FRAME_LEN, FRAME_MESSAGES)


async def write_frame(writer: asyncio.StreamWriter, message: {{ c.root }}) -> None:
    """Writes one message as a frame and waits until the stream can take more."""
    writer.write(encode_frame(message))
    await writer.drain()
