// Attach a cluster to the open notebook, as a user does: click "Attach cluster…" in the notebook
// toolbar and pick a profile (the daemon launches it), see the connection cell at the top and the
// cluster running in the Clusters view, then stop it from the view's row. Used by
// drive_notebook.mjs (attach:PROFILE).
import { clickToolbarButton, expenvPane, stopwatch } from "./drive_pipeline.mjs";

// Monaco renders spaces as no-break spaces: \s matches both
const CELL = /#\s+expenv:\s+cluster\s+(\S+)\s+\(profile/;

/** Returns what the editor showed; `durations` gets each step's milliseconds. */
export async function attachAndStop(page, toolbar, profile, shots, durations) {
  const out = {};
  const lap = stopwatch(durations);
  const option = page.locator(".quick-input-widget").getByRole("option", { name: profile, exact: true });
  await clickToolbarButton(page, toolbar, "Attach cluster", option);
  lap("pick_shown");
  await option.click();
  // the daemon's connection cell goes in at the top of the notebook once the cluster runs
  const cell = page.locator(".notebook-editor .view-lines", { hasText: CELL }).first();
  await cell.waitFor({ timeout: 180000 });
  out.cell = (await cell.innerText()).replace(/\u00a0/g, " ");
  [, out.cluster] = out.cell.match(CELL);
  lap("attached");
  const pane = await expenvPane(page, "Clusters");
  const row = pane.locator(".monaco-list-row", { hasText: out.cluster }).first();
  // the cluster is a child of its profile's row, which stays as the user left it (collapsed):
  // once either shows, open the profile's row if the cluster's is not in sight
  const parent = pane.locator(`.monaco-list-row[aria-label^="${profile}"]`).first();
  await row.or(parent).first().waitFor({ timeout: 60000 });
  if (!(await row.isVisible()) && (await parent.getAttribute("aria-expanded")) !== "true") {
    await parent.click();
  }
  await row.waitFor({ timeout: 60000 });
  out.runningRow = (await row.innerText()).replace(/\s+/g, " ").trim();
  lap("view_shows_cluster");
  await page.screenshot({ path: `${shots}-cluster-running.png` });
  // the row's inline actions show on hover
  await row.hover();
  await row.locator('.action-label[aria-label="Stop"]').click({ timeout: 10000 });
  await row.waitFor({ state: "detached", timeout: 120000 });
  out.goneFromView = true;
  lap("stopped_from_view");
  await page.screenshot({ path: `${shots}-cluster-stopped.png` });
  return out;
}
