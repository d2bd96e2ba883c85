// Quick picks filled from the daemon: datasets, runs, pipelines, targets, profiles, clusters and
// MLflow runs. Used by the palette (prompts.ts) and by the views' actions.
import { showInformationMessage, showInputBox, showQuickPick } from "./vscodeapi";
import type { QuickPickItem } from "./vscodeapi";
import type { DatasetEntry } from "./views/data";
import type { ClusterInfo } from "./views/clusters";
import type { PipelineListing } from "./views/pipelines";
import { recentRuns } from "./views/pipelines";
import { configuredWorkspace } from "./views/tree";
import type { StatusReport } from "./views/tree";

/** Runs a daemon command and returns its result (the palette's `next`, or Daemon.execute). */
export type Ask = (command: string, options?: Record<string, unknown>) => Promise<unknown>;

interface Item extends QuickPickItem {
  value: string;
}

async function pickOne(title: string, items: Item[], empty: string): Promise<string | undefined> {
  if (items.length === 0) {
    void showInformationMessage(`expenv: ${empty}`);
    return undefined;
  }
  const picked = await showQuickPick(items, { title, placeHolder: title, ignoreFocusOut: true, matchOnDescription: true });
  return picked?.value;
}

/** The CI event to plan ({event, from?, to?} of `expenv.ci.plan`): a pick, then its branches. */
export async function askCiEvent(): Promise<Record<string, string> | undefined> {
  const event = await pickOne("CI event", [
    { label: "pull_request", description: "a pull request (from feature/* into release/*: deploys to pre-prod)", value: "pull_request" },
    { label: "push", description: "a merge into a branch (main: promote)", value: "push" },
    { label: "schedule", description: "the scheduled template update", value: "schedule" },
  ], "no CI events");
  if (event === undefined || event === "schedule") {
    return event === undefined ? undefined : { event };
  }
  const branch = async (prompt: string, value: string) =>
    (await showInputBox({ title: `CI ${event}`, prompt, value, ignoreFocusOut: true }))?.trim() || undefined;
  const source = event === "pull_request" ? await branch("The pull request's head branch", "feature/x") : "";
  const target = source === undefined ? undefined
    : await branch(event === "push" ? "The branch pushed to" : "The branch it merges into",
      event === "push" ? "main" : "release/1.0");
  if (source === undefined || target === undefined) {
    return undefined;
  }
  return { event, ...(source ? { from: source } : {}), to: target };
}

export async function pickDataset(ask: Ask): Promise<string | undefined> {
  const entries = (await ask("expenv.data.list")) as DatasetEntry[];
  return pickOne("Dataset", entries.map((e) => ({ label: e.ref.name, description: `${e.ref.layer} · ${e.ref.format}`,
    value: e.ref.name })), "No datasets in this workspace");
}

export async function pickRun(ask: Ask, statuses?: string[]): Promise<string | undefined> {
  const listing = (await ask("expenv.pipelines.list")) as PipelineListing;
  const runs = recentRuns(listing.runs, 50).filter((r) => !statuses || statuses.includes(r.status));
  return pickOne("Pipeline run", runs.map((r) => ({ label: r.id, description: `${r.status} · ${r.pipeline} on ${r.target}`,
    value: r.id })), "No pipeline runs");
}

/** A pipeline then a target (either given already is not asked for). */
export async function pickPipelineAndTarget(
  ask: Ask,
  given: { pipeline?: string; target?: string } = {},
): Promise<{ pipeline: string; target: string } | undefined> {
  const listing = (await ask("expenv.pipelines.list")) as PipelineListing;
  const pipeline = given.pipeline ?? (await pickOne("Pipeline", listing.pipelines.map((p) => ({ label: p.name,
    description: p.steps.map((s) => s.name).join(" → "), value: p.name })), "No pipelines in expenv.toml"));
  if (pipeline === undefined) {
    return undefined;
  }
  const target = given.target ?? (await pickTarget(listing));
  return target === undefined ? undefined : { pipeline, target };
}

export function pickTarget(listing: PipelineListing): Promise<string | undefined> {
  return pickOne("Target", listing.targets.map((t) => ({ label: t.name,
    description: [t.backend, t.production_like ? "production-like" : ""].filter(Boolean).join(" · "), value: t.name })),
    "No targets in expenv.toml");
}

export async function pickProfile(ask: Ask): Promise<string | undefined> {
  const status = (await ask("expenv.status")) as StatusReport;
  const profiles: Record<string, Record<string, unknown>> = configuredWorkspace(status)?.config?.clusters ?? {};
  return pickOne("Cluster profile", Object.entries(profiles).map(([name, p]) => ({ label: name,
    description: `${String(p.kind)} · ${String(p.backend)}`, value: name })), "No cluster profiles in expenv.toml");
}

export async function pickCluster(ask: Ask): Promise<string | undefined> {
  const listing = (await ask("expenv.clusters.list")) as { clusters: ClusterInfo[] };
  const live = listing.clusters.filter((c) => c.status !== "stopped");
  return pickOne("Cluster", live.map((c) => ({ label: c.id, description: `${c.status} · ${c.kind} · ${c.backend}`,
    value: c.id })), "No clusters are running");
}

export async function askWorkers(current?: number): Promise<number | undefined> {
  const answer = await showInputBox({
    title: "Workers",
    prompt: "Number of workers",
    value: current === undefined ? "" : String(current),
    ignoreFocusOut: true,
    validateInput: (text) => (/^\d+$/.test(text.trim()) ? undefined : "a whole number of workers"),
  });
  return answer === undefined || !/^\d+$/.test(answer.trim()) ? undefined : Number(answer.trim());
}

/** MLflow runs of the workspace's experiment; several when `many`. */
export async function pickMlflowRuns(ask: Ask, many: boolean): Promise<string[] | undefined> {
  const runs = (await ask("expenv.tracking.runs", { max_results: 50 })) as Array<{ run_id: string; name?: string | null;
    status: string }>;
  const items: Item[] = runs.map((r) => ({ label: r.name ?? r.run_id, description: `${r.status} · ${r.run_id}`,
    value: r.run_id }));
  if (!many) {
    const one = await pickOne("MLflow run", items, "No MLflow runs");
    return one === undefined ? undefined : [one];
  }
  const picked = await showQuickPick(items, { title: "MLflow runs to compare", canPickMany: true, ignoreFocusOut: true });
  const list = picked as unknown as Item[] | undefined;
  return list && list.length ? list.map((i) => i.value) : undefined;
}
