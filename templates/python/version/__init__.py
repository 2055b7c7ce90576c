{{ c.header -}}
"""{{ c.module_doc }}

Rendered by rrq-codegen from the protocol's JSON Schema; see the package's README.md.
"""

{%- for (module, names) in c.init_imports %}
{%- if names.len() <= 3 %}
from {{ module }} import {% for name in names %}{{ name }}{% if !loop.last %}, {% endif %}{% endfor %}
{%- else %}
from {{ module }} import (
{%- for name in names %}
    {{ name }},
{%- endfor %}
)
{%- endif %}
{%- endfor %}
{%- if c.module.is_none() %}

__version__ = "{{ c.package_version }}"
{%- endif %}

__all__ = [
{%- for name in c.package_all %}
    "{{ name }}",
{%- endfor %}
]
