{{ c.header -}}
"""{{ c.module_doc }}

Rendered by rrq-codegen from the protocol's JSON Schema; see the package's README.md.
"""

from {{ c.up }}_frames import FRAME_HEADER_LEN, FrameError
from {{ c.up }}_json import ACCELERATED, JsonValue, Timestamp
{%- if c.runtime %}
from {{ c.up }}_runtime import (
    DEFAULT_HIGH_WATER,
    DEFAULT_MAX_IN_FLIGHT,
    RetryError,
    Runner,
    parse_address,
    serve,
)
{%- endif %}
from ._codec import (
    decode_frame,
    decode_message,
    encode_frame,
    encode_message,
    read_frame,
    write_frame,
)
{%- if c.runtime %}
from ._glue import Handler, Registry
{%- endif %}
from ._models import (
{%- for name in c.models_all %}
    {{ name }},
{%- endfor %}
)
{%- if c.module.is_none() %}

__version__ = "{{ c.package_version }}"
{%- endif %}

__all__ = [
{%- for name in c.package_all %}
    "{{ name }}",
{%- endfor %}
]
