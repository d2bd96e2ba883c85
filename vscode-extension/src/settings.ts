// The one place that reads expenv.* settings. The result goes to the daemon as
// initializationOptions, so the daemon never reads VS Code settings itself.
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
