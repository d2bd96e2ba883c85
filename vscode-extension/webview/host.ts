// What every expenv webview script shares: the VS Code host and small DOM helpers (no innerHTML:
// every value from a dataset is set as text).
declare function acquireVsCodeApi(): { postMessage(message: unknown): void };

export const host = acquireVsCodeApi();

export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K, attrs: Record<string, string> = {}, ...children: Array<Node | string>
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    node.setAttribute(key, value);
  }
  node.append(...children);
  return node;
}

const SVG = "http://www.w3.org/2000/svg";

export function svg(tag: string, attrs: Record<string, string | number> = {}, ...children: Array<Node | string>): SVGElement {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) {
    node.setAttribute(key, String(value));
  }
  node.append(...children);
  return node;
}

export function app(): HTMLElement {
  const root = document.getElementById("app") as HTMLElement;
  root.removeAttribute("aria-busy");
  return root;
}

export function showError(message: string): void {
  const root = app();
  root.replaceChildren(el("div", { class: "error", role: "alert" }, message));
}
