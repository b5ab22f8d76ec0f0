// A missing or corrupt kernels file fails loudly: importing tinyflow still
// works, but every operation on the wasm backend (and `ready()`) throws a
// BackendError naming the file and the cause, whether wasm is the default or
// asked for by TINYFLOW_BACKEND=wasm; nothing falls back to the interpreter
// unless the user asks for it. Each case runs in a fresh Node process pointed
// at the bad file by TINYFLOW_KERNELS.

import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

const root = new URL("..", import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), "tinyflow-kernels-"));
const missing = join(dir, "missing.wasm");
const garbage = join(dir, "garbage.wasm");
const truncated = join(dir, "truncated.wasm");
writeFileSync(garbage, "<!doctype html>not a module");
writeFileSync(truncated, readFileSync(join(root, "wasm/tinyflow_kernels.wasm")).subarray(0, 4000));

interface ProbeReport {
  backend: string;
  sum?: number;
  opError?: { name: string; message: string };
  ready: string;
}

function probe(env: Record<string, string>): ProbeReport {
  const out = execFileSync(join(root, "node_modules/.bin/tsx"), [join(root, "test/kernel_fault_probe.mts")], {
    cwd: root,
    env: { ...process.env, TINYFLOW_BACKEND: "", TINYFLOW_THREADS: "1", ...env },
    encoding: "utf8",
    timeout: 60_000,
  });
  return JSON.parse(out.trim().split("\n").pop()!) as ProbeReport;
}

describe("a broken kernels file", () => {
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("missing: the default backend's first operation throws a BackendError naming the file", () => {
    const r = probe({ TINYFLOW_KERNELS: missing });
    expect(r.backend).toBe("wasm");
    expect(r.sum).toBeUndefined();
    expect(r.opError?.name).toBe("BackendError");
    expect(r.opError?.message).toContain(`${missing}, which does not exist`);
    expect(r.opError?.message).toContain('setDefaultBackend("interpreter")');
    expect(r.ready).toBe("BackendError");
  });

  it("not a wasm module: says so, with the file, under TINYFLOW_BACKEND=wasm (not 'unknown backend')", () => {
    const r = probe({ TINYFLOW_KERNELS: garbage, TINYFLOW_BACKEND: "wasm" });
    expect(r.backend).toBe("wasm");
    expect(r.opError?.name).toBe("BackendError");
    expect(r.opError?.message).toContain(`the wasm kernels at ${garbage} are corrupt`);
    expect(r.opError?.message).not.toMatch(/unknown backend/);
  });

  it("truncated: the engine's reason is kept", () => {
    const r = probe({ TINYFLOW_KERNELS: truncated, TINYFLOW_BACKEND: "wasm" });
    expect(r.opError?.name).toBe("BackendError");
    expect(r.opError?.message).toContain(`the wasm kernels at ${truncated} could not be instantiated`);
    expect(r.opError?.message).toMatch(/WebAssembly\.Module\(\)/);
  });

  it("the interpreter runs when asked for explicitly", () => {
    const r = probe({ TINYFLOW_KERNELS: missing, TINYFLOW_BACKEND: "interpreter" });
    expect(r).toEqual({ backend: "interpreter", sum: 3, ready: "ok" });
  });

  it("a good file named by TINYFLOW_KERNELS is used", () => {
    const r = probe({ TINYFLOW_KERNELS: join(root, "wasm/tinyflow_kernels.wasm") });
    expect(r).toEqual({ backend: "wasm", sum: 3, ready: "ok" });
  });
});
