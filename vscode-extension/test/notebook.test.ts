// The "expenv: production image" notebook controller and its toolbar, with the vscodeapi wrapper
// mocked: Jupyter outputs become the built-in renderers' items, streamed outputs show while a
// cell runs and the daemon's final answer replaces them, interrupt/restart reach the daemon, and
// notebooks of an expenv workspace (also those open before activation) prefer this controller.
import { beforeEach, describe, expect, it, vi } from "vitest";
import { activateNotebooks } from "../src/notebook/activate";
import { ProductionKernelController } from "../src/notebook/controller";
import type { CellRun, KernelDaemon } from "../src/notebook/controller";
import { ERROR_MIME, outputItems, STDERR_MIME, STDOUT_MIME } from "../src/notebook/outputs";
import { NotebookToolbar } from "../src/notebook/toolbar";
import * as api from "../src/vscodeapi";

const fakes = vi.hoisted(() => {
  class FakeExecution {
    calls: [string, unknown][] = [];
    executionOrder: number | undefined;
    start = (t: number) => this.calls.push(["start", t]);
    end = (ok: boolean) => this.calls.push(["end", ok]);
    clearOutput = async () => void this.calls.push(["clear", undefined]);
    appendOutput = async (o: unknown) => void this.calls.push(["append", o]);
    appendOutputItems = async (items: unknown, o: unknown) => void this.calls.push(["appendItems", { items, to: o }]);
    replaceOutput = async (o: unknown) => void this.calls.push(["replace", o]);
  }
  const executions: FakeExecution[] = [];
  const controller = {
    handler: undefined as unknown as (cells: unknown[], nb: unknown) => Promise<void>,
    interruptHandler: undefined as unknown,
    updateNotebookAffinity: vi.fn(),
    createNotebookCellExecution: vi.fn(() => {
      const e = new FakeExecution();
      executions.push(e);
      return e;
    }),
    dispose: vi.fn(),
  };
  return { executions, controller, existing: new Set<string>() };
});

vi.mock("../src/vscodeapi", () => ({
  PREFERRED_AFFINITY: 2,
  createNotebookController: vi.fn((_id, _type, _label, handler) => {
    fakes.controller.handler = handler;
    return fakes.controller;
  }),
  cellOutput: (items: api.OutputItemData[], metadata?: object) => ({ items, metadata }),
  cellOutputItem: (item: api.OutputItemData) => item,
  getWorkspaceFolder: vi.fn(() => ({ uri: uri("/ws") })),
  parentOf: (u: { path: string }) => uri(u.path.replace(/\/[^/]*$/, "") || "/"),
  existsIn: vi.fn(async (folder: { path: string }, name: string) => fakes.existing.has(`${folder.path}/${name}`)),
  getNotebookDocuments: vi.fn(() => []),
  onDidOpenNotebookDocument: vi.fn(() => ({ dispose: vi.fn() })),
  activeNotebook: vi.fn(),
  executeCommand: vi.fn(async () => ({})),
  insertCodeCell: vi.fn(async () => true),
  showQuickPick: vi.fn(),
  showErrorMessage: vi.fn(async () => undefined),
  showWarningMessage: vi.fn(async () => undefined),
}));

function uri(path: string) {
  return { path, fsPath: path, toString: () => `file://${path}` };
}

function notebook(path: string) {
  return { uri: uri(path), notebookType: "jupyter-notebook", isDirty: false, save: vi.fn() } as unknown as api.NotebookDocument;
}

function cell(source: string) {
  return { document: { getText: () => source } } as unknown as api.NotebookCell;
}

const text = (data: Uint8Array) => new TextDecoder().decode(data);

/** A daemon whose execute streams `streamed` as notifications before answering `run`. */
function fakeDaemon(answer: (options: Record<string, unknown>) => CellRun, streamed: object[] = []) {
  let listener: (params: unknown) => void = () => undefined;
  const daemon = {
    execute: vi.fn(async (command: string, options: Record<string, unknown>): Promise<unknown> => {
      if (command === "expenv.kernels.execute") {
        for (const output of streamed) {
          listener({ notebook: options.notebook, cell: options.cell, output });
        }
        return answer(options);
      }
      return { targets: [{ name: "dev", backend: "docker", production_like: false }] };
    }),
    events: {
      on: vi.fn((_method: string, handler: (params: unknown) => void) => {
        listener = handler;
        return { dispose: vi.fn() };
      }),
    },
  };
  return daemon as typeof daemon & KernelDaemon;
}

const ok = (outputs: CellRun["outputs"], n = 1): CellRun =>
  ({ status: "ok", execution_count: n, outputs, kernel: "k1", detail: "" });

beforeEach(() => {
  fakes.executions.length = 0;
  fakes.existing.clear();
});

describe("outputItems", () => {
  it("maps streams and errors to the built-in renderers' mimes", () => {
    const [out] = outputItems({ output_type: "stream", name: "stdout", text: "hi\n" })!;
    const [err] = outputItems({ output_type: "stream", name: "stderr", text: ["a", "b"] })!;
    expect([out.mime, text(out.data), err.mime, text(err.data)]).toEqual([STDOUT_MIME, "hi\n", STDERR_MIME, "ab"]);
    const [error] = outputItems({ output_type: "error", ename: "ZeroDivisionError", evalue: "division by zero",
      traceback: ["line 1", "line 2"] })!;
    expect(error.mime).toBe(ERROR_MIME);
    expect(JSON.parse(text(error.data))).toEqual({ name: "ZeroDivisionError", message: "division by zero",
      stack: "line 1\nline 2" });
  });

  it("puts the richest mime first and decodes images from base64", () => {
    const png = "iVBORw0KGgo=";   // the PNG signature
    const items = outputItems({ output_type: "display_data",
      data: { "text/plain": "<Figure>", "image/png": png, "text/html": "<b>x</b>", "application/json": { a: 1 } } })!;
    expect(items.map((i) => i.mime)).toEqual(["text/html", "image/png", "application/json", "text/plain"]);
    expect([...items[1].data.slice(0, 4)]).toEqual([0x89, 0x50, 0x4e, 0x47]);
    expect(JSON.parse(text(items[2].data))).toEqual({ a: 1 });
    expect(outputItems({ output_type: "clear_output", wait: false })).toBeUndefined();
  });
});

describe("ProductionKernelController", () => {
  it("shows streamed outputs while a cell runs, then the daemon's final outputs", async () => {
    const stdout = { output_type: "stream", name: "stdout", text: "a\n" } as const;
    const final = [{ output_type: "stream", name: "stdout", text: "a\nb\n" } as const,
      { output_type: "execute_result", data: { "text/plain": "2" }, execution_count: 7 } as const];
    const daemon = fakeDaemon(() => ok(final, 7), [stdout, { ...stdout, text: "b\n" }]);
    const controller = new ProductionKernelController(daemon);
    const nb = notebook("/ws/notebooks/explore.ipynb");
    await fakes.controller.handler([cell("print('a'); print('b'); 1+1")], nb);

    const [execution] = fakes.executions;
    const kinds = execution.calls.map(([kind]) => kind);
    expect(kinds).toEqual(["start", "clear", "append", "appendItems", "replace", "end"]);
    const appended = execution.calls[2][1] as { items: api.OutputItemData[] };
    const [, more] = execution.calls[3] as [string, { items: api.OutputItemData[]; to: unknown }];
    expect(more.to).toBe(appended);   // the second chunk joins the first stdout output
    const replaced = execution.calls[4][1] as { items: api.OutputItemData[] }[];
    expect(replaced.map((o) => o.items.map((i) => [i.mime, text(i.data)]))).toEqual(
      [[[STDOUT_MIME, "a\nb\n"]], [["text/plain", "2"]]]);
    // saved as Jupyter wrote them: the ipynb serializer reads the output type back from the metadata
    expect(replaced.map((o) => (o as { metadata?: object }).metadata)).toEqual([{ outputType: "stream" },
      { outputType: "execute_result", metadata: {}, executionCount: 7 }]);
    expect(execution.calls[5]).toEqual(["end", true]);
    expect(execution.executionOrder).toBe(7);
    expect(daemon.execute).toHaveBeenCalledWith("expenv.kernels.execute",
      { notebook: "file:///ws/notebooks/explore.ipynb", code: "print('a'); print('b'); 1+1", cell: "1" });
    expect(controller.kernels.get("file:///ws/notebooks/explore.ipynb")).toBe("k1");
  });

  it("stops at a failing cell and says why a cell was aborted", async () => {
    const runs: CellRun[] = [
      { status: "aborted", execution_count: null, outputs: [], kernel: "k1", detail: "the kernel was restarted" },
      ok([]),
    ];
    const daemon = fakeDaemon(() => runs.shift()!);
    new ProductionKernelController(daemon);
    await fakes.controller.handler([cell("sleep()"), cell("after")], notebook("/ws/nb.ipynb"));
    expect(fakes.executions).toHaveLength(1);
    const [, replaced] = fakes.executions[0].calls.find(([k]) => k === "replace")!;
    const items = (replaced as { items: api.OutputItemData[] }[])[0].items;
    expect([items[0].mime, text(items[0].data)]).toEqual([STDERR_MIME, "expenv: the kernel was restarted\n"]);
    expect(fakes.executions[0].calls.at(-1)).toEqual(["end", false]);
  });

  it("shows a daemon failure as the cell's error", async () => {
    const daemon = fakeDaemon(() => {
      throw new Error("the expenv daemon is not running");
    });
    new ProductionKernelController(daemon);
    await fakes.controller.handler([cell("1")], notebook("/ws/nb.ipynb"));
    const [, replaced] = fakes.executions[0].calls.find(([k]) => k === "replace")!;
    const [item] = (replaced as { items: api.OutputItemData[] }[])[0].items;
    expect(item.mime).toBe(ERROR_MIME);
    expect(JSON.parse(text(item.data)).message).toBe("the expenv daemon is not running");
  });

  it("interrupts and restarts through the daemon", async () => {
    const daemon = fakeDaemon(() => ok([]));
    const controller = new ProductionKernelController(daemon);
    const nb = notebook("/ws/nb.ipynb");
    await (fakes.controller.interruptHandler as (n: unknown) => Promise<void>)(nb);
    await controller.restart(nb);
    expect(daemon.execute.mock.calls).toEqual([
      ["expenv.kernels.interrupt", { notebook: "file:///ws/nb.ipynb" }],
      ["expenv.kernels.restart", { notebook: "file:///ws/nb.ipynb" }],
    ]);
  });

  it("is preferred for notebooks under an expenv.toml, also those open before it registered", async () => {
    fakes.existing.add("/ws/project/expenv.toml");
    const inside = notebook("/ws/project/notebooks/explore.ipynb");
    const outside = notebook("/ws/other/scratch.ipynb");
    vi.mocked(api.getNotebookDocuments).mockReturnValue([inside, outside]);
    activateNotebooks(fakeDaemon(() => ok([])));
    await vi.waitFor(() => expect(api.existsIn).toHaveBeenCalledWith(expect.objectContaining({ path: "/ws" }),
      "expenv.toml"));
    expect(fakes.controller.updateNotebookAffinity.mock.calls).toEqual([[inside, 2]]);
    const opened = vi.mocked(api.onDidOpenNotebookDocument).mock.calls[0][0];
    fakes.existing.add("/ws/other/expenv.toml");
    await opened(outside);
    expect(fakes.controller.updateNotebookAffinity).toHaveBeenLastCalledWith(outside, 2);
  });
});

describe("NotebookToolbar", () => {
  it("runs the saved notebook as a pipeline step on the only target", async () => {
    const daemon = fakeDaemon(() => ok([]));
    const nb = notebook("/ws/notebooks/explore.ipynb");
    (nb as { isDirty: boolean }).isDirty = true;
    const toolbar = new NotebookToolbar(daemon, new ProductionKernelController(daemon), () => nb);
    await toolbar.handlers()["expenv.client.notebookRunAsPipeline"]();
    expect(nb.save).toHaveBeenCalled();
    expect(api.executeCommand).toHaveBeenCalledWith("expenv.pipelines.runNotebook",
      { notebook: "/ws/notebooks/explore.ipynb", target: "dev", workspace: "/ws/notebooks/explore.ipynb" });
  });

  it("inserts the daemon's connection cell for the picked cluster", async () => {
    const daemon = fakeDaemon(() => ok([]));
    daemon.execute.mockImplementation(async (command: string) =>
      command === "expenv.status"
        ? { workspaces: [{ root: "/ws", clusters: [{ id: "dask-local-1a2b", status: "running", profile: "dask-local" }],
            config: { clusters: { "dask-local": {} } } }] }
        : { id: "dask-local-1a2b", cell: "from dask.distributed import Client\nclient = Client('tcp://x')" });
    vi.mocked(api.showQuickPick).mockResolvedValue({ label: "dask-local-1a2b" });
    const nb = notebook("/ws/notebooks/explore.ipynb");
    const toolbar = new NotebookToolbar(daemon, new ProductionKernelController(daemon), () => nb);
    await toolbar.handlers()["expenv.client.notebookAttachCluster"]();
    expect(vi.mocked(api.showQuickPick).mock.calls[0][0]).toEqual([{ label: "dask-local-1a2b" }, { label: "dask-local" }]);
    expect(daemon.execute).toHaveBeenCalledWith("expenv.clusters.attach",
      { target: "dask-local-1a2b", workspace: "/ws" });
    expect(api.insertCodeCell).toHaveBeenCalledWith(nb, "from dask.distributed import Client\nclient = Client('tcp://x')", 0);
  });
});
