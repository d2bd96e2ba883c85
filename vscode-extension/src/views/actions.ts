// What the views' context actions do. Each is one daemon command (or a link the daemon gave),
// with its result shown where a user looks for it; failures become an error message.
import { askWorkers, pickTarget } from "../picks";
import type { DaemonLink } from "../daemonevents";
import {
  getWorkspaceFolders,
  insertAtCursor,
  openExternal,
  openFileAt,
  showErrorMessage,
  showInformationMessage,
  writeClipboard,
} from "../vscodeapi";
import type { WebviewOpeners } from "../webviews/panels";
import { parseDefinition } from "./features";
import type { PipelineListing } from "./pipelines";
import { errorMessage } from "./tree";
import type { ViewNode } from "./tree";

type Handler = (node?: ViewNode) => Promise<void>;

function text(node: ViewNode | undefined, key: string): string | undefined {
  const value = node?.data?.[key];
  return typeof value === "string" ? value : undefined;
}

export function viewActions(daemon: DaemonLink, refresh: (what: string) => void,
                            webviews: WebviewOpeners): Record<string, Handler> {
  const run = async (work: () => Promise<void>): Promise<void> => {
    try {
      await work();
    } catch (err) {
      void showErrorMessage(`expenv: ${errorMessage(err)}`);
    }
  };
  const exec = <T>(command: string, options: Record<string, unknown>) => daemon.execute<T>(command, options);
  const needs = (node: ViewNode | undefined, key: string, act: (value: string) => Promise<void>) =>
    run(async () => {
      const value = text(node, key);
      if (value === undefined) {
        throw new Error(`run this from an item of the expenv views (no ${key} given)`);
      }
      await act(value);
    });

  return {
    "expenv.client.view.refresh": async () => refresh("all"),
    "expenv.client.view.data.preview": (node) => needs(node, "dataset", async (dataset) => {
      webviews.openPreview(dataset);
    }),
    "expenv.client.view.data.profile": (node) => needs(node, "dataset", async (dataset) => {
      webviews.openProfile(dataset);
    }),
    "expenv.client.view.data.copySnippet": (node) => needs(node, "dataset", async (dataset) => {
      const schema = await exec<{ snippet?: string }>("expenv.data.schema", { dataset });
      if (!schema.snippet) {
        throw new Error("this daemon gives no loading snippet (update expenv)");
      }
      await writeClipboard(schema.snippet);
      void showInformationMessage(`expenv: copied: ${schema.snippet}`);
    }),
    "expenv.client.view.features.lineage": (node) => needs(node, "node", async (center) => {
      webviews.openLineage(center);
    }),
    "expenv.client.view.features.definition": (node) => needs(node, "definition", async (definition) => {
      const at = parseDefinition(definition);
      if (!at) {
        throw new Error(`no definition in ${definition}`);
      }
      const root = getWorkspaceFolders()?.[0]?.uri.fsPath ?? "";
      await openFileAt(at.path.startsWith("/") || !root ? at.path : `${root}/${at.path}`, at.line);
    }),
    "expenv.client.view.clusters.launch": (node) => needs(node, "profile", async (profile) => {
      const cluster = await exec<{ id: string; status: string }>("expenv.clusters.launch", { profile, reuse: true });
      void showInformationMessage(`expenv: cluster ${cluster.id} ${cluster.status}`);
    }),
    "expenv.client.view.clusters.dashboard": (node) => needs(node, "dashboard_url", async (url) => {
      await openExternal(url);
    }),
    "expenv.client.view.clusters.attach": (node) => needs(node, "id", async (target) => {
      const attached = await exec<{ cell: string }>("expenv.clusters.attach", { target });
      if (await insertAtCursor(attached.cell)) {
        return;
      }
      await writeClipboard(attached.cell);
      void showInformationMessage(`expenv: no editor is active; the connection cell for ${target} is on the clipboard`);
    }),
    "expenv.client.view.clusters.scale": (node) => needs(node, "id", async (id) => {
      const wanted = node?.data?.workers_wanted;
      const workers = await askWorkers(typeof wanted === "number" ? wanted : undefined);
      if (workers !== undefined) {
        await exec("expenv.clusters.scale", { id, workers });
      }
    }),
    "expenv.client.view.clusters.stop": (node) => needs(node, "id", async (id) => {
      await exec("expenv.clusters.stop", { id });
    }),
    "expenv.client.view.pipelines.submit": (node) => needs(node, "pipeline", async (pipeline) => {
      const target = await pickTarget(await exec<PipelineListing>("expenv.pipelines.list", {}));
      if (target !== undefined) {
        const started = await exec<{ id: string }>("expenv.pipelines.submit", { pipeline, target });
        void showInformationMessage(`expenv: submitted ${started.id} (${pipeline} on ${target})`);
      }
    }),
    "expenv.client.view.pipelines.logs": (node) => needs(node, "run", async (runId) => {
      // The lines arrive as expenv/pipelineLog notifications in the "expenv pipelines" channel.
      await exec("expenv.pipelines.logs", { run: runId, follow: true });
    }),
    "expenv.client.view.pipelines.cancel": (node) => needs(node, "run", async (runId) => {
      await exec("expenv.pipelines.cancel", { run: runId });
    }),
    "expenv.client.view.pipelines.rerun": (node) => needs(node, "run", async (runId) => {
      const started = await exec<{ id: string }>("expenv.pipelines.rerun", { run: runId });
      void showInformationMessage(`expenv: rerun of ${runId} started as ${started.id}`);
    }),
    "expenv.client.view.pipelines.mlflow": (node) => needs(node, "mlflow_url", async (url) => {
      await openExternal(url);
    }),
  };
}
