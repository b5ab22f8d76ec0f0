// Static server for the browser tests: bundles a page entry (test/browser/page.ts, webgpu_page.ts) with esbuild
// and serves it, an index.html and the kernels .wasm on 127.0.0.1 (a random
// free port), with COOP/COEP headers so the page is cross-origin isolated
// (SharedArrayBuffer, and so the wasm backend's worker threads).

import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const here = fileURLToPath(new URL(".", import.meta.url));
const root = fileURLToPath(new URL("../../", import.meta.url));

/** Where the page's bundle looks for the kernels by itself: next to it, as in a user's esbuild bundle. */
export const WASM_PATH = "/tinyflow_kernels.wasm";

export interface TestServer {
  url: string;
  /** Paths requested so far, in order (with the response status). */
  requests: string[];
  close(): Promise<void>;
}

/** Bundles a page entry of this folder (ESM, browser platform; node: built-ins external and never run in the page). */
export async function bundlePage(entry = "page.ts"): Promise<string> {
  const out = await build({
    entryPoints: [`${here}${entry}`],
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    external: ["node:*"],
    write: false,
    sourcemap: "inline",
    logLevel: "silent",
  });
  const js = out.outputFiles[0]!.text;
  if (/^\s*import\s.*["']node:/m.test(js)) throw new Error("the page bundle has a static node: import");
  return js;
}

const html =
  `<!doctype html><html><head><meta charset="utf-8"><title>tinyflow browser test</title></head><body>` +
  `<script type="module" src="/page.js"></script></body></html>`;

/**
 * Serves the page bundled from `entry` (default page.ts); `serveKernels: false` leaves the .wasm out
 * (every other path 404s too), to test the missing-kernels error.
 */
export async function startServer(opts: { serveKernels?: boolean; entry?: string } = {}): Promise<TestServer> {
  const js = await bundlePage(opts.entry);
  const files = new Map<string, { type: string; body: string | Buffer }>([
    ["/", { type: "text/html; charset=utf-8", body: html }],
    ["/index.html", { type: "text/html; charset=utf-8", body: html }],
    ["/page.js", { type: "text/javascript; charset=utf-8", body: js }],
  ]);
  if (opts.serveKernels ?? true) files.set(WASM_PATH, { type: "application/wasm", body: readFileSync(`${root}wasm/tinyflow_kernels.wasm`) });
  const requests: string[] = [];
  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? "/", "http://x").pathname;
    const f = files.get(path);
    requests.push(`${path} ${f ? 200 : 404}`);
    res.setHeader("Cross-Origin-Opener-Policy", "same-origin");
    res.setHeader("Cross-Origin-Embedder-Policy", "require-corp");
    res.setHeader("Cross-Origin-Resource-Policy", "same-origin");
    res.setHeader("Cache-Control", "no-store");
    if (path === "/favicon.ico") {
      res.statusCode = 204;
      res.end();
      return;
    }
    if (!f) {
      res.statusCode = 404;
      res.end("not found");
      return;
    }
    res.setHeader("Content-Type", f.type);
    res.end(f.body);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
