// Drive code-server in Debian's chromium: open the workspace, wait for the workbench, run
// "expenv: Show status" from the palette (F1), open the expenv views and print what the editor
// showed (SCREENSHOT with "-views": the four views and the status bar; with "-data": the Data view).
// With DATASET: a new file HOVER_FILE made from the explorer reads it, and the hover on its path
// string is read (SCREENSHOT with "-hover").
// Usage: node drive.mjs URL SCREENSHOT [DATASET]  (PLAYWRIGHT_CORE = path of the playwright-core package)
import { createRequire } from "node:module";
import { openEditor } from "./login.mjs";

const require = createRequire(import.meta.url);
const { chromium } = require(process.env.PLAYWRIGHT_CORE);
const [url, screenshot, dataset] = process.argv.slice(2);
const HOVER_FILE = "hover_check.py";

/** As a user writes a read of `dataset`: the explorer's New File... at the workspace root, one line,
 * saved. Then the mouse rests on its path string until the hover shows the dataset's table. */
async function hoverOnDatasetPath(page, out) {
  out.hoverFile = HOVER_FILE;
  await page.keyboard.press("Escape");
  await page.locator('.activitybar .action-item a[aria-label^="Explorer"]').first().click({ timeout: 10000 });
  const explorer = page.locator(".explorer-folders-view");
  const box = await explorer.boundingBox();
  // a click below the rows selects none: the new file goes to the workspace root
  await explorer.click({ position: { x: 40, y: box.height - 10 } });
  await explorer.hover();   // the view's title actions show on hover
  await page.locator('.sidebar a.action-label[aria-label^="New File"]').first().click({ timeout: 10000 });
  await page.locator(".explorer-folders-view .monaco-inputbox input").waitFor({ timeout: 10000 });
  await page.keyboard.type(HOVER_FILE);
  await page.keyboard.press("Enter");
  await page.locator(".editor-instance .monaco-editor.focused").waitFor({ timeout: 20000 });
  // inserted as one input (as a paste is): typed key by key, quotes and brackets would auto-close
  await page.keyboard.insertText(`customers = pd.read_parquet("${dataset}")`);
  await page.keyboard.press("Control+S");
  await page.locator(`.tab.active:not(.dirty)[aria-label*="${HOVER_FILE}"]`).waitFor({ timeout: 20000 });
  const token = page.locator(".editor-instance .view-line span span", { hasText: dataset }).first();
  const table = page.locator(".monaco-hover", { hasText: dataset }).locator("table").first();
  // the daemon's first answer may say "schema loading" on a loaded machine: hover again, as a user would
  const deadline = Date.now() + 90000;
  for (;;) {
    await token.hover();
    try {
      await table.waitFor({ timeout: 10000 });
      break;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await page.locator(".editor-instance .line-numbers").first().hover();   // away, then back
      await page.keyboard.press("Escape");
    }
  }
  const hover = page.locator(".monaco-hover", { hasText: dataset }).first();
  out.hover = {
    text: await hover.innerText(),
    columns: await table.locator("tbody tr").evaluateAll((rows) => rows
      .map((r) => [...r.querySelectorAll("td")].map((td) => td.textContent.trim()))),
  };
}

const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"],
});
const out = {};
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  await openEditor(page, url);
  await page.waitForSelector(".monaco-workbench", { timeout: 90000 });
  // the explorer shows the workspace's files
  await page.waitForSelector('.explorer-folders-view .monaco-list-row[aria-label*="expenv.toml"]', { timeout: 60000 });
  out.explorer = true;
  // the extension activates (workspaceContains:expenv.toml) and its daemon answers a command.
  // Retries re-open the palette from a known state: Escape closes whatever is open, a click
  // focuses the workbench, then F1 (which toggles) opens it.
  let shown = "";
  for (let attempt = 0; attempt < 6 && !shown.includes("expenv.status:"); attempt++) {
    await page.keyboard.press("Escape");
    await page.click(".explorer-folders-view", { timeout: 10000 });
    await page.keyboard.press("F1");
    const input = page.locator(".quick-input-widget input");
    try {
      await input.waitFor({ state: "visible", timeout: 10000 });
    } catch {
      continue;
    }
    await page.keyboard.type("expenv: Show status");
    // Click the command's own row: Enter runs the first row, and the fuzzy filter may rank
    // another command first ("expenv: Show pipeline run status" also matches the typed words)
    const row = page.locator(".quick-input-list .monaco-list-row", { hasText: /expenv: Show status/ }).first();
    try {
      await row.waitFor({ state: "visible", timeout: 10000 });
    } catch {
      continue;
    }
    await row.click();
    try {
      // the daemon may still be starting (and probing Docker, MLflow) on a loaded machine
      await page.locator(".notifications-toasts", { hasText: "expenv.status:" }).waitFor({ timeout: 30000 });
    } catch {
      // fall through: read what is shown, and try again
    }
    shown = await page.locator(".notifications-toasts").innerText().catch(() => "");
  }
  out.notification = shown;
  await page.screenshot({ path: screenshot });
  // The expenv views and status bar. Recorded, not fatal here: the test asserts on what was seen
  // (a failure is out.viewsError).
  try {
    await page.keyboard.press("Escape");
    await page.locator('.activitybar .action-item a[aria-label^="expenv"]').first().click({ timeout: 30000 });
    const data = page.locator(".pane", { has: page.locator(".pane-header", { hasText: /^\s*Data/i }) });
    // the raw root and the curated schema are expanded: their datasets are rows of the view
    await data.locator(".monaco-list-row", { hasText: "customers.parquet" }).waitFor({ timeout: 120000 });
    await page.screenshot({ path: screenshot.replace(/\.png$/, "-views.png") });
    // the tree renders only the rows in sight: collapse the other views so all of Data shows
    for (const name of ["Features", "Clusters", "Pipelines & Runs"]) {
      await page.locator(".pane-header.expanded", { hasText: name }).first().click({ timeout: 10000 });
    }
    // all of its rows are rendered once the list's content fits its viewport
    await page.waitForFunction(() => {
      const pane = [...document.querySelectorAll(".pane")]
        .find((p) => /^\s*Data/i.test(p.querySelector(".pane-header")?.textContent ?? ""));
      const rows = pane?.querySelector(".monaco-list-rows");
      const list = pane?.querySelector(".monaco-list");
      return !!rows && !!list && pane.querySelectorAll(".monaco-list-row").length > 0 &&
        rows.getBoundingClientRect().height <= list.getBoundingClientRect().height + 1;
    }, null, { timeout: 30000 });
    out.dataView = (await data.locator(".monaco-list-row .label-name").allInnerTexts()).map((t) => t.trim());
    // the stage (when the daemon reports one) and the clusters count follow the daemon's ready state
    await page.locator(".statusbar-item", { hasText: /^\s*\d+\s*$/ }).first().waitFor({ timeout: 30000 })
      .catch(() => undefined);
    out.statusBar = (await page.locator(".statusbar-item").allInnerTexts()).map((t) => t.trim()).filter(Boolean);
    out.statusBarLabels = await page.locator(".statusbar-item a, .statusbar-item .statusbar-item-label")
      .evaluateAll((els) => els.map((e) => e.getAttribute("aria-label") ?? "").filter(Boolean));
  } catch (err) {
    out.viewsError = String(err);
  }
  await page.screenshot({ path: screenshot.replace(/\.png$/, "-data.png") });
  if (dataset) {
    try {
      await hoverOnDatasetPath(page, out);
    } catch (err) {
      out.hoverError = String(err);
    }
    await page.screenshot({ path: screenshot.replace(/\.png$/, "-hover.png") });
  }
} finally {
  await browser.close();
}
console.log(JSON.stringify(out));
