// How the wasm backend finds and loads its kernels: ready() in Node, the
// errors of a failed fetch (a 404, a page served in place of the .wasm), and
// the stand-in backend that refuses every operation with its reason (used
// while a browser fetches the kernels, or after the wasm backend failed).

import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BackendError, defaultBackendName, getBackend, np, ready, setDefaultBackend, TinyflowError } from "../src/index";
import { registerBackend } from "../src/core/backend";
import { UnavailableBackend } from "../src/backends/unavailable";
import { fetchKernelBytes, KERNELS_URL, readKernelBytes } from "../src/backends/wasm/kernel_binary";

describe("kernel loading", () => {
  let server: Server;
  let base: string;
  const wasm = readKernelBytes();

  beforeAll(async () => {
    server = createServer((req, res) => {
      if (req.url === "/tinyflow_kernels.wasm") {
        res.setHeader("Content-Type", "application/wasm");
        res.end(wasm);
      } else if (req.url === "/spa/tinyflow_kernels.wasm") {
        res.setHeader("Content-Type", "text/html");
        res.end("<!doctype html><html><body>app</body></html>");
      } else {
        res.statusCode = 404;
        res.end("not found");
      }
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it("in Node, ready() resolves at once and wasm is the default backend", async () => {
    await ready();
    expect(defaultBackendName()).toBe(process.env.TINYFLOW_BACKEND ?? "wasm");
    expect(getBackend("wasm").name).toBe("wasm");
  });

  it("the kernels are looked for next to the loading module", () => {
    expect(KERNELS_URL.pathname).toMatch(/\/backends\/wasm\/tinyflow_kernels\.wasm$/);
    expect(Array.from(wasm.subarray(0, 4))).toEqual([0x00, 0x61, 0x73, 0x6d]);
  });

  it("fetches the kernels over HTTP, byte for byte", async () => {
    const got = await fetchKernelBytes(`${base}/tinyflow_kernels.wasm`);
    expect(got.length).toBe(wasm.length);
    expect(Buffer.from(got).equals(Buffer.from(wasm))).toBe(true);
  });

  it("a 404 says it could not fetch the kernels, with the URL and the status", async () => {
    const url = `${base}/static/tinyflow_kernels.wasm`;
    const err = await fetchKernelBytes(url).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BackendError);
    expect(err).toBeInstanceOf(TinyflowError);
    expect((err as Error).message).toContain(`could not fetch the kernels from ${url}: 404 Not Found`);
    expect((err as Error).message).toContain("loadWasmBackend(url)");
  });

  it("a page served in place of the .wasm is named as such, not as a broken module", async () => {
    const url = `${base}/spa/tinyflow_kernels.wasm`;
    const err = await fetchKernelBytes(url).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BackendError);
    expect((err as Error).message).toMatch(/are not a wasm module \(\d+ bytes starting "<!doctype html>.*content-type text\/html\)/);
  });

  it("an unreachable server is a BackendError naming the URL", async () => {
    const url = "http://127.0.0.1:1/tinyflow_kernels.wasm";
    const err = await fetchKernelBytes(url).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BackendError);
    expect((err as Error).message).toMatch(/^could not fetch the kernels from http:\/\/127\.0\.0\.1:1\/tinyflow_kernels\.wasm: /);
  });

  it("a stand-in backend refuses every operation with its reason, until replaced", () => {
    const before = defaultBackendName();
    const standIn = new UnavailableBackend("standin-test", new BackendError("still loading: await ready()"));
    registerBackend(standIn);
    try {
      setDefaultBackend("standin-test");
      expect(() => np.zeros([2])).toThrow(/still loading: await ready\(\)/);
      standIn.failed(new BackendError("could not fetch the kernels from x: 404"));
      expect(() => np.ones([3])).toThrow(BackendError);
      expect(() => np.ones([3])).toThrow(/could not fetch the kernels from x: 404/);
    } finally {
      setDefaultBackend(before);
    }
    expect(np.zeros([2]).shape).toEqual([2]);
  });
});
