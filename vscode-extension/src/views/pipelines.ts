// The Pipelines & Runs view: pipelines with their steps, targets, and recent runs with their
// status and steps, from `expenv.pipelines.list`.
import { DaemonTree, messageNode } from "./tree";
import type { ViewNode } from "./tree";

export interface RunInfo {
  id: string;
  pipeline: string;
  target: string;
  status: string;
  mlflow_url?: string | null;
  created_at?: number;
  started_at?: number | null;
  steps?: Array<{ name: string; status: string; detail?: string }>;
  detail?: string;
}

export interface PipelineListing {
  pipelines: Array<{ name: string; steps: Array<{ name: string; kind: string; entrypoint: string }> }>;
  targets: Array<{ name: string; backend: string; production_like?: boolean; namespace?: string | null }>;
  runs: RunInfo[];
}

export const RECENT_RUNS = 20;

const RUN_ICONS: Record<string, string> = {
  PENDING: "clock",
  RUNNING: "sync~spin",
  FINISHED: "pass",
  FAILED: "error",
  CANCELLED: "circle-slash",
};

/** Newest first. */
export function recentRuns(runs: RunInfo[], count = RECENT_RUNS): RunInfo[] {
  const when = (r: RunInfo) => r.started_at ?? r.created_at ?? 0;
  return [...runs].sort((a, b) => when(b) - when(a)).slice(0, count);
}

export class PipelinesTree extends DaemonTree {
  protected async roots(): Promise<ViewNode[]> {
    const listing = await this.daemon.execute<PipelineListing>("expenv.pipelines.list");
    const pipelines: ViewNode[] = listing.pipelines.map((p) => ({
      id: `pipelines/pipeline/${p.name}`,
      label: p.name,
      description: `${p.steps.length} steps`,
      icon: "type-hierarchy",
      contextValue: "expenv.pipeline",
      data: { pipeline: p.name },
      children: p.steps.map((s) => ({
        id: `pipelines/pipeline/${p.name}/${s.name}`,
        label: s.name,
        description: `${s.kind} · ${s.entrypoint}`,
        icon: s.kind === "notebook" ? "notebook" : "symbol-method",
      })),
    }));
    const targets: ViewNode[] = listing.targets.map((t) => ({
      id: `pipelines/target/${t.name}`,
      label: t.name,
      description: [t.backend, t.namespace, t.production_like ? "production-like" : ""].filter(Boolean).join(" · "),
      icon: "target",
      contextValue: "expenv.target",
      data: { target: t.name },
    }));
    const runs: ViewNode[] = recentRuns(listing.runs).map((r) => ({
      id: `pipelines/run/${r.id}`,
      label: r.id,
      description: `${r.status} · ${r.pipeline} on ${r.target}`,
      tooltip: r.detail || `${r.pipeline} on ${r.target}: ${r.status}`,
      icon: RUN_ICONS[r.status] ?? "question",
      contextValue: `expenv.run.${r.status}${r.mlflow_url ? ".mlflow" : ""}`,
      data: { run: r.id, mlflow_url: r.mlflow_url ?? null },
      children: (r.steps ?? []).map((s) => ({
        id: `pipelines/run/${r.id}/${s.name}`,
        label: s.name,
        description: s.status,
        tooltip: s.detail || s.status,
        icon: RUN_ICONS[s.status] ?? "question",
      })),
    }));
    const section = (key: string, label: string, icon: string, children: ViewNode[], empty: string): ViewNode => ({
      id: `pipelines/${key}`,
      label,
      icon,
      expanded: true,
      contextValue: `expenv.pipelines.${key}`,
      children: children.length ? children : [messageNode(`pipelines/${key}/empty`, empty)],
    });
    return [
      section("pipelines", "Pipelines", "type-hierarchy", pipelines, "No [pipelines] in expenv.toml"),
      section("targets", "Targets", "target", targets, "No [targets] in expenv.toml"),
      section("runs", "Recent runs", "history", runs, "No runs yet"),
    ];
  }
}
