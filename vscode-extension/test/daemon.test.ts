// The daemon lifecycle against a fake LanguageClient: what is launched, what the daemon is told,
// and that a crashing daemon is restarted at most three times.
import { beforeEach, describe, expect, it, vi } from "vitest";
import type { ErrorHandler, LanguageClientOptions } from "vscode-languageclient/node";
import { Daemon } from "../src/daemon";
import * as preflightModule from "../src/preflight";
import * as vscodeapi from "../src/vscodeapi";
import type { OutputChannel } from "../src/vscodeapi";

const lc = vi.hoisted(() => {
  const State = { Stopped: 1, Starting: 3, Running: 2 };
  class FakeLanguageClient {
    static instances: FakeLanguageClient[] = [];
    state = State.Stopped;
    start = vi.fn(async () => {
      this.state = State.Running;
    });
    dispose = vi.fn(async () => {
      this.state = State.Stopped;
    });
    notifications = new Map<string, (params: unknown) => void>();
    onNotification = vi.fn((method: string, handler: (params: unknown) => void) => {
      this.notifications.set(method, handler); // one handler per method, as in vscode-jsonrpc
      return { dispose: vi.fn() };
    });
    stateListeners: Array<(e: { oldState: number; newState: number }) => void> = [];
    onDidChangeState = vi.fn((listener: (e: { oldState: number; newState: number }) => void) => {
      this.stateListeners.push(listener);
      return { dispose: vi.fn() };
    });
    sendRequest = vi.fn(async (method: string, params: unknown) => ({ method, params }));
    constructor(
      readonly id: string,
      readonly name: string,
      readonly serverOptions: unknown,
      readonly clientOptions: unknown,
    ) {
      FakeLanguageClient.instances.push(this);
    }
  }
  return { State, FakeLanguageClient };
});

vi.mock("vscode-languageclient/node", () => ({
  LanguageClient: lc.FakeLanguageClient,
  State: lc.State,
  CloseAction: { DoNotRestart: 1, Restart: 2 },
  ErrorAction: { Continue: 1, Shutdown: 2 },
  TransportKind: { stdio: 0 },
}));

vi.mock("../src/vscodeapi", () => ({
  getConfiguration: vi.fn(),
  getWorkspaceFolders: vi.fn(() => [{ uri: { fsPath: "/ws/churn" }, name: "churn", index: 0 }]),
  getExtension: vi.fn(() => undefined),
  showErrorMessage: vi.fn(async () => undefined),
  showWarningMessage: vi.fn(async () => undefined),
  showInformationMessage: vi.fn(async () => undefined),
  executeCommand: vi.fn(),
  openSetting: vi.fn(),
}));

vi.mock("../src/preflight", async (importOriginal) => ({
  ...(await importOriginal<typeof preflightModule>()),
  preflight: vi.fn(async () => undefined),
}));

const settings: Record<string, unknown> = {};
const channel = { appendLine: vi.fn(), show: vi.fn() } as unknown as OutputChannel;

beforeEach(() => {
  lc.FakeLanguageClient.instances = [];
  for (const key of Object.keys(settings)) delete settings[key];
  vi.mocked(vscodeapi.getConfiguration).mockReturnValue({
    get: (key: string, fallback: unknown) => settings[key] ?? fallback,
  } as never);
});

async function startedClient(): Promise<InstanceType<typeof lc.FakeLanguageClient>> {
  const daemon = new Daemon(channel);
  await daemon.restart();
  expect(lc.FakeLanguageClient.instances).toHaveLength(1);
  return lc.FakeLanguageClient.instances[0];
}

describe("Daemon.restart", () => {
  it("launches `<python> -m expenv serve <serverArgs>` in the first workspace folder", async () => {
    settings.pythonPath = "${workspaceFolder}/.venv/bin/python";
    settings.serverArgs = ["--log-level", "debug"];
    const client = await startedClient();
    expect(preflightModule.preflight).toHaveBeenCalledWith("/ws/churn/.venv/bin/python", "/ws/churn");
    expect(client.serverOptions).toMatchObject({
      command: "/ws/churn/.venv/bin/python",
      args: ["-m", "expenv", "serve", "--log-level", "debug"],
      transport: 0,
      options: { cwd: "/ws/churn", env: { PYTHONUNBUFFERED: "1" } },
    });
    expect(client.id).toBe("expenv");
    expect(client.start).toHaveBeenCalledOnce();
  });

  it("selects python files, notebook cells and expenv.toml; sends the daemon's settings and watches no files", async () => {
    settings.pythonPath = "/usr/bin/python3.11";
    settings["trace.server"] = "verbose";
    settings["diagnostics.enabled"] = false;
    settings.answerTimeoutMs = 250;
    const options = (await startedClient()).clientOptions as LanguageClientOptions;
    // launch and trace settings stay the client's; the user's preferences go to the daemon at start
    // and the `expenv` section again on each change. The daemon registers its own file watchers.
    const init = options.initializationOptions as () => unknown;
    expect(init()).toEqual({ settings: { diagnostics: { enabled: false }, answerTimeoutMs: 250, logLevel: "default" } });
    expect(options.synchronize).toEqual({ configurationSection: "expenv" });
    expect(options.documentSelector).toEqual([
      { scheme: "file", language: "python" },
      { notebook: "jupyter-notebook", language: "python" },
      { scheme: "file", pattern: "**/expenv.toml" },
    ]);
    expect(options.outputChannel).toBe(channel);
  });

  it("does not launch the daemon when the preflight fails, and says why", async () => {
    vi.mocked(preflightModule.preflight).mockResolvedValueOnce("expenv is not installed in python3. Run: ...");
    await new Daemon(channel).restart();
    expect(lc.FakeLanguageClient.instances).toHaveLength(0);
    expect(vscodeapi.showErrorMessage).toHaveBeenCalledWith(
      "expenv is not installed in python3. Run: ...",
      "Open settings",
      "Show log",
    );
  });

  it("stops the previous client before starting the next", async () => {
    const daemon = new Daemon(channel);
    await daemon.restart();
    await daemon.restart();
    const [first, second] = lc.FakeLanguageClient.instances;
    expect(first.dispose).toHaveBeenCalledOnce();
    expect(first.dispose.mock.invocationCallOrder[0]).toBeLessThan(second.start.mock.invocationCallOrder[0]);
  });
});

describe("crash handling", () => {
  it("restarts a crashed daemon three times, then stops and tells the user", async () => {
    const client = await startedClient();
    const handler = (client.clientOptions as LanguageClientOptions).errorHandler as ErrorHandler;
    const actions = [];
    for (let i = 0; i < 5; i++) actions.push((await handler.closed()).action);
    expect(actions).toEqual([2, 2, 2, 1, 1]);
    expect(vscodeapi.showWarningMessage).toHaveBeenCalledTimes(3);
    expect(vscodeapi.showWarningMessage).toHaveBeenCalledWith(expect.stringContaining("(1 of 3)"), "Show log");
    expect(vscodeapi.showErrorMessage).toHaveBeenCalledWith(
      expect.stringContaining("will not be restarted"),
      "Show log",
      "Restart",
    );
  });

  it("does not restart a daemon that dies while starting", async () => {
    const client = await startedClient();
    client.state = lc.State.Starting;
    const handler = (client.clientOptions as LanguageClientOptions).errorHandler as ErrorHandler;
    expect((await handler.closed()).action).toBe(1);
  });

  it("shows a daemon command's JSON result in the log and a notification", async () => {
    const client = await startedClient();
    const middleware = (client.clientOptions as LanguageClientOptions).middleware!;
    const next = vi.fn(async () => ({ summary: "3 services healthy", services: ["data"] }));
    const result = await middleware.executeCommand!("expenv.status", [], next);
    expect(result).toEqual({ summary: "3 services healthy", services: ["data"] });
    expect(next).toHaveBeenCalledWith("expenv.status", []);
    expect(channel.appendLine).toHaveBeenCalledWith(JSON.stringify(result, null, 2));
    expect(vscodeapi.showInformationMessage).toHaveBeenCalledWith("expenv.status: 3 services healthy", "Show log");
  });
});

describe("what the views hear of the daemon", () => {
  it("fans each notification out to every listener through one client handler", async () => {
    const daemon = new Daemon(channel);
    const heard: unknown[] = [];
    daemon.events.on("expenv/workspaceChanged", (p) => heard.push(["a", p]));
    daemon.events.on("expenv/workspaceChanged", (p) => heard.push(["b", p]));
    await daemon.restart();
    const client = lc.FakeLanguageClient.instances[0];
    client.notifications.get("expenv/workspaceChanged")?.({ workspace: "/ws/churn", what: "clusters" });
    expect(heard).toEqual([["a", { workspace: "/ws/churn", what: "clusters" }],
      ["b", { workspace: "/ws/churn", what: "clusters" }]]);
  });

  it("reports starting, then ready, then error when the running daemon stops", async () => {
    const daemon = new Daemon(channel);
    const states: string[] = [];
    daemon.events.onState((state) => states.push(state));
    await daemon.restart();
    const client = lc.FakeLanguageClient.instances[0];
    for (const listener of client.stateListeners) listener({ oldState: lc.State.Starting, newState: lc.State.Running });
    for (const listener of client.stateListeners) listener({ oldState: lc.State.Running, newState: lc.State.Stopped });
    expect(states).toEqual(["starting", "ready", "error"]);
  });

  it("reports an error when the preflight check fails, and runs no command then", async () => {
    vi.mocked(preflightModule.preflight).mockResolvedValueOnce("expenv is not installed in /usr/bin/python3");
    const daemon = new Daemon(channel);
    await daemon.restart();
    expect(daemon.events.state).toBe("error");
    expect(daemon.events.detail).toContain("not installed");
    await expect(daemon.execute("expenv.status")).rejects.toThrow("not running");
  });

  it("runs a command for the views as workspace/executeCommand with one options object", async () => {
    const daemon = new Daemon(channel);
    await daemon.restart();
    expect(await daemon.execute("expenv.data.schema", { dataset: "curated.customers" })).toEqual({
      method: "workspace/executeCommand", params: { command: "expenv.data.schema", arguments: [{ dataset: "curated.customers" }] } });
  });
});
