// Activation: what restarts the daemon. The daemon registers its own file watchers
// (workspace/didChangeWatchedFiles), so an edited expenv.toml is a reload inside the daemon,
// never a restart; only an interpreter change (or a launch setting) starts a new daemon, and a
// daemon that dies is restarted by its error handler (test/daemon.test.ts).
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { activate, deactivate } from "../src/extension";
import * as python from "../src/python";
import type { ExtensionContext } from "../src/vscodeapi";

const fakes = vi.hoisted(() => {
  const order: string[] = [];
  class FakeDaemon {
    static instances: FakeDaemon[] = [];
    restart = vi.fn(async () => {
      order.push("daemon started");
    });
    stop = vi.fn(async () => undefined);
    showLog = vi.fn();
    readonly args: unknown[];
    constructor(...args: unknown[]) {
      this.args = args;
      FakeDaemon.instances.push(this);
    }
  }
  const createFileSystemWatcher = vi.fn(() => ({
    onDidCreate: vi.fn(() => ({ dispose: vi.fn() })),
    onDidChange: vi.fn(() => ({ dispose: vi.fn() })),
    onDidDelete: vi.fn(() => ({ dispose: vi.fn() })),
    dispose: vi.fn(),
  }));
  return { FakeDaemon, createFileSystemWatcher, order };
});

vi.mock("vscode-languageclient/node", () => ({ TransportKind: { stdio: 0 } }));
vi.mock("../src/daemon", () => ({ Daemon: fakes.FakeDaemon }));
vi.mock("../src/python", () => ({ onActiveInterpreterChanged: vi.fn() }));
vi.mock("../src/notebook/activate", () => ({ activateNotebooks: vi.fn(() => ({ handlers: {}, disposables: [] })) }));
vi.mock("../src/views", () => ({
  registerViews: vi.fn(() => {
    fakes.order.push("views");
    return { disposables: [] };
  }),
}));
vi.mock("../src/statusbar", () => ({
  StatusBar: class {
    constructor() {
      fakes.order.push("statusbar");
    }
    dispose() {}
  },
}));
vi.mock("../src/vscodeapi", () => ({
  createOutputChannel: vi.fn(() => ({ appendLine: vi.fn(), show: vi.fn(), dispose: vi.fn() })),
  createFileSystemWatcher: fakes.createFileSystemWatcher, // gone from src/vscodeapi; called before
  registerCommand: vi.fn(() => ({ dispose: vi.fn() })),
  onDidChangeConfiguration: vi.fn(() => ({ dispose: vi.fn() })),
}));

let interpreterChanged: () => void = () => undefined;

beforeEach(() => {
  vi.useFakeTimers();
  fakes.FakeDaemon.instances = [];
  fakes.order.length = 0;
  vi.mocked(python.onActiveInterpreterChanged).mockImplementation(async (listener) => {
    interpreterChanged = listener as () => void;
    return { dispose: vi.fn() };
  });
});

afterEach(async () => {
  await deactivate();
  vi.useRealTimers();
});

async function activated(): Promise<InstanceType<typeof fakes.FakeDaemon>> {
  activate({ subscriptions: [] } as unknown as ExtensionContext);
  await vi.advanceTimersByTimeAsync(0);
  expect(fakes.FakeDaemon.instances).toHaveLength(1);
  return fakes.FakeDaemon.instances[0];
}

describe("activate", () => {
  it("starts the daemon once and watches no config file itself", async () => {
    const daemon = await activated();
    expect(daemon.restart).toHaveBeenCalledOnce();
    expect(fakes.createFileSystemWatcher).not.toHaveBeenCalled();
    // no watcher handed to the client (its synchronize.fileEvents would duplicate the daemon's own)
    expect(daemon.args).not.toContainEqual(expect.objectContaining({ onDidChange: expect.anything() }));
  });

  it("registers the views and the status bar before the daemon starts (their notifications need handlers)", async () => {
    await activated();
    expect(fakes.order).toEqual(["views", "statusbar", "daemon started"]);
  });

  it("restarts the daemon when the Python interpreter changes", async () => {
    const daemon = await activated();
    interpreterChanged();
    await vi.advanceTimersByTimeAsync(1000);
    expect(daemon.restart).toHaveBeenCalledTimes(2);
  });
});
