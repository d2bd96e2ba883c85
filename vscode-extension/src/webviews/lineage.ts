// The lineage graph webview's extension side: the graph of `expenv.features.lineage` around a
// node, upstream, downstream or both; a click on a node opens what the node is: its definition
// (file:line), its dataset (the preview grid) or its MLflow run (the URL the daemon gave).
import type { DaemonLink } from "../daemonevents";
import { getWorkspaceFolders, openExternal, openFileAt } from "../vscodeapi";
import type { Disposable, Webview } from "../vscodeapi";
import { parseDefinition } from "../views/features";
import type { LineageNode } from "../views/features";
import { errorMessage } from "../views/tree";
import { parseLineageRequest } from "./protocol";
import type { Direction, LineageRequest, LineageUpdate } from "./protocol";

interface Graph {
  nodes: LineageNode[];
  edges: Array<{ source: string; target: string; relation?: string }>;
}

/** A daemon lineage answer for `direction` at full depth (what this view would read itself). */
function isGraphOf(value: unknown, direction: Direction): value is Graph {
  const graph = value as { nodes?: unknown; edges?: unknown; attrs?: { depth?: unknown; direction?: unknown } } | null;
  return typeof graph === "object" && graph !== null && Array.isArray(graph.nodes) && Array.isArray(graph.edges) &&
    (graph.attrs?.depth ?? null) === null && (graph.attrs?.direction ?? "both") === direction;
}

/** What a click on a node does, decided from the daemon's node (never from the webview's words). */
export type NodeTarget =
  | { kind: "definition"; path: string; line: number }
  | { kind: "dataset"; dataset: string }
  | { kind: "url"; url: string }
  | { kind: "none" };

export function targetOf(node: LineageNode, workspaceRoot: string): NodeTarget {
  const attrs = node.attrs ?? {};
  if (node.kind === "dataset") {
    return { kind: "dataset", dataset: node.name };
  }
  if (node.kind === "run" && typeof attrs.url === "string" && /^https?:\/\//.test(attrs.url)) {
    return { kind: "url", url: attrs.url };
  }
  const at = typeof attrs.definition === "string" ? parseDefinition(attrs.definition) : undefined;
  if (at) {
    const path = at.path.startsWith("/") || !workspaceRoot ? at.path : `${workspaceRoot}/${at.path}`;
    return { kind: "definition", path, line: at.line };
  }
  return { kind: "none" };
}

export class LineageGraph implements Disposable {
  private graph: Graph = { nodes: [], edges: [] };
  private direction: Direction = "both";
  private readonly listening: Disposable;

  constructor(
    private readonly webview: Webview,
    private readonly daemon: DaemonLink,
    private center: string | null,
    private readonly opener: { openPreview(dataset: string): void },
    private first?: unknown,   // a palette run's graph around `center`: shown without asking again
  ) {
    this.listening = webview.onDidReceiveMessage((raw: unknown) => {
      const request = parseLineageRequest(raw);
      if (request) {
        void this.handle(request);
      }
    });
  }

  async handle(request: LineageRequest): Promise<void> {
    try {
      if (request.type === "ready") {
        await this.focus(this.center, this.direction, this.first);
        this.first = undefined;
      } else if (request.type === "focus") {
        await this.focus(request.center, request.direction);
      } else {
        await this.openNode(request.id);
      }
    } catch (err) {
      await this.post({ type: "error", message: errorMessage(err) });
    }
  }

  /** Reads the graph around `center` (all of it when null) in `direction`, and shows it; `known`:
   * that graph, already read by the caller (a palette run), used when it is the one asked for. */
  async focus(center: string | null, direction: Direction, known?: unknown): Promise<void> {
    const options: Record<string, unknown> = center ? { center, direction } : {};
    this.graph = isGraphOf(known, direction)
      ? known
      : await this.daemon.execute<Graph>("expenv.features.lineage", options);
    this.center = center;
    this.direction = direction;
    await this.post({ type: "graph", graph: this.graph, center, direction });
  }

  private async openNode(id: string): Promise<void> {
    const node = this.graph.nodes.find((n) => n.id === id);
    if (!node) {
      return; // not a node of the graph shown: a stale or forged message
    }
    const target = targetOf(node, getWorkspaceFolders()?.[0]?.uri.fsPath ?? "");
    if (target.kind === "definition") {
      await openFileAt(target.path, target.line);
    } else if (target.kind === "dataset") {
      this.opener.openPreview(target.dataset);
    } else if (target.kind === "url") {
      await openExternal(target.url);
    } else {
      await this.post({ type: "error", message: `${node.name}: nothing to open (no definition, dataset or run link)` });
    }
  }

  private async post(update: LineageUpdate): Promise<void> {
    await this.webview.postMessage(update);
  }

  dispose(): void {
    this.listening.dispose();
  }
}
