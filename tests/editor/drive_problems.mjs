// A notebook's cell diagnostics as a user sees them: open notebooks/NOTEBOOK from the explorer (its
// folder is expanded by then), open the Problems panel from the status bar and read its rows (file, message, position).
// Used by drive_notebook.mjs (problems:NOTEBOOK@TEXT: waits for a problem showing TEXT, e.g. its code).
import { stopwatch } from "./drive_pipeline.mjs";

export async function readProblems(page, _toolbar, arg, shots, durations) {
  const lap = stopwatch(durations);
  const [notebook, expected] = arg.split("@");
  await page.click(`.explorer-folders-view .monaco-list-row[aria-label^="${notebook}"]`, { timeout: 30000 });
  // its tab is the active one and its cells show (another notebook's editor may be open behind it)
  await page.locator(`.tab.active[aria-label^="${notebook}"]`).first().waitFor({ timeout: 60000 });
  await page.locator(".notebook-editor .cell:visible").first().waitFor({ timeout: 60000 });
  // the status bar's problem counts open the Problems panel, as a user clicks them
  await page.locator('[id="status.problems"]').first().click({ timeout: 30000 });
  const rows = page.locator(".markers-panel .monaco-list-row");
  // the daemon publishes each cell's diagnostics as it checks it: wait for the one expected
  await rows.filter({ hasText: notebook }).first().waitFor({ state: "visible", timeout: 120000 });
  await rows.filter({ hasText: expected }).first().waitFor({ state: "visible", timeout: 120000 });
  lap("problems_shown");
  await page.screenshot({ path: `${shots}-problems.png` });
  return { problems: (await rows.allInnerTexts()).map((text) => text.replace(/\s+/g, " ").trim()) };
}
