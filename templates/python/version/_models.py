{{ c.header -}}
"""The types and constants of protocol {{ c.version_text }}, rendered from its JSON Schema.

Field annotations say what the wire allows:

* ``name: T`` (no default): required on the wire;
* ``name: T = default``: may be absent on the wire (decoding fills in the default); always
  present after decoding and always written;
* ``name: Nullable[T] = None``: ``None`` is written as ``null`` (and ``null`` or an absent
  field decode as ``None``);
* ``name: Omittable[T] = None``: ``None`` is written by leaving the field out (and ``null`` or
  an absent field decode as ``None``).

Timestamps decode to `Timestamp` (a `datetime` that keeps nanoseconds); any timezone-aware
`datetime` may be used when building messages.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
{%- if c.uses_timestamps %}
from datetime import datetime
{%- endif %}
from typing import ClassVar, Final, TypeAlias, TypeVar
{%- if c.uses_any %}

from {{ c.up }}_json import JsonValue
{%- endif %}

__all__ = [
{%- for name in c.models_all %}
    "{{ name }}",
{%- endfor %}
]

T = TypeVar("T")

Nullable: TypeAlias = T | None
"""A field that may be ``None``, written on the wire as ``null``."""

Omittable: TypeAlias = T | None
"""A field that may be ``None``, written on the wire by leaving it out."""

{%- if let Some(version) = c.version_literal %}
PROTOCOL_VERSION: Final = {{ version }}
"""Version of the wire protocol these bindings speak."""
{%- endif %}

MAX_FRAME_LEN: Final = {{ c.max_frame_len }}
"""Largest accepted frame body, in bytes; longer frames are refused from their header."""

MAX_NESTING_DEPTH: Final = {{ c.max_nesting_depth }}
"""Deepest accepted nesting of arrays and objects in a frame body (the envelope is level 1)."""


class ErrorType:
    """Error types a runner reports itself; handlers may report others (such as the name of an
    exception class)."""

{% for e in c.error_types %}
    {{ e.name }}: Final = {{ e.value }}
    {{ e.doc }}
{% endfor %}
    ALL: ClassVar[frozenset[str]] = frozenset({
{%- for e in c.error_types %}
        {{ e.value }},
{%- endfor %}
    })
    """Every error type above."""
{% for e in c.enums %}

class {{ e.name }}(str, enum.Enum):
    {{ e.docstring }}
{% for m in e.members %}
    {{ m.name }} = {{ m.value }}
    {{ m.doc }}
{% endfor %}
    def __str__(self) -> str:
        return str(self.value)
{% endfor %}
{% for s in c.structs %}

@dataclass(slots=True, kw_only=True)
class {{ s.name }}:
    {{ s.docstring }}
{% for f in s.fields %}
    {{ f.declaration }}
    {{ f.docstring }}
{% endfor %}
{%- endfor %}
{% for u in c.unions %}
{%- for v in u.variants %}

@dataclass(slots=True)
class {{ v.class }}:
    {{ v.docstring }}

    TAG: ClassVar[str] = {{ v.tag_literal }}
    """The tag that marks this variant on the wire."""

    {{ v.content_attr }}: {{ v.content_type }}
    {{ v.content_docstring }}
{% endfor %}

{{ u.name }}: TypeAlias = {{ u.members }}
{{ u.docstring }}
{% endfor %}
