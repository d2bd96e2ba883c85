// Which Python runs the daemon: the user's setting, else the Python extension's active
// interpreter (so the daemon sees the same packages as the notebook kernel), else python3.
import * as os from "node:os";
import { getExtension } from "./vscodeapi";
import type { Disposable, Event, Uri, WorkspaceFolder } from "./vscodeapi";

export const PYTHON_EXTENSION_ID = "ms-python.python";
export const DEFAULT_PYTHON = "python3";

export type InterpreterSource = "setting" | "python-extension" | "default";

export interface Interpreter {
  path: string;
  source: InterpreterSource;
}

// The slice of the Python extension's public API (@vscode/python-extension) that we use;
// declared here to avoid a dependency for three members.
interface EnvironmentPath {
  id: string;
  path: string;
}
interface ResolvedEnvironment {
  executable: { uri?: Uri };
}
export interface PythonEnvironmentsApi {
  getActiveEnvironmentPath(resource?: Uri | WorkspaceFolder): EnvironmentPath;
  resolveEnvironment(env: EnvironmentPath | string): Promise<ResolvedEnvironment | undefined>;
  onDidChangeActiveEnvironmentPath: Event<unknown>;
}
export interface PythonExtensionApi {
  environments: PythonEnvironmentsApi;
}

/** Expands `${workspaceFolder}`, `${userHome}` and a leading `~`, as VS Code users expect. */
export function expandPath(value: string, workspaceFolder: string | undefined): string {
  let result = value;
  if (workspaceFolder !== undefined) {
    result = result.split("${workspaceFolder}").join(workspaceFolder);
  }
  result = result.split("${userHome}").join(os.homedir());
  if (result === "~" || result.startsWith("~/")) {
    result = os.homedir() + result.slice(1);
  }
  return result;
}

async function pythonExtensionApi(): Promise<PythonExtensionApi | undefined> {
  const extension = getExtension<PythonExtensionApi>(PYTHON_EXTENSION_ID);
  if (!extension) {
    return undefined;
  }
  if (!extension.isActive) {
    await extension.activate();
  }
  return extension.exports;
}

async function fromPythonExtension(folder: WorkspaceFolder | undefined): Promise<string | undefined> {
  const environments = (await pythonExtensionApi())?.environments;
  if (!environments) {
    return undefined;
  }
  const active = environments.getActiveEnvironmentPath(folder?.uri);
  const resolved = await environments.resolveEnvironment(active);
  return resolved?.executable.uri?.fsPath || active?.path || undefined;
}

export async function findInterpreter(
  pythonPathSetting: string,
  folder: WorkspaceFolder | undefined,
  log: (line: string) => void = () => undefined,
): Promise<Interpreter> {
  const setting = pythonPathSetting.trim();
  if (setting) {
    return { path: expandPath(setting, folder?.uri.fsPath), source: "setting" };
  }
  try {
    const path = await fromPythonExtension(folder);
    if (path) {
      return { path, source: "python-extension" };
    }
  } catch (err) {
    // A broken or still-loading Python extension must not keep the daemon from starting.
    log(`expenv: could not ask the Python extension for its interpreter: ${String(err)}`);
  }
  return { path: DEFAULT_PYTHON, source: "default" };
}

/** Subscribes to interpreter changes in the Python extension, if it is installed. */
export async function onActiveInterpreterChanged(listener: () => void): Promise<Disposable | undefined> {
  try {
    return (await pythonExtensionApi())?.environments.onDidChangeActiveEnvironmentPath(() => listener());
  } catch {
    return undefined;
  }
}
