// The views' actions: each sends the daemon the command a user means, with the item's data, and
// shows the answer where a user looks; a failure is an error message, never a silent no-op.
import { beforeEach, describe, expect, it, vi } from "vitest";
import { VIEW_COMMANDS } from "../src/commands";
import { viewActions } from "../src/views/actions";
import { registerViews } from "../src/views";
import type { ViewNode } from "../src/views/tree";
import * as api from "../src/vscodeapi";
import { FakeDaemon, PIPELINES, registered } from "./vscodefake";

vi.mock("../src/vscodeapi", () => import("./vscodefake"));

const openers = { openPreview: vi.fn(), openProfile: vi.fn(), openLineage: vi.fn() };
const node = (data: Record<string, unknown>): ViewNode => ({ id: "x", label: "x", data });

describe("view actions", () => {
  beforeEach(() => vi.mocked(api.insertAtCursor).mockResolvedValue(false));

  it("are exactly the view commands the manifest contributes, each registered", () => {
    registered.clear();
    registerViews(new FakeDaemon({}), openers);
    expect(Object.keys(viewActions(new FakeDaemon({}), () => undefined, openers)).sort()).toEqual([...VIEW_COMMANDS].sort());
    expect([...registered.keys()].sort()).toEqual([...VIEW_COMMANDS].sort());
  });

  it("open a dataset's preview grid and its profile, asking the daemon nothing themselves", async () => {
    const daemon = new FakeDaemon({});
    const actions = viewActions(daemon, () => undefined, openers);
    await actions["expenv.client.view.data.preview"](node({ dataset: "curated.customers" }));
    await actions["expenv.client.view.data.profile"](node({ dataset: "data/raw/usage" }));
    expect(openers.openPreview).toHaveBeenCalledWith("curated.customers");
    expect(openers.openProfile).toHaveBeenCalledWith("data/raw/usage");
    expect(daemon.calls).toEqual([]);
  });

  it("copy the daemon's loading snippet, or say the daemon gives none", async () => {
    const snippet = 'customers_df = pd.read_parquet("data/raw/customers.parquet")';
    const daemon = new FakeDaemon({ "expenv.data.schema": { columns: [], snippet } });
    const copy = viewActions(daemon, () => undefined, openers)["expenv.client.view.data.copySnippet"];
    await copy(node({ dataset: "data/raw/customers.parquet" }));
    expect(api.writeClipboard).toHaveBeenCalledWith(snippet);
    daemon.answers["expenv.data.schema"] = { columns: [] };
    await copy(node({ dataset: "data/raw/customers.parquet" }));
    expect(api.writeClipboard).toHaveBeenCalledTimes(1);
    expect(api.showErrorMessage).toHaveBeenCalledWith(expect.stringContaining("no loading snippet"));
  });

  it("open a feature's lineage around it, and its definition at its line", async () => {
    const daemon = new FakeDaemon({ "expenv.features.lineage": { nodes: [], edges: [] } });
    const actions = viewActions(daemon, () => undefined, openers);
    await actions["expenv.client.view.features.lineage"](node({ node: "feature_view:customer_profile" }));
    expect(openers.openLineage).toHaveBeenCalledWith("feature_view:customer_profile");
    await actions["expenv.client.view.features.definition"](node({ definition: "/ws/features/views.py:10" }));
    await actions["expenv.client.view.features.definition"](node({ definition: "features/entities.py:4" }));
    expect(vi.mocked(api.openFileAt).mock.calls).toEqual([["/ws/features/views.py", 10], ["/ws/features/entities.py", 4]]);
  });

  it("launch, attach, scale and stop clusters, and open a dashboard", async () => {
    const daemon = new FakeDaemon({
      "expenv.clusters.launch": { id: "dask-local-1", status: "running" },
      "expenv.clusters.attach": { cell: "from dask.distributed import Client\nclient = Client(\"tcp://127.0.0.1:8786\")" },
      "expenv.clusters.scale": { id: "dask-local-1" },
      "expenv.clusters.stop": { stopped: ["dask-local-1"] },
    });
    const actions = viewActions(daemon, () => undefined, openers);
    await actions["expenv.client.view.clusters.launch"](node({ profile: "dask-local" }));
    await actions["expenv.client.view.clusters.attach"](node({ id: "dask-local-1" }));
    expect(api.writeClipboard).toHaveBeenCalledWith(expect.stringContaining('Client("tcp://127.0.0.1:8786")'));
    vi.mocked(api.showInputBox).mockResolvedValueOnce("4");
    await actions["expenv.client.view.clusters.scale"](node({ id: "dask-local-1", workers_wanted: 2 }));
    expect(vi.mocked(api.showInputBox).mock.calls[0][0]).toMatchObject({ value: "2" });
    await actions["expenv.client.view.clusters.stop"](node({ id: "dask-local-1" }));
    await actions["expenv.client.view.clusters.dashboard"](node({ dashboard_url: "http://127.0.0.1:8787/status" }));
    expect(daemon.calls).toEqual([
      { command: "expenv.clusters.launch", options: { profile: "dask-local", reuse: true } },
      { command: "expenv.clusters.attach", options: { target: "dask-local-1" } },
      { command: "expenv.clusters.scale", options: { id: "dask-local-1", workers: 4 } },
      { command: "expenv.clusters.stop", options: { id: "dask-local-1" } },
    ]);
    expect(api.openExternal).toHaveBeenCalledWith("http://127.0.0.1:8787/status");
  });

  it("inserts the connection cell at the cursor when an editor is active", async () => {
    vi.mocked(api.insertAtCursor).mockResolvedValueOnce(true);
    const daemon = new FakeDaemon({ "expenv.clusters.attach": { cell: "client = Client()" } });
    await viewActions(daemon, () => undefined, openers)["expenv.client.view.clusters.attach"](node({ id: "dask-local-1" }));
    expect(api.insertAtCursor).toHaveBeenCalledWith("client = Client()");
    expect(api.writeClipboard).not.toHaveBeenCalled();
  });

  it("does not scale when the workers prompt is dismissed", async () => {
    vi.mocked(api.showInputBox).mockResolvedValueOnce(undefined);
    const daemon = new FakeDaemon({});
    await viewActions(daemon, () => undefined, openers)["expenv.client.view.clusters.scale"](node({ id: "dask-local-1" }));
    expect(daemon.calls).toEqual([]);
  });

  it("submit a pipeline on a picked target, follow, cancel and rerun runs, open MLflow", async () => {
    const daemon = new FakeDaemon({
      "expenv.pipelines.list": PIPELINES,
      "expenv.pipelines.submit": { id: "train-3" },
      "expenv.pipelines.logs": { run: "train-new", lines: [] },
      "expenv.pipelines.cancel": { id: "train-new", status: "CANCELLED" },
      "expenv.pipelines.rerun": { id: "train-4" },
    });
    vi.mocked(api.showQuickPick).mockImplementationOnce(async (items) => (items as unknown as never[])[1]);
    const actions = viewActions(daemon, () => undefined, openers);
    await actions["expenv.client.view.pipelines.submit"](node({ pipeline: "train" }));
    expect(vi.mocked(api.showQuickPick).mock.calls[0][0].map((i) => i.label)).toEqual(["dev", "preprod"]);
    await actions["expenv.client.view.pipelines.logs"](node({ run: "train-new" }));
    await actions["expenv.client.view.pipelines.cancel"](node({ run: "train-new" }));
    await actions["expenv.client.view.pipelines.rerun"](node({ run: "train-old" }));
    await actions["expenv.client.view.pipelines.mlflow"](node({ mlflow_url: "http://127.0.0.1:5000/#/runs/abc" }));
    expect(daemon.calls.slice(1)).toEqual([
      { command: "expenv.pipelines.submit", options: { pipeline: "train", target: "preprod" } },
      { command: "expenv.pipelines.logs", options: { run: "train-new", follow: true } },
      { command: "expenv.pipelines.cancel", options: { run: "train-new" } },
      { command: "expenv.pipelines.rerun", options: { run: "train-old" } },
    ]);
    expect(api.openExternal).toHaveBeenCalledWith("http://127.0.0.1:5000/#/runs/abc");
  });

  it("report a daemon failure as an error message naming the cause", async () => {
    const daemon = new FakeDaemon({ "expenv.clusters.stop": () => {
      throw new Error("Request workspace/executeCommand failed with message: id: no cluster dask-local-9");
    } });
    await viewActions(daemon, () => undefined, openers)["expenv.client.view.clusters.stop"](node({ id: "dask-local-9" }));
    expect(api.showErrorMessage).toHaveBeenCalledWith("expenv: id: no cluster dask-local-9");
  });

  it("run from the palette without an item, say what they need instead of calling the daemon", async () => {
    const daemon = new FakeDaemon({});
    await viewActions(daemon, () => undefined, openers)["expenv.client.view.data.preview"](undefined);
    expect(daemon.calls).toEqual([]);
    expect(api.showErrorMessage).toHaveBeenCalledWith(expect.stringContaining("no dataset given"));
  });

  it("refresh every view on request", async () => {
    const refresh = vi.fn();
    await viewActions(new FakeDaemon({}), refresh, openers)["expenv.client.view.refresh"]();
    expect(refresh).toHaveBeenCalledWith("all");
  });

});
