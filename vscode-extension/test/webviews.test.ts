// The webviews' extension side: the page every webview is (its CSP), the checks on what a page
// sends, and what each request makes the daemon do and the editor show.
import { beforeEach, describe, expect, it, vi } from "vitest";
import { contentSecurityPolicy, newNonce, webviewHtml } from "../src/webviews/html";
import { DataGrid } from "../src/webviews/grid";
import { LineageGraph, targetOf } from "../src/webviews/lineage";
import { Webviews } from "../src/webviews/panels";
import { MAX_OFFSET, PAGE_SIZE, parseGridRequest, parseLineageRequest } from "../src/webviews/protocol";
import { showInWebview } from "../src/webviews/results";
import * as api from "../src/vscodeapi";
import { FakeDaemon, FakeWebview, panels } from "./vscodefake";

vi.mock("../src/vscodeapi", () => import("./vscodefake"));

const CSP_SOURCE = "https://file+.vscode-resource.vscode-cdn.net";

describe("the webview page", () => {
  const page = webviewHtml({ cspSource: CSP_SOURCE, nonce: "n0nce", title: "Preview: <b>x</b>", view: "grid",
    scriptUri: `${CSP_SOURCE}/ext/media/dist/data.js`, styleUri: `${CSP_SOURCE}/ext/media/webview.css` });

  it("has a strict CSP: nothing by default, scripts by nonce only, styles from the extension only", () => {
    const csp = contentSecurityPolicy(CSP_SOURCE, "n0nce");
    const directives = Object.fromEntries(csp.split("; ").map((d) => [d.split(" ")[0], d.split(" ").slice(1)]));
    expect(directives["default-src"]).toEqual(["'none'"]);
    expect(directives["script-src"]).toEqual(["'nonce-n0nce'"]);
    expect(directives["style-src"]).toEqual([CSP_SOURCE]);
    expect(csp).not.toMatch(/unsafe-inline|unsafe-eval|\*/);
    expect(page).toContain(`<meta http-equiv="Content-Security-Policy" content="${csp.replace(/'/g, "&#39;")}">`);
  });

  it("loads one script carrying the nonce and one stylesheet, both from the extension; nothing remote", () => {
    expect(page.match(/<script\b[^>]*>/g)).toEqual([`<script nonce="n0nce" src="${CSP_SOURCE}/ext/media/dist/data.js">`]);
    expect(page).not.toMatch(/<style|style="/);
    const urls = page.match(/https?:\/\/[^"' ;]+/g) ?? [];
    expect(urls.every((u) => u.startsWith(CSP_SOURCE))).toBe(true);
    expect(page).toContain("<title>Preview: &lt;b&gt;x&lt;/b&gt;</title>");
  });

  it("gets a fresh nonce every time", () => {
    const [a, b] = [newNonce(), newNonce()];
    expect(a).toMatch(/^[0-9a-z]{32}$/);
    expect(a).not.toBe(b);
  });
});

describe("messages from a page are checked before use", () => {
  it.each([
    [{ type: "ready" }, { type: "ready" }],
    [{ type: "page", offset: 200 }, { type: "page", offset: 200 }],
    [{ type: "profile", extra: "ignored" }, { type: "profile" }],
    [{ type: "page", offset: 0, sort: { column: "a b", descending: true, x: 1 } },
      { type: "page", offset: 0, sort: { column: "a b", descending: true } }],
  ])("grid accepts %j", (raw, parsed) => expect(parseGridRequest(raw)).toEqual(parsed));

  it.each([
    null, "ready", [], { type: "page" }, { type: "page", offset: -1 }, { type: "page", offset: 1.5 },
    { type: "page", offset: "100" }, { type: "page", offset: MAX_OFFSET + 1 }, { type: "open", id: "x" },
    { type: "exec", command: "rm" }, { type: "page", offset: 0, sort: "a" }, { type: "page", offset: 0, sort: null },
    { type: "page", offset: 0, sort: { column: "", descending: false } },
    { type: "page", offset: 0, sort: { column: "a", descending: "yes" } },
    { type: "page", offset: 0, sort: { column: "x".repeat(1001), descending: false } },
  ])("grid drops %j", (raw) => expect(parseGridRequest(raw)).toBeUndefined());

  it.each([
    [{ type: "open", id: "feature_view:a" }, { type: "open", id: "feature_view:a" }],
    [{ type: "focus", center: null, direction: "both" }, { type: "focus", center: null, direction: "both" }],
    [{ type: "focus", center: "entity:c", direction: "up" }, { type: "focus", center: "entity:c", direction: "up" }],
  ])("lineage accepts %j", (raw, parsed) => expect(parseLineageRequest(raw)).toEqual(parsed));

  it.each([
    { type: "open" }, { type: "open", id: "" }, { type: "open", id: 3 }, { type: "open", id: "x".repeat(1001) },
    { type: "focus", center: "a", direction: "sideways" }, { type: "focus", center: 1, direction: "up" },
    { type: "focus", direction: "up" }, { type: "page", offset: 0 }, undefined,
  ])("lineage drops %j", (raw) => expect(parseLineageRequest(raw)).toBeUndefined());
});

const SCHEMA = { columns: [{ name: "customer_id", type: "BIGINT" }, { name: "plan", type: "VARCHAR" }], row_count: 250 };
const previewOf = (o: Record<string, unknown>) => ({
  ref: { name: o.dataset }, columns: ["customer_id", "plan"], limit: o.limit, offset: o.offset,
  rows: Array.from({ length: Math.min(o.limit as number, 250 - (o.offset as number)) },
    (_, i) => [(o.offset as number) + i, i % 3 ? "pro" : null]),
});

describe("the data grid", () => {
  it("shows a page with the schema's column types, and pages through the daemon", async () => {
    const daemon = new FakeDaemon({ "expenv.data.schema": SCHEMA, "expenv.data.preview": previewOf });
    const webview = new FakeWebview();
    new DataGrid(webview as never, daemon, "curated.customers", "grid", vi.fn());
    await webview.send({ type: "ready" });
    expect(webview.posted[0]).toMatchObject({
      type: "page", dataset: "curated.customers", offset: 0, limit: PAGE_SIZE, rowCount: 250,
      columns: [{ name: "customer_id", type: "BIGINT" }, { name: "plan", type: "VARCHAR" }],
    });
    expect((webview.posted[0] as { rows: unknown[][] }).rows[0]).toEqual([0, null]);
    await webview.send({ type: "page", offset: 200 });
    expect(webview.posted[1]).toMatchObject({ type: "page", offset: 200 });
    expect((webview.posted[1] as { rows: unknown[][] }).rows).toHaveLength(50);
    expect(daemon.calls.filter((c) => c.command === "expenv.data.preview").map((c) => c.options)).toEqual([
      { dataset: "curated.customers", limit: PAGE_SIZE, offset: 0 },
      { dataset: "curated.customers", limit: PAGE_SIZE, offset: 200 },
    ]);
    expect(daemon.commands().filter((c) => c === "expenv.data.schema")).toHaveLength(1); // read once
  });

  it("a sort is the daemon's, over the whole dataset, and the page says what the daemon sorted by", async () => {
    const sorted = (o: Record<string, unknown>) => ({ ...previewOf(o), order: o.sort });
    const daemon = new FakeDaemon({ "expenv.data.schema": SCHEMA, "expenv.data.preview": sorted });
    const webview = new FakeWebview();
    new DataGrid(webview as never, daemon, "curated.customers", "grid", vi.fn(), previewOf({ limit: PAGE_SIZE, offset: 0 }));
    await webview.send({ type: "page", offset: 0, sort: { column: "plan", descending: true } });
    await webview.send({ type: "page", offset: 100, sort: { column: "plan", descending: true } });
    expect(daemon.calls.filter((c) => c.command === "expenv.data.preview").map((c) => c.options)).toEqual([
      { dataset: "curated.customers", limit: PAGE_SIZE, offset: 0, sort: { column: "plan", descending: true } },
      { dataset: "curated.customers", limit: PAGE_SIZE, offset: 100, sort: { column: "plan", descending: true } },
    ]);   // the palette's unsorted page is not this page
    expect(webview.posted.map((u) => (u as { sort: unknown }).sort)).toEqual([
      { column: "plan", descending: true }, { column: "plan", descending: true }]);
  });

  it("sends the daemon nothing for a malformed request, and shows the daemon's errors in the page", async () => {
    const daemon = new FakeDaemon({ "expenv.data.schema": SCHEMA });
    const webview = new FakeWebview();
    new DataGrid(webview as never, daemon, "curated.nope", "grid", vi.fn());
    await webview.send({ type: "page", offset: -5 });
    expect(daemon.calls).toEqual([]);
    await webview.send({ type: "ready" });
    expect(webview.posted).toEqual([{ type: "error", message: "no answer for expenv.data.preview" }]);
  });

  it("a palette run's answer is the first page, once, when it is page one of the grid's size", async () => {
    const daemon = new FakeDaemon({ "expenv.data.schema": SCHEMA, "expenv.data.preview": previewOf });
    const first = previewOf({ limit: PAGE_SIZE, offset: 0 });
    const webview = new FakeWebview();
    new DataGrid(webview as never, daemon, "curated.customers", "grid", vi.fn(), { ...first, limit: PAGE_SIZE });
    await webview.send({ type: "ready" });
    await webview.send({ type: "ready" });   // a reload of the page reads it from the daemon
    expect(daemon.calls.filter((c) => c.command === "expenv.data.preview")).toHaveLength(1);
    expect(webview.posted[0]).toEqual(webview.posted[1]);
    // a preview of another size would skip rows when paged with the grid's size: read again
    const other = new FakeWebview();
    const again = new FakeDaemon({ "expenv.data.schema": SCHEMA, "expenv.data.preview": previewOf });
    new DataGrid(other as never, again, "curated.customers", "grid", vi.fn(), { ...previewOf({ limit: 20, offset: 0 }),
      limit: 20 });
    await other.send({ type: "ready" });
    expect(again.calls.filter((c) => c.command === "expenv.data.preview").map((c) => c.options)).toEqual([
      { dataset: "curated.customers", limit: PAGE_SIZE, offset: 0 }]);
    expect((other.posted[0] as { rows: unknown[] }).rows).toHaveLength(PAGE_SIZE);
  });

  it("profile mode shows the daemon's profile; the grid's Profile button opens it", async () => {
    const profile = { row_count: 3, columns: [{ name: "plan", type: "VARCHAR", nulls: 1 }] };
    const daemon = new FakeDaemon({ "expenv.data.profile": profile });
    const webview = new FakeWebview();
    new DataGrid(webview as never, daemon, "data/raw/usage", "profile", vi.fn());
    await webview.send({ type: "ready" });
    expect(webview.posted).toEqual([{ type: "profile", dataset: "data/raw/usage", profile }]);
    const openProfile = vi.fn();
    const grid = new FakeWebview();
    new DataGrid(grid as never, daemon, "data/raw/usage", "grid", openProfile);
    await grid.send({ type: "profile" });
    expect(openProfile).toHaveBeenCalledWith("data/raw/usage");
    const palette = new FakeWebview();   // a palette run's profile is shown as it is: not profiled twice
    const quiet = new FakeDaemon({});
    new DataGrid(palette as never, quiet, "data/raw/usage", "profile", vi.fn(), profile);
    await palette.send({ type: "ready" });
    expect([palette.posted, quiet.calls]).toEqual([[{ type: "profile", dataset: "data/raw/usage", profile }], []]);
  });
});

const GRAPH = {
  nodes: [
    { id: "feature_view:customer_profile", kind: "feature_view", name: "customer_profile",
      attrs: { definition: "features/definitions.py:51" } },
    { id: "dataset:curated.customers", kind: "dataset", name: "curated.customers", attrs: { layer: "curated" } },
    { id: "run:abc", kind: "run", name: "train", attrs: { url: "http://127.0.0.1:5000/#/experiments/1/runs/abc" } },
    { id: "run:bad", kind: "run", name: "bad", attrs: { url: "javascript:alert(1)" } },
  ],
  edges: [{ source: "dataset:curated.customers", target: "feature_view:customer_profile" }],
};

describe("the lineage graph", () => {
  beforeEach(() => vi.mocked(api.openFileAt).mockClear());

  it("reads the graph around its center, and again for another center or direction", async () => {
    const daemon = new FakeDaemon({ "expenv.features.lineage": GRAPH });
    const webview = new FakeWebview();
    new LineageGraph(webview as never, daemon, "feature_view:customer_profile", { openPreview: vi.fn() });
    await webview.send({ type: "ready" });
    expect(webview.posted[0]).toEqual({ type: "graph", graph: GRAPH, center: "feature_view:customer_profile",
      direction: "both" });
    await webview.send({ type: "focus", center: "dataset:curated.customers", direction: "down" });
    await webview.send({ type: "focus", center: null, direction: "both" });
    expect(daemon.calls.map((c) => c.options)).toEqual([
      { center: "feature_view:customer_profile", direction: "both" },
      { center: "dataset:curated.customers", direction: "down" },
      {},
    ]);
  });

  it("a palette run's graph is shown without reading it again, unless it is another direction or depth", async () => {
    const daemon = new FakeDaemon({ "expenv.features.lineage": GRAPH });
    const webview = new FakeWebview();
    const known = { ...GRAPH, attrs: { center: "feature_view:customer_profile", depth: null, direction: "both" } };
    new LineageGraph(webview as never, daemon, "feature_view:customer_profile", { openPreview: vi.fn() }, known);
    await webview.send({ type: "ready" });
    expect(webview.posted[0]).toMatchObject({ type: "graph", graph: known, direction: "both" });
    expect(daemon.calls).toEqual([]);
    const shallow = new FakeWebview();
    new LineageGraph(shallow as never, daemon, null, { openPreview: vi.fn() }, { ...GRAPH, attrs: { depth: 1 } });
    await shallow.send({ type: "ready" });
    expect(daemon.calls.map((c) => c.options)).toEqual([{}]);
  });

  it("a click opens the node's definition, dataset grid or MLflow run; a forged id or link opens nothing", async () => {
    const daemon = new FakeDaemon({ "expenv.features.lineage": GRAPH });
    const webview = new FakeWebview();
    const openPreview = vi.fn();
    new LineageGraph(webview as never, daemon, null, { openPreview });
    await webview.send({ type: "ready" });
    await webview.send({ type: "open", id: "feature_view:customer_profile" });
    await webview.send({ type: "open", id: "dataset:curated.customers" });
    await webview.send({ type: "open", id: "run:abc" });
    await webview.send({ type: "open", id: "file:/etc/passwd" });
    await webview.send({ type: "open", id: "run:bad" });
    expect(vi.mocked(api.openFileAt).mock.calls).toEqual([["/ws/features/definitions.py", 51]]);
    expect(openPreview).toHaveBeenCalledWith("curated.customers");
    expect(vi.mocked(api.openExternal).mock.calls).toEqual([["http://127.0.0.1:5000/#/experiments/1/runs/abc"]]);
    expect(webview.posted.at(-1)).toEqual({ type: "error", message: expect.stringContaining("bad: nothing to open") });
  });

  it("targets: an absolute definition stays as it is", () => {
    expect(targetOf({ id: "entity:c", kind: "entity", name: "c", attrs: { definition: "/x/e.py:4" } }, "/ws"))
      .toEqual({ kind: "definition", path: "/x/e.py", line: 4 });
    expect(targetOf({ id: "data_source:s", kind: "data_source", name: "s" }, "/ws")).toEqual({ kind: "none" });
  });
});

describe("panels", () => {
  it("one panel per subject, reused; its page loads only the extension's media", async () => {
    panels.length = 0;
    const daemon = new FakeDaemon({ "expenv.data.schema": SCHEMA, "expenv.data.preview": previewOf });
    const webviews = new Webviews({ fsPath: "/ext" } as never, daemon);
    webviews.openPreview("curated.customers");
    webviews.openPreview("curated.customers");
    webviews.openLineage(null);
    expect(panels.map((p) => [p.viewType, p.title])).toEqual([
      ["expenv.grid", "Preview: curated.customers"], ["expenv.lineage", "Feature lineage"]]);
    expect(panels[0].webview.html).toContain(`src="${CSP_SOURCE}/ext/media/dist/data.js"`);
    expect(panels[1].webview.html).toContain(`src="${CSP_SOURCE}/ext/media/dist/lineage.js"`);
    panels[0].disposed();
    webviews.openPreview("curated.customers");
    expect(panels).toHaveLength(3); // closed, so opened anew
  });

  it("palette runs of preview, profile and lineage open the webviews on their results", () => {
    const openers = { openPreview: vi.fn(), openProfile: vi.fn(), openLineage: vi.fn() };
    expect(showInWebview(openers, "expenv.data.preview", { ref: { name: "data/raw/usage" } })).toBe(true);
    expect(showInWebview(openers, "expenv.data.profile", { ref: { name: "curated.customers" } })).toBe(true);
    expect(showInWebview(openers, "expenv.features.lineage", { nodes: [], edges: [], attrs: {} })).toBe(true);
    expect(showInWebview(openers, "expenv.status", {})).toBe(false);
    expect(openers.openPreview).toHaveBeenCalledWith("data/raw/usage", { ref: { name: "data/raw/usage" } });
    expect(openers.openProfile).toHaveBeenCalledWith("curated.customers", { ref: { name: "curated.customers" } });
    expect(openers.openLineage).toHaveBeenCalledWith(null, { nodes: [], edges: [], attrs: {} });
  });
});
