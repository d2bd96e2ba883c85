// The shape every expenv view shares: plain nodes built from daemon answers, and a provider that
// reads its roots again when told (a daemon notification), never on a timer.
import { newEventEmitter, themeIcon } from "../vscodeapi";
import type { DaemonLink } from "../daemonevents";
import type { TreeDataProvider, TreeItem } from "../vscodeapi";

export interface ViewNode {
  id: string;
  label: string;
  description?: string;
  tooltip?: string;
  icon?: string;
  /** Matched by `view/item/context` menus in package.json ("expenv.dataset", "expenv.run.RUNNING", ...). */
  contextValue?: string;
  /** Children known already, or read from the daemon when the node is expanded. */
  children?: ViewNode[] | (() => Promise<ViewNode[]>);
  expanded?: boolean;
  /** What the node's actions need (a dataset name, a cluster, a run). */
  data?: Record<string, unknown>;
}

const COLLAPSED = 1;
const EXPANDED = 2;
const NONE = 0;

export function errorMessage(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.replace(/^Request workspace\/executeCommand failed with message: /, "");
}

/** A leaf that says why a view has nothing to show. */
export function messageNode(id: string, text: string, icon = "info"): ViewNode {
  return { id, label: text, icon, tooltip: text, contextValue: "expenv.message" };
}

export abstract class DaemonTree implements TreeDataProvider<ViewNode> {
  private readonly changed = newEventEmitter<ViewNode | undefined>();
  readonly onDidChangeTreeData = this.changed.event;

  constructor(protected readonly daemon: DaemonLink) {}

  /** Reads the whole view again from the daemon. */
  refresh(): void {
    this.changed.fire(undefined);
  }

  getTreeItem(node: ViewNode): TreeItem {
    const state = node.children === undefined ? NONE : node.expanded ? EXPANDED : COLLAPSED;
    return {
      id: node.id,
      label: node.label,
      description: node.description,
      tooltip: node.tooltip,
      iconPath: node.icon ? themeIcon(node.icon) : undefined,
      contextValue: node.contextValue,
      collapsibleState: state,
    };
  }

  async getChildren(node?: ViewNode): Promise<ViewNode[]> {
    try {
      if (node === undefined) {
        return await this.roots();
      }
      const children = node.children ?? [];
      return Array.isArray(children) ? children : await children();
    } catch (err) {
      return [messageNode(`${node?.id ?? "root"}/error`, errorMessage(err), "error")];
    }
  }

  protected abstract roots(): Promise<ViewNode[]>;
}

/** The first workspace of `expenv.status` that has a parsed config. */
export interface StatusWorkspace {
  root: string;
  config?: Record<string, any> | null;
  clusters?: Array<Record<string, any>>;
  stage?: unknown;
}

export interface StatusReport {
  workspaces?: StatusWorkspace[];
  stage?: unknown;
}

export function configuredWorkspace(status: StatusReport): StatusWorkspace | undefined {
  return (status.workspaces ?? []).find((ws) => ws.config) ?? status.workspaces?.[0];
}
