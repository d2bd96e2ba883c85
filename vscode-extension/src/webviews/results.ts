// Palette runs of the daemon's data and lineage commands open the webviews on what they answered,
// instead of leaving JSON in the log (src/results.ts still logs it). The answer is handed over as
// the webview's first content, so the daemon does not run the same query a second time.
import type { WebviewOpeners } from "./panels";

function datasetOf(result: unknown): string | undefined {
  const ref = (result as { ref?: { name?: unknown } } | null)?.ref;
  return typeof ref?.name === "string" ? ref.name : undefined;
}

/** Opens the webview for a daemon command's result; false when the command has none. */
export function showInWebview(webviews: WebviewOpeners, command: string, result: unknown): boolean {
  const dataset = datasetOf(result);
  if (command === "expenv.data.preview" && dataset) {
    webviews.openPreview(dataset, result);
    return true;
  }
  if (command === "expenv.data.profile" && dataset) {
    webviews.openProfile(dataset, result);
    return true;
  }
  if (command === "expenv.features.lineage" && result && typeof result === "object") {
    const center = (result as { attrs?: { center?: unknown } }).attrs?.center;
    webviews.openLineage(typeof center === "string" ? center : null, result);
    return true;
  }
  return false;
}
