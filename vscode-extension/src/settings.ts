// The one place that reads expenv.* settings. Most are the client's (how to launch the daemon,
// what to trace); DAEMON_SETTINGS are the user's preferences the daemon applies (lsp/settings.py),
// sent at start (initializationOptions.settings) and on every change (workspace/didChangeConfiguration).
// The project's configuration stays expenv.toml.
import { getConfiguration } from "./vscodeapi";

export type TraceLevel = "off" | "messages" | "verbose";

export interface ExpenvSettings {
  pythonPath: string;
  serverArgs: string[];
  trace: TraceLevel;
}

/** Settings whose change needs a new daemon process (trace is applied live by the client). */
export const RESTART_SETTINGS: readonly string[] = ["expenv.pythonPath", "expenv.serverArgs"];

export function readSettings(): ExpenvSettings {
  const config = getConfiguration("expenv");
  const serverArgs = config.get<unknown>("serverArgs", []);
  return {
    pythonPath: (config.get<string>("pythonPath", "") ?? "").trim(),
    serverArgs: Array.isArray(serverArgs) ? serverArgs.map(String) : [],
    trace: config.get<TraceLevel>("trace.server", "off") ?? "off",
  };
}

/** The settings the daemon reads, in the shape it reads them (the `expenv` section's own). */
export function daemonSettings(): Record<string, unknown> {
  const config = getConfiguration("expenv");
  return {
    diagnostics: { enabled: config.get<boolean>("diagnostics.enabled", true) },
    answerTimeoutMs: config.get<number>("answerTimeoutMs", 0),
    logLevel: config.get<string>("logLevel", "default"),
  };
}
