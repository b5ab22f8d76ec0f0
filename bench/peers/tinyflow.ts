// bench/peers/tinyflow.ts — tinyflow written the way its README and examples
// teach: `np.array(...)` uploads reshaped to their shape, results read with
// `await y.data()`, no `dispose()` anywhere, and training steps jitted with
// their parameters donated (`donateArgnums`, the idiom examples/mlp_mnist.ts
// teaches). Every target is judged on this adapter; bench/peers/tinyflow-tuned.ts
// (which disposes every output and uploads with Array.fromTyped) is the ceiling
// it is compared against.

import { readFileSync } from "node:fs";
import { np, nn, lax, jit, valueAndGrad, defaultBackendName, type Tracer as Array } from "../../src/index";
import { defaultThreadCount } from "../../src/backends/wasm/worker_hosts";
import { type Peer, type PeerInfo, type Timed, type ConvShape, type TrainerSpec, type Trainer, type DenseLayer } from "../harness.js";

type Layer = { w: Array; b: Array };

const read = async (a: Array): Promise<Float32Array> => (await a.data()) as Float32Array;

function upload(layers: DenseLayer[]): Layer[] {
  return layers.map((l) => ({ w: np.array(l.w).reshape([l.inDim, l.outDim]), b: np.array(l.b) }));
}

const peer: Peer = {
  name: "tinyflow",
  hasJit: true,

  async setup(): Promise<PeerInfo> {
    const own = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };
    const threads = process.env.TINYFLOW_THREADS ?? `${defaultThreadCount()} (one per core)`;
    return {
      version: `tinyflow ${own.version} (this tree)`,
      backend: defaultBackendName(),
      notes: [`threads: ${threads}`, "written as the README teaches: np.array uploads, no dispose(), donated training params"],
    };
  },

  async matmul(a, b, n): Promise<Timed> {
    const A = np.array(a).reshape([n, n]);
    const B = np.array(b).reshape([n, n]);
    const f = jit((x: Array, y: Array) => np.matmul(x, y));
    return { run: () => read(f(A, B)), dispose: () => {} };
  },

  async elementwise(x): Promise<Timed> {
    const X = np.array(x);
    const fn = (v: Array) => np.tanh(v.mul(2).add(1)).mul(v);
    const f = jit(fn);
    return { run: () => read(f(X)), variants: [{ label: "eager", run: () => read(fn(X)) }], dispose: () => {} };
  },

  async conv(x, w, s: ConvShape): Promise<Timed> {
    const X = np.array(x).reshape([s.n, s.h, s.w, s.cin]);
    const W = np.array(w).reshape([s.kh, s.kw, s.cin, s.cout]);
    const f = jit((xi: Array, wi: Array) => lax.convGeneralDilated(xi, wi, [1, 1], "SAME", { dimensionNumbers: ["NHWC", "HWIO", "NHWC"] }));
    return { run: () => read(f(X, W)), dispose: () => {} };
  },

  async trainer(spec: TrainerSpec): Promise<Trainer> {
    const nLayers = spec.layers.length;
    const inDim = spec.layers[0]!.inDim;
    const classes = spec.layers[nLayers - 1]!.outDim;
    const lr = spec.lr;
    const lossFn = (params: Layer[], x: Array, y: Array) => {
      let h: Array = x;
      params.forEach((p, i) => {
        h = np.matmul(h, p.w).add(p.b);
        if (i < nLayers - 1) h = nn.relu(h);
      });
      return nn.logSoftmax(h, -1).mul(y).sum(-1).mean().neg();
    };
    const step = jit(
      (params: Layer[], x: Array, y: Array) => {
        const [loss, grads] = valueAndGrad(lossFn)(params, x, y);
        const next = params.map((p, i) => ({ w: p.w.sub(grads[i].w.mul(lr)), b: p.b.sub(grads[i].b.mul(lr)) }));
        return [loss, next] as [Array, Layer[]];
      },
      { donateArgnums: [0] },
    );
    let params = upload(spec.layers);
    return {
      async step(x, y, readLoss) {
        const [loss, next] = step(params, np.array(x).reshape([spec.batch, inDim]), np.array(y).reshape([spec.batch, classes]));
        params = next;
        return readLoss ? (await read(loss))[0]! : undefined;
      },
      async readParams() {
        return Promise.all(params.map(async (p) => ({ w: await read(p.w), b: await read(p.b) })));
      },
      async setParams(layers) {
        params = upload(layers);
      },
      dispose() {},
    };
  },
};

export default peer;
