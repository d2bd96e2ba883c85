// Codespaces and VS Code for the Web (issue 14, item 7). The extension host that loads
// dist/extension.js is the workspace's (extensionKind "workspace", no "browser" entry): a desktop
// window, a remote/devcontainer, or a codespace opened in the browser, all Node. What runs in the
// browser are the webview pages: they must bundle for the browser with no Node built-in.
import { builtinModules } from "node:module";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { build } from "esbuild";
import { describe, expect, it } from "vitest";

const root = resolve(__dirname, "..");
const manifest = JSON.parse(readFileSync(resolve(root, "package.json"), "utf8"));
const NODE_BUILTINS = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));

describe("where the extension runs", () => {
  it("runs in the workspace's extension host only: no web-worker entry point", () => {
    expect(manifest.extensionKind).toEqual(["workspace"]);
    expect(manifest.browser).toBeUndefined();   // vscode.dev alone has no machine to run the daemon on
    expect(manifest.capabilities.virtualWorkspaces).toBe(false);
  });

  it.each(["webview/data.ts", "webview/lineage.ts"])("%s bundles for the browser with no Node built-in", async (entry) => {
    const result = await build({
      entryPoints: [resolve(root, entry)], bundle: true, platform: "browser", format: "iife", write: false,
      metafile: true, logLevel: "silent", absWorkingDir: root,
    });
    const imported = Object.values(result.metafile.inputs).flatMap((input) => input.imports.map((i) => i.path));
    expect(imported.filter((path) => NODE_BUILTINS.has(path))).toEqual([]);
    const inputs = Object.keys(result.metafile.inputs);
    expect(inputs.filter((path) => !path.startsWith("webview/") && !path.startsWith("src/webviews/protocol.ts") &&
      !path.startsWith("node_modules/elkjs/"))).toEqual([]);   // the page's code, the message types, the layout
  });
});
