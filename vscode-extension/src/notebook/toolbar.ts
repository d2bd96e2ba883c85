// The notebook toolbar: run the notebook as a pipeline step, attach a cluster (the daemon's
// connection cell goes in at the top), check the kernel's parity with the production image, and
// restart the kernel. Each asks the daemon; the choices offered come from the daemon too.
import { activeNotebook, executeCommand, insertCodeCell, showErrorMessage, showQuickPick,
  showWarningMessage } from "../vscodeapi";
import type { NotebookDocument } from "../vscodeapi";
import { ATTACH_CLUSTER, CHECK_PARITY, RESTART_KERNEL, RUN_AS_PIPELINE } from "../commands";
import type { KernelDaemon, ProductionKernelController } from "./controller";


interface Listing {
  targets: { name: string; backend: string; production_like: boolean }[];
}

interface Status {
  workspaces: { root: string; clusters: { id: string; status: string; profile: string }[];
    config?: { clusters?: Record<string, { kind: string; backend: string }> } }[];
}

interface Attached {
  id: string;
  cell?: string;
  version_check?: { ok: boolean | null; detail: string };
}

async function pick(labels: string[], options: { title: string }): Promise<string | undefined> {
  return (await showQuickPick(labels.map((label) => ({ label })), options))?.label;
}

/** The notebook a toolbar button was pressed on (VS Code passes {notebookEditor: {notebookUri}}), else the active one. */
function notebookOf(arg: unknown, fallback: () => NotebookDocument | undefined): NotebookDocument | undefined {
  const active = fallback();
  const uri = (arg as { notebookEditor?: { notebookUri?: { toString(): string } } } | undefined)?.notebookEditor
    ?.notebookUri;
  return !uri || active?.uri.toString() === uri.toString() ? active : undefined;
}

export class NotebookToolbar {
  constructor(
    private readonly daemon: KernelDaemon,
    private readonly controller: ProductionKernelController,
    private readonly active: () => NotebookDocument | undefined = activeNotebook,
  ) {}

  /** Command id -> handler, for registration (src/extension.ts). */
  handlers(): Record<string, (arg?: unknown) => Promise<unknown>> {
    const on = (fn: (nb: NotebookDocument) => Promise<unknown>) => async (arg?: unknown) => {
      const notebook = notebookOf(arg, this.active);
      if (!notebook) {
        void showErrorMessage("expenv: open a notebook first");
        return undefined;
      }
      try {
        return await fn(notebook);
      } catch (err) {
        void showErrorMessage(`expenv: ${err instanceof Error ? err.message : String(err)}`);
        return undefined;
      }
    };
    return {
      [RUN_AS_PIPELINE]: on((nb) => this.runAsPipeline(nb)),
      [ATTACH_CLUSTER]: on((nb) => this.attachCluster(nb)),
      [CHECK_PARITY]: on((nb) => this.checkParity(nb)),
      [RESTART_KERNEL]: on((nb) => this.controller.restart(nb)),
    };
  }

  /** Saves the notebook (the run ships what is on disk), asks for a target, submits the step. */
  async runAsPipeline(notebook: NotebookDocument): Promise<unknown> {
    if (notebook.isDirty) {
      await notebook.save();
    }
    const workspace = notebook.uri.fsPath;
    const { targets } = await this.daemon.execute<Listing>("expenv.pipelines.list", { workspace });
    const names = targets.map((t) => t.name);
    const target =
      names.length === 1 ? names[0] : await pick(names, { title: "Run notebook as pipeline on target" });
    if (!target) {
      return undefined;
    }
    // Through the command registry: the daemon's logs and final status stream to "expenv pipelines".
    return executeCommand("expenv.pipelines.runNotebook", { notebook: notebook.uri.fsPath, target, workspace });
  }

  /** Offers the running clusters and the profiles; inserts the daemon's connection cell at the top. */
  async attachCluster(notebook: NotebookDocument): Promise<Attached | undefined> {
    const status = await this.daemon.execute<Status>("expenv.status", {});
    const path = notebook.uri.fsPath;
    const ws = status.workspaces
      .filter((w) => path.startsWith(`${w.root}/`))
      .sort((a, b) => b.root.length - a.root.length)[0];
    if (!ws) {
      throw new Error(`${path} is in no expenv workspace`);
    }
    const running = ws.clusters.filter((c) => c.status === "running").map((c) => `${c.id}`);
    const profiles = Object.keys(ws.config?.clusters ?? {});
    const target = await pick([...running, ...profiles], {
      title: "Attach cluster: a running cluster, or a profile to launch",
    });
    if (!target) {
      return undefined;
    }
    const attached = await this.daemon.execute<Attached>("expenv.clusters.attach", { target, workspace: ws.root });
    if (!attached.cell) {
      throw new Error(`cluster ${attached.id} has no address yet`);
    }
    await insertCodeCell(notebook, attached.cell, 0);
    if (attached.version_check?.ok === false) {
      void showWarningMessage(`expenv: cluster ${attached.id}: ${attached.version_check.detail}`);
    }
    return attached;
  }

  /** Parity of this notebook's kernel (of the Python it will start on, before its first cell). */
  async checkParity(notebook: NotebookDocument): Promise<unknown> {
    const kernel = this.controller.kernels.get(notebook.uri.toString());
    return executeCommand("expenv.environment.parity", {
      workspace: notebook.uri.fsPath,
      ...(kernel ? { kernel } : {}),
    });
  }
}
