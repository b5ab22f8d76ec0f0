// bench/peers/tinyflow-webgpu.ts — the "tinyflow" adapter (written as the README
// teaches) with the WebGPU backend as the default: `await loadWebGpuBackend({
// makeDefault: true })` once, then the same uploads, jitted functions and
// `await y.data()` reads, so every array and program lives on the GPU. In
// Node it runs Dawn (npm `webgpu`), on SwiftShader where there is no GPU: those
// numbers only prove it runs.

import { loadWebGpuBackend } from "../../src/index";
import type { Peer, PeerInfo } from "../harness.js";
import tinyflow from "./tinyflow";

const peer: Peer = {
  ...tinyflow,
  name: "tinyflow-webgpu",

  async setup(): Promise<PeerInfo> {
    const gpu = await loadWebGpuBackend({ makeDefault: true });
    const info = await tinyflow.setup();
    const software = /swiftshader/i.test(gpu.adapterName);
    return {
      version: info.version,
      backend: `webgpu (${gpu.adapterName})`,
      notes: [
        "written as the README teaches, with the WebGPU backend as the default",
        ...(software ? ["SwiftShader (a CPU implementation of Vulkan): these numbers only prove it runs"] : []),
      ],
    };
  },
};

export default peer;
