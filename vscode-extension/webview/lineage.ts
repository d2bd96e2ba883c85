// The lineage graph: laid out by elkjs (layered, left to right), drawn as SVG; drag pans, the wheel
// zooms; the toolbar picks the node to center on and upstream/downstream/both; a click on a node
// asks the extension to open it (definition, dataset grid or MLflow run).
import ELK from "elkjs/lib/elk.bundled.js";
import type { ElkExtendedEdge, ElkNode } from "elkjs/lib/elk-api";
import type { Direction, LineageUpdate } from "../src/webviews/protocol";
import { app, el, host, showError, svg } from "./host";

interface Node { id: string; kind: string; name: string; attrs?: Record<string, unknown> }
interface Edge { source: string; target: string; relation?: string }
interface Graph { nodes: Node[]; edges: Edge[] }

const elk = new ELK();
const NODE_HEIGHT = 44;
const view = { x: 20, y: 20, k: 1 };
let viewport: SVGElement | undefined;

function nodeWidth(node: Node): number {
  return Math.max(110, Math.max(node.name.length, node.kind.length) * 7.5 + 28);
}

async function layout(graph: Graph): Promise<ElkNode> {
  const ids = new Set(graph.nodes.map((n) => n.id));
  const edges: ElkExtendedEdge[] = graph.edges
    .filter((e) => ids.has(e.source) && ids.has(e.target))
    .map((e, i) => ({ id: `e${i}`, sources: [e.source], targets: [e.target] }));
  return elk.layout({
    id: "root",
    layoutOptions: {
      "elk.algorithm": "layered",
      "elk.direction": "RIGHT",
      "elk.spacing.nodeNode": "20",
      "elk.layered.spacing.nodeNodeBetweenLayers": "70",
      "elk.edgeRouting": "SPLINES",
    },
    children: graph.nodes.map((n) => ({ id: n.id, width: nodeWidth(n), height: NODE_HEIGHT })),
    edges,
  });
}

function applyView(): void {
  viewport?.setAttribute("transform", `translate(${view.x} ${view.y}) scale(${view.k})`);
}

function zoomAt(factor: number, cx: number, cy: number): void {
  const k = Math.min(Math.max(view.k * factor, 0.2), 4);
  view.x = cx - ((cx - view.x) * k) / view.k;
  view.y = cy - ((cy - view.y) * k) / view.k;
  view.k = k;
  applyView();
}

/** Scales and moves the graph so all of it shows (never enlarged past 100%). */
function fit(canvas: SVGElement, width: number, height: number): void {
  const box = canvas.getBoundingClientRect();
  const k = Math.min(1, (box.width - 40) / Math.max(width, 1), (box.height - 40) / Math.max(height, 1));
  Object.assign(view, { k: Math.max(k, 0.2), x: 20, y: 20 });
  applyView();
}

function edgePath(edge: ElkExtendedEdge): string {
  return (edge.sections ?? []).map((s) => {
    const points = [s.startPoint, ...(s.bendPoints ?? []), s.endPoint];
    return `M ${points.map((p) => `${p.x} ${p.y}`).join(" L ")}`;
  }).join(" ");
}

function drawNode(node: Node, box: ElkNode, center: string | null): SVGElement {
  const group = svg("g", {
    class: `node kind-${node.kind}${node.id === center ? " center" : ""}`,
    "data-id": node.id, "data-kind": node.kind, transform: `translate(${box.x ?? 0} ${box.y ?? 0})`,
    tabindex: 0, role: "button", "aria-label": `${node.kind.replace(/_/g, " ")} ${node.name}`,
  },
  svg("rect", { width: box.width ?? 0, height: box.height ?? 0, rx: 6 }),
  svg("text", { class: "kind", x: 10, y: 16 }, node.kind.replace(/_/g, " ")),
  svg("text", { class: "label", x: 10, y: 34 }, node.name),
  svg("title", {}, `${node.id}\nclick: open · shift+click: center the graph here`));
  group.addEventListener("keydown", (event) => {
    if ((event as KeyboardEvent).key === "Enter") {
      host.postMessage({ type: "open", id: node.id });
    }
  });
  return group;
}

function toolbar(graph: Graph, center: string | null, direction: Direction, canvas: SVGElement | undefined,
                 size: { width: number; height: number }): HTMLElement {
  const centerPick = el("select", { class: "center", "aria-label": "Center" },
    el("option", { value: "" }, "All nodes"),
    ...graph.nodes.map((n) => el("option", { value: n.id }, `${n.kind.replace(/_/g, " ")}: ${n.name}`)));
  centerPick.value = center ?? "";
  const directionPick = el("select", { class: "direction", "aria-label": "Direction" },
    el("option", { value: "both" }, "Upstream and downstream"),
    el("option", { value: "up" }, "Upstream"),
    el("option", { value: "down" }, "Downstream"));
  directionPick.value = direction;
  directionPick.toggleAttribute("disabled", center === null);
  const focus = () => host.postMessage({ type: "focus", center: centerPick.value || null,
    direction: directionPick.value as Direction });
  centerPick.addEventListener("change", focus);
  directionPick.addEventListener("change", focus);
  const zoomIn = el("button", { class: "zoom-in", title: "Zoom in" }, "+");
  const zoomOut = el("button", { class: "zoom-out", title: "Zoom out" }, "−");
  const fitButton = el("button", { class: "fit", title: "Show the whole graph" }, "Fit");
  zoomIn.addEventListener("click", () => zoomAt(1.25, 200, 150));
  zoomOut.addEventListener("click", () => zoomAt(0.8, 200, 150));
  fitButton.addEventListener("click", () => canvas && fit(canvas, size.width, size.height));
  return el("div", { class: "toolbar" }, el("span", { class: "title" }, "Feature lineage"), centerPick, directionPick,
    zoomIn, zoomOut, fitButton, el("span", { class: "hint" }, `${graph.nodes.length} nodes · drag to pan, wheel to zoom`));
}

function panAndZoom(canvas: SVGElement): void {
  let drag: { x: number; y: number; moved: boolean; target: Element | null } | undefined;
  canvas.addEventListener("pointerdown", (event) => {
    drag = { x: event.clientX, y: event.clientY, moved: false, target: event.target as Element };
  });
  canvas.addEventListener("pointermove", (event) => {
    if (!drag) {
      return;
    }
    const dx = event.clientX - drag.x;
    const dy = event.clientY - drag.y;
    if (!drag.moved && Math.hypot(dx, dy) < 4) {
      return; // a click, not a drag yet
    }
    drag.moved = true;
    view.x += dx;
    view.y += dy;
    drag.x = event.clientX;
    drag.y = event.clientY;
    applyView();
  });
  canvas.addEventListener("pointerup", (event) => {
    const node = drag && !drag.moved ? drag.target?.closest("g.node") : null;
    drag = undefined;
    const id = node?.getAttribute("data-id");
    if (id) {
      host.postMessage(event.shiftKey ? { type: "focus", center: id, direction: "both" } : { type: "open", id });
    }
  });
  canvas.addEventListener("wheel", (event) => {
    event.preventDefault();
    const box = canvas.getBoundingClientRect();
    zoomAt(event.deltaY < 0 ? 1.1 : 1 / 1.1, event.clientX - box.left, event.clientY - box.top);
  }, { passive: false });
}

async function render(graph: Graph, center: string | null, direction: Direction): Promise<void> {
  const laid = await layout(graph);
  const boxes = new Map((laid.children ?? []).map((c) => [c.id, c]));
  const canvas = svg("svg", { class: "canvas", role: "img", "aria-label": "lineage graph" },
    svg("defs", {}, svg("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 7,
      markerHeight: 7, orient: "auto-start-reverse" }, svg("path", { d: "M 0 0 L 10 5 L 0 10 z" }))));
  viewport = svg("g", { class: "viewport" },
    ...(laid.edges ?? []).map((e) => svg("path", { class: "edge", d: edgePath(e), "marker-end": "url(#arrow)" })),
    ...graph.nodes.map((n) => drawNode(n, boxes.get(n.id) ?? {id: n.id}, center)));
  canvas.append(viewport);
  applyView();
  panAndZoom(canvas);
  const body = graph.nodes.length ? canvas : el("div", { class: "empty" }, "No lineage: the Feast repo has no objects yet");
  const size = { width: laid.width ?? 0, height: laid.height ?? 0 };
  app().replaceChildren(toolbar(graph, center, direction, graph.nodes.length ? canvas : undefined, size), body);
  fit(canvas, size.width, size.height);
  document.body.dataset.rendered = String(graph.nodes.length);
}

window.addEventListener("message", (event: MessageEvent<LineageUpdate>) => {
  const message = event.data;
  if (message.type === "graph") {
    render(message.graph as Graph, message.center, message.direction).catch((err) => showError(String(err)));
  } else if (message.type === "error") {
    showError(message.message);
  }
});
host.postMessage({ type: "ready" });
