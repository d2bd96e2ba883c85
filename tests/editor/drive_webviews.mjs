// Drive code-server in Debian's chromium through the expenv webviews: from the Data view, open
// DATASET's preview grid (read its typed headers and marked nulls, sort a column, go to the next
// page, open its profile); then open the lineage graph from the palette and click FEATURE_VIEW's node, which opens
// its definition. Webviews live in nested iframes: their frames are found by the page they hold.
// Prints what the editor showed, with each step's duration in ms.
// Usage: node drive_webviews.mjs URL SCREENSHOT_PREFIX DATASET SORT_COLUMN FEATURE_VIEW_NODE
import { drive, palette } from "./workbench.mjs";
import { openEditor } from "./login.mjs";

const [url, shots, dataset, sortColumn, featureNode] = process.argv.slice(2);
const file = dataset.slice(dataset.lastIndexOf("/") + 1);

let page;
const timings = {};

async function step(name, work) {
  const started = Date.now();
  try {
    return await work();
  } finally {
    timings[name] = Date.now() - started;
  }
}

/** The frame of the expenv webview whose page says data-view=VIEW and has SELECTOR, once it has. */
async function webviewFrame(view, selector, timeout = 120000) {
  const deadline = Date.now() + timeout;
  while (Date.now() < deadline) {
    for (const frame of page.frames()) {
      const found = await frame.evaluate(([v, s]) => document.body?.dataset.view === v && !!document.querySelector(s),
        [view, selector]).catch(() => false);
      if (found) {
        return frame;
      }
    }
    await page.waitForTimeout(250); // frames appear asynchronously: poll them until the deadline
  }
  throw new Error(`no ${view} webview showing ${selector}`);
}

async function gridState(frame) {
  return frame.evaluate(() => ({
    headers: [...document.querySelectorAll("table.grid thead th")].map((th) => ({
      name: th.querySelector(".name").textContent, type: th.querySelector(".type").textContent,
      sort: th.getAttribute("aria-sort") })),
    rows: [...document.querySelectorAll("table.grid tbody tr")].map((tr) => [...tr.children].map((td) =>
      td.dataset.null === "true" ? null : td.textContent)),
    nullCells: document.querySelectorAll("table.grid td.null").length,
    nullLabel: document.querySelector("table.grid td.null")?.textContent ?? null,
    range: document.querySelector(".toolbar .range")?.textContent ?? "",
  }));
}

await drive(shots, async (opened, out) => {
  page = opened;
  out.timings = timings;
  await step("open editor", async () => {
    await openEditor(page, url);
    await page.waitForSelector(".monaco-workbench", { timeout: 90000 });
    await page.waitForSelector('.explorer-folders-view .monaco-list-row[aria-label*="expenv.toml"]', { timeout: 60000 });
  });

  const grid = await step("open preview grid from the Data view", async () => {
    await page.locator('.activitybar .action-item a[aria-label^="expenv"]').first().click({ timeout: 30000 });
    const data = page.locator(".pane", { has: page.locator(".pane-header", { hasText: /^\s*Data/i }) });
    const row = data.locator(".monaco-list-row", { hasText: file });
    // the dataset was added after the view was read: the view's Refresh action reads it again
    for (let attempt = 0; attempt < 10 && !(await row.count()); attempt++) {
      await data.locator(".pane-header").hover();
      await data.locator('.pane-header .action-label[aria-label^="Refresh views"]').click({ timeout: 10000 });
      await row.waitFor({ timeout: 15000 }).catch(() => undefined);
    }
    // Hover, not click: a click expands the row, and the list re-rendering when its columns arrive
    // can swallow a click on the action. Opening again only reveals the same panel.
    for (let attempt = 1; ; attempt++) {
      await row.hover();
      await row.locator('.action-label[aria-label^="Open preview"]').click({ timeout: 10000 });
      try {
        return await webviewFrame("grid", "table.grid tbody tr", 30000);
      } catch (err) {
        if (attempt === 4) {
          throw err;
        }
      }
    }
  });
  out.grid = await gridState(grid);
  await page.screenshot({ path: `${shots}-grid.png` });

  await step("sort a column", async () => {
    await grid.locator(`th[data-column="${sortColumn}"] button.sort`).click();
    await grid.locator(`th[data-column="${sortColumn}"][aria-sort="ascending"]`).waitFor({ timeout: 10000 });
  });
  out.sorted = await gridState(grid);
  await page.screenshot({ path: `${shots}-grid-sorted.png` });

  await step("next page", async () => {
    await grid.locator("button.next").click();
    await grid.locator(".toolbar .range", { hasText: /^Rows 101–/ }).waitFor({ timeout: 60000 });
  });
  out.nextPage = await gridState(grid);

  const profile = await step("open the profile from the grid", async () => {
    await grid.locator("button.profile").click();
    return webviewFrame("profile", ".card .nullrate");
  });
  out.profile = await profile.locator(".card").evaluateAll((cards) => cards.map((card) => ({
    column: card.dataset.column, nullRate: Number(card.querySelector(".nullrate").dataset.nullRate),
    bars: card.querySelectorAll("svg.histogram rect").length })));
  await page.screenshot({ path: `${shots}-profile.png` });

  const lineage = await step("open lineage graph", async () => {
    await palette(page, "expenv: Show feature lineage");
    return webviewFrame("lineage", "svg.canvas g.node", 300000);
  });
  out.lineageNodes = await lineage.locator("g.node").evaluateAll((nodes) => nodes.map((n) => n.getAttribute("data-id")));
  out.lineageEdges = await lineage.locator("path.edge").count();
  await page.screenshot({ path: `${shots}-lineage.png` });

  await step("click a node: its definition opens", async () => {
    await lineage.locator(`g.node[data-id="${featureNode}"]`).click();
    const tab = page.locator(".tabs-container .tab.active", { hasText: /\.py/ });
    await tab.waitFor({ timeout: 60000 });
    out.definitionTab = (await tab.innerText()).replace(/\s+/g, "");   // its label and suffix are two spans
    const cursor = page.locator(".statusbar-item", { hasText: /Ln \d+, Col \d+/ }).first();
    await cursor.waitFor({ timeout: 30000 });
    out.cursor = (await cursor.innerText()).trim();
  });
  await page.screenshot({ path: `${shots}-definition.png` });
});
