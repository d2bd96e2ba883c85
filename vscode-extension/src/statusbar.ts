// The status bar: the branch's stage (when `expenv.status` reports one), the running clusters,
// and the daemon's state (a click opens its log). Read again on the daemon's notifications.
import { SHOW_LOG_COMMAND } from "./commands";
import { WORKSPACE_CHANGED } from "./daemonevents";
import type { DaemonLink, DaemonState } from "./daemonevents";
import { createStatusBarItem } from "./vscodeapi";
import type { Disposable, StatusBarItem } from "./vscodeapi";
import { configuredWorkspace } from "./views/tree";
import type { StatusReport } from "./views/tree";

const STATE_TEXT: Record<DaemonState, string> = {
  starting: "$(loading~spin) expenv",
  ready: "$(check) expenv",
  error: "$(error) expenv",
  stopped: "$(circle-slash) expenv",
};

/** "stage" as the daemon reports it: a name, or {stage|name, branch}; undefined when absent. */
export function stageText(stage: unknown): string | undefined {
  if (typeof stage === "string" && stage) {
    return stage;
  }
  if (stage && typeof stage === "object") {
    const record = stage as Record<string, unknown>;
    const name = record.stage ?? record.name;
    if (typeof name === "string" && name) {
      return typeof record.branch === "string" && record.branch ? `${record.branch} → ${name}` : name;
    }
  }
  return undefined;
}

export class StatusBar {
  readonly daemonItem: StatusBarItem;
  readonly stageItem: StatusBarItem;
  readonly clustersItem: StatusBarItem;
  private readonly subscriptions: Disposable[];
  private reading = 0;

  constructor(private readonly daemon: DaemonLink) {
    this.daemonItem = createStatusBarItem("expenv.daemon", 102);
    this.stageItem = createStatusBarItem("expenv.stage", 101);
    this.clustersItem = createStatusBarItem("expenv.clusters", 100);
    this.daemonItem.command = SHOW_LOG_COMMAND;
    this.clustersItem.command = "expenv.clustersView.focus";
    this.showState(daemon.events.state, daemon.events.detail);
    this.subscriptions = [
      daemon.events.onState((state, detail) => {
        this.showState(state, detail);
        if (state === "ready") {
          void this.update();
        }
      }),
      daemon.events.on(WORKSPACE_CHANGED, () => void this.update()),
    ];
  }

  showState(state: DaemonState, detail: string): void {
    this.daemonItem.text = STATE_TEXT[state];
    this.daemonItem.tooltip = `expenv daemon: ${state}${detail ? ` (${detail})` : ""}. Click to open its log.`;
    this.daemonItem.show();
    if (state !== "ready") {
      this.stageItem.hide();
      this.clustersItem.hide();
    }
  }

  /** Reads `expenv.status` and shows the stage and the running clusters. */
  async update(): Promise<void> {
    const reading = ++this.reading;
    let status: StatusReport;
    try {
      status = await this.daemon.execute<StatusReport>("expenv.status");
    } catch {
      return; // the daemon's state item says why
    }
    if (reading !== this.reading) {
      return; // a newer read is under way
    }
    const ws = configuredWorkspace(status);
    const stage = stageText(ws?.stage ?? status.stage);
    if (stage) {
      this.stageItem.text = `$(git-branch) ${stage}`;
      this.stageItem.tooltip = "expenv: the stage of this branch";
      this.stageItem.show();
    } else {
      this.stageItem.hide();
    }
    const running = (ws?.clusters ?? []).filter((c) => c.status === "running").length;
    this.clustersItem.text = `$(server-environment) ${running}`;
    this.clustersItem.tooltip = `expenv: ${running} running cluster${running === 1 ? "" : "s"}`;
    this.clustersItem.show();
  }

  dispose(): void {
    for (const d of [...this.subscriptions, this.daemonItem, this.stageItem, this.clustersItem]) {
      d.dispose();
    }
  }
}
