// code-server asks for the password of this start: editor.sh writes it, 0600, to the workspace's
// .expenv state dir, and `make up` prints it. The tests read it as a user would and pass it in
// EXPENV_EDITOR_PASSWORD (not on the command line, which `ps` shows).
export async function openEditor(page, url) {
  await page.goto(url, { waitUntil: "domcontentloaded", timeout: 60000 });
  if (!new URL(page.url()).pathname.endsWith("/login")) return;
  const password = process.env.EXPENV_EDITOR_PASSWORD;
  if (!password) throw new Error("code-server asks for a password: set EXPENV_EDITOR_PASSWORD");
  await page.fill('input[name="password"]', password);
  await Promise.all([
    page.waitForURL((u) => !u.pathname.endsWith("/login"), { timeout: 60000 }),
    page.click('input[type="submit"]'),
  ]);
}
