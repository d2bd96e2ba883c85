// The Features view: entities, feature views and feature services of the Feast repo, from the
// nodes of `expenv.features.lineage` (each carries its definition "path:line").
import { DaemonTree, messageNode } from "./tree";
import type { ViewNode } from "./tree";

export interface LineageNode {
  id: string;
  kind: string;
  name: string;
  attrs?: Record<string, unknown>;
}

const GROUPS: Array<{ key: string; label: string; icon: string; kinds: string[] }> = [
  { key: "entities", label: "Entities", icon: "symbol-key", kinds: ["entity"] },
  {
    key: "views",
    label: "Feature views",
    icon: "symbol-class",
    kinds: ["feature_view", "stream_feature_view", "on_demand_feature_view", "label_view"],
  },
  { key: "services", label: "Feature services", icon: "symbol-interface", kinds: ["feature_service"] },
];

function describe(node: LineageNode): string {
  const attrs = node.attrs ?? {};
  if (node.kind === "entity") {
    return Array.isArray(attrs.join_keys) ? `keys: ${attrs.join_keys.join(", ")}` : "";
  }
  const kind = node.kind === "feature_view" || node.kind === "feature_service" ? "" : node.kind.replace(/_/g, " ");
  const features = typeof attrs.features === "number" ? `${attrs.features} features` : "";
  return [kind, features].filter(Boolean).join(" · ");
}

export class FeaturesTree extends DaemonTree {
  protected async roots(): Promise<ViewNode[]> {
    const graph = await this.daemon.execute<{ nodes: LineageNode[] }>("expenv.features.lineage");
    const nodes = graph.nodes ?? [];
    if (!nodes.some((n) => GROUPS.some((g) => g.kinds.includes(n.kind)))) {
      return [messageNode("features/empty", "No feature views in the Feast repo")];
    }
    return GROUPS.map((group) => ({
      id: `features/${group.key}`,
      label: group.label,
      icon: group.icon,
      contextValue: "expenv.features.group",
      expanded: true,
      children: nodes
        .filter((n) => group.kinds.includes(n.kind))
        .sort((a, b) => a.name.localeCompare(b.name))
        .map((n) => ({
          id: `features/${n.id}`,
          label: n.name,
          description: describe(n),
          tooltip: `${n.id}${n.attrs?.definition ? `\n${String(n.attrs.definition)}` : ""}`,
          icon: group.icon,
          contextValue: n.attrs?.definition ? "expenv.feature.defined" : "expenv.feature",
          data: { node: n.id, definition: n.attrs?.definition ?? null },
        })),
    }));
  }
}

/** "path:line" (as the daemon writes a definition) → the path and the 1-based line. */
export function parseDefinition(definition: string): { path: string; line: number } | undefined {
  const match = /^(.*):(\d+)$/.exec(definition);
  return match ? { path: match[1], line: Number(match[2]) } : undefined;
}
