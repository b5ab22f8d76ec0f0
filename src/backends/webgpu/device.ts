// Acquiring a WebGPU device: `navigator.gpu` in browsers, the optional npm
// package `webgpu` (Dawn) in Node, loaded by a dynamic import only when WebGPU
// is asked for, so importing tinyflow never needs it. On a machine without a
// GPU, Dawn runs on SwiftShader's Vulkan driver: when VK_ICD_FILENAMES is unset
// and Chromium's SwiftShader ICD is installed, it is used; a private
// XDG_RUNTIME_DIR silences Dawn's warning about a missing one. Every failure is
// a BackendError that says what is missing and what to do.

/// <reference types="@webgpu/types" />

import { BackendError } from "../../core/errors";

/** Chromium's SwiftShader Vulkan driver (Debian: apt-get install chromium libvulkan1). */
export const SWIFTSHADER_ICD = "/usr/lib/chromium/vk_swiftshader_icd.json";

/** The GPU object of Node's `webgpu` package: kept referenced for the whole process (Dawn can crash at exit otherwise). */
let nodeGpu: GPU | null = null;

/** A device and the limits it was created with. */
export interface GpuContext {
  readonly device: GPUDevice;
  readonly adapterName: string;
  readonly maxStorageBufferBindingSize: number;
  readonly maxBufferSize: number;
  readonly maxStorageBuffersPerShaderStage: number;
  readonly hasF16: boolean;
}

const NODE_HOWTO =
  `in Node, install the optional package \`webgpu\` (npm install webgpu); without a GPU it runs on SwiftShader: ` +
  `apt-get install chromium libvulkan1 and VK_ICD_FILENAMES=${SWIFTSHADER_ICD}`;

const isNode = (): boolean => typeof process !== "undefined" && typeof process.versions?.node === "string";

async function nodeGpuObject(): Promise<GPU> {
  if (nodeGpu !== null) return nodeGpu;
  const env = process.env;
  // process.getBuiltinModule (Node >= 20.16) instead of import("node:fs"): a browser bundler must not see a Node module.
  const builtin = (process as { getBuiltinModule?: (id: string) => unknown }).getBuiltinModule;
  const fs = builtin?.("node:fs") as typeof import("node:fs") | undefined;
  const os = builtin?.("node:os") as typeof import("node:os") | undefined;
  if (!fs || !os) throw new BackendError(`webgpu: this Node has no process.getBuiltinModule (Node >= 20.16 needed)`);
  if (env.VK_ICD_FILENAMES === undefined && fs.existsSync(SWIFTSHADER_ICD)) env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
  if (env.XDG_RUNTIME_DIR === undefined) {
    const { tmpdir } = os;
    const dir = `${tmpdir()}/tinyflow-xdg-${process.getuid?.() ?? "user"}`;
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    env.XDG_RUNTIME_DIR = dir;
  }
  let mod: { create(options: string[]): GPU; globals: object };
  try {
    // A variable specifier keeps bundlers from resolving the optional dependency.
    const name = "webgpu";
    mod = (await import(/* @vite-ignore */ name)) as typeof mod;
  } catch (e) {
    throw new BackendError(`webgpu: the package \`webgpu\` could not be loaded (${(e as Error).message}); ${NODE_HOWTO}`);
  }
  // GPUBufferUsage, GPUMapMode and the other WebGPU constants.
  for (const [k, v] of Object.entries(mod.globals)) if (!(k in globalThis)) (globalThis as Record<string, unknown>)[k] = v;
  nodeGpu = mod.create([]);
  return nodeGpu;
}

/** Requests an adapter and a device with the adapter's own storage limits. */
export async function acquireGpu(): Promise<GpuContext> {
  let gpu: GPU | undefined;
  if (typeof navigator !== "undefined" && (navigator as Navigator & { gpu?: GPU }).gpu) gpu = (navigator as Navigator & { gpu?: GPU }).gpu;
  else if (isNode()) gpu = await nodeGpuObject();
  if (!gpu) throw new BackendError("webgpu: this platform has no WebGPU (navigator.gpu is missing); use a browser with WebGPU enabled, or the wasm backend");
  const adapter = await gpu.requestAdapter({ powerPreference: "high-performance" });
  if (!adapter) {
    throw new BackendError(
      `webgpu: no GPU adapter was found; ${isNode() ? NODE_HOWTO : "enable WebGPU in the browser (Chromium: --enable-unsafe-webgpu)"}, or use the wasm backend (backend: "wasm" or "auto")`,
    );
  }
  const limits = adapter.limits;
  const hasF16 = adapter.features.has("shader-f16");
  const device = await adapter.requestDevice({
    requiredLimits: {
      maxStorageBufferBindingSize: limits.maxStorageBufferBindingSize,
      maxBufferSize: limits.maxBufferSize,
      maxStorageBuffersPerShaderStage: limits.maxStorageBuffersPerShaderStage,
      maxComputeWorkgroupStorageSize: limits.maxComputeWorkgroupStorageSize,
      maxComputeInvocationsPerWorkgroup: Math.min(256, limits.maxComputeInvocationsPerWorkgroup),
    },
  });
  // `info` is newer than some @webgpu/types versions.
  const info = (adapter as GPUAdapter & { info?: { vendor?: string; architecture?: string; device?: string; description?: string } }).info;
  const adapterName = [info?.vendor, info?.architecture, info?.device, info?.description].filter(Boolean).join(" ") || "unnamed adapter";
  return {
    device,
    adapterName,
    maxStorageBufferBindingSize: Math.min(limits.maxStorageBufferBindingSize, limits.maxBufferSize),
    maxBufferSize: limits.maxBufferSize,
    maxStorageBuffersPerShaderStage: limits.maxStorageBuffersPerShaderStage,
    hasF16,
  };
}
