// The Data view: raw roots and curated schemas → datasets and tables → columns, from
// `expenv.data.list`, `expenv.status` (the raw roots) and `expenv.data.schema` (on expand).
import { configuredWorkspace, DaemonTree, errorMessage, messageNode } from "./tree";
import type { StatusReport, ViewNode } from "./tree";

export interface DatasetEntry {
  ref: { layer: string; name: string; location: string; format: string };
  size_bytes?: number | null;
}

interface Column {
  name: string;
  type: string;
  nullable?: boolean;
}

export function formatBytes(size: number | null | undefined): string {
  if (size === null || size === undefined) {
    return "";
  }
  const units = ["B", "KB", "MB", "GB", "TB"];
  let value = size;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}

/** The raw root a dataset name lies under (the longest one), else the name's folder. */
function rawGroup(name: string, roots: string[]): string {
  const trimmed = roots.map((r) => r.replace(/\/+$/, ""));
  const root = trimmed.filter((r) => name.startsWith(`${r}/`)).sort((a, b) => b.length - a.length)[0];
  return root ?? (name.includes("/") ? name.slice(0, name.lastIndexOf("/")) : ".");
}

export class DataTree extends DaemonTree {
  protected async roots(): Promise<ViewNode[]> {
    const [listed, status] = await Promise.all([
      this.listAll(),
      this.daemon.execute<StatusReport>("expenv.status"),
    ]);
    const { entries, curatedError } = listed;
    const roots: string[] = configuredWorkspace(status)?.config?.raw?.roots ?? [];
    const groups = new Map<string, ViewNode[]>();
    for (const entry of entries) {
      const { layer, name, format } = entry.ref;
      const group = layer === "curated" ? `curated:${name.split(".")[0]}` : `raw:${rawGroup(name, roots)}`;
      const list = groups.get(group) ?? [];
      groups.set(group, list);
      list.push(this.datasetNode(entry, format));
    }
    for (const root of roots) {
      if (!groups.has(`raw:${root.replace(/\/+$/, "")}`)) {
        groups.set(`raw:${root.replace(/\/+$/, "")}`, []); // an empty root still shows
      }
    }
    if (curatedError !== undefined) {
      // The raw datasets still show; the warehouse's error is where its tables would be.
      groups.set("curated:curated", [messageNode("data/curated/error", curatedError, "error")]);
    }
    if (groups.size === 0) {
      return [messageNode("data/empty", "No datasets: set [data.raw] roots or [data.curated] url in expenv.toml")];
    }
    return [...groups.entries()].map(([key, children]) => {
      const [layer, name] = [key.slice(0, key.indexOf(":")), key.slice(key.indexOf(":") + 1)];
      return {
        id: `data/${key}`,
        label: name,
        description: layer === "curated" ? "curated schema" : "raw root",
        icon: layer === "curated" ? "database" : "folder-library",
        contextValue: `expenv.data.${layer}`,
        children,
        expanded: true,
      };
    });
  }

  /** Every dataset; when the warehouse cannot be read (its file absent in a fresh clone, the
   * server down) the raw datasets and the warehouse's error, rather than only the error. */
  private async listAll(): Promise<{ entries: DatasetEntry[]; curatedError?: string }> {
    try {
      return { entries: await this.daemon.execute<DatasetEntry[]>("expenv.data.list") };
    } catch (err) {
      const entries = await this.daemon.execute<DatasetEntry[]>("expenv.data.list", { layer: "raw" });
      return { entries, curatedError: errorMessage(err) };
    }
  }

  private datasetNode(entry: DatasetEntry, format: string): ViewNode {
    const { name, layer, location } = entry.ref;
    const size = formatBytes(entry.size_bytes);
    const label = layer === "curated" ? name.slice(name.indexOf(".") + 1) : name.slice(name.lastIndexOf("/") + 1);
    return {
      id: `data/dataset/${name}`,
      label,
      description: [format, size].filter(Boolean).join(" · "),
      tooltip: `${name}\n${location}`,
      icon: layer === "curated" ? "table" : format === "parquet" ? "file-binary" : "file",
      contextValue: "expenv.dataset",
      data: { dataset: name },
      children: async () => this.columns(name),
    };
  }

  private async columns(dataset: string): Promise<ViewNode[]> {
    const schema = await this.daemon.execute<{ columns: Column[]; row_count?: number | null }>(
      "expenv.data.schema", { dataset });
    return schema.columns.map((column) => ({
      id: `data/dataset/${dataset}/${column.name}`,
      label: column.name,
      description: `${column.type}${column.nullable === false ? " not null" : ""}`,
      icon: "symbol-field",
      contextValue: "expenv.column",
      data: { dataset, column: column.name },
    }));
  }
}
