{{ c.header -}}
"""{{ c.package_doc }}

Each protocol version is a module ({% for m in c.modules %}``{{ c.package }}.{{ m }}``{% if !loop.last %}, {% endif %}{% endfor %}); this top level
re-exports the latest, ``{{ c.package }}.{{ c.latest_module }}``. See README.md.
"""

from . import {% for m in c.modules %}{{ m }}{% if !loop.last %}, {% endif %}{% endfor %}
from .{{ c.latest_module }} import (
{%- for name in c.package_all %}
    {{ name }},
{%- endfor %}
)

__version__ = "{{ c.package_version }}"

__all__ = [
{%- for name in c.top_all %}
    "{{ name }}",
{%- endfor %}
]
