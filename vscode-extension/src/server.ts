// How the daemon is launched and what the client sends it. Pure option builders, so the
// launch contract (`<python> -m expenv serve`, initializationOptions) is visible in one place.
import { TransportKind } from "vscode-languageclient/node";
import { completeArguments } from "./prompts";
import type { ErrorHandler, LanguageClientOptions, Middleware, ServerOptions } from "vscode-languageclient/node";
import type { ExpenvSettings } from "./settings";
import type { FileSystemWatcher, OutputChannel } from "./vscodeapi";

export const CLIENT_ID = "expenv"; // also makes the client honour the `expenv.trace.server` setting
export const EXPENV_TOML_GLOB = "**/expenv.toml";

export const DOCUMENT_SELECTOR = [
  { scheme: "file", language: "python" },
  { notebook: "jupyter-notebook", language: "python" },
  { scheme: "file", pattern: EXPENV_TOML_GLOB },
];

/** Sent as initializationOptions: the daemon's only source of editor settings. */
export interface InitializationOptions extends ExpenvSettings {
  clientName: "vscode";
}

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
  settings: ExpenvSettings;
  channel: OutputChannel;
  tomlWatcher: FileSystemWatcher;
  errorHandler: ErrorHandler;
  onCommandResult: (command: string, result: unknown) => void;
}

export function clientOptions(input: ClientOptionsInput): LanguageClientOptions {
  const initializationOptions: InitializationOptions = { ...input.settings, clientName: "vscode" };
  const middleware: Middleware = {
    // The client registers daemon commands for the palette but drops their results; show them.
    executeCommand: async (command, args, next) => {
      const completed = await completeArguments(command, args);
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
    synchronize: { fileEvents: input.tomlWatcher },
    outputChannel: input.channel,
    initializationOptions,
    errorHandler: input.errorHandler,
    middleware,
  };
}
