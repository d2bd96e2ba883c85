// The data grid (typed headers, nulls marked, sortable columns, pages read through the daemon)
// and the profile (null rates and histograms): one script, the page's data-view says which.
// A sort is the whole dataset's, done by the daemon: a header click asks for page one sorted so.
import type { GridColumn, GridSort, GridUpdate } from "../src/webviews/protocol";
import { app, el, host, showError, svg } from "./host";

type Page = Extract<GridUpdate, { type: "page" }>;
let page: Page | undefined;

function cellText(value: unknown): string {
  return typeof value === "object" ? JSON.stringify(value) : String(value);
}

/** A page request that keeps the page's sort. */
function pageRequest(offset: number, sort: GridSort | null): Record<string, unknown> {
  return sort ? { type: "page", offset, sort } : { type: "page", offset };
}

/** A click cycles a column: ascending, descending, the dataset's own order. */
export function nextSort(current: GridSort | null, column: string): GridSort | null {
  if (current?.column !== column) {
    return { column, descending: false };
  }
  return current.descending ? null : { column, descending: true };
}

function header(column: GridColumn, sort: GridSort | null): HTMLElement {
  const state = sort?.column === column.name ? (sort.descending ? "descending" : "ascending") : "none";
  const button = el("button", { class: "sort", title: `Sort the whole dataset by ${column.name}` },
    el("span", { class: "name" }, column.name),
    el("span", { class: "type" }, column.type || "?"),
    el("span", { class: "arrow" }, state === "ascending" ? "▲" : state === "descending" ? "▼" : ""));
  button.addEventListener("click", () => host.postMessage(pageRequest(0, nextSort(sort, column.name))));
  return el("th", { "aria-sort": state, "data-column": column.name, "data-type": column.type }, button);
}

function cell(value: unknown): HTMLElement {
  if (value === null || value === undefined) {
    return el("td", { class: "null", "data-null": "true", title: "null" }, "NULL");
  }
  return el("td", typeof value === "number" ? { class: "number" } : {}, cellText(value));
}

function render(): void {
  if (!page) {
    return;
  }
  const { dataset, columns, rows, offset, limit, rowCount, sort } = page;
  const last = offset + rows.length;
  const total = rowCount === null ? "" : ` of ${rowCount.toLocaleString()}`;
  const range = rows.length ? `Rows ${(offset + 1).toLocaleString()}–${last.toLocaleString()}${total}` : `No rows${total}`;
  const previous = el("button", { class: "previous", title: "Previous page" }, "◀ Previous");
  const next = el("button", { class: "next", title: "Next page" }, "Next ▶");
  const profile = el("button", { class: "profile", title: "Null rates and histograms" }, "Profile");
  previous.toggleAttribute("disabled", offset === 0);
  next.toggleAttribute("disabled", rows.length < limit || (rowCount !== null && last >= rowCount));
  previous.addEventListener("click", () => host.postMessage(pageRequest(Math.max(offset - limit, 0), sort)));
  next.addEventListener("click", () => host.postMessage(pageRequest(offset + limit, sort)));
  profile.addEventListener("click", () => host.postMessage({ type: "profile" }));
  const body = el("tbody", {}, ...rows.map((row) => el("tr", {}, ...row.map(cell))));
  const table = el("table", { class: "grid", "aria-label": dataset },
    el("thead", {}, el("tr", {}, ...columns.map((column) => header(column, sort)))), body);
  app().replaceChildren(
    el("div", { class: "toolbar" }, el("span", { class: "title" }, dataset), el("span", { class: "range" }, range),
      previous, next, profile,
      el("span", { class: "hint" }, sort ? `whole dataset by ${sort.column}${sort.descending ? ", descending" : ""}` : "")),
    el("div", { class: "scroll" }, table));
}

// ---- profile -------------------------------------------------------------------------------------

interface ColumnProfile {
  name: string;
  type: string;
  nulls: number;
  distinct_estimate?: number | null;
  min?: unknown;
  max?: unknown;
  mean?: number | null;
  top_values?: Array<[unknown, number]>;
  histogram?: Array<[number, number, number]>;
}

interface Profile {
  row_count: number;
  sampled?: boolean;
  sample_rows?: number | null;
  columns: ColumnProfile[];
}

function bars(counts: number[], labels: string[], title: string): SVGElement {
  const width = 240;
  const height = 60;
  const most = Math.max(...counts, 1);
  const step = width / Math.max(counts.length, 1);
  return svg("svg", { class: "histogram", viewBox: `0 0 ${width} ${height}`, preserveAspectRatio: "none", role: "img",
    "aria-label": title },
    ...counts.map((count, i) => {
      const h = Math.max((count / most) * (height - 2), count ? 1 : 0);
      return svg("rect", { x: i * step + 1, y: height - h, width: Math.max(step - 2, 1), height: h },
        svg("title", {}, `${labels[i]}: ${count.toLocaleString()}`));
    }));
}

function profileCard(column: ColumnProfile, rows: number): HTMLElement {
  const rate = rows > 0 ? column.nulls / rows : 0;
  const fill = el("div", { class: "fill" });
  fill.style.width = `${(rate * 100).toFixed(1)}%`; // CSSOM: allowed by the CSP, unlike a style attribute
  const parts: Array<Node> = [
    el("h3", {}, el("span", { class: "name" }, column.name), el("span", { class: "type" }, column.type)),
    el("div", { class: "nullrate", "data-null-rate": rate.toFixed(4) },
      el("div", { class: "bar" }, fill), el("span", {}, `${(rate * 100).toFixed(1)}% null (${column.nulls.toLocaleString()})`)),
  ];
  const histogram = column.histogram ?? [];
  if (histogram.length) {
    parts.push(bars(histogram.map((b) => b[2]), histogram.map((b) => `${b[0]} – ${b[1]}`), `${column.name} histogram`));
    parts.push(el("div", { class: "axis" }, el("span", {}, String(histogram[0][0])),
      el("span", {}, String(histogram[histogram.length - 1][1]))));
  } else if (column.top_values?.length) {
    const top = column.top_values.slice(0, 12);
    parts.push(bars(top.map((t) => t[1]), top.map((t) => cellText(t[0])), `${column.name} top values`));
    parts.push(el("div", { class: "axis" }, top.map((t) => cellText(t[0])).join(" · ")));
  }
  const facts = [
    column.distinct_estimate != null ? `≈${column.distinct_estimate.toLocaleString()} distinct` : "",
    column.min != null ? `min ${cellText(column.min)}` : "",
    column.max != null ? `max ${cellText(column.max)}` : "",
    typeof column.mean === "number" ? `mean ${column.mean.toPrecision(4)}` : "",
  ].filter(Boolean);
  parts.push(el("div", { class: "facts" }, facts.join(" · ")));
  return el("section", { class: "card", "data-column": column.name }, ...parts);
}

function renderProfile(dataset: string, profile: Profile): void {
  const rows = profile.sample_rows ?? profile.row_count;
  const sampled = profile.sampled ? ` (sample of ${rows.toLocaleString()})` : "";
  app().replaceChildren(
    el("div", { class: "toolbar" }, el("span", { class: "title" }, dataset),
      el("span", { class: "range" }, `${profile.row_count.toLocaleString()} rows${sampled}`)),
    el("div", { class: "cards" }, ...profile.columns.map((c) => profileCard(c, rows))));
}

window.addEventListener("message", (event: MessageEvent<GridUpdate>) => {
  const message = event.data;
  if (message.type === "page") {
    page = message;
    render();
  } else if (message.type === "profile") {
    renderProfile(message.dataset, message.profile as Profile);
  } else if (message.type === "error") {
    showError(message.message);
  }
});
host.postMessage({ type: "ready" });
