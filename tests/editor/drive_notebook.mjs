// Drive code-server in Debian's chromium through the example notebook: open
// notebooks/explore.ipynb from the explorer, read which controller the notebook opened on (no
// kernel pick is made), run all cells, wait until they end, save, and print what the editor showed.
// With NOTEBOOK and actions it opens notebooks/NOTEBOOK and, in the order given: runs all its cells
// (run-all), from the notebook toolbar runs it as a pipeline on TARGET (drive_pipeline.mjs), attaches
// a cluster of PROFILE and stops it from the Clusters view (drive_clusters.mjs), checks parity
// (drive_parity.mjs), or opens notebooks/OTHER and reads the Problems panel once it shows TEXT (drive_problems.mjs).
// Usage: node drive_notebook.mjs URL SCREENSHOT_PREFIX [NOTEBOOK [run-all,pipeline:TARGET,attach:PROFILE,parity:,problems:OTHER@TEXT]]
//   (PLAYWRIGHT_CORE = path of playwright-core)
import { createRequire } from "node:module";
import { openEditor } from "./login.mjs";

const require = createRequire(import.meta.url);
const { chromium } = require(process.env.PLAYWRIGHT_CORE);
const [url, shots, notebook = "explore.ipynb", action = "run-all"] = process.argv.slice(2);
const CONTROLLER = "expenv: production image";

const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"],
});
const out = {};
const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });

/** Runs a command from the palette by clicking its own row (Enter would run the first match). */
async function palette(title) {
  for (let attempt = 0; attempt < 5; attempt++) {
    await page.keyboard.press("Escape");
    await page.keyboard.press("F1");
    const input = page.locator(".quick-input-widget input");
    try {
      await input.waitFor({ state: "visible", timeout: 10000 });
      await input.fill(`>${title}`);
      const row = page.locator(".quick-input-list .monaco-list-row", { hasText: title }).first();
      await row.waitFor({ state: "visible", timeout: 10000 });
      await row.click();
      return;
    } catch {
      // the palette closed or the command is not registered yet: try again from a known state
    }
  }
  throw new Error(`the palette did not run "${title}"`);
}

/** Runs every cell on the controller the notebook opened on (no pick made), saves, and scrolls to the end. */
async function runAll(page, toolbar, _arg, shots) {
  const seen = {};
  // The controller the notebook opened on, without any pick: affinity Preferred does it
  const kernel = toolbar.getByText(CONTROLLER).first();
  seen.kernel = await kernel.waitFor({ timeout: 60000 }).then(() => CONTROLLER, async () => toolbar.innerText());
  await page.screenshot({ path: `${shots}-opened.png` });
  await palette("Notebook: Run All");
  // While cells run the toolbar offers "Interrupt"; it goes when the last cell has ended
  const interrupt = page.locator('.notebook-toolbar-container [aria-label^="Interrupt"]');
  await interrupt.first().waitFor({ state: "visible", timeout: 60000 }).catch(() => undefined);
  await interrupt.first().waitFor({ state: "hidden", timeout: 900000 });
  seen.errors = await page.locator(".codicon-notebook-state-error").count();
  await page.screenshot({ path: `${shots}-ran.png` });
  await palette("File: Save");
  seen.saved = true;
  // the last cell (the MLflow run) in view, for the screenshot
  await page.mouse.move(700, 500);   // over the notebook's cells
  await page.mouse.wheel(0, 100000);
  await page.getByText("run.info.run_id").first().waitFor({ timeout: 10000 }).catch(() => undefined);
  await page.screenshot({ path: `${shots}-end.png` });
  return seen;
}

const started = Date.now();
try {
  await openEditor(page, url);
  await page.waitForSelector(".monaco-workbench", { timeout: 90000 });
  const explorer = ".explorer-folders-view .monaco-list-row";
  await page.click(`${explorer}[aria-label^="notebooks"]`, { timeout: 60000 });
  // Opened before the built-in ipynb extension has registered its serializer, code-server shows
  // the file as JSON text: close that editor and open the file again. The text editor is the one
  // whose URI ends with the file's name (a notebook cell's URI ends with a #fragment).
  const toolbar = page.locator(".notebook-toolbar-container");
  const asText = page.locator(`.editor-instance [data-uri$="/${notebook}"]`);
  let attempts = 0;
  for (; attempts < 8; attempts++) {
    await page.click(`${explorer}[aria-label^="${notebook}"]`, { timeout: 30000 });
    try {
      await toolbar.or(asText).first().waitFor({ state: "visible", timeout: 30000 });
      await toolbar.waitFor({ state: "visible", timeout: 2000 });
      break;
    } catch {
      await palette("View: Close All Editors");
    }
  }
  await toolbar.waitFor({ state: "visible", timeout: 5000 });
  out.durations = { open: Date.now() - started };
  out.openAttempts = attempts + 1;
  const { runAsPipeline } = await import("./drive_pipeline.mjs");
  const { attachAndStop } = await import("./drive_clusters.mjs");
  const { checkParity } = await import("./drive_parity.mjs");
  const { readProblems } = await import("./drive_problems.mjs");
  const steps = { "run-all": runAll, pipeline: runAsPipeline, attach: attachAndStop, parity: checkParity,
                  problems: readProblems };
  for (const part of action.split(",")) {   // in turn, in one editor session
    const [verb, arg] = part.split(":");
    Object.assign(out, await steps[verb](page, toolbar, arg, shots, out.durations, palette));
  }
} catch (err) {
  out.failure = String(err);
  await page.screenshot({ path: `${shots}-failure.png` }).catch(() => undefined);
} finally {
  await browser.close();
}
console.log(JSON.stringify(out));
