/**
 * The example handlers in protocol "2" (RRQ 0.10 onward, including 0.11.1), on
 * `rrq-runner/v2`: `echo` returns `{ params }` of the request; `sleep`, `fail` and `retry`
 * read their options from `params` (see ../common.ts).
 *
 *     examples/typescript/run.sh --protocol 2     # the default
 *
 * @module
 */

import { Registry, type ExecutionRequest } from "rrq-runner/v2";
import { exampleHandlers } from "../common.js";

const { sleep, fail, retry } = exampleHandlers((request: ExecutionRequest) => request.params);

const registry = new Registry()
  .register("echo", (request) => ({ params: request.params }))
  // Two parameters: this handler gets the AbortSignal (a one-parameter handler gets none).
  .register("sleep", (request, signal) => sleep(request, signal))
  .register("fail", (request) => fail(request))
  .register("retry", (request) => retry(request));

export default registry;
