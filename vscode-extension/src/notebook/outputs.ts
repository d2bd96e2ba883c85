// Jupyter outputs (nbformat dicts, as the daemon's expenv.kernels.execute streams them) as the
// items of VS Code's built-in renderers. Pure: no vscode import, so unit tests need no editor.
import type { OutputItemData } from "../vscodeapi";

export const STDOUT_MIME = "application/vnd.code.notebook.stdout";
export const STDERR_MIME = "application/vnd.code.notebook.stderr";
export const ERROR_MIME = "application/vnd.code.notebook.error";

/** The richest first: VS Code shows an output's first item it has a renderer for. */
const MIME_ORDER = [
  "application/vnd.jupyter.widget-view+json",
  "application/javascript",
  "text/html",
  "image/svg+xml",
  "text/markdown",
  "text/latex",
  "image/png",
  "image/jpeg",
  "image/gif",
  "application/json",
  "text/plain",
];

export type JupyterOutput =
  | { output_type: "stream"; name: string; text: string | string[] }
  | { output_type: "error"; ename: string; evalue: string; traceback: string[] }
  | { output_type: "display_data" | "execute_result"; data: Record<string, unknown>; metadata?: object;
      execution_count?: number | null }
  | { output_type: "clear_output"; wait?: boolean };

const encoder = new TextEncoder();

function text(value: unknown): string {
  return Array.isArray(value) ? value.join("") : typeof value === "string" ? value : JSON.stringify(value);
}

/** base64 to bytes without Node's Buffer (the same code runs in a web worker extension host). */
function base64(value: string): Uint8Array {
  const binary = atob(value.replace(/\s/g, ""));
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}

function rank(mime: string): number {
  const at = MIME_ORDER.indexOf(mime);
  return at === -1 ? MIME_ORDER.length - 1 : at; // unknown mimes before text/plain, after the known ones
}

function mimeItem(mime: string, value: unknown): OutputItemData {
  if (mime.startsWith("image/") && mime !== "image/svg+xml") {
    return { mime, data: base64(text(value)) };
  }
  if (mime === "application/json" || mime.endsWith("+json")) {
    return { mime, data: encoder.encode(typeof value === "string" ? value : JSON.stringify(value)) };
  }
  return { mime, data: encoder.encode(text(value)) };
}

/** The items of one output, or undefined for clear_output (the caller clears instead). */
export function outputItems(output: JupyterOutput): OutputItemData[] | undefined {
  switch (output.output_type) {
    case "stream":
      return [{ mime: output.name === "stderr" ? STDERR_MIME : STDOUT_MIME, data: encoder.encode(text(output.text)) }];
    case "error":
      return [
        {
          mime: ERROR_MIME,
          data: encoder.encode(
            JSON.stringify({ name: output.ename, message: output.evalue, stack: output.traceback.join("\n") }),
          ),
        },
      ];
    case "display_data":
    case "execute_result":
      return Object.entries(output.data)
        .sort(([a], [b]) => rank(a) - rank(b))
        .map(([mime, value]) => mimeItem(mime, value));
    default:
      return undefined;
  }
}

/** True when `next` continues `previous` (stream text of one name): VS Code shows them as one output. */
export function continuesStream(previous: JupyterOutput | undefined, next: JupyterOutput): boolean {
  return (
    previous?.output_type === "stream" && next.output_type === "stream" && previous.name === next.name
  );
}

/** What VS Code's ipynb serializer reads back to save the output as Jupyter wrote it (an
 * execute_result keeps its type and execution count instead of becoming display_data). */
export function outputMetadata(output: JupyterOutput): Record<string, unknown> {
  if (output.output_type === "execute_result" || output.output_type === "display_data") {
    const count = output.execution_count;
    return { outputType: output.output_type, metadata: output.metadata ?? {}, ...(count ? { executionCount: count } : {}) };
  }
  return { outputType: output.output_type };
}
