{{ header }}
/**
 * The texts this protocol version's runner writes, identical in every language: the messages
 * of the errors it reports itself (`x-rrq.error_messages` of the schema) and the texts of
 * frame-level {@link FrameError}s with this version's limits filled in. `{placeholder}`s are
 * filled in by {@link formatMessage}.
 *
 * @module
 */

import { formatMessage } from "{{ up }}frame.js";

export { formatMessage };

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

/** The runner's error message `name` with its placeholders filled in. */
export function errorMessage(name: string, values: { readonly [name: string]: string | number | bigint } = {}): string {
  const message = ERROR_MESSAGES[name];
  if (message === undefined) throw new Error(`no error message named ${JSON.stringify(name)}`);
  return formatMessage(message.template, values);
}
