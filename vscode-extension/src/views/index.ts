// Registers the expenv views and their actions, and refreshes each view when the daemon says
// what it shows changed (expenv/workspaceChanged, expenv/pipelineStatus) or the daemon (re)starts.
import { WORKSPACE_CHANGED } from "../daemonevents";
import type { DaemonLink, WorkspaceChange } from "../daemonevents";
import { STATUS_NOTIFICATION } from "../pipelines";
import { createTreeView, registerCommand } from "../vscodeapi";
import type { Disposable } from "../vscodeapi";
import { viewActions } from "./actions";
import { ClustersTree } from "./clusters";
import { DataTree } from "./data";
import { FeaturesTree } from "./features";
import { PipelinesTree } from "./pipelines";
import type { DaemonTree } from "./tree";
import type { WebviewOpeners } from "../webviews/panels";

/** View ids as package.json contributes them, with the changes each one shows. */
export const VIEWS = {
  "expenv.dataView": { tree: DataTree, shows: ["config"] },
  "expenv.featuresView": { tree: FeaturesTree, shows: ["config", "features"] },
  "expenv.clustersView": { tree: ClustersTree, shows: ["config", "clusters"] },
  "expenv.pipelinesView": { tree: PipelinesTree, shows: ["config", "pipelines"] },
} as const;

export interface RegisteredViews {
  trees: Record<string, DaemonTree>;
  disposables: Disposable[];
  refresh: (what: string) => void;
}

export function registerViews(daemon: DaemonLink, webviews: WebviewOpeners): RegisteredViews {
  const trees: Record<string, DaemonTree> = {};
  const disposables: Disposable[] = [];
  for (const [id, view] of Object.entries(VIEWS)) {
    const tree = new view.tree(daemon);
    trees[id] = tree;
    disposables.push(createTreeView(id, tree));
  }
  const refresh = (what: string): void => {
    for (const [id, view] of Object.entries(VIEWS)) {
      if (what === "all" || (view.shows as readonly string[]).includes(what)) {
        trees[id].refresh();
      }
    }
  };
  disposables.push(
    daemon.events.onState((state) => state === "ready" || state === "error" ? refresh("all") : undefined),
    daemon.events.on<WorkspaceChange>(WORKSPACE_CHANGED, (change) => refresh(change.what)),
    daemon.events.on(STATUS_NOTIFICATION, () => refresh("pipelines")),
    ...Object.entries(viewActions(daemon, refresh, webviews)).map(([id, handler]) =>
      registerCommand(id, (node) => handler(node as never))),
  );
  return { trees, disposables, refresh };
}
