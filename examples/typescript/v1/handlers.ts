/**
 * The example handlers in protocol "1" (RRQ 0.9.x), on `rrq-runner/v1`: `echo` returns
 * `{ args, kwargs }` of the request; `sleep`, `fail` and `retry` read their options from
 * `kwargs` (see ../common.ts).
 *
 *     examples/typescript/run.sh --protocol 1
 *
 * @module
 */

import { Registry, type ExecutionRequest } from "rrq-runner/v1";
import { exampleHandlers } from "../common.js";

const { sleep, fail, retry } = exampleHandlers((request: ExecutionRequest) => request.kwargs);

const registry = new Registry()
  .register("echo", (request) => ({ args: request.args, kwargs: request.kwargs }))
  // Two parameters: this handler gets the AbortSignal (a one-parameter handler gets none).
  .register("sleep", (request, signal) => sleep(request, signal))
  .register("fail", (request) => fail(request))
  .register("retry", (request) => retry(request));

export default registry;
