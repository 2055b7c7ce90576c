/**
 * The example handlers of the latest protocol version (what `run.sh` serves by default, and
 * what tools that load `dist/handlers.js` directly get). Each version's own are in
 * `v<N>/handlers.ts`.
 *
 * @module
 */

export { default } from "./v2/handlers.js";
