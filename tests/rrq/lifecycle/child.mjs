// The TypeScript child of test_lifecycle.py: watches its parent with the compiled lifecycle.js.
//
//   node child.mjs LIFECYCLE_JS EVENTS_FILE [--close] [--parent-pid PID]
//
// Appends one JSON line per event to EVENTS_FILE: "ready", then "parent_died" (the callback
// ran; the child then lets the event loop end, which it does because the watch's timers are
// unref'd and a keep-alive timer is cleared). --close closes the watch right after "ready".
import { appendFileSync } from "node:fs";
import { pathToFileURL } from "node:url";

const [lifecycleJs, events, ...rest] = process.argv.slice(2);
const { watchParent } = await import(pathToFileURL(lifecycleJs).href);
const event = (name, fields = {}) =>
  appendFileSync(events, JSON.stringify({ event: name, ...fields }) + "\n");

const parentPidAt = rest.indexOf("--parent-pid");
const options = parentPidAt >= 0 ? { parentPid: Number(rest[parentPidAt + 1]) } : {};
const keepAlive = setInterval(() => {}, 1000);
const watch = watchParent(() => {
  event("parent_died", { ppid: process.ppid });
  clearInterval(keepAlive);
}, options);
if (rest.includes("--close")) {
  watch.close();
}
event("ready", { pid: process.pid, parent: watch.parentPid });
