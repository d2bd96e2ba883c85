// The notebook side of activation: the controller (preferred for the notebooks of an expenv
// workspace, including those open before it registered) and the toolbar commands' handlers.
import { getNotebookDocuments, onDidOpenNotebookDocument } from "../vscodeapi";
import type { Disposable } from "../vscodeapi";
import { ProductionKernelController } from "./controller";
import type { KernelDaemon } from "./controller";
import { NotebookToolbar } from "./toolbar";

export interface NotebookIntegration {
  handlers: Record<string, (arg?: unknown) => Promise<unknown>>;
  disposables: Disposable[];
}

export function activateNotebooks(daemon: KernelDaemon): NotebookIntegration {
  const controller = new ProductionKernelController(daemon);
  const opened = onDidOpenNotebookDocument((notebook) => controller.prefer(notebook));
  // A notebook restored with the window is open before this extension activates: no open event.
  for (const notebook of getNotebookDocuments()) {
    void controller.prefer(notebook);
  }
  return { handlers: new NotebookToolbar(daemon, controller).handlers(), disposables: [controller, opened] };
}
