// The status bar: the daemon's state (click: its log), the branch's stage when the daemon reports
// one (nothing otherwise: the extension derives no stage itself), and the running clusters.
import { describe, expect, it, vi } from "vitest";
import { SHOW_LOG_COMMAND } from "../src/commands";
import { WORKSPACE_CHANGED } from "../src/daemonevents";
import { StatusBar, stageText } from "../src/statusbar";
import { FakeDaemon, STATUS } from "./vscodefake";

vi.mock("../src/vscodeapi", () => import("./vscodefake"));

type Item = { text: string; visible: boolean; command?: string; tooltip: string };

function bar(daemon: FakeDaemon) {
  const status = new StatusBar(daemon);
  return { status, daemonItem: status.daemonItem as unknown as Item, stage: status.stageItem as unknown as Item,
    clusters: status.clustersItem as unknown as Item };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

function statusWith(extra: Record<string, unknown>, clusters: Array<Record<string, unknown>> = []) {
  return { ...STATUS, workspaces: [{ ...STATUS.workspaces[0], ...extra, clusters }] };
}

describe("StatusBar", () => {
  it("shows the daemon starting, ready and failing; a click opens the log", async () => {
    const daemon = new FakeDaemon({ "expenv.status": STATUS });
    const { daemonItem } = bar(daemon);
    expect(daemonItem.command).toBe(SHOW_LOG_COMMAND);
    daemon.events.setState("starting");
    expect(daemonItem.text).toContain("loading~spin");
    daemon.events.setState("ready");
    expect(daemonItem.text).toBe("$(check) expenv");
    daemon.events.setState("error", "python3 has no expenv");
    expect(daemonItem.text).toBe("$(error) expenv");
    expect(daemonItem.tooltip).toContain("python3 has no expenv");
  });

  it("shows the stage the daemon reports and the running clusters once ready", async () => {
    const daemon = new FakeDaemon({ "expenv.status": statusWith({ stage: { branch: "release/1.0", stage: "pre-prod" } },
      [{ id: "a", status: "running" }, { id: "b", status: "running" }, { id: "c", status: "stopped" }]) });
    const { stage, clusters } = bar(daemon);
    daemon.events.setState("ready");
    await settle();
    expect(stage.visible).toBe(true);
    expect(stage.text).toBe("$(git-branch) release/1.0 → pre-prod");
    expect(clusters.text).toBe("$(server-environment) 2");
    expect(clusters.tooltip).toBe("expenv: 2 running clusters");
  });

  it("shows no stage when the daemon reports none", async () => {
    const daemon = new FakeDaemon({ "expenv.status": STATUS });
    const { stage, clusters } = bar(daemon);
    daemon.events.setState("ready");
    await settle();
    expect(stage.visible).toBe(false);
    expect(clusters.text).toBe("$(server-environment) 0");
  });

  it("reads the status again when the daemon says something changed", async () => {
    const daemon = new FakeDaemon({ "expenv.status": STATUS });
    const { clusters } = bar(daemon);
    daemon.events.setState("ready");
    await settle();
    daemon.answers["expenv.status"] = statusWith({}, [{ id: "a", status: "running" }]);
    daemon.events.emit(WORKSPACE_CHANGED, { workspace: "/ws", what: "clusters" });
    await settle();
    expect(clusters.text).toBe("$(server-environment) 1");
    expect(daemon.commands()).toEqual(["expenv.status", "expenv.status"]);
  });

  it("hides the stage and clusters while the daemon is not ready", async () => {
    const daemon = new FakeDaemon({ "expenv.status": statusWith({ stage: "production" }) });
    const { stage, clusters } = bar(daemon);
    daemon.events.setState("ready");
    await settle();
    expect(stage.text).toBe("$(git-branch) production");
    daemon.events.setState("error");
    expect([stage.visible, clusters.visible]).toEqual([false, false]);
  });

  it("reads a stage given as a name or as {name, branch}", () => {
    expect([stageText("dev"), stageText({ name: "production", branch: "main" }), stageText(undefined),
      stageText({}), stageText("")]).toEqual(["dev", "main → production", undefined, undefined, undefined]);
  });
});
