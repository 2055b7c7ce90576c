#!/usr/bin/env node
{{ header }}
/** The command's name (the package's). */
const NAME = {{ package_lit }};
{% raw %}
/**
 * `<package> --handlers ./handlers.js [--tcp-socket HOST:PORT] [--max-in-flight N] [--verbose]`:
 * loads a module whose default export (or `registry` export) is a {@link Registry} of any of the
 * package's protocol versions and serves it, in that version. Prints nothing on a normal start
 * (`--verbose`: one `listening on HOST:PORT` line on standard error).
 *
 * @module
 */

import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { serve, type Registry } from "./runtime.js";

const USAGE = `usage: ${NAME} --handlers ./handlers.js [--tcp-socket HOST:PORT] [--max-in-flight N] [--verbose]\n` +
  "  the handlers module's default export (or `registry` export) must be a Registry (of any protocol version);\n" +
  "  the address defaults to the RRQ_RUNNER_TCP_SOCKET environment variable;\n" +
  "  --verbose prints the address listened on (standard error).";

function fail(message: string, status: number): never {
  process.stderr.write(`${NAME}: ${message}\n`);
  process.exit(status);
}

interface CliOptions {
  handlers: string;
  address?: string;
  maxInFlight?: number;
  verbose: boolean;
}

function parse(argv: string[]): CliOptions {
  const options: Partial<CliOptions> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const [name, inline] = arg.startsWith("--") && arg.includes("=") ? [arg.slice(0, arg.indexOf("=")), arg.slice(arg.indexOf("=") + 1)] : [arg, undefined];
    const value = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined) fail(`${name} needs a value\n${USAGE}`, 2);
      return v;
    };
    switch (name) {
      case "--handlers":
        options.handlers = value();
        break;
      case "--tcp-socket":
        options.address = value();
        break;
      case "--max-in-flight": {
        const n = Number(value());
        if (!Number.isInteger(n) || n < 1) fail(`--max-in-flight must be a positive integer\n${USAGE}`, 2);
        options.maxInFlight = n;
        break;
      }
      case "-v":
      case "--verbose":
        if (inline !== undefined) fail(`--verbose takes no value\n${USAGE}`, 2);
        options.verbose = true;
        break;
      case "-h":
      case "--help":
        process.stdout.write(USAGE + "\n");
        process.exit(0);
      default:
        fail(`unknown argument ${JSON.stringify(arg)}\n${USAGE}`, 2);
    }
  }
  if (options.handlers === undefined) fail(`--handlers is required\n${USAGE}`, 2);
  return { ...options, handlers: options.handlers, verbose: options.verbose ?? false };
}

/** A registry of any protocol version (of this package or another copy of it). */
function isRegistry(value: unknown): value is Registry {
  if (typeof value !== "object" || value === null) return false;
  const r = value as Partial<Registry>;
  return typeof r.get === "function" && typeof r.register === "function" &&
    typeof r.binding === "object" && r.binding !== null && typeof r.binding.protocolVersion === "string";
}


async function main(): Promise<void> {
  // Read first: a parent that dies while the handlers module loads is still noticed.
  const parentPid = process.ppid;
  const options = parse(process.argv.slice(2));
  let module: Record<string, unknown>;
  try {
    module = (await import(pathToFileURL(resolve(process.cwd(), options.handlers)).href)) as Record<string, unknown>;
  } catch (error) {
    fail(`cannot load the handlers module ${JSON.stringify(options.handlers)}: ${(error as Error).stack ?? String(error)}`, 1);
  }
  const registry = [module.default, module.registry].find(isRegistry);
  if (registry === undefined) fail(`${options.handlers} exports no Registry as its default export or as \`registry\``, 1);
  try {
    await serve(registry, {
      ...(options.address === undefined ? {} : { address: options.address }),
      ...(options.maxInFlight === undefined ? {} : { maxInFlight: options.maxInFlight }),
      verbose: options.verbose,
      parentPid,
    });
  } catch (error) {
    fail((error as Error).message, 1);
  }
}

void main();
{% endraw %}
