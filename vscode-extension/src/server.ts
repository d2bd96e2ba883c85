// How the daemon is launched and what the client sends it. Pure option builders, so the
// launch contract (`<python> -m expenv serve`) is visible in one place. initializationOptions carry
// the user's settings the daemon applies (settings.ts daemonSettings), and the `expenv` section is
// sent again on each change; the project's configuration stays expenv.toml. No
// `synchronize.fileEvents`: the daemon registers the file watchers it needs, for every client alike.
import { TransportKind } from "vscode-languageclient/node";
import { completeArguments } from "./prompts";
import type { ErrorHandler, LanguageClientOptions, Middleware, ServerOptions } from "vscode-languageclient/node";
import type { OutputChannel } from "./vscodeapi";

export const CLIENT_ID = "expenv"; // also makes the client honour the `expenv.trace.server` setting
export const EXPENV_TOML_GLOB = "**/expenv.toml";

export const DOCUMENT_SELECTOR = [
  { scheme: "file", language: "python" },
  { notebook: "jupyter-notebook", language: "python" },
  { scheme: "file", pattern: EXPENV_TOML_GLOB },
];

export function serverOptions(python: string, serverArgs: readonly string[], cwd: string | undefined): ServerOptions {
  return {
    command: python,
    args: ["-m", "expenv", "serve", ...serverArgs],
    transport: TransportKind.stdio,
    // Unbuffered so the daemon's stderr log reaches the output channel as it happens.
    options: { cwd, env: { ...process.env, PYTHONUNBUFFERED: "1" } },
  };
}

export interface ClientOptionsInput {
  channel: OutputChannel;
  errorHandler: ErrorHandler;
  onCommandResult: (command: string, result: unknown) => void;
  settings: () => Record<string, unknown>;
}

export function clientOptions(input: ClientOptionsInput): LanguageClientOptions {
  const middleware: Middleware = {
    // The client registers daemon commands for the palette but drops their results; show them.
    executeCommand: async (command, args, next) => {
      // The pickers read their items from the daemon through `next` (no result toast for those).
      const ask = (name: string, options: Record<string, unknown> = {}) => Promise.resolve(next(name, [options]));
      const completed = await completeArguments(command, args, ask);
      if (completed === undefined) {
        return undefined; // the user dismissed the prompt
      }
      const result: unknown = await next(command, completed);
      input.onCommandResult(command, result);
      return result;
    },
  };
  return {
    documentSelector: DOCUMENT_SELECTOR,
    outputChannel: input.channel,
    errorHandler: input.errorHandler,
    middleware,
    initializationOptions: () => ({ settings: input.settings() }),
    synchronize: { configurationSection: "expenv" },
  };
}
