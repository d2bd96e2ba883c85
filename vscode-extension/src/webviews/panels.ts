// Opens the expenv webviews (data grid, profile, lineage graph), one panel per subject, reused
// when asked again. Each panel's page comes from html.ts; what it shows comes from the daemon.
import { createWebviewPanel, mediaUri } from "../vscodeapi";
import type { Disposable, Uri, WebviewPanel } from "../vscodeapi";
import type { DaemonLink } from "../daemonevents";
import { DataGrid } from "./grid";
import { newNonce, webviewHtml } from "./html";
import { LineageGraph } from "./lineage";

export const STYLE = "webview.css";
export const DATA_SCRIPT = "dist/data.js";
export const LINEAGE_SCRIPT = "dist/lineage.js";

/** What the views and the palette open (src/views/actions.ts, src/results.ts). `first`: the daemon's
 * answer the caller already has (a palette run), shown instead of asking the daemon again. */
export interface WebviewOpeners {
  openPreview(dataset: string, first?: unknown): void;
  openProfile(dataset: string, first?: unknown): void;
  openLineage(center: string | null, first?: unknown): void;
}

export class Webviews implements WebviewOpeners, Disposable {
  private readonly open = new Map<string, { panel: WebviewPanel; subject: DataGrid | LineageGraph }>();

  constructor(private readonly extensionUri: Uri, private readonly daemon: DaemonLink) {}

  openPreview(dataset: string, first?: unknown): void {
    this.show(`grid:${dataset}`, `Preview: ${dataset}`, DATA_SCRIPT, "grid",
      (panel) => new DataGrid(panel.webview, this.daemon, dataset, "grid", (name) => this.openProfile(name), first));
  }

  openProfile(dataset: string, first?: unknown): void {
    this.show(`profile:${dataset}`, `Profile: ${dataset}`, DATA_SCRIPT, "profile",
      (panel) => new DataGrid(panel.webview, this.daemon, dataset, "profile", (name) => this.openProfile(name), first));
  }

  openLineage(center: string | null, first?: unknown): void {
    const existing = this.open.get("lineage");
    if (existing && existing.subject instanceof LineageGraph) {
      existing.panel.reveal();
      void existing.subject.focus(center, "both", first);
      return;
    }
    this.show("lineage", "Feature lineage", LINEAGE_SCRIPT, "lineage",
      (panel) => new LineageGraph(panel.webview, this.daemon, center, { openPreview: (d) => this.openPreview(d) }, first));
  }

  private show(key: string, title: string, script: string, view: string,
               subject: (panel: WebviewPanel) => DataGrid | LineageGraph): void {
    const existing = this.open.get(key);
    if (existing) {
      existing.panel.reveal();
      return;
    }
    const panel = createWebviewPanel(`expenv.${view}`, title, this.extensionUri);
    const webview = panel.webview;
    const made = subject(panel);
    webview.html = webviewHtml({
      cspSource: webview.cspSource,
      nonce: newNonce(),
      title,
      view,
      scriptUri: mediaUri(webview, this.extensionUri, script),
      styleUri: mediaUri(webview, this.extensionUri, STYLE),
    });
    this.open.set(key, { panel, subject: made });
    panel.onDidDispose(() => {
      made.dispose();
      this.open.delete(key);
    });
  }

  dispose(): void {
    for (const { panel } of [...this.open.values()]) {
      panel.dispose();
    }
  }
}
