import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { CrashBudget, DebouncedRestart, watchRestartTriggers } from "../src/restart";
import * as vscodeapi from "../src/vscodeapi";
import type { ConfigurationChangeEvent } from "../src/vscodeapi";

vi.mock("../src/vscodeapi", () => ({ onDidChangeConfiguration: vi.fn(() => ({ dispose: vi.fn() })) }));

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

describe("DebouncedRestart", () => {
  it("turns three triggers within the window into one restart", async () => {
    const restart = vi.fn(async () => undefined);
    const restarts = new DebouncedRestart(restart, 500);
    restarts.trigger("a");
    await vi.advanceTimersByTimeAsync(200);
    restarts.trigger("b");
    await vi.advanceTimersByTimeAsync(200);
    restarts.trigger("c");
    await vi.advanceTimersByTimeAsync(499);
    expect(restart).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1);
    expect(restart).toHaveBeenCalledOnce();
    await vi.advanceTimersByTimeAsync(5000);
    expect(restart).toHaveBeenCalledOnce();
  });

  it("waits for a start in flight, then restarts once more", async () => {
    const first = deferred();
    let active = 0;
    let maxActive = 0;
    const restart = vi.fn(async () => {
      active += 1;
      maxActive = Math.max(maxActive, active);
      if (restart.mock.calls.length === 1) await first.promise;
      active -= 1;
    });
    const restarts = new DebouncedRestart(restart, 500);
    void restarts.now(); // the initial start, still in flight
    expect(restart).toHaveBeenCalledOnce();
    restarts.trigger("interpreter changed");
    restarts.trigger("interpreter changed again");
    await vi.advanceTimersByTimeAsync(1000);
    expect(restart).toHaveBeenCalledOnce(); // no second daemon while the first is starting
    first.resolve();
    await vi.advanceTimersByTimeAsync(0);
    expect(restart).toHaveBeenCalledTimes(2);
    expect(maxActive).toBe(1);
    await vi.advanceTimersByTimeAsync(5000);
    expect(restart).toHaveBeenCalledTimes(2);
  });

  it("coalesces several restarts requested during one in flight", async () => {
    const first = deferred();
    const restart = vi.fn(async () => {
      if (restart.mock.calls.length === 1) await first.promise;
    });
    const restarts = new DebouncedRestart(restart, 500);
    void restarts.now();
    const a = restarts.now();
    const b = restarts.now();
    expect(a).toBe(b);
    first.resolve();
    await b;
    expect(restart).toHaveBeenCalledTimes(2);
  });

  it("keeps going after a failed restart", async () => {
    const log = vi.fn();
    const restart = vi.fn(async () => {
      throw new Error("no python");
    });
    const restarts = new DebouncedRestart(restart, 500, log);
    await restarts.now();
    await restarts.now();
    expect(restart).toHaveBeenCalledTimes(2);
    expect(log).toHaveBeenCalledWith(expect.stringContaining("no python"));
  });

  it("does nothing after dispose, and dispose waits for the start in flight", async () => {
    const first = deferred();
    const restart = vi.fn(() => first.promise);
    const restarts = new DebouncedRestart(restart, 500);
    void restarts.now();
    restarts.trigger("late");
    let disposed = false;
    void restarts.dispose().then(() => (disposed = true));
    await vi.advanceTimersByTimeAsync(1000);
    expect(disposed).toBe(false);
    first.resolve();
    await vi.advanceTimersByTimeAsync(0);
    expect(disposed).toBe(true);
    restarts.trigger("after deactivate");
    await restarts.now();
    await vi.advanceTimersByTimeAsync(1000);
    expect(restart).toHaveBeenCalledOnce();
  });
});

describe("watchRestartTriggers", () => {
  function setup() {
    const restart = vi.fn(async () => undefined);
    const restarts = new DebouncedRestart(restart, 500);
    watchRestartTriggers(restarts);
    const onConfig = vi.mocked(vscodeapi.onDidChangeConfiguration).mock.calls[0][0];
    const changeConfig = (...changed: string[]) =>
      onConfig({ affectsConfiguration: (section: string) => changed.includes(section) } as ConfigurationChangeEvent);
    return { restart, changeConfig };
  }

  it("restarts when expenv.pythonPath or expenv.serverArgs change", async () => {
    const { restart, changeConfig } = setup();
    changeConfig("expenv.pythonPath");
    await vi.advanceTimersByTimeAsync(500);
    changeConfig("expenv.serverArgs");
    await vi.advanceTimersByTimeAsync(500);
    expect(restart).toHaveBeenCalledTimes(2);
  });

  it("ignores configuration changes that do not affect the daemon", async () => {
    const { restart, changeConfig } = setup();
    changeConfig("editor.fontSize");
    changeConfig("expenv.trace.server"); // the client applies trace changes without a restart
    await vi.advanceTimersByTimeAsync(5000);
    expect(restart).not.toHaveBeenCalled();
  });

  it("restarts once for a burst of launch-setting changes", async () => {
    const { restart, changeConfig } = setup();
    changeConfig("expenv.pythonPath");
    changeConfig("expenv.serverArgs");
    changeConfig("expenv.pythonPath");
    await vi.advanceTimersByTimeAsync(500);
    expect(restart).toHaveBeenCalledOnce();
  });
});

describe("CrashBudget", () => {
  it("allows three automatic restarts, then refuses", () => {
    const budget = new CrashBudget();
    expect([budget.spend(), budget.spend(), budget.spend(), budget.spend(), budget.spend()]).toEqual([
      true,
      true,
      true,
      false,
      false,
    ]);
    expect(budget.used).toBe(3);
  });
});
