// bench/peers/jaxjs-webgpu.ts — the @jax-js/jax adapter (bench/peers/jaxjs.ts)
// on jax-js's "webgpu" device. Node has no navigator.gpu, so the GPU object of
// the npm `webgpu` package (Dawn; SwiftShader where there is no GPU) is put
// there first (with a userAgent, which jax-js reads), kept referenced for the
// whole process, as Dawn needs. Start it after tinyflow-webgpu (or with
// VK_ICD_FILENAMES set) on a machine whose only adapter is SwiftShader.

import { create, globals } from "webgpu";
import { defaultDevice, init } from "@jax-js/jax";
import { packageVersion, type Peer, type PeerInfo } from "../harness.js";
import jaxjs from "./jaxjs";

let gpu: GPU | null = null;

const peer: Peer = {
  ...jaxjs,
  name: "jaxjs-webgpu",

  async setup(): Promise<PeerInfo> {
    if (gpu === null) {
      Object.assign(globalThis, globals);
      gpu = create([]);
      const nav = ((globalThis as { navigator?: object }).navigator ??= {}) as { gpu?: GPU; userAgent?: string };
      if (!nav.gpu) Object.defineProperty(nav, "gpu", { value: gpu, configurable: true });
      // jax-js's WebGPU module sniffs navigator.userAgent (for Firefox) when it loads.
      if (typeof nav.userAgent !== "string") Object.defineProperty(nav, "userAgent", { value: `Node.js/${process.versions.node}`, configurable: true });
    }
    const devices = await init("webgpu");
    if (!devices.includes("webgpu")) throw new Error(`jax-js: webgpu device unavailable (got ${devices.join(",")})`);
    defaultDevice("webgpu");
    return { version: `@jax-js/jax ${packageVersion("@jax-js/jax")}`, backend: "webgpu", notes: ["jax-js's WebGPU device through the npm webgpu package (Dawn)"] };
  },
};

export default peer;
