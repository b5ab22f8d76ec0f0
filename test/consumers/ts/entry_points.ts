// Every public entry point, type-checked the way a Node-only project checks it:
// tsconfig.node-no-dom.json has lib es2022, the node types and skipLibCheck
// false, and no DOM lib, so tinyflow's declarations must not name browser
// globals (WebAssembly, WebGPU). check-package.mjs also checks that this file
// imports every subpath of package.json "exports" that has types.
import * as tinyflow from "tinyflow";
import type { Array, WasmBackend, WebGpuBackend, MemoryStats } from "tinyflow";
import * as nn from "tinyflow/nn";
import * as optim from "tinyflow/optim";
import * as datasets from "tinyflow/datasets";
import * as testing from "tinyflow/testing";
import * as tf1 from "tinyflow/tf1";
import * as eager from "tinyflow/eager";
import * as viz from "tinyflow/viz";

const wasm: Promise<WasmBackend> = tinyflow.loadWasmBackend();
const gpu: Promise<WebGpuBackend> = tinyflow.loadWebGpuBackend();
const stats: MemoryStats = tinyflow.memoryStats();
const x: Array = tinyflow.np.ones([2, 3]);
const layer = nn.Linear;
const sgd: typeof optim.sgd = optim.sgd;
const mnist: typeof datasets.getMnist = datasets.getMnist;
const close: typeof testing.expectAllclose = testing.expectAllclose;
const placeholder = tf1.placeholder(tf1.float32, [null, 3]);
const tensor: eager.Tensor = eager.tensor([1, 2, 3]);
const dot: string = viz.toDot(tinyflow.makeJaxpr((v: Array) => v.mul(2))(x));

export const used = { wasm, gpu, stats, layer, sgd, mnist, close, placeholder, tensor, dot };
