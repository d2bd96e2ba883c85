// The messages between the extension and its webviews, and the checks the extension applies to
// every message a webview sends (a webview is untrusted content: nothing it says is used unchecked).

export const PAGE_SIZE = 100;
/** The daemon's own bound on a preview's offset (services/data/service.py MAX_OFFSET). */
export const MAX_OFFSET = 100_000_000;
const MAX_ID = 1000;

export interface GridColumn {
  name: string;
  type: string;
}

/** A grid's sort: the whole dataset by one column, done by the daemon (nulls last). */
export interface GridSort {
  column: string;
  descending: boolean;
}

/** Extension → data grid webview. */
export type GridUpdate =
  | { type: "page"; dataset: string; columns: GridColumn[]; rows: unknown[][]; offset: number; limit: number;
      rowCount: number | null; sort: GridSort | null }
  | { type: "profile"; dataset: string; profile: unknown }
  | { type: "error"; message: string };

/** Data grid webview → extension. */
export type GridRequest = { type: "ready" } | { type: "page"; offset: number; sort?: GridSort } | { type: "profile" };

export type Direction = "both" | "up" | "down";
const DIRECTIONS: readonly string[] = ["both", "up", "down"];

/** Extension → lineage webview. */
export type LineageUpdate =
  | { type: "graph"; graph: unknown; center: string | null; direction: Direction }
  | { type: "error"; message: string };

/** Lineage webview → extension. */
export type LineageRequest =
  | { type: "ready" }
  | { type: "open"; id: string }
  | { type: "focus"; center: string | null; direction: Direction };

function record(raw: unknown): Record<string, unknown> | undefined {
  return typeof raw === "object" && raw !== null && !Array.isArray(raw) ? (raw as Record<string, unknown>) : undefined;
}

const isId = (v: unknown): v is string => typeof v === "string" && v.length > 0 && v.length <= MAX_ID;

/** A grid request when `raw` is one exactly, else undefined (the caller drops it). */
export function parseGridRequest(raw: unknown): GridRequest | undefined {
  const m = record(raw);
  if (m?.type === "ready" || m?.type === "profile") {
    return { type: m.type };
  }
  if (m?.type === "page" && Number.isSafeInteger(m.offset) && (m.offset as number) >= 0 &&
      (m.offset as number) <= MAX_OFFSET) {
    if (m.sort === undefined) {
      return { type: "page", offset: m.offset as number };
    }
    const sort = record(m.sort);
    // a column name is only passed on: the daemon checks it against the dataset's schema
    if (sort && isId(sort.column) && typeof sort.descending === "boolean") {
      return { type: "page", offset: m.offset as number, sort: { column: sort.column, descending: sort.descending } };
    }
  }
  return undefined;
}

/** A lineage request when `raw` is one exactly, else undefined. Node ids are checked against the
 * graph shown by the caller: an id is only a key, never a path or a URL. */
export function parseLineageRequest(raw: unknown): LineageRequest | undefined {
  const m = record(raw);
  if (m?.type === "ready") {
    return { type: "ready" };
  }
  if (m?.type === "open" && isId(m.id)) {
    return { type: "open", id: m.id };
  }
  if (m?.type === "focus" && (m.center === null || isId(m.center)) && typeof m.direction === "string" &&
      DIRECTIONS.includes(m.direction)) {
    return { type: "focus", center: m.center as string | null, direction: m.direction as Direction };
  }
  return undefined;
}
