// "Check parity" from the notebook toolbar, as a user does: click it, wait for the daemon's answer
// in a notification (the report's one-line summary; the whole report is in the expenv log).
// Used by drive_notebook.mjs (parity:).
import { stopwatch } from "./drive_pipeline.mjs";

const BUTTON = "Check parity";
const ANSWER = /expenv\.environment\.parity: (.+)/;

export async function checkParity(page, toolbar, _arg, shots, durations) {
  const lap = stopwatch(durations);
  const toast = page.locator(".notifications-toasts .notification-toast", { hasText: ANSWER }).first();
  // once (by now the extension is active): each click would run a check
  const button = toolbar.locator(`[aria-label^="${BUTTON}"]`).first();
  if (await button.isVisible().catch(() => false)) {
    await button.click();
  } else {
    await toolbar.locator('[aria-label^="More Actions"]').first().click({ timeout: 10000 });
    await page.locator(".context-view .action-item", { hasText: BUTTON }).first().click({ timeout: 10000 });
  }
  // the first answer builds the image's package snapshot: minutes on a loaded machine
  await toast.waitFor({ timeout: 600000 });
  lap("parity_answered");
  await page.screenshot({ path: `${shots}-parity.png` });
  const text = (await toast.locator(".notification-list-item-message").first().innerText()).trim();
  return { parity: text.match(ANSWER)?.[1] ?? text };
}
