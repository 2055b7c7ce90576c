{{ c.header -}}
"""RRQ runner bindings: the protocol's types, frames and an asyncio runner runtime.

Rendered by rrq-codegen from the protocol's JSON Schema; see README.md for a handler example.
"""

from ._codec import (
    FRAME_HEADER_LEN,
    FrameError,
    decode_frame,
    decode_message,
    encode_frame,
    encode_message,
    read_frame,
    write_frame,
)
from ._json import ACCELERATED, JsonValue, Timestamp
from ._models import (
    MAX_FRAME_LEN,
    MAX_NESTING_DEPTH,
    PROTOCOL_VERSION,
    ErrorType,
    Nullable,
    Omittable,
{%- for name in c.model_names %}
    {{ name }},
{%- endfor %}
{%- for u in c.unions %}
{%- for v in u.variants %}
    {{ v.class }},
{%- endfor %}
{%- endfor %}
)
from ._runtime import (
    DEFAULT_HIGH_WATER,
    DEFAULT_MAX_IN_FLIGHT,
    Handler,
    Registry,
    RetryError,
    Runner,
    parse_address,
    serve,
)

__version__ = "{{ c.package_version }}"

__all__ = [
    "ACCELERATED",
    "DEFAULT_HIGH_WATER",
    "DEFAULT_MAX_IN_FLIGHT",
    "FRAME_HEADER_LEN",
    "MAX_FRAME_LEN",
    "MAX_NESTING_DEPTH",
    "PROTOCOL_VERSION",
    "ErrorType",
    "FrameError",
    "Handler",
    "JsonValue",
    "Nullable",
    "Omittable",
    "Registry",
    "RetryError",
    "Runner",
    "Timestamp",
    "decode_frame",
    "decode_message",
    "encode_frame",
    "encode_message",
    "parse_address",
    "read_frame",
    "serve",
    "write_frame",
{%- for name in c.model_names %}
    "{{ name }}",
{%- endfor %}
{%- for u in c.unions %}
{%- for v in u.variants %}
    "{{ v.class }}",
{%- endfor %}
{%- endfor %}
]
