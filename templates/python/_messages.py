{{ c.header -}}
"""The texts the runner writes, identical in every language: the messages of the errors it
reports itself (``x-rrq.error_messages`` of the protocol's schema) and the texts of frame-level
`FrameError`s. ``{placeholder}``s are filled in by `format_message`.
"""

from __future__ import annotations

import re

__all__ = ["ERROR_MESSAGES", "FRAME_MESSAGES", "error_message", "format_message"]

ERROR_MESSAGES: dict[str, tuple[str, str]] = {
{%- for m in c.error_messages %}
    {{ m.name }}: ({{ m.text }}, {{ m.error_type }}),
{%- endfor %}
}
"""The runner's own error messages by name: ``(template, error type)``."""

FRAME_MESSAGES: dict[str, str] = {
{%- for m in c.frame_messages %}
    {{ m.name }}: {{ m.text }},
{%- endfor %}
}
"""The texts of frame-level errors (length and JSON causes) by name, after ``<path>: ``."""

_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


def format_message(template: str, **values: object) -> str:
    """`template` with each ``{name}`` replaced by ``str(values[name])`` (unknown names are
    left as they are; replaced text is never scanned again)."""
    if "{" not in template:
        return template
    return _PLACEHOLDER.sub(lambda m: str(values[m.group(1)]) if m.group(1) in values else m.group(0), template)


def error_message(name: str, **values: object) -> str:
    """The runner's error message `name` with its placeholders filled in."""
    return format_message(ERROR_MESSAGES[name][0], **values)
