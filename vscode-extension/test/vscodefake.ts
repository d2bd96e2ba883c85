// A stand-in for src/vscodeapi (vi.mock("../src/vscodeapi", () => import("./vscodefake"))) and a
// daemon that answers commands from a table, as the views' unit tests need them.
import { vi } from "vitest";
import { DaemonEvents } from "../src/daemonevents";
import type { DaemonLink } from "../src/daemonevents";

export const registered = new Map<string, (...args: unknown[]) => unknown>();

export function newEventEmitter<T>() {
  const listeners = new Set<(value: T) => void>();
  return {
    event: (listener: (value: T) => void) => {
      listeners.add(listener);
      return { dispose: () => listeners.delete(listener) };
    },
    fire: (value: T) => listeners.forEach((l) => l(value)),
    dispose: () => listeners.clear(),
  };
}

export const themeIcon = (id: string) => ({ id });
export const createTreeView = vi.fn(() => ({ dispose: vi.fn() }));
export const registerCommand = vi.fn((id: string, callback: (...args: unknown[]) => unknown) => {
  registered.set(id, callback);
  return { dispose: () => registered.delete(id) };
});
export const showQuickPick = vi.fn();
export const showInputBox = vi.fn();
export const showInformationMessage = vi.fn(async (..._args: unknown[]) => undefined);
export const showErrorMessage = vi.fn(async (..._args: unknown[]) => undefined);
export const showUntitled = vi.fn(async (..._args: unknown[]) => undefined);
export const writeClipboard = vi.fn(async (..._args: unknown[]) => undefined);
export const openExternal = vi.fn(async (..._args: unknown[]) => true);
export const openFileAt = vi.fn(async (..._args: unknown[]) => undefined);
export const insertAtCursor = vi.fn(async (..._args: unknown[]) => false);
export const getWorkspaceFolders = vi.fn(() => [{ uri: { fsPath: "/ws" } }]);
export const createStatusBarItem = vi.fn((id: string) => ({
  id,
  text: "",
  tooltip: "",
  command: undefined as string | undefined,
  visible: false,
  show() {
    this.visible = true;
  },
  hide() {
    this.visible = false;
  },
  dispose: vi.fn(),
}));

type Answer = unknown | ((options: Record<string, unknown>) => unknown);

/** Answers `execute` from `answers` (a function gets the options); records every call. */
export class FakeDaemon implements DaemonLink {
  readonly events = new DaemonEvents();
  readonly calls: Array<{ command: string; options: Record<string, unknown> }> = [];

  constructor(public answers: Record<string, Answer>) {}

  async execute<T>(command: string, options: Record<string, unknown> = {}): Promise<T> {
    this.calls.push({ command, options });
    if (!(command in this.answers)) {
      throw new Error(`Request workspace/executeCommand failed with message: no answer for ${command}`);
    }
    const answer = this.answers[command];
    return (typeof answer === "function" ? (answer as (o: Record<string, unknown>) => unknown)(options) : answer) as T;
  }

  commands(): string[] {
    return this.calls.map((c) => c.command);
  }
}

// Shaped like the example project's answers (`expenv ... --json` on `expenv example create`).
export const STATUS = {
  workspaces: [
    {
      root: "/ws",
      config: {
        raw: { roots: ["data/raw"] },
        clusters: {
          "dask-local": { kind: "dask", backend: "local", workers: 2 },
          "spark-docker": { kind: "spark", backend: "docker", workers: 2 },
        },
      },
      clusters: [] as Array<Record<string, unknown>>,
    },
  ],
};

export const DATASETS = [
  { ref: { layer: "raw", name: "data/raw/customers.parquet", location: "/ws/data/raw/customers.parquet", format: "parquet" },
    size_bytes: 1890041 },
  { ref: { layer: "raw", name: "data/raw/usage", location: "/ws/data/raw/usage", format: "parquet" }, size_bytes: 15136326 },
  { ref: { layer: "curated", name: "curated.customers", location: "curated.customers", format: "table" }, size_bytes: null },
];

export const PIPELINES = {
  pipelines: [{ name: "train", steps: [
    { name: "prepare", kind: "notebook", entrypoint: "notebooks/prepare.ipynb" },
    { name: "train", kind: "python", entrypoint: "pipelines/train.py" }] }],
  targets: [
    { name: "dev", backend: "docker", production_like: false, namespace: null },
    { name: "preprod", backend: "kubernetes", production_like: true, namespace: "ml-preprod" },
  ],
  runs: [
    { id: "train-old", pipeline: "train", target: "dev", status: "FINISHED", started_at: 100,
      mlflow_url: "http://127.0.0.1:5000/#/experiments/1/runs/abc", steps: [{ name: "prepare", status: "FINISHED" }] },
    { id: "train-new", pipeline: "train", target: "dev", status: "RUNNING", started_at: 200, mlflow_url: null,
      steps: [{ name: "prepare", status: "RUNNING" }] },
  ],
};

// ---- webviews -------------------------------------------------------------------------------------

/** A webview that records what the extension posts and lets a test send it messages. */
export class FakeWebview {
  readonly cspSource = "https://file+.vscode-resource.vscode-cdn.net";
  html = "";
  readonly posted: unknown[] = [];
  private listener: ((message: unknown) => void) | undefined;

  postMessage = vi.fn(async (message: unknown) => {
    this.posted.push(message);
    return true;
  });

  onDidReceiveMessage(listener: (message: unknown) => void) {
    this.listener = listener;
    return { dispose: () => (this.listener = undefined) };
  }

  /** What the page would send; resolves once the extension posted its answer (or after a turn). */
  async send(message: unknown): Promise<void> {
    const before = this.posted.length;
    this.listener?.(message);
    for (let turn = 0; turn < 20 && this.posted.length === before; turn++) {
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
  }
}

export const panels: Array<{ viewType: string; title: string; webview: FakeWebview; disposed: () => void }> = [];
export const createWebviewPanel = vi.fn((viewType: string, title: string) => {
  const disposers: Array<() => void> = [];
  const panel = {
    viewType, title, webview: new FakeWebview(), reveal: vi.fn(),
    onDidDispose: (listener: () => void) => disposers.push(listener),
    dispose: () => disposers.forEach((d) => d()),
    disposed: () => disposers.forEach((d) => d()),
  };
  panels.push(panel);
  return panel;
});
export const mediaUri = vi.fn((_webview: unknown, _root: unknown, file: string) =>
  `https://file+.vscode-resource.vscode-cdn.net/ext/media/${file}`);
