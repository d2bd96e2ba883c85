import * as os from "node:os";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { findInterpreter, onActiveInterpreterChanged, PYTHON_EXTENSION_ID } from "../src/python";
import * as vscodeapi from "../src/vscodeapi";
import type { WorkspaceFolder } from "../src/vscodeapi";

vi.mock("../src/vscodeapi", () => ({ getExtension: vi.fn() }));

const getExtension = vi.mocked(vscodeapi.getExtension);
const folder = { uri: { fsPath: "/ws/churn" }, name: "churn", index: 0 } as unknown as WorkspaceFolder;

function pythonExtension(options: {
  active?: { id: string; path: string };
  resolved?: string | null;
  isActive?: boolean;
  throws?: boolean;
}) {
  const environments = {
    getActiveEnvironmentPath: vi.fn(() => {
      if (options.throws) throw new Error("API not ready");
      return options.active ?? { id: "venv", path: "/ws/churn/.venv" };
    }),
    resolveEnvironment: vi.fn(async () =>
      options.resolved === null ? undefined : { executable: { uri: { fsPath: options.resolved ?? "/ws/churn/.venv/bin/python" } } },
    ),
    onDidChangeActiveEnvironmentPath: vi.fn(() => ({ dispose: vi.fn() })),
  };
  const extension = { isActive: options.isActive ?? true, activate: vi.fn(async () => undefined), exports: { environments } };
  getExtension.mockReturnValue(extension as never);
  return { extension, environments };
}

beforeEach(() => {
  getExtension.mockReset();
});

describe("findInterpreter", () => {
  it("uses the setting first, without asking the Python extension", async () => {
    pythonExtension({});
    const found = await findInterpreter("/opt/py/bin/python3.12", folder);
    expect(found).toEqual({ path: "/opt/py/bin/python3.12", source: "setting" });
    expect(getExtension).not.toHaveBeenCalled();
  });

  it("expands ${workspaceFolder} and ~ in the setting", async () => {
    expect(await findInterpreter("${workspaceFolder}/.venv/bin/python", folder)).toEqual({
      path: "/ws/churn/.venv/bin/python",
      source: "setting",
    });
    expect((await findInterpreter("~/venvs/ml/bin/python", folder)).path).toBe(`${os.homedir()}/venvs/ml/bin/python`);
  });

  it("treats a blank setting as unset", async () => {
    pythonExtension({});
    expect((await findInterpreter("   ", folder)).source).toBe("python-extension");
  });

  it("uses the Python extension's resolved active interpreter for the workspace folder", async () => {
    const { environments } = pythonExtension({ resolved: "/ws/churn/.venv/bin/python3.11" });
    expect(await findInterpreter("", folder)).toEqual({ path: "/ws/churn/.venv/bin/python3.11", source: "python-extension" });
    expect(getExtension).toHaveBeenCalledWith(PYTHON_EXTENSION_ID);
    expect(environments.getActiveEnvironmentPath).toHaveBeenCalledWith(folder.uri);
    expect(environments.resolveEnvironment).toHaveBeenCalledWith({ id: "venv", path: "/ws/churn/.venv" });
  });

  it("activates the Python extension when it is not active yet", async () => {
    const { extension } = pythonExtension({ isActive: false });
    await findInterpreter("", folder);
    expect(extension.activate).toHaveBeenCalledOnce();
  });

  it("falls back to the active environment's path when it cannot be resolved", async () => {
    pythonExtension({ active: { id: "x", path: "/usr/bin/python3.12" }, resolved: null });
    expect(await findInterpreter("", folder)).toEqual({ path: "/usr/bin/python3.12", source: "python-extension" });
  });

  it("falls through to python3 when the Python extension fails", async () => {
    pythonExtension({ throws: true });
    const log = vi.fn();
    expect(await findInterpreter("", folder, log)).toEqual({ path: "python3", source: "default" });
    expect(log).toHaveBeenCalledWith(expect.stringContaining("API not ready"));
  });

  it("falls through to python3 when activation fails", async () => {
    const { extension } = pythonExtension({ isActive: false });
    extension.activate.mockRejectedValue(new Error("activation failed"));
    expect(await findInterpreter("", folder)).toEqual({ path: "python3", source: "default" });
  });

  it("uses python3 when the Python extension is not installed", async () => {
    getExtension.mockReturnValue(undefined);
    expect(await findInterpreter("", undefined)).toEqual({ path: "python3", source: "default" });
  });
});

describe("onActiveInterpreterChanged", () => {
  it("calls the listener when the Python extension reports a new interpreter", async () => {
    const { environments } = pythonExtension({});
    const listener = vi.fn();
    expect(await onActiveInterpreterChanged(listener)).toBeDefined();
    const subscribed = environments.onDidChangeActiveEnvironmentPath.mock.calls[0] as unknown as [(e: unknown) => void];
    subscribed[0]({ id: "other", path: "/other" });
    expect(listener).toHaveBeenCalledOnce();
  });

  it("returns undefined without the Python extension", async () => {
    getExtension.mockReturnValue(undefined);
    expect(await onActiveInterpreterChanged(vi.fn())).toBeUndefined();
  });
});
