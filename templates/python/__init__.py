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
{%- for name in c.models_all %}
    {{ name }},
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
{%- for name in c.package_all %}
    "{{ name }}",
{%- endfor %}
]
