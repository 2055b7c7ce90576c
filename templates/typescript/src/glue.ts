{{ header }}
/**
 * The runner runtime's view of the protocol, generated from the schema: which message variant
 * asks for what, where the ids are, and how outcomes are built. `runtime.ts` uses only this.
 *
 * @module
 */

import { PROTOCOL_VERSION, type {{ g.root }}, type {{ g.root }}Init, type {{ g.request_type }}, type {{ g.outcome_type }}, type {{ g.outcome_type }}Init, type {{ g.cancel_type }} } from "./protocol.js";
import { lenientStrings, type JsonInput } from "./json.js";
import { errorMessage } from "./messages.js";
import type { Timestamp } from "./timestamp.js";

/** A request to run a handler. */
export type Request = {{ g.request_type }};
/** An outcome, as decoded. */
export type Outcome = {{ g.outcome_type }};
/** An outcome, as given for encoding. */
export type OutcomeInit = {{ g.outcome_type }}Init;
/** A cancellation. */
export type Cancel = {{ g.cancel_type }};
/** Any decoded message. */
export type Message = {{ g.root }};

/** The tag of a response message (named in the error a runner answers one with). */
export const REPLY_TAG = {{ g.reply_tag }};

/** The protocol version this runner speaks. */
export const SPOKEN_VERSION: string = PROTOCOL_VERSION;

/** The ids an outcome echoes. */
export interface Ids {
  jobId?: string | undefined;
  requestId?: string | undefined;
}

/** What a decoded message asks of the runner. */
export type Incoming =
  | { kind: "run"; request: Request }
  | { kind: "stop"; cancel: Cancel }
  | { kind: "reply"; ids: Ids; outcome: Outcome };

export function classify(message: Message): Incoming {
  switch (message.{{ g.tag_prop }}) {
    case {{ g.run_tag }}:
      return { kind: "run", request: message.{{ g.content_prop }} };
    case {{ g.stop_tag }}:
      return { kind: "stop", cancel: message.{{ g.content_prop }} };
    case {{ g.reply_tag }}: {
      const outcome = message.{{ g.content_prop }};
      return { kind: "reply", ids: { jobId: outcome.{{ g.out_job_id }} ?? undefined, requestId: outcome.{{ g.out_request_id }} ?? undefined }, outcome };
    }
  }
}

/** The facts of a request the runtime acts on. */
export interface RequestFacts {
  ids: Required<Ids>;
  functionName: string;
  protocolVersion: string;
  deadline: Timestamp | null;
}

export function requestFacts(request: Request): RequestFacts {
  return {
    ids: { jobId: request.{{ g.req_job_id }}, requestId: request.{{ g.req_request_id }} },
    functionName: request.{{ g.req_function_name }},
    protocolVersion: request.{{ g.req_protocol_version }},
    deadline: request.{{ g.req_context }}.{{ g.ctx_deadline }} ?? null,
  };
}

/** Which requests a cancellation targets. */
export interface CancelFacts {
  jobId: string;
  requestId: string | undefined;
  hardKill: boolean;
}

export function cancelFacts(cancel: Cancel): CancelFacts {
  return {
    jobId: cancel.{{ g.cancel_job_id }},
    requestId: cancel.{{ g.cancel_request_id }} ?? undefined,
    hardKill: cancel.{{ g.cancel_hard_kill }},
  };
}

/**
 * The ids the answer to an undecodable body echoes (the answering rule, the same in every
 * runner): read by the lenient reading ({@link lenientStrings}), each one that is a string of
 * Unicode scalar values; none when the body is not JSON under that reading.
 */
export function idsOfBody(body: Uint8Array): Ids {
  const found = lenientStrings(body, ID_KEYS.content, [ID_KEYS.jobId, ID_KEYS.requestId]);
  return { jobId: found?.get(ID_KEYS.jobId), requestId: found?.get(ID_KEYS.requestId) };
}

/** Where {@link idsOfBody} finds the ids: the keys of the job and request ids in the member `content`. */
export const ID_KEYS = { content: {{ g.content_key }}, jobId: {{ g.req_job_id_key }}, requestId: {{ g.req_request_id_key }} } as const;

/** The ids an outcome carries, those that are strings. */
export function idsOfOutcome(outcome: OutcomeInit): Ids {
  const jobId: unknown = outcome.{{ g.out_job_id }};
  const requestId: unknown = outcome.{{ g.out_request_id }};
  return {
    jobId: typeof jobId === "string" ? jobId : undefined,
    requestId: typeof requestId === "string" ? requestId : undefined,
  };
}

/** The message carrying an outcome back. */
export function reply(outcome: OutcomeInit): {{ g.root }}Init {
  return { {{ g.tag_prop }}: {{ g.reply_tag }}, {{ g.content_prop }}: outcome };
}

/** A successful outcome carrying `result` (`undefined` and `null` mean no result: omitted). */
export function success(ids: Ids, result: unknown): OutcomeInit {
  return { {{ g.out_job_id }}: ids.jobId, {{ g.out_request_id }}: ids.requestId, {{ g.out_status }}: {{ g.status_success }}, {{ g.out_result }}: result as JsonInput | undefined };
}

/** How a request failed. */
export type FailureStatus = "retry" | "timeout" | "error";

const STATUS = { retry: {{ g.status_retry }}, timeout: {{ g.status_timeout }}, error: {{ g.status_error }} } as const;

/** A failed outcome. */
export function failure(ids: Ids, status: FailureStatus, message: string, errorType?: string, retryAfterSeconds?: number): OutcomeInit {
  return {
    {{ g.out_job_id }}: ids.jobId,
    {{ g.out_request_id }}: ids.requestId,
    {{ g.out_status }}: STATUS[status],
    {{ g.out_error }}: { {{ g.err_message }}: message, {{ g.err_type }}: errorType },
    {{ g.out_retry_after }}: retryAfterSeconds,
  };
}

/** An outcome a handler returned, with the request's ids filled in where it has none. */
export function withIds(outcome: OutcomeInit, ids: Ids): OutcomeInit {
  return {
    ...outcome,
    {{ g.out_job_id }}: outcome.{{ g.out_job_id }} ?? ids.jobId,
    {{ g.out_request_id }}: outcome.{{ g.out_request_id }} ?? ids.requestId,
  };
}

/** The messages the runtime writes, by situation: their names in `ERROR_MESSAGES`. */
export const MessageNames = {
{%- for (role, name, _) in g.messages %}
  {{ role }}: {{ name }},
{%- endfor %}
} as const;

/** A situation the runtime reports with one of its own messages. */
export type MessageRole = keyof typeof MessageNames;

/** The error types the runtime reports, by situation. */
export const Failures = {
{%- for (role, _, error_type) in g.messages %}
  {{ role }}: {{ error_type }},
{%- endfor %}
} as const;

/** The message and error type the runtime writes in situation `role`. */
export function runnerError(role: MessageRole, values: { readonly [name: string]: string | number | bigint } = {}): { message: string; errorType: string } {
  return { message: errorMessage(MessageNames[role], values), errorType: Failures[role] };
}

/** The outcome statuses, by role. */
export const Statuses = { success: {{ g.status_success }}, ...STATUS } as const;

/** What an outcome says, in the runtime's terms (for tools and tests). */
export interface OutcomeFacts {
  ids: Ids;
  status: string;
  result: unknown;
  message: string | undefined;
  errorType: string | undefined;
  retryAfterSeconds: number | undefined;
}

export function outcomeFacts(outcome: Outcome): OutcomeFacts {
  const error = outcome.{{ g.out_error }};
  return {
    ids: { jobId: outcome.{{ g.out_job_id }} ?? undefined, requestId: outcome.{{ g.out_request_id }} ?? undefined },
    status: outcome.{{ g.out_status }},
    result: outcome.{{ g.out_result }},
    message: error?.{{ g.err_message }},
    errorType: error?.{{ g.err_type }} ?? undefined,
    retryAfterSeconds: outcome.{{ g.out_retry_after }} ?? undefined,
  };
}

/** What to change in a request (for tools and tests): see {@link requestWith}. */
export interface RequestChanges {
  jobId?: string;
  requestId?: string;
  functionName?: string;
  protocolVersion?: string;
  deadline?: Timestamp | null;
}

/** A request message: `request` with `changes` applied (the job id also in its context). */
export function requestWith(request: Request, changes: RequestChanges): {{ g.root }}Init {
  const context = { ...request.{{ g.req_context }} };
  if (changes.jobId !== undefined) context.{{ g.ctx_job_id }} = changes.jobId;
  if (changes.deadline !== undefined) context.{{ g.ctx_deadline }} = changes.deadline;
  return {
    {{ g.tag_prop }}: {{ g.run_tag }},
    {{ g.content_prop }}: {
      ...request,
      {{ g.req_job_id }}: changes.jobId ?? request.{{ g.req_job_id }},
      {{ g.req_request_id }}: changes.requestId ?? request.{{ g.req_request_id }},
      {{ g.req_function_name }}: changes.functionName ?? request.{{ g.req_function_name }},
      {{ g.req_protocol_version }}: changes.protocolVersion ?? request.{{ g.req_protocol_version }},
      {{ g.req_context }}: context,
    },
  };
}

/** A cancel message. */
export function cancelMessage(target: { jobId: string; requestId?: string; hardKill?: boolean }): {{ g.root }}Init {
  return {
    {{ g.tag_prop }}: {{ g.stop_tag }},
    {{ g.content_prop }}: { {{ g.cancel_job_id }}: target.jobId, {{ g.cancel_request_id }}: target.requestId, {{ g.cancel_hard_kill }}: target.hardKill ?? false },
  };
}

/** A response message (which a runner refuses). */
export function replyMessage(ids: Ids): {{ g.root }}Init {
  return reply(success(ids, null));
}
