// The one HTML page every expenv webview is: a strict Content-Security-Policy (nothing by default;
// scripts only with this page's nonce; styles, images and fonts only from the extension's media
// folder), one stylesheet and one script, both from media/. Themed by the --vscode-* variables.

export interface PageParts {
  /** webview.cspSource: the origin the webview serves the extension's local resources from. */
  cspSource: string;
  nonce: string;
  title: string;
  /** webview URIs of media files (asWebviewUri). */
  scriptUri: string;
  styleUri: string;
  /** Which view the script renders (data-view on <body>). */
  view: string;
}

/** 32 random characters from the Web Crypto API (present in Node 18+ and in web workers). */
export function newNonce(): string {
  const bytes = new Uint8Array(24);
  globalThis.crypto.getRandomValues(bytes);
  return [...bytes].map((b) => b.toString(36).padStart(2, "0")).join("").slice(0, 32);
}

export function contentSecurityPolicy(cspSource: string, nonce: string): string {
  return [
    "default-src 'none'",
    `style-src ${cspSource}`,
    `img-src ${cspSource} data:`,
    `font-src ${cspSource}`,
    `script-src 'nonce-${nonce}'`,
  ].join("; ");
}

const ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]);
}

export function webviewHtml(parts: PageParts): string {
  const csp = contentSecurityPolicy(parts.cspSource, parts.nonce);
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${escapeHtml(csp)}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${escapeHtml(parts.styleUri)}">
<title>${escapeHtml(parts.title)}</title>
</head>
<body data-view="${escapeHtml(parts.view)}">
<div id="app" role="main" aria-busy="true">Loading…</div>
<script nonce="${escapeHtml(parts.nonce)}" src="${escapeHtml(parts.scriptUri)}"></script>
</body>
</html>`;
}
