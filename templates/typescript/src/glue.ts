{{ header }}
/**
 * Protocol version {{ g.version_text }}'s binding to the shared runner runtime (`{{ up }}runtime.ts`),
 * generated from the schema's runner roles: which message variant asks for what, where the ids
 * are, and how outcomes are built. The runtime knows a protocol version only through
 * {@link binding}, which every {@link Registry} of this version carries.
 *
 * The other exports are for tools and tests (building requests and cancels, reading outcomes).
 *
 * @module
 */

import { decodeMessage, encodeFrame } from "./codec.js";
import { errorMessage } from "./messages.js";
import { MAX_FRAME_LEN, PROTOCOL_VERSION, type {{ g.root }}, type {{ g.root }}Init, type {{ g.request_type }}, type {{ g.request_type }}Init, type {{ g.outcome_type }}, type {{ g.outcome_type }}Init, type {{ g.cancel_type }} } from "./protocol.js";
import { lenientStrings, type JsonInput } from "{{ up }}json.js";
import type { Timestamp } from "{{ up }}timestamp.js";
import { Outcome, type Binding, type CancelFacts, type Ending, type FailureStatus, type Ids, type Incoming, type MessageRole, type RequestFacts, type TraceFacts } from "{{ up }}runtime.js";

export type { CancelFacts, FailureStatus, Ids, MessageRole, RequestFacts };

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

/** The protocol version this binding speaks. */
export const SPOKEN_VERSION: string = PROTOCOL_VERSION;

/** The wire names of the handler's input fields, in declaration order. */
export const INPUTS: readonly string[] = [{% for i in g.req_inputs %}{% if !loop.first %}, {% endif %}{{ i.lit }}{% endfor %}];

/** The wire name of the first input field that is a map (named inputs), if any. */
export const INPUT_MAP: string | undefined = {% match g.req_input_map %}{% when Some with (m) %}{{ m.lit }}{% when None %}undefined{% endmatch %};

/** What a decoded message is, for tools: a request to run, a cancel, or a response. */
export type Classified =
  | { kind: "run"; request: Request }
  | { kind: "stop"; cancel: Cancel }
  | { kind: "reply"; ids: Ids; outcome: Outcome };

export function classify(message: Message): Classified {
  switch (message{{ g.tag.get }}) {
    case {{ g.run_tag }}:
      return { kind: "run", request: message{{ g.content.get }} };
    case {{ g.stop_tag }}:
      return { kind: "stop", cancel: message{{ g.content.get }} };
    case {{ g.reply_tag }}: {
      const outcome = message{{ g.content.get }};
      return { kind: "reply", ids: outcomeIds(outcome), outcome };
    }
  }
}

function outcomeIds(outcome: Outcome): Ids {
  return { jobId: outcome{{ g.out_job_id.get }} ?? undefined, requestId: outcome{{ g.out_request_id.get }} ?? undefined };
}

/** Decodes one frame body and says what it asks of the runner (the runtime's entry point). */
export function read(body: Uint8Array): Incoming<Request> {
  const message = decodeMessage(body);
  switch (message{{ g.tag.get }}) {
    case {{ g.run_tag }}:
      return { kind: "run", request: message{{ g.content.get }} };
    case {{ g.stop_tag }}:
      return { kind: "stop", cancel: cancelFacts(message{{ g.content.get }}) };
    case {{ g.reply_tag }}:
      return { kind: "reply", ids: outcomeIds(message{{ g.content.get }}) };
  }
}

/** The facts of a request the runtime acts on. */
export function requestFacts(request: Request): RequestFacts {
  return {
    ids: { jobId: request{{ g.req_job_id.get }}, requestId: request{{ g.req_request_id.get }} },
    functionName: request{{ g.req_function_name.get }},
    protocolVersion: request{{ g.req_protocol_version.get }},
    due: request{{ g.req_context.get }}{{ g.ctx_deadline.get }} ?? null,
  };
}

/** What a tracing integration reads of a request (`null` where this version has no such field). */
export function traceFacts(request: Request): TraceFacts {
  const context = request{{ g.req_context.get }};
  return {
    functionName: request{{ g.req_function_name.get }},
    queue: {% match g.ctx_queue %}{% when Some with (n) %}context{{ n.get }} ?? null{% when None %}null{% endmatch %},
    attempt: {% match g.ctx_attempt %}{% when Some with (n) %}context{{ n.get }} ?? null{% when None %}null{% endmatch %},
    worker: {% match g.ctx_worker %}{% when Some with (n) %}context{{ n.get }} ?? null{% when None %}null{% endmatch %},
    enqueued: {% match g.ctx_enqueued %}{% when Some with (n) %}context{{ n.get }} ?? null{% when None %}null{% endmatch %},
    due: context{{ g.ctx_deadline.get }} ?? null,
    carrier: {% match g.ctx_carrier %}{% when Some with (n) %}context{{ n.get }} ?? null{% when None %}null{% endmatch %},
    correlation: {% match g.ctx_correlation %}{% when Some with (n) %}context{{ n.get }} ?? null{% when None %}null{% endmatch %},
  };
}

const OUTCOMES: { readonly [status: string]: string } = {
  [{{ g.status_success }}]: Outcome.SUCCESS,
  [{{ g.status_retry }}]: Outcome.RETRY,
  [{{ g.status_timeout }}]: Outcome.TIMEOUT,
  [{{ g.status_error }}]: Outcome.ERROR,
};

/** What an outcome says, as a tracing integration reports it. */
export function ending(outcome: OutcomeInit): Ending {
  const error = outcome{{ g.out_error.get }};
  const retry = outcome{{ g.out_retry_after.get }};
  return {
    outcome: OUTCOMES[outcome{{ g.out_status.get }}] ?? Outcome.ERROR,
    message: error{{ g.err_message.opt }},
    errorType: error{{ g.err_type.opt }} ?? undefined,
    retryAfterSeconds: retry === null || retry === undefined ? undefined : typeof retry === "number" ? retry : retry.value,
  };
}

/** Which requests a cancellation targets. */
export function cancelFacts(cancel: Cancel): CancelFacts {
  return {
    jobId: cancel{{ g.cancel_job_id.get }},
    requestId: cancel{{ g.cancel_request_id.get }} ?? undefined,
    hardKill: cancel{{ g.cancel_hard_kill.get }},
  };
}

/** Where {@link idsOfBody} finds the ids: the keys of the job and request ids in the member `content`. */
export const ID_KEYS = { content: {{ g.content.lit }}, jobId: {{ g.req_job_id.lit }}, requestId: {{ g.req_request_id.lit }} } as const;

const ID_KEY_LIST: readonly string[] = [ID_KEYS.jobId, ID_KEYS.requestId];

/**
 * The ids the answer to an undecodable body echoes (the answering rule, the same in every
 * runner): read by the lenient reading ({@link lenientStrings}), each one that is a string of
 * Unicode scalar values; none when the body is not JSON under that reading.
 */
export function idsOfBody(body: Uint8Array): Ids {
  const found = lenientStrings(body, ID_KEYS.content, ID_KEY_LIST);
  return { jobId: found?.get(ID_KEYS.jobId), requestId: found?.get(ID_KEYS.requestId) };
}

/** The ids an outcome carries, those that are strings. */
export function idsOfOutcome(outcome: OutcomeInit): Ids {
  const jobId: unknown = outcome{{ g.out_job_id.get }};
  const requestId: unknown = outcome{{ g.out_request_id.get }};
  return {
    jobId: typeof jobId === "string" ? jobId : undefined,
    requestId: typeof requestId === "string" ? requestId : undefined,
  };
}

/** The message carrying an outcome back. */
export function reply(outcome: OutcomeInit): {{ g.root }}Init {
  return { {{ g.tag.key }}: {{ g.reply_tag }}, {{ g.content.key }}: outcome };
}

/** The response frame of an outcome. */
export function encodeReply(outcome: OutcomeInit): Uint8Array {
  return encodeFrame({ {{ g.tag.key }}: {{ g.reply_tag }}, {{ g.content.key }}: outcome });
}

/** A successful outcome carrying `result` (`undefined` and `null` mean no result: omitted). */
export function success(ids: Ids, result: unknown): OutcomeInit {
  return { {{ g.out_job_id.key }}: ids.jobId, {{ g.out_request_id.key }}: ids.requestId, {{ g.out_status.key }}: {{ g.status_success }}, {{ g.out_result.key }}: result as JsonInput | undefined };
}

const STATUS = { retry: {{ g.status_retry }}, timeout: {{ g.status_timeout }}, error: {{ g.status_error }} } as const satisfies Record<FailureStatus, string>;

/** A failed outcome. */
export function failure(ids: Ids, status: FailureStatus, message: string, errorType?: string, retryAfterSeconds?: number): OutcomeInit {
  return {
    {{ g.out_job_id.key }}: ids.jobId,
    {{ g.out_request_id.key }}: ids.requestId,
    {{ g.out_status.key }}: STATUS[status],
    {{ g.out_error.key }}: { {{ g.err_message.key }}: message, {{ g.err_type.key }}: errorType },
    {{ g.out_retry_after.key }}: retryAfterSeconds,
  };
}

/** An outcome a handler returned, with the request's ids filled in where it has none. */
export function withIds(outcome: OutcomeInit, ids: Ids): OutcomeInit {
  return {
    ...outcome,
    {{ g.out_job_id.key }}: outcome{{ g.out_job_id.get }} ?? ids.jobId,
    {{ g.out_request_id.key }}: outcome{{ g.out_request_id.get }} ?? ids.requestId,
  };
}

/** The messages the runtime writes, by situation: their names in `ERROR_MESSAGES`. */
export const MessageNames = {
{%- for (role, name, _) in g.messages %}
  {{ role }}: {{ name }},
{%- endfor %}
} as const satisfies Record<MessageRole, string>;

/** The error types the runtime reports, by situation. */
export const Failures = {
{%- for (role, _, error_type) in g.messages %}
  {{ role }}: {{ error_type }},
{%- endfor %}
} as const satisfies Record<MessageRole, string>;

/** The message and error type the runtime writes in situation `role`. */
export function runnerError(role: MessageRole, values: { readonly [name: string]: string | number | bigint } = {}): { message: string; errorType: string } {
  return { message: errorMessage(MessageNames[role], values), errorType: Failures[role] };
}

/** The outcome statuses, by role. */
export const Statuses = { success: {{ g.status_success }}, ...STATUS } as const;

/** This protocol version's binding: what the shared runtime calls (see {@link Binding}). */
export const binding: Binding<Request, OutcomeInit> = {
  protocolVersion: PROTOCOL_VERSION,
  maxFrameLen: MAX_FRAME_LEN,
  replyTag: REPLY_TAG,
  read,
  module: import.meta.url,
  requestFacts,
  idsOfBody,
  encodeReply,
  success,
  failure,
  withIds,
  idsOfOutcome,
  message: runnerError,
  traceFacts,
  ending,
};

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
  const error = outcome{{ g.out_error.get }};
  return {
    ids: outcomeIds(outcome),
    status: outcome{{ g.out_status.get }},
    result: outcome{{ g.out_result.get }},
    message: error{{ g.err_message.opt }},
    errorType: error{{ g.err_type.opt }} ?? undefined,
    retryAfterSeconds: outcome{{ g.out_retry_after.get }} ?? undefined,
  };
}

/** The handler inputs of a request, by wire name (see {@link INPUTS}). */
export function inputsOf(request: Request): { [field: string]: unknown } {
  return { {% for i in g.req_inputs %}{% if !loop.first %}, {% endif %}[{{ i.lit }}]: request{{ i.get }}{% endfor %} };
}

/** What to change in a request (for tools and tests): see {@link requestWith}. */
export interface RequestChanges {
  jobId?: string;
  requestId?: string;
  functionName?: string;
  protocolVersion?: string;
  /** The context's deadline (`null`: none). */
  due?: Timestamp | null;
  /** Handler inputs by wire name (of {@link INPUTS}); others are refused. */
  inputs?: { readonly [field: string]: JsonInput };
}

/** A request message: `request` with `changes` applied (the job id also in its context). */
export function requestWith(request: Request, changes: RequestChanges): {{ g.root }}Init {
  const context = { ...request{{ g.req_context.get }} };
  if (changes.jobId !== undefined) context{{ g.ctx_job_id.get }} = changes.jobId;
  if (changes.due !== undefined) context{{ g.ctx_deadline.get }} = changes.due;
  const inputs = changes.inputs ?? {};
  for (const name of Object.keys(inputs)) {
    if (!INPUTS.includes(name)) throw new Error(`${JSON.stringify(name)} is not a handler input (inputs: ${INPUTS.join(", ")})`);
  }
  const content: {{ g.request_type }}Init = {
    ...request,
    ...(inputs as Partial<{{ g.request_type }}Init>),
    {{ g.req_job_id.key }}: changes.jobId ?? request{{ g.req_job_id.get }},
    {{ g.req_request_id.key }}: changes.requestId ?? request{{ g.req_request_id.get }},
    {{ g.req_function_name.key }}: changes.functionName ?? request{{ g.req_function_name.get }},
    {{ g.req_protocol_version.key }}: changes.protocolVersion ?? request{{ g.req_protocol_version.get }},
    {{ g.req_context.key }}: context,
  };
  return { {{ g.tag.key }}: {{ g.run_tag }}, {{ g.content.key }}: content };
}

/** A cancel message. */
export function cancelMessage(target: { jobId: string; requestId?: string; hardKill?: boolean }): {{ g.root }}Init {
  return {
    {{ g.tag.key }}: {{ g.stop_tag }},
    {{ g.content.key }}: { {{ g.cancel_job_id.key }}: target.jobId, {{ g.cancel_request_id.key }}: target.requestId, {{ g.cancel_hard_kill.key }}: target.hardKill ?? false },
  };
}

/** A response message (which a runner refuses). */
export function replyMessage(ids: Ids): {{ g.root }}Init {
  return reply(success(ids, null));
}
