{{ c.header -}}
"""Filling in the ``{placeholder}``s of the texts every runner writes identically (each protocol
version's ``_messages`` module holds the texts)."""

from __future__ import annotations

import re

__all__ = ["format_message"]

_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


def format_message(template: str, **values: object) -> str:
    """`template` with each ``{name}`` replaced by ``str(values[name])`` (unknown names are
    left as they are; replaced text is never scanned again)."""
    if "{" not in template:
        return template
    return _PLACEHOLDER.sub(lambda m: str(values[m.group(1)]) if m.group(1) in values else m.group(0), template)
