// The one place that reads expenv.* settings. All of them are the client's: how to launch the
// daemon and what to trace. The daemon reads none (its configuration is expenv.toml).
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
