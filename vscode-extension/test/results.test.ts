import { describe, expect, it, vi } from "vitest";
import { summarise } from "../src/results";

vi.mock("../src/vscodeapi", () => ({ showInformationMessage: vi.fn() }));

describe("summarise", () => {
  it("uses the first line of a string result", () => {
    expect(summarise("daemon ok\nservices: data, runs")).toBe("daemon ok");
  });

  it("prefers a summary or message field", () => {
    expect(summarise({ message: "ready", x: 1 })).toBe("ready");
    expect(summarise({ summary: "2 clusters", message: "ignored" })).toBe("2 clusters");
  });

  it("falls back to compact JSON, cut to one short line", () => {
    expect(summarise({ ok: true })).toBe('{"ok":true}');
    const long = summarise({ rows: "x".repeat(500) });
    expect(long.length).toBe(200);
    expect(long.endsWith("…")).toBe(true);
  });

  it("says done for an empty result", () => {
    expect(summarise(null)).toBe("done");
    expect(summarise(undefined)).toBe("done");
  });
});
