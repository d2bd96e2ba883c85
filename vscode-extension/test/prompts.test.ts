// Palette runs of daemon commands: the arguments are picked from what the daemon lists.
import { beforeEach, describe, expect, it, vi } from "vitest";
import { completeArguments, PROMPTED_COMMANDS } from "../src/prompts";
import * as api from "../src/vscodeapi";
import { DATASETS, FakeDaemon, PIPELINES, STATUS } from "./vscodefake";

vi.mock("../src/vscodeapi", () => import("./vscodefake"));

const CLUSTERS = { clusters: [
  { id: "dask-local-1", profile: "dask-local", kind: "dask", backend: "local", status: "running" },
  { id: "dask-local-0", profile: "dask-local", kind: "dask", backend: "local", status: "stopped" },
], orphans: [], problems: [] };

function daemon() {
  return new FakeDaemon({
    "expenv.data.list": DATASETS,
    "expenv.pipelines.list": PIPELINES,
    "expenv.status": STATUS,
    "expenv.clusters.list": CLUSTERS,
    "expenv.tracking.runs": [{ run_id: "e2baa851", name: "train", status: "FINISHED" },
      { run_id: "7f3c0d2e", name: null, status: "FAILED" }],
  });
}

/** Answers each quick pick with the item labelled `label` (recording what was offered). */
function pickLabels(...labels: Array<string | string[]>) {
  const offered: string[][] = [];
  for (const label of labels) {
    vi.mocked(api.showQuickPick).mockImplementationOnce(async (items) => {
      const list = items as Array<{ label: string }>;
      offered.push(list.map((i) => i.label));
      return (Array.isArray(label) ? list.filter((i) => label.includes(i.label)) : list.find((i) => i.label === label)) as never;
    });
  }
  return offered;
}

const ask = (d: FakeDaemon) => (command: string, options?: Record<string, unknown>) => d.execute(command, options);

describe("completeArguments", () => {
  beforeEach(() => vi.mocked(api.showQuickPick).mockReset());

  it("passes given arguments through without asking", async () => {
    const d = daemon();
    const args = [{ dataset: "curated.customers" }];
    expect(await completeArguments("expenv.data.schema", args, ask(d))).toBe(args);
    expect(await completeArguments("expenv.status", [], ask(d))).toEqual([]);
    expect(d.calls).toEqual([]);
    expect(api.showQuickPick).not.toHaveBeenCalled();
  });

  it("picks a dataset from the daemon's list", async () => {
    const offered = pickLabels("curated.customers");
    expect(await completeArguments("expenv.data.preview", [], ask(daemon()))).toEqual([
      { dataset: "curated.customers", limit: 100 }]);   // one grid page: the grid opens on it
    expect(offered[0]).toEqual(["data/raw/customers.parquet", "data/raw/usage", "curated.customers"]);
  });

  it("cancels when a pick is dismissed", async () => {
    vi.mocked(api.showQuickPick).mockResolvedValueOnce(undefined);
    expect(await completeArguments("expenv.data.profile", [], ask(daemon()))).toBeUndefined();
  });

  it("picks a pipeline then a target to submit or render", async () => {
    const offered = pickLabels("train", "preprod");
    expect(await completeArguments("expenv.pipelines.submit", [], ask(daemon()))).toEqual([
      { pipeline: "train", target: "preprod" }]);
    expect(offered).toEqual([["train"], ["dev", "preprod"]]);
  });

  it("picks runs newest first, and only live ones to cancel", async () => {
    const offered = pickLabels("train-old", "train-new");
    expect(await completeArguments("expenv.pipelines.rerun", [], ask(daemon()))).toEqual([{ run: "train-old" }]);
    expect(await completeArguments("expenv.pipelines.cancel", [], ask(daemon()))).toEqual([{ run: "train-new" }]);
    expect(offered).toEqual([["train-new", "train-old"], ["train-new"]]);
  });

  it("asks for a notebook path, then picks its target", async () => {
    vi.mocked(api.showInputBox).mockResolvedValueOnce(" notebooks/prepare.ipynb ");
    pickLabels("dev");
    expect(await completeArguments("expenv.pipelines.runNotebook", [], ask(daemon()))).toEqual([
      { notebook: "notebooks/prepare.ipynb", target: "dev" }]);
  });

  it("picks profiles to launch and live clusters to scale, stop or attach", async () => {
    const offered = pickLabels("dask-local", "dask-local-1", "dask-local-1", "dask-local-1");
    expect(await completeArguments("expenv.clusters.launch", [], ask(daemon()))).toEqual([{ profile: "dask-local" }]);
    vi.mocked(api.showInputBox).mockResolvedValueOnce("3");
    expect(await completeArguments("expenv.clusters.scale", [], ask(daemon()))).toEqual([{ id: "dask-local-1", workers: 3 }]);
    expect(await completeArguments("expenv.clusters.stop", [], ask(daemon()))).toEqual([{ id: "dask-local-1" }]);
    expect(await completeArguments("expenv.clusters.attach", [], ask(daemon()))).toEqual([{ target: "dask-local-1" }]);
    expect(offered).toEqual([["dask-local", "spark-docker"], ["dask-local-1"], ["dask-local-1"], ["dask-local-1"]]);
  });

  it("says there is nothing to pick instead of an empty list", async () => {
    const d = daemon();
    d.answers["expenv.clusters.list"] = { clusters: [], orphans: [], problems: [] };
    expect(await completeArguments("expenv.clusters.stop", [], ask(d))).toBeUndefined();
    expect(api.showQuickPick).not.toHaveBeenCalled();
    expect(api.showInformationMessage).toHaveBeenCalledWith("expenv: No clusters are running");
  });

  it("picks MLflow runs to open or compare", async () => {
    pickLabels("train", ["train", "7f3c0d2e"]);
    expect(await completeArguments("expenv.tracking.open", [], ask(daemon()))).toEqual([{ run_id: "e2baa851" }]);
    expect(await completeArguments("expenv.tracking.compare", [], ask(daemon()))).toEqual([
      { run_ids: ["e2baa851", "7f3c0d2e"] }]);
  });

  it("covers every palette command that needs input", () => {
    expect([...PROMPTED_COMMANDS].sort()).toEqual([
      "expenv.ci.plan", "expenv.clusters.attach", "expenv.clusters.launch", "expenv.clusters.render", "expenv.clusters.scale",
      "expenv.clusters.stop", "expenv.data.preview", "expenv.data.profile", "expenv.data.schema",
      "expenv.pipelines.cancel", "expenv.pipelines.logs", "expenv.pipelines.render", "expenv.pipelines.rerun",
      "expenv.pipelines.runNotebook", "expenv.pipelines.status", "expenv.pipelines.submit", "expenv.project.new",
      "expenv.tracking.compare", "expenv.tracking.open"]);
  });
});

describe("completeArguments for a CI plan", () => {
  it("asks the event, then the branches it needs", async () => {
    vi.mocked(api.showInputBox).mockReset();
    pickLabels("pull_request");
    vi.mocked(api.showInputBox).mockResolvedValueOnce(" feature/churn ").mockResolvedValueOnce("release/2.0");
    expect(await completeArguments("expenv.ci.plan", [], ask(daemon()))).toEqual([
      { event: "pull_request", from: "feature/churn", to: "release/2.0" }]);
    pickLabels("push");
    vi.mocked(api.showInputBox).mockResolvedValueOnce("main");
    expect(await completeArguments("expenv.ci.plan", [], ask(daemon()))).toEqual([{ event: "push", to: "main" }]);
    pickLabels("schedule");
    expect(await completeArguments("expenv.ci.plan", [], ask(daemon()))).toEqual([{ event: "schedule" }]);
    pickLabels("pull_request");
    vi.mocked(api.showInputBox).mockResolvedValueOnce(undefined);   // dismissed: nothing is sent
    expect(await completeArguments("expenv.ci.plan", [], ask(daemon()))).toBeUndefined();
  });
});

describe("completeArguments for a new repository", () => {
  it("asks the template's questions and sends the folder and the answers given", async () => {
    const d = daemon();
    d.answers["expenv.project.questions"] = { questions: [
      { name: "project_name", help: "Project name", default: "my-ml-project", choices: null },
      { name: "preprod_backend", help: "Pre-prod backend", default: "kubernetes", choices: ["kubernetes", "docker"] },
      { name: "preprod_namespace", help: "Pre-prod namespace", default: "ml-preprod", choices: null },
      { name: "tracking_uri", help: "Tracking URI", default: "", choices: null },
    ] };
    vi.mocked(api.showInputBox).mockReset();
    vi.mocked(api.showInputBox).mockResolvedValueOnce("/tmp/churn").mockResolvedValueOnce("churn")
      .mockResolvedValueOnce("");
    pickLabels("docker");
    expect(await completeArguments("expenv.project.new", [], ask(d))).toEqual([
      { dest: "/tmp/churn", answers: { project_name: "churn", preprod_backend: "docker" } },
    ]);
    expect(api.showInputBox).toHaveBeenCalledTimes(3); // no namespace for a Docker pre-prod
  });
});
