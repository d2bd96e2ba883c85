// Checks the interpreter before launching the daemon, because a daemon that dies on import
// only leaves a traceback in the log; here the user gets one sentence that says what to fix.
import { execFile } from "node:child_process";
import { openSetting, showErrorMessage } from "./vscodeapi";

export const PREFLIGHT_SCRIPT =
  "import sys; assert sys.version_info >= (3, 11), sys.version; import expenv.lsp";
export const PREFLIGHT_TIMEOUT_MS = 20_000;

/** The shape of the error that child_process.execFile passes to its callback. */
export interface ExecError {
  code?: string | number | null;
  killed?: boolean;
  signal?: string | null;
  stderr?: string;
  message?: string;
}

export type ExecFn = (file: string, args: string[], options: { timeout: number; cwd?: string }) => Promise<void>;

const execFileAsync: ExecFn = (file, args, options) =>
  new Promise((resolve, reject) => {
    execFile(file, args, options, (error, _stdout, stderr) => {
      if (error) {
        reject(Object.assign(error, { stderr: String(stderr) }));
      } else {
        resolve();
      }
    });
  });

// Packages whose absence means "expenv is not installed in this interpreter".
const MISSING_PACKAGE = /No module named '(expenv|pygls|lsprotocol)[.']/;

/** Turns a failed preflight run into the message the user sees. */
export function explainFailure(python: string, error: ExecError): string {
  const stderr = error.stderr ?? "";
  if (error.code === "ENOENT") {
    return `expenv: Python not found at ${python}. Set expenv.pythonPath or select an interpreter.`;
  }
  if (error.killed) {
    return `expenv: ${python} did not finish the startup check within ${PREFLIGHT_TIMEOUT_MS / 1000} s.`;
  }
  const tooOld = /AssertionError: (\S+)/.exec(stderr);
  if (tooOld) {
    return `expenv needs Python ≥ 3.11; ${python} is ${tooOld[1]}`;
  }
  if (MISSING_PACKAGE.test(stderr)) {
    return `expenv is not installed in ${python}. Run: ${python} -m pip install expenv (or select the project's .venv)`;
  }
  const lastLine = stderr.trim().split("\n").pop() || error.message || "unknown error";
  return `expenv: ${python} cannot load expenv: ${lastLine}`;
}

/** Returns undefined when `python` can run the daemon, else a message for the user. */
export async function preflight(python: string, cwd?: string, exec: ExecFn = execFileAsync): Promise<string | undefined> {
  try {
    await exec(python, ["-c", PREFLIGHT_SCRIPT], { timeout: PREFLIGHT_TIMEOUT_MS, cwd });
    return undefined;
  } catch (err) {
    return explainFailure(python, err as ExecError);
  }
}

export const OPEN_SETTINGS = "Open settings";
export const SHOW_LOG = "Show log";

export async function showPreflightFailure(message: string, showLog: () => void): Promise<void> {
  const choice = await showErrorMessage(message, OPEN_SETTINGS, SHOW_LOG);
  if (choice === OPEN_SETTINGS) {
    await openSetting("expenv.pythonPath");
  } else if (choice === SHOW_LOG) {
    showLog();
  }
}
