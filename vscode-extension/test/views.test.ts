// The four view providers: what each shows of the daemon's answers, and that they read again
// only when the daemon says so (a notification or a restart), never on a timer.
import { beforeEach, describe, expect, it, vi } from "vitest";
import { WORKSPACE_CHANGED } from "../src/daemonevents";
import { STATUS_NOTIFICATION } from "../src/pipelines";
import { ClustersTree } from "../src/views/clusters";
import { DataTree, formatBytes } from "../src/views/data";
import { FeaturesTree, parseDefinition } from "../src/views/features";
import { registerViews, VIEWS } from "../src/views";
import { PipelinesTree } from "../src/views/pipelines";
import type { ViewNode } from "../src/views/tree";
import { createTreeView } from "../src/vscodeapi";
import { DATASETS, FakeDaemon, PIPELINES, STATUS } from "./vscodefake";

vi.mock("../src/vscodeapi", () => import("./vscodefake"));

const openers = { openPreview: vi.fn(), openProfile: vi.fn(), openLineage: vi.fn() };

async function expand(tree: { getChildren(node?: ViewNode): Promise<ViewNode[]> }, node?: ViewNode) {
  return tree.getChildren(node);
}

const labels = (nodes: ViewNode[]) => nodes.map((n) => n.label);

describe("DataTree", () => {
  const schema = { columns: [{ name: "customer_id", type: "BIGINT", nullable: true },
    { name: "plan", type: "VARCHAR", nullable: false }], row_count: 3 };

  it("groups datasets under their raw root and curated schema, with format and size", async () => {
    const daemon = new FakeDaemon({ "expenv.data.list": DATASETS, "expenv.status": STATUS });
    const tree = new DataTree(daemon);
    const roots = await expand(tree);
    expect(labels(roots)).toEqual(["data/raw", "curated"]);
    expect(roots.map((r) => r.description)).toEqual(["raw root", "curated schema"]);
    const raw = await expand(tree, roots[0]);
    expect(labels(raw)).toEqual(["customers.parquet", "usage"]);
    expect(raw[0].description).toBe("parquet · 1.8 MB");
    expect(raw[0].contextValue).toBe("expenv.dataset");
    expect(raw[0].data).toEqual({ dataset: "data/raw/customers.parquet" });
    const curated = await expand(tree, roots[1]);
    expect(labels(curated)).toEqual(["customers"]);
    expect(curated[0].data).toEqual({ dataset: "curated.customers" });
    expect(tree.getTreeItem(roots[0]).collapsibleState).toBe(2); // expanded
    expect(tree.getTreeItem(raw[0]).collapsibleState).toBe(1); // columns on expand
  });

  it("reads a dataset's columns from the daemon only when it is expanded", async () => {
    const daemon = new FakeDaemon({ "expenv.data.list": DATASETS, "expenv.status": STATUS, "expenv.data.schema": schema });
    const tree = new DataTree(daemon);
    const raw = await expand(tree, (await expand(tree))[0]);
    expect(daemon.commands()).not.toContain("expenv.data.schema");
    const columns = await expand(tree, raw[0]);
    expect(daemon.calls.at(-1)).toEqual({ command: "expenv.data.schema", options: { dataset: "data/raw/customers.parquet" } });
    expect(columns.map((c) => [c.label, c.description])).toEqual([["customer_id", "BIGINT"], ["plan", "VARCHAR not null"]]);
    expect(tree.getTreeItem(columns[0]).collapsibleState).toBe(0);
  });

  it("shows the daemon's error as a node instead of an empty view", async () => {
    const daemon = new FakeDaemon({ "expenv.status": STATUS, "expenv.data.list": () => {
      throw new Error("Request workspace/executeCommand failed with message: no workspace with a valid expenv.toml");
    } });
    const [node] = await expand(new DataTree(daemon));
    expect(node.label).toBe("no workspace with a valid expenv.toml");
    expect(node.icon).toBe("error");
  });

  it("still lists the raw datasets when the warehouse cannot be read, with its error in the curated group", async () => {
    const daemon = new FakeDaemon({ "expenv.status": STATUS, "expenv.data.list": (options: Record<string, unknown>) => {
      if (options.layer !== "raw") {
        throw new Error("Request workspace/executeCommand failed with message: cannot open the warehouse: no such file");
      }
      return DATASETS.filter((d) => d.ref.layer === "raw");
    } });
    const tree = new DataTree(daemon);
    const roots = await expand(tree);
    expect(labels(roots)).toEqual(["data/raw", "curated"]);
    expect(labels(await expand(tree, roots[0]))).toEqual(["customers.parquet", "usage"]);
    const [error] = await expand(tree, roots[1]);
    expect([error.label, error.icon]).toEqual(["cannot open the warehouse: no such file", "error"]);
  });

  it("formats sizes", () => {
    expect([formatBytes(null), formatBytes(512), formatBytes(2048), formatBytes(15136326)]).toEqual(
      ["", "512 B", "2.0 KB", "14.4 MB"]);
  });
});

describe("FeaturesTree", () => {
  const lineage = { nodes: [
    { id: "entity:customer", kind: "entity", name: "customer", attrs: { join_keys: ["customer_id"],
      definition: "/ws/features/entities.py:4" } },
    { id: "feature_view:customer_profile", kind: "feature_view", name: "customer_profile",
      attrs: { features: 5, definition: "/ws/features/views.py:10" } },
    { id: "feature_view:usage_stream", kind: "stream_feature_view", name: "usage_stream", attrs: { features: 2 } },
    { id: "feature_service:churn_model_v1", kind: "feature_service", name: "churn_model_v1", attrs: { features: 7 } },
    { id: "dataset:curated.customers", kind: "dataset", name: "curated.customers", attrs: {} },
  ], edges: [] };

  it("lists entities, feature views and feature services from the lineage nodes", async () => {
    const tree = new FeaturesTree(new FakeDaemon({ "expenv.features.lineage": lineage }));
    const groups = await expand(tree);
    expect(labels(groups)).toEqual(["Entities", "Feature views", "Feature services"]);
    const [entities, views, services] = await Promise.all(groups.map((g) => expand(tree, g)));
    expect(entities.map((n) => [n.label, n.description])).toEqual([["customer", "keys: customer_id"]]);
    expect(views.map((n) => [n.label, n.description])).toEqual([["customer_profile", "5 features"],
      ["usage_stream", "stream feature view · 2 features"]]);
    expect(labels(services)).toEqual(["churn_model_v1"]);
    // go to definition only where the daemon knows one
    expect(views.map((n) => n.contextValue)).toEqual(["expenv.feature.defined", "expenv.feature"]);
    expect(views[0].data).toEqual({ node: "feature_view:customer_profile", definition: "/ws/features/views.py:10" });
  });

  it("says so when the repo has no features, and passes on the daemon's error", async () => {
    const empty = await expand(new FeaturesTree(new FakeDaemon({ "expenv.features.lineage": { nodes: [], edges: [] } })));
    expect(labels(empty)).toEqual(["No feature views in the Feast repo"]);
    const failing = new FakeDaemon({ "expenv.features.lineage": () => {
      throw new Error("the registry does not exist yet: run `expenv features apply`");
    } });
    expect(labels(await expand(new FeaturesTree(failing)))).toEqual(["the registry does not exist yet: run `expenv features apply`"]);
  });

  it("parses definitions, colons in the path included", () => {
    expect(parseDefinition("C:/ws/features/views.py:10")).toEqual({ path: "C:/ws/features/views.py", line: 10 });
    expect(parseDefinition("nowhere")).toBeUndefined();
  });
});

describe("ClustersTree", () => {
  const running = { id: "dask-local-1a2b3c4d", profile: "dask-local", kind: "dask", backend: "local", status: "running",
    address: "tcp://127.0.0.1:8786", dashboard_url: "http://127.0.0.1:8787/status", workers_alive: 2, workers_wanted: 2 };
  const stopped = { ...running, id: "dask-local-00000000", status: "stopped", dashboard_url: null };
  const orphan = { ...running, id: "ray-gone-99999999", profile: "ray-gone", status: "orphan", dashboard_url: null };

  it("shows each profile with its live clusters, their status and workers; stopped ones are left out", async () => {
    const daemon = new FakeDaemon({ "expenv.status": STATUS,
      "expenv.clusters.list": { clusters: [running, stopped, orphan], orphans: [], problems: ["docker is not reachable"] } });
    const tree = new ClustersTree(daemon);
    const roots = await expand(tree);
    expect(labels(roots)).toEqual(["dask-local", "spark-docker", "ray-gone-99999999", "docker is not reachable"]);
    expect(roots[0].description).toBe("dask · local · 2 workers");
    expect(roots[0].contextValue).toBe("expenv.clusterProfile");
    expect(roots[0].expanded).toBe(true);
    expect(roots[1].expanded).toBe(false);
    const clusters = await expand(tree, roots[0]);
    expect(clusters.map((c) => [c.label, c.description, c.contextValue])).toEqual([
      ["dask-local-1a2b3c4d", "running · 2/2 workers", "expenv.cluster.running.dashboard"]]);
    expect(roots[2].contextValue).toBe("expenv.cluster.orphan");
  });
});

describe("PipelinesTree", () => {
  it("shows pipelines with steps, targets, and runs newest first with status", async () => {
    const tree = new PipelinesTree(new FakeDaemon({ "expenv.pipelines.list": PIPELINES }));
    const sections = await expand(tree);
    expect(labels(sections)).toEqual(["Pipelines", "Targets", "Recent runs"]);
    const [pipelines, targets, runs] = await Promise.all(sections.map((s) => expand(tree, s)));
    expect(pipelines.map((p) => [p.label, p.contextValue])).toEqual([["train", "expenv.pipeline"]]);
    expect(labels(await expand(tree, pipelines[0]))).toEqual(["prepare", "train"]);
    expect(targets.map((t) => t.description)).toEqual(["docker", "kubernetes · ml-preprod · production-like"]);
    expect(runs.map((r) => [r.label, r.description, r.contextValue, r.icon])).toEqual([
      ["train-new", "RUNNING · train on dev", "expenv.run.RUNNING", "sync~spin"],
      ["train-old", "FINISHED · train on dev", "expenv.run.FINISHED.mlflow", "pass"],
    ]);
    expect((await expand(tree, runs[0])).map((s) => [s.label, s.description])).toEqual([["prepare", "RUNNING"]]);
  });

  it("says what is missing when nothing is configured", async () => {
    const tree = new PipelinesTree(new FakeDaemon({ "expenv.pipelines.list": { pipelines: [], targets: [], runs: [] } }));
    const sections = await expand(tree);
    const children = await Promise.all(sections.map((s) => expand(tree, s)));
    expect(children.map(labels)).toEqual([["No [pipelines] in expenv.toml"], ["No [targets] in expenv.toml"], ["No runs yet"]]);
  });
});

describe("registerViews", () => {
  beforeEach(() => vi.mocked(createTreeView).mockClear());

  function refreshes(registered: ReturnType<typeof registerViews>) {
    const counts: Record<string, number> = {};
    for (const [id, tree] of Object.entries(registered.trees)) {
      counts[id] = 0;
      tree.onDidChangeTreeData(() => (counts[id] += 1));
    }
    return counts;
  }

  it("creates the four views the manifest contributes", () => {
    registerViews(new FakeDaemon({}), openers);
    expect(vi.mocked(createTreeView).mock.calls.map((c) => c[0])).toEqual(Object.keys(VIEWS));
  });

  it("refreshes the views that show what the daemon says changed", () => {
    const daemon = new FakeDaemon({});
    const counts = refreshes(registerViews(daemon, openers));
    daemon.events.emit(WORKSPACE_CHANGED, { workspace: "/ws", what: "clusters" });
    expect(counts).toEqual({ "expenv.dataView": 0, "expenv.featuresView": 0, "expenv.clustersView": 1,
      "expenv.pipelinesView": 0 });
    daemon.events.emit(STATUS_NOTIFICATION, { run: "train-1", status: "FINISHED" });
    daemon.events.emit(WORKSPACE_CHANGED, { workspace: "/ws", what: "features" });
    expect(counts).toEqual({ "expenv.dataView": 0, "expenv.featuresView": 1, "expenv.clustersView": 1,
      "expenv.pipelinesView": 1 });
    daemon.events.emit(WORKSPACE_CHANGED, { workspace: "/ws", what: "config" });
    expect(Object.values(counts)).toEqual([1, 2, 2, 2]);
  });

  it("refreshes every view when the daemon becomes ready, and not on a timer", async () => {
    vi.useFakeTimers();
    try {
      const daemon = new FakeDaemon({});
      const counts = refreshes(registerViews(daemon, openers));
      await vi.advanceTimersByTimeAsync(10 * 60_000);
      expect(Object.values(counts)).toEqual([0, 0, 0, 0]);
      daemon.events.setState("starting");
      daemon.events.setState("ready");
      expect(Object.values(counts)).toEqual([1, 1, 1, 1]);
    } finally {
      vi.useRealTimers();
    }
  });
});
