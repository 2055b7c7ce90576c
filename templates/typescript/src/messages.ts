{{ header }}
/**
 * The texts the runner writes, identical in every language: the messages of the errors it
 * reports itself (`x-rrq.error_messages` of the protocol's schema) and the texts of frame-level
 * {@link FrameError}s. `{placeholder}`s are filled in by {@link formatMessage}.
 *
 * @module
 */

/** A message the runner writes in an error it reports itself. */
export interface ErrorMessage {
  /** The text, with `{placeholder}`s. */
  readonly template: string;
  /** The `error.type` it goes with. */
  readonly errorType: string;
}

/** The runner's own error messages by name. */
export const ERROR_MESSAGES: { readonly [name: string]: ErrorMessage } = {
{%- for (name, template, error_type) in error_messages %}
  [{{ name }}]: { template: {{ template }}, errorType: {{ error_type }} },
{%- endfor %}
};

/** The texts of frame-level errors (length and JSON causes) by name, after `<path>: `. */
export const FRAME_MESSAGES = {
{%- for (name, text) in frame_messages %}
  [{{ name }}]: {{ text }},
{%- endfor %}
} as const;

const PLACEHOLDER = /\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/**
 * `template` with each `{name}` replaced by `String(values[name])` (unknown names are left as
 * they are; replaced text is never scanned again).
 */
export function formatMessage(template: string, values: { readonly [name: string]: string | number | bigint } = {}): string {
  if (!template.includes("{")) return template;
  return template.replace(PLACEHOLDER, (whole: string, name: string) =>
    Object.prototype.hasOwnProperty.call(values, name) ? String(values[name]) : whole,
  );
}

/** The runner's error message `name` with its placeholders filled in. */
export function errorMessage(name: string, values: { readonly [name: string]: string | number | bigint } = {}): string {
  const message = ERROR_MESSAGES[name];
  if (message === undefined) throw new Error(`no error message named ${JSON.stringify(name)}`);
  return formatMessage(message.template, values);
}
