import { beforeEach, describe, expect, it, vi } from "vitest";
import { OPEN_MLFLOW, PipelineOutput } from "../src/pipelines";
import { openExternal, showErrorMessage, showInformationMessage } from "../src/vscodeapi";

vi.mock("../src/vscodeapi", () => ({
  openExternal: vi.fn(async () => true),
  showErrorMessage: vi.fn(async () => undefined),
  showInformationMessage: vi.fn(async () => undefined),
}));

function channel() {
  return { appendLine: vi.fn(), show: vi.fn() };
}

describe("PipelineOutput", () => {
  beforeEach(() => vi.clearAllMocks());

  it("writes each step line to the channel and shows it once per run", () => {
    const out = channel();
    const pipelines = new PipelineOutput(out as never);
    pipelines.onLog({ run: "train-1", step: "prepare", line: "rows 1500" });
    pipelines.onLog({ run: "train-1", step: "train", line: '{"auc": 0.8}' });
    expect(out.appendLine.mock.calls.map((c) => c[0])).toEqual([
      "[train-1 prepare] rows 1500",
      '[train-1 train] {"auc": 0.8}',
    ]);
    expect(out.show).toHaveBeenCalledTimes(1);
  });

  it("links a finished run's MLflow run and opens it when asked", async () => {
    vi.mocked(showInformationMessage).mockResolvedValueOnce(OPEN_MLFLOW as never);
    const out = channel();
    const url = "http://127.0.0.1:5000/#/experiments/1/runs/abc";
    await new PipelineOutput(out as never).onStatus({ run: "train-1", status: "FINISHED", mlflow_url: url });
    expect(showInformationMessage).toHaveBeenCalledWith("expenv: pipeline run train-1 FINISHED", OPEN_MLFLOW);
    expect(openExternal).toHaveBeenCalledWith(url);
    expect(out.appendLine).toHaveBeenCalledWith(`[train-1] FINISHED — MLflow: ${url}`);
  });

  it("reports a failed run as an error with its reason, without a link when there is no run", async () => {
    const out = channel();
    await new PipelineOutput(out as never).onStatus({ run: "flaky-2", status: "FAILED", detail: "step boom failed" });
    expect(showErrorMessage).toHaveBeenCalledWith("expenv: pipeline run flaky-2 FAILED: step boom failed");
    expect(openExternal).not.toHaveBeenCalled();
  });
});
