// Run the open notebook as a pipeline, as a user does: click "Run notebook as pipeline…" in the
// notebook toolbar, pick the target in the quick pick, wait for the run's final notification, and
// read the run's row in the Pipelines & Runs view. Used by drive_notebook.mjs (pipeline:TARGET).

const BUTTON = "Run notebook as pipeline";
const RUN_ENDED = /pipeline run (\S+) (FINISHED|FAILED|CANCELLED)/;

/** Clicks the toolbar's button, or its entry under the toolbar's "More Actions..." when it overflows. */
export async function clickToolbarButton(page, toolbar, label) {
  const button = toolbar.locator(`[aria-label^="${label}"]`).first();
  if (await button.isVisible().catch(() => false)) {
    await button.click();
    return;
  }
  await toolbar.locator('[aria-label^="More Actions"]').first().click({ timeout: 10000 });
  await page.locator(".context-view .action-item", { hasText: label }).first().click({ timeout: 10000 });
}

/** One of the expenv views' panes, expanded (a collapsed state persists per workspace), with the
 * Data pane collapsed (it lists many rows) so that the pane's rows are in sight. */
export async function expenvPane(page, title) {
  await page.keyboard.press("Escape");
  const container = page.locator('.activitybar .action-item a[aria-label^="expenv"]').first();
  if ((await container.getAttribute("aria-expanded").catch(() => null)) !== "true") {
    await container.click({ timeout: 30000 });
  }
  const header = page.locator(".pane-header", { hasText: title }).first();
  await header.waitFor({ timeout: 30000 });
  if ((await header.getAttribute("aria-expanded")) !== "true") {
    await header.click();
  }
  const data = page.locator(".pane-header.expanded", { hasText: /^\s*Data/ }).first();
  if (title !== "Data" && await data.isVisible().catch(() => false)) {
    await data.click();
  }
  return page.locator(".pane", { has: header });
}

/** lap(name) records the milliseconds since the previous lap (or since now) as durations[name]. */
export function stopwatch(durations) {
  let mark = Date.now();
  return (name) => {
    durations[name] = Date.now() - mark;
    mark = Date.now();
  };
}

/** Returns what the editor showed; `durations` gets each step's milliseconds. */
export async function runAsPipeline(page, toolbar, target, shots, durations) {
  const out = {};
  const lap = stopwatch(durations);
  await clickToolbarButton(page, toolbar, BUTTON);
  // two targets (dev, preprod): the extension asks which one
  const option = page.locator(".quick-input-widget").getByRole("option", { name: target, exact: true });
  await option.waitFor({ timeout: 60000 });
  out.targets = (await page.locator(".quick-input-list .monaco-list-row").allInnerTexts()).map((t) => t.trim());
  lap("pick_shown");
  await option.click();
  const toast = page.locator(".notifications-toasts .notification-toast", { hasText: RUN_ENDED }).first();
  await toast.waitFor({ timeout: 900000 });
  lap("run_ended");
  out.notification = (await toast.innerText()).trim();
  [, out.run, out.status] = out.notification.match(RUN_ENDED);
  out.mlflowButton = await toast.locator(".monaco-button", { hasText: "Open MLflow run" }).count() > 0;
  await page.screenshot({ path: `${shots}-pipeline-notification.png` });
  const pane = await expenvPane(page, "Pipelines & Runs");
  const row = pane.locator(".monaco-list-row", { hasText: out.run }).first();
  await row.waitFor({ timeout: 60000 });
  // the view refreshes on the run's end: its row says how it ended
  await pane.locator(".monaco-list-row", { hasText: `${out.run}` }).filter({ hasText: out.status })
    .first().waitFor({ timeout: 30000 }).catch(() => undefined);
  out.runRow = (await row.innerText()).replace(/\s+/g, " ").trim();
  lap("view_shows_run");
  await page.screenshot({ path: `${shots}-pipeline-view.png` });
  return out;
}
