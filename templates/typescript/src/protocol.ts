{{ header }}
/**
 * The types and constants of {{ what }}, generated from its schema.
 *
 * Each struct has two shapes: `Name` is what the decoder returns (defaults filled in, a field
 * the wire writes as `null` typed `T | null`, a field the wire omits typed optional), and
 * `NameInit` is what the encoder accepts (every field with a default or "no value" optional).
 *
 * @module
 */

import type { JsonFloat, JsonInput, JsonValue } from "{{ up }}json.js";
import type { Timestamp } from "{{ up }}timestamp.js";
{% match version %}{% when Some with (v) %}
/** Version of the wire protocol of this module; sent in every request and cancel. */
export const PROTOCOL_VERSION = {{ v }};
{% when None %}{% endmatch %}
/** Largest accepted frame body, in bytes; longer frames are rejected from their header. */
export const MAX_FRAME_LEN = {{ max_frame_len }};

/**
 * Deepest accepted nesting of arrays and objects in a frame body, counted over the whole
 * document (ignored fields included); the message object itself is level 1.
 */
export const MAX_NESTING_DEPTH = {{ max_nesting_depth }};

/** Length of the frame header: a big-endian unsigned 32-bit body length. */
export const FRAME_HEADER_LEN = {{ frame_header_len }};
{% match error_types %}{% when Some with (error_types) %}
{{ error_types.doc }}export const {{ error_types.name }} = {
{%- for m in error_types.members %}
{{ m.doc }}  {{ m.key }}: {{ m.value }},
{%- endfor %}
} as const;

{{ error_types.doc }}export type {{ error_types.name }} = (typeof {{ error_types.name }})[keyof typeof {{ error_types.name }}];
{% when None %}{% endmatch %}
{%- for e in enums %}
{{ e.doc }}export type {{ e.name }} = {{ e.union }};

{{ e.doc }}export const {{ e.name }} = {
{%- for m in e.members %}
{{ m.doc }}  {{ m.key }}: {{ m.value }},
{%- endfor %}
} as const satisfies Record<string, {{ e.name }}>;
{% endfor %}
{%- for s in structs %}
{{ s.doc }}export interface {{ s.name }} {
{%- for f in s.fields %}
{{ f.doc }}  {{ f.decoded_decl }};
{%- endfor %}
}

{{ s.init_doc }}export interface {{ s.name }}Init {
{%- for f in s.fields %}
{{ f.doc }}  {{ f.init_decl }};
{%- endfor %}
}
{% endfor %}
{%- for u in unions %}
{{ u.doc }}export type {{ u.name }} =
{%- for v in u.variants %}
  | {{ u.name }}.{{ v.ty }}Variant
{%- endfor %};

{{ u.doc }}export type {{ u.name }}Init =
{%- for v in u.variants %}
  | {{ u.name }}.{{ v.ty }}VariantInit
{%- endfor %};

/** The variants of {@link {{ u.name }}}, one interface each. */
export declare namespace {{ u.name }} {
{%- for v in u.variants %}
{{ v.doc }}  interface {{ v.ty }}Variant {
    {{ u.tag_prop }}: {{ v.tag }};
{{ v.content_doc }}    {{ u.content_prop }}: {{ v.ty }};
  }

{{ v.doc }}  interface {{ v.ty }}VariantInit {
    {{ u.tag_prop }}: {{ v.tag }};
{{ v.content_doc }}    {{ u.content_prop }}: {{ v.ty }}Init;
  }
{%- endfor %}
}
{% endfor %}
