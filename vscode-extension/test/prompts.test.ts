import { beforeEach, describe, expect, it, vi } from "vitest";
import * as api from "../src/vscodeapi";
import { completeArguments } from "../src/prompts";

vi.mock("../src/vscodeapi", () => ({ showInputBox: vi.fn() }));

describe("completeArguments", () => {
  beforeEach(() => vi.mocked(api.showInputBox).mockReset());

  it("passes given arguments through without asking", async () => {
    const args = [{ dataset: "curated.customers" }];
    expect(await completeArguments("expenv.data.schema", args)).toBe(args);
    expect(api.showInputBox).not.toHaveBeenCalled();
  });

  it("does not ask for commands that need no dataset", async () => {
    expect(await completeArguments("expenv.status", [])).toEqual([]);
    expect(api.showInputBox).not.toHaveBeenCalled();
  });

  it("asks for the dataset of a data command run from the palette", async () => {
    vi.mocked(api.showInputBox).mockResolvedValue("  data/raw/customers.parquet ");
    expect(await completeArguments("expenv.data.preview", [])).toEqual([{ dataset: "data/raw/customers.parquet" }]);
  });

  it("cancels when the prompt is dismissed or empty", async () => {
    vi.mocked(api.showInputBox).mockResolvedValue(undefined);
    expect(await completeArguments("expenv.data.profile", [])).toBeUndefined();
    vi.mocked(api.showInputBox).mockResolvedValue("   ");
    expect(await completeArguments("expenv.data.profile", [])).toBeUndefined();
  });
});

describe("completeArguments for tracking commands", () => {
  beforeEach(() => vi.mocked(api.showInputBox).mockReset());

  it("asks for the run id to open", async () => {
    vi.mocked(api.showInputBox).mockResolvedValue("abc123");
    expect(await completeArguments("expenv.tracking.open", [])).toEqual([{ run_id: "abc123" }]);
  });

  it("splits run ids to compare", async () => {
    vi.mocked(api.showInputBox).mockResolvedValue("a1 b2, c3");
    expect(await completeArguments("expenv.tracking.compare", [])).toEqual([{ run_ids: ["a1", "b2", "c3"] }]);
  });
});

describe("pipeline prompts", () => {
  it("turn 'NAME TARGET' into the pipeline and target of a submission", async () => {
    const { showInputBox } = await import("../src/vscodeapi");
    vi.mocked(showInputBox).mockResolvedValueOnce("train  dev");
    const { completeArguments } = await import("../src/prompts");
    expect(await completeArguments("expenv.pipelines.submit", [])).toEqual([{ pipeline: "train", target: "dev" }]);
    vi.mocked(showInputBox).mockResolvedValueOnce("notebooks/prepare.ipynb dev");
    expect(await completeArguments("expenv.pipelines.runNotebook", [])).toEqual([
      { notebook: "notebooks/prepare.ipynb", target: "dev" },
    ]);
    vi.mocked(showInputBox).mockResolvedValueOnce("train-1a2b3c4d");
    expect(await completeArguments("expenv.pipelines.cancel", [])).toEqual([{ run: "train-1a2b3c4d" }]);
  });
});

describe("completeArguments for a new repository", () => {
  beforeEach(() => vi.mocked(api.showInputBox).mockReset());

  it("sends the folder and the key=value answers", async () => {
    vi.mocked(api.showInputBox).mockResolvedValue("/tmp/churn project_name=churn preprod_backend=docker");
    expect(await completeArguments("expenv.project.new", [])).toEqual([
      { dest: "/tmp/churn", answers: { project_name: "churn", preprod_backend: "docker" } },
    ]);
  });
});
