// Shows what a daemon command returned: the whole JSON in the log, one line in a notification.
import { showInformationMessage } from "./vscodeapi";
import type { OutputChannel } from "./vscodeapi";

const MAX_SUMMARY = 200;

function firstLine(text: string): string {
  const line = text.trim().split("\n")[0] ?? "";
  return line.length > MAX_SUMMARY ? `${line.slice(0, MAX_SUMMARY - 1)}…` : line;
}

/** One line for a notification: a string result, else the result's summary/message, else compact JSON. */
export function summarise(result: unknown): string {
  if (result === undefined || result === null) {
    return "done";
  }
  if (typeof result === "string") {
    return firstLine(result) || "done";
  }
  if (typeof result === "object") {
    const record = result as Record<string, unknown>;
    for (const key of ["summary", "message"]) {
      if (typeof record[key] === "string" && record[key]) {
        return firstLine(record[key] as string);
      }
    }
  }
  return firstLine(JSON.stringify(result) ?? String(result));
}

export function showCommandResult(
  command: string,
  result: unknown,
  channel: OutputChannel,
  showLog: () => void,
  shownElsewhere = false,
): void {
  channel.appendLine(`${command} returned:`);
  channel.appendLine(JSON.stringify(result ?? null, null, 2));
  if (shownElsewhere) {
    return; // a webview shows it
  }
  // Not awaited: the command is done; the notification must not hold up its caller.
  void showInformationMessage(`${command}: ${summarise(result)}`, "Show log").then((choice) => {
    if (choice === "Show log") {
      showLog();
    }
  });
}
