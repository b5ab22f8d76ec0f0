// Shared by the WebGPU tests: starts the WebGPU backend once per test file
// (in Node through the `webgpu` package, on SwiftShader where there is no GPU:
// device.ts sets VK_ICD_FILENAMES and a private XDG_RUNTIME_DIR when they are
// absent), and says loudly why when no adapter exists, so those tests skip
// with the reason printed instead of passing silently. Also the helpers that
// compare arrays on the GPU (read with `await x.data()`) with the interpreter,
// and the switch between generic and specialised shaders.

import { afterAll, beforeAll } from "vitest";
import { loadWebGpuBackend, type Array as TfArray, type WebGpuBackend } from "../src/index";
import type { TypedArray } from "../src/core/dtype";
import type { GpuRuntime } from "../src/backends/webgpu/runtime";

let backend: WebGpuBackend | null = null;
let reason = "";
try {
  backend = await loadWebGpuBackend();
} catch (e) {
  reason = (e as Error).message;
  console.warn(`\n*** WebGPU tests SKIPPED: no WebGPU adapter here: ${reason}\n`);
}

/** The running WebGPU backend, or null (the tests then skip; the reason was printed). */
export const gpu = backend;
export const noGpuReason = reason;

/** Largest |got - want| allowed: `atol + rtol·|want|`; NaNs must match NaNs and infinities match exactly. */
export function mismatch(got: TypedArray, want: TypedArray, rtol: number, atol: number): string | null {
  if (got.length !== want.length) return `length ${got.length}, want ${want.length}`;
  for (let i = 0; i < want.length; i++) {
    const g = got[i];
    const w = want[i];
    if (g === w || (Number.isNaN(g) && Number.isNaN(w))) continue;
    if (!Number.isFinite(w) || !Number.isFinite(g) || !(Math.abs(g - w) <= atol + rtol * Math.abs(w))) {
      return `element ${i}: got ${g}, want ${w}`;
    }
  }
  return null;
}

/** Reads every array (on any backend) with `await x.data()`. */
export async function readAll(xs: readonly TfArray[]): Promise<TypedArray[]> {
  return Promise.all(xs.map((x) => x.data()));
}

/**
 * The two ways the WGSL generators emit a shader: "generic" reads sizes and strides from a
 * uniform (one pipeline per kernel structure, the default), "specialised" bakes them in as
 * literals (one pipeline per shape; GpuRuntime.specializeShapes). `runs` scales a property's
 * run count: specialised runs compile a pipeline per new shape (slow on SwiftShader), so fewer.
 */
export type ShaderMode = { name: "generic" | "specialised"; runs: (generic: number) => number };
export const SHADER_MODES: readonly ShaderMode[] = [
  { name: "generic", runs: (n) => n },
  { name: "specialised", runs: (n) => Math.max(1, Math.ceil(n / 2)) },
];

/** Puts the runtime in `mode` for the enclosing describe block (an internal switch, not public API). Programs compiled before keep their shaders: compile fresh ones inside. */
export function inShaderMode(mode: ShaderMode): void {
  if (backend === null) return;
  const runtime = (backend as unknown as { rt: GpuRuntime }).rt;
  let before = false;
  beforeAll(() => {
    before = runtime.specializeShapes;
    runtime.specializeShapes = mode.name === "specialised";
  });
  afterAll(() => {
    runtime.specializeShapes = before;
  });
}
