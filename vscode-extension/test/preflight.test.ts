import { chmodSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it, vi } from "vitest";
import { OPEN_SETTINGS, preflight, PREFLIGHT_SCRIPT, SHOW_LOG, showPreflightFailure } from "../src/preflight";
import type { ExecError, ExecFn } from "../src/preflight";
import * as vscodeapi from "../src/vscodeapi";

vi.mock("../src/vscodeapi", () => ({ showErrorMessage: vi.fn(), openSetting: vi.fn() }));

const PY = "/ws/.venv/bin/python";

function failingWith(error: ExecError): ExecFn {
  return vi.fn(async () => {
    throw Object.assign(new Error(error.message ?? "Command failed"), error);
  });
}

const traceback = (last: string) =>
  `Traceback (most recent call last):\n  File "<string>", line 1, in <module>\n${last}\n`;

describe("preflight", () => {
  it("passes when the check script succeeds, and runs exactly that script with a timeout", async () => {
    const exec = vi.fn<ExecFn>(async () => undefined);
    expect(await preflight(PY, "/ws", exec)).toBeUndefined();
    expect(exec).toHaveBeenCalledWith(PY, ["-c", PREFLIGHT_SCRIPT], { timeout: 20_000, cwd: "/ws" });
  });

  it("says the interpreter is missing on ENOENT", async () => {
    const message = await preflight(PY, undefined, failingWith({ code: "ENOENT", message: `spawn ${PY} ENOENT` }));
    expect(message).toBe(`expenv: Python not found at ${PY}. Set expenv.pythonPath or select an interpreter.`);
  });

  it("names the version of a Python that is too old", async () => {
    const stderr = traceback("AssertionError: 3.9.2 (default, Feb 28 2021, 17:03:44) \n[GCC 10.2.1 20210110]");
    const message = await preflight(PY, undefined, failingWith({ code: 1, stderr }));
    expect(message).toBe(`expenv needs Python ≥ 3.11; ${PY} is 3.9.2`);
  });

  it.each(["expenv", "pygls", "expenv.lsp"])("says how to install expenv when %s is missing", async (module) => {
    const stderr = traceback(`ModuleNotFoundError: No module named '${module}'`);
    const message = await preflight(PY, undefined, failingWith({ code: 1, stderr }));
    expect(message).toBe(`expenv is not installed in ${PY}. Run: ${PY} -m pip install expenv (or select the project's .venv)`);
  });

  it("shows the last traceback line for any other import failure", async () => {
    const stderr = traceback("ModuleNotFoundError: No module named 'pandas'");
    const message = await preflight(PY, undefined, failingWith({ code: 1, stderr }));
    expect(message).toBe(`expenv: ${PY} cannot load expenv: ModuleNotFoundError: No module named 'pandas'`);
  });

  it("reports a check that timed out", async () => {
    const message = await preflight(PY, undefined, failingWith({ killed: true, signal: "SIGTERM", code: null }));
    expect(message).toContain("did not finish the startup check within 20 s");
  });

  // The same mapping against real child_process errors, so the shapes above are not invented.
  it("maps a real ENOENT from execFile", async () => {
    const missing = join(tmpdir(), "expenv-no-such-python");
    expect(await preflight(missing)).toBe(
      `expenv: Python not found at ${missing}. Set expenv.pythonPath or select an interpreter.`,
    );
  });

  it("maps a real interpreter that fails the version assertion", async () => {
    const fake = join(mkdtempSync(join(tmpdir(), "expenv-preflight-")), "python");
    writeFileSync(fake, `#!/bin/sh\nprintf 'Traceback (most recent call last):\\nAssertionError: 3.8.10 (default)\\n' >&2\nexit 1\n`);
    chmodSync(fake, 0o755);
    expect(await preflight(fake)).toBe(`expenv needs Python ≥ 3.11; ${fake} is 3.8.10`);
  });
});

describe("showPreflightFailure", () => {
  const showErrorMessage = vi.mocked(vscodeapi.showErrorMessage);

  it("offers to open the pythonPath setting", async () => {
    showErrorMessage.mockResolvedValue(OPEN_SETTINGS);
    const showLog = vi.fn();
    await showPreflightFailure("boom", showLog);
    expect(showErrorMessage).toHaveBeenCalledWith("boom", OPEN_SETTINGS, SHOW_LOG);
    expect(vscodeapi.openSetting).toHaveBeenCalledWith("expenv.pythonPath");
    expect(showLog).not.toHaveBeenCalled();
  });

  it("offers to show the log", async () => {
    showErrorMessage.mockResolvedValue(SHOW_LOG);
    const showLog = vi.fn();
    await showPreflightFailure("boom", showLog);
    expect(showLog).toHaveBeenCalledOnce();
    expect(vscodeapi.openSetting).not.toHaveBeenCalled();
  });
});
