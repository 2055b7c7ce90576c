#!/usr/bin/env node
{{ header }}{% raw %}
/**
 * `rrq-runner --handlers ./handlers.js [--tcp-socket HOST:PORT] [--max-in-flight N]`: loads a
 * module whose default export (or `registry` export) is a {@link Registry} and serves it.
 *
 * @module
 */

import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { serve, type Registry } from "./runtime.js";

const USAGE = "usage: rrq-runner --handlers ./handlers.js [--tcp-socket HOST:PORT] [--max-in-flight N]\n" +
  "  the handlers module's default export (or `registry` export) must be a Registry;\n" +
  "  the address defaults to the RRQ_RUNNER_TCP_SOCKET environment variable.";

function fail(message: string, status: number): never {
  process.stderr.write(`rrq-runner: ${message}\n`);
  process.exit(status);
}

function parse(argv: string[]): { handlers: string; address?: string; maxInFlight?: number } {
  const options: { handlers?: string; address?: string; maxInFlight?: number } = {};
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
      case "-h":
      case "--help":
        process.stdout.write(USAGE + "\n");
        process.exit(0);
      default:
        fail(`unknown argument ${JSON.stringify(arg)}\n${USAGE}`, 2);
    }
  }
  if (options.handlers === undefined) fail(`--handlers is required\n${USAGE}`, 2);
  return { ...options, handlers: options.handlers };
}

function isRegistry(value: unknown): value is Registry {
  return typeof value === "object" && value !== null &&
    typeof (value as Registry).get === "function" && typeof (value as Registry).register === "function";
}

async function main(): Promise<void> {
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
    });
  } catch (error) {
    fail((error as Error).message, 1);
  }
}

void main();
{% endraw %}
