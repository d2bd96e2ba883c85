// The notebook controller "expenv: production image": cells run on a kernel the daemon starts on
// the production image's Python (expenv.kernels.execute). The daemon streams each output as an
// `expenv/kernelOutput` notification; the command's answer is the cell's final outputs.
import { cellOutput, cellOutputItem, createNotebookController, existsIn, getWorkspaceFolder, parentOf,
  PREFERRED_AFFINITY } from "../vscodeapi";
import type { Disposable, NotebookCell, NotebookCellExecution, NotebookCellOutput, NotebookController,
  NotebookDocument, Uri } from "../vscodeapi";
import { continuesStream, outputItems, outputMetadata } from "./outputs";
import type { JupyterOutput } from "./outputs";

export const CONTROLLER_ID = "expenv-production";
export const CONTROLLER_LABEL = "expenv: production image";
export const NOTEBOOK_TYPE = "jupyter-notebook";
export const OUTPUT_NOTIFICATION = "expenv/kernelOutput";

/** What the controller needs of the daemon (src/daemon.ts Daemon). */
export interface KernelDaemon {
  execute<T>(command: string, options: Record<string, unknown>): Promise<T>;
  events: { on<P>(method: string, listener: (params: P) => void): Disposable };
}

export interface CellRun {
  status: "ok" | "error" | "aborted";
  execution_count: number | null;
  outputs: JupyterOutput[];
  kernel: string;
  detail: string;
}

interface KernelOutput {
  notebook: string;
  cell: string;
  output: JupyterOutput;
}

/** A running cell: its execution, and its last output (stream text is appended to it). */
interface Running {
  execution: NotebookCellExecution;
  last?: { output: JupyterOutput; shown: NotebookCellOutput };
  clearOnNext?: boolean; // clear_output(wait=True): clear when the next output comes
  shown: Promise<void>; // outputs are shown one after another, in the order they came
}

export function toCellOutputs(outputs: readonly JupyterOutput[]): NotebookCellOutput[] {
  return outputs.flatMap((o) => {
    const items = outputItems(o);
    return items ? [cellOutput(items, outputMetadata(o))] : [];
  });
}

/** True for a notebook inside an expenv workspace (an expenv.toml in its folder or one above it,
 * up to its workspace folder). */
export async function inExpenvWorkspace(notebook: Uri): Promise<boolean> {
  const root = getWorkspaceFolder(notebook)?.uri;
  if (!root) {
    return false;
  }
  let folder = parentOf(notebook);
  for (let depth = 0; depth < 32 && folder.path.startsWith(root.path); depth++) {
    if (await existsIn(folder, "expenv.toml")) {
      return true;
    }
    folder = parentOf(folder);
  }
  return false;
}

export class ProductionKernelController implements Disposable {
  readonly controller: NotebookController;
  private readonly running = new Map<string, Running>();
  /** The daemon's kernel id of each notebook (uri) that ran a cell: parity checks that kernel. */
  readonly kernels = new Map<string, string>();
  private sequence = 0;

  constructor(private readonly daemon: KernelDaemon) {
    this.controller = createNotebookController(CONTROLLER_ID, NOTEBOOK_TYPE, CONTROLLER_LABEL, (cells, notebook) =>
      this.execute(cells, notebook),
    );
    this.controller.supportedLanguages = ["python"];
    this.controller.supportsExecutionOrder = true;
    this.controller.description = "the production image's Python, started by the expenv daemon";
    this.controller.interruptHandler = (notebook) => this.interrupt(notebook);
    daemon.events.on<KernelOutput>(OUTPUT_NOTIFICATION, (params) => {
      const running = this.running.get(params.cell);
      if (running) {
        running.shown = running.shown.then(() => this.show(running, params.output)).catch(() => undefined);
      }
    });
  }

  /** Preferred for notebooks in an expenv workspace, so they open on this controller without a pick.
   * Called for notebooks already open when the controller registers, and for each one opened later. */
  async prefer(notebook: NotebookDocument): Promise<void> {
    if (notebook.notebookType === NOTEBOOK_TYPE && (await inExpenvWorkspace(notebook.uri))) {
      this.controller.updateNotebookAffinity(notebook, PREFERRED_AFFINITY);
    }
  }

  /** Runs the cells in order; an error stops the rest, as in Jupyter. */
  async execute(cells: readonly NotebookCell[], notebook: NotebookDocument): Promise<void> {
    for (const cell of cells) {
      if (!(await this.executeCell(cell, notebook))) {
        return;
      }
    }
  }

  async interrupt(notebook: NotebookDocument): Promise<void> {
    await this.daemon.execute("expenv.kernels.interrupt", { notebook: notebook.uri.toString() });
  }

  async restart(notebook: NotebookDocument): Promise<void> {
    await this.daemon.execute("expenv.kernels.restart", { notebook: notebook.uri.toString() });
  }

  dispose(): void {
    this.controller.dispose();
  }

  private async executeCell(cell: NotebookCell, notebook: NotebookDocument): Promise<boolean> {
    const execution = this.controller.createNotebookCellExecution(cell);
    const token = `${++this.sequence}`;
    execution.start(Date.now());
    await execution.clearOutput();
    const running: Running = { execution, shown: Promise.resolve() };
    this.running.set(token, running);
    try {
      const run = await this.daemon.execute<CellRun>("expenv.kernels.execute", {
        notebook: notebook.uri.toString(),
        code: cell.document.getText(),
        cell: token,
      });
      this.running.delete(token);
      await running.shown;
      this.kernels.set(notebook.uri.toString(), run.kernel);
      execution.executionOrder = run.execution_count ?? undefined;
      const aborted: JupyterOutput[] =
        run.status === "aborted" ? [{ output_type: "stream", name: "stderr", text: `expenv: ${run.detail}\n` }] : [];
      await execution.replaceOutput(toCellOutputs([...run.outputs, ...aborted]));
      execution.end(run.status === "ok", Date.now());
      return run.status === "ok";
    } catch (err) {
      this.running.delete(token);
      await running.shown;
      const message = err instanceof Error ? err.message : String(err);
      await execution.replaceOutput(
        toCellOutputs([{ output_type: "error", ename: "expenv", evalue: message, traceback: [] }]),
      );
      execution.end(false, Date.now());
      return false;
    }
  }

  /** A streamed output, shown while the cell runs (the final answer replaces them all). */
  private async show(running: Running, output: JupyterOutput): Promise<void> {
    if (output.output_type === "clear_output" || running.clearOnNext) {
      running.clearOnNext = output.output_type === "clear_output" && output.wait === true;
      if (running.clearOnNext) {
        return;
      }
      running.last = undefined;
      await running.execution.clearOutput();
    }
    const items = outputItems(output);
    if (!items) {
      return;
    }
    const last = running.last;
    if (last && continuesStream(last.output, output)) {
      await running.execution.appendOutputItems(items.map(cellOutputItem), last.shown);
      return;
    }
    const shown = cellOutput(items, outputMetadata(output));
    running.last = { output, shown };
    await running.execution.appendOutput(shown);
  }
}
