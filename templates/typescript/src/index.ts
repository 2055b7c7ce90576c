{{ header }}
/**
 * `{{ package }}`: {{ summary }}
 *
 * The top level is protocol version {{ latest_text }} (`{{ package }}/{{ latest }}`); every version has
 * its own subpath:
{%- for (module, text) in versions %}
 * - `{{ package }}/{{ module }}`: {{ text }}
{%- endfor %}
 *
 * @module
 */

export * from "./{{ latest }}/index.js";
{%- for (module, _) in versions %}
export * as {{ module }} from "./{{ module }}/index.js";
{%- endfor %}
