// What the editor drivers share: Debian's chromium (Playwright cannot download its own here) and
// running a command from code-server's palette.
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);

export async function launchChromium() {
  const { chromium } = require(process.env.PLAYWRIGHT_CORE);
  return chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
           "--disable-component-update", "--disable-sync"],
  });
}

/** Runs a command from the palette by clicking its own row (Enter would run the first match). */
export async function palette(page, title) {
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

/** Opens a page in chromium, runs `work(page, out)`, and prints `out` as one JSON line; a failure is
 * recorded as out.failure with a screenshot (SHOTS-failure.png), so the test reads what was seen. */
export async function drive(shots, work) {
  const browser = await launchChromium();
  const out = {};
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  try {
    await work(page, out);
  } catch (err) {
    out.failure = String(err);
    await page.screenshot({ path: `${shots}-failure.png` }).catch(() => undefined);
  } finally {
    await browser.close();
  }
  console.log(JSON.stringify(out));
}
