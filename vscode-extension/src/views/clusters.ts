// The Clusters view: the profiles of expenv.toml (`expenv.status`) with the clusters launched
// from each (`expenv.clusters.list`): status, workers, dashboard.
import { configuredWorkspace, DaemonTree, messageNode } from "./tree";
import type { StatusReport, ViewNode } from "./tree";

export interface ClusterInfo {
  id: string;
  profile: string;
  kind: string;
  backend: string;
  status: string;
  address?: string | null;
  dashboard_url?: string | null;
  workers_alive?: number;
  workers_wanted?: number | null;
  detail?: string;
}

const STATUS_ICONS: Record<string, string> = {
  running: "vm-running",
  starting: "loading~spin",
  stopped: "vm-outline",
  failed: "error",
  orphan: "warning",
};

function clusterNode(cluster: ClusterInfo): ViewNode {
  const wanted = cluster.workers_wanted ?? undefined;
  const workers = `${cluster.workers_alive ?? 0}${wanted !== undefined ? `/${wanted}` : ""} workers`;
  return {
    id: `clusters/cluster/${cluster.id}`,
    label: cluster.id,
    description: `${cluster.status} · ${workers}`,
    tooltip: [cluster.address, cluster.dashboard_url, cluster.detail].filter(Boolean).join("\n") || cluster.id,
    icon: STATUS_ICONS[cluster.status] ?? "question",
    contextValue: `expenv.cluster.${cluster.status}${cluster.dashboard_url ? ".dashboard" : ""}`,
    data: { ...cluster },
  };
}

export class ClustersTree extends DaemonTree {
  protected async roots(): Promise<ViewNode[]> {
    const [status, listing] = await Promise.all([
      this.daemon.execute<StatusReport>("expenv.status"),
      this.daemon.execute<{ clusters: ClusterInfo[]; problems?: string[] }>("expenv.clusters.list"),
    ]);
    const profiles: Record<string, Record<string, unknown>> = configuredWorkspace(status)?.config?.clusters ?? {};
    const clusters = (listing.clusters ?? []).filter((c) => c.status !== "stopped");
    const nodes: ViewNode[] = Object.entries(profiles).map(([name, profile]) => {
      const own = clusters.filter((c) => c.profile === name).map(clusterNode);
      return {
        id: `clusters/profile/${name}`,
        label: name,
        description: `${String(profile.kind)} · ${String(profile.backend)} · ${String(profile.workers)} workers`,
        icon: "server-environment",
        contextValue: "expenv.clusterProfile",
        data: { profile: name },
        children: own,
        expanded: own.length > 0,
      };
    });
    const unknown = clusters.filter((c) => !(c.profile in profiles)).map(clusterNode);
    nodes.push(...unknown);
    for (const problem of listing.problems ?? []) {
      nodes.push(messageNode(`clusters/problem/${problem}`, problem, "warning"));
    }
    return nodes.length ? nodes : [messageNode("clusters/empty", "No cluster profiles: add [clusters.NAME] to expenv.toml")];
  }
}
