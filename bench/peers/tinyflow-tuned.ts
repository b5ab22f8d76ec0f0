// bench/peers/tinyflow-tuned.ts — tinyflow tuned by hand: the ceiling that the
// as-taught adapter (bench/peers/tinyflow.ts) is measured against.
//
// Runs on tinyflow's default wasm backend. Every timed path is jitted (W1, W2,
// W5, the training step); W2 also reports the eager (un-jitted) form. Arrays
// are freed by the garbage collector; the adapter disposes what it replaces
// early so memory stays flat across repetitions, as a careful user would.

import { readFileSync } from "node:fs";
import { np, nn, lax, jit, valueAndGrad, defaultBackendName, Array as TfArray, type Array } from "../../src/index";
import { defaultThreadCount } from "../../src/backends/wasm/worker_hosts";
import { type Peer, type PeerInfo, type Timed, type ConvShape, type TrainerSpec, type Trainer, type DenseLayer } from "../harness.js";

type Layer = { w: Array; b: Array };

// Uploads straight into the wanted shape (`np.array(x).reshape(shape)` would leave the
// flat array as garbage every step, which the loop would then have to spill).
const fromJs = (x: Float32Array, shape: number[]): Array => TfArray.fromTyped(x, shape, "float32");
const read = async (a: any): Promise<Float32Array> => {
  const out = (await a.data()) as Float32Array;
  a.dispose?.();
  return out;
};

function upload(layers: DenseLayer[]): Layer[] {
  return layers.map((l) => ({ w: fromJs(l.w, [l.inDim, l.outDim]), b: fromJs(l.b, [l.outDim]) }));
}

const peer: Peer = {
  name: "tinyflow-tuned",
  hasJit: true,

  async setup(): Promise<PeerInfo> {
    const own = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };
    const threads = process.env.TINYFLOW_THREADS ?? `${defaultThreadCount()} (one per core)`;
    return {
      version: `tinyflow ${own.version} (this tree)`,
      backend: defaultBackendName(),
      notes: [`threads: ${threads}`, "fused elementwise kernels generated at run time (v128); Rust SIMD sgemm/conv"],
    };
  },

  async matmul(a, b, n): Promise<Timed> {
    const A = fromJs(a, [n, n]);
    const B = fromJs(b, [n, n]);
    const f = jit((x: Array, y: Array) => np.matmul(x, y));
    return { run: () => read(f(A, B)), dispose: () => (A.dispose(), B.dispose()) };
  },

  async elementwise(x): Promise<Timed> {
    const X = fromJs(x, [x.length]);
    const fn = (v: any) => np.tanh(v.mul(2).add(1)).mul(v);
    const f = jit(fn);
    return {
      run: () => read(f(X)),
      variants: [{ label: "eager", run: () => read(fn(X)) }],
      dispose: () => X.dispose(),
    };
  },

  async conv(x, w, s: ConvShape): Promise<Timed> {
    const X = fromJs(x, [s.n, s.h, s.w, s.cin]);
    const W = fromJs(w, [s.kh, s.kw, s.cin, s.cout]);
    const f = jit((xi: Array, wi: Array) => lax.convGeneralDilated(xi, wi, [1, 1], "SAME", { dimensionNumbers: ["NHWC", "HWIO", "NHWC"] }));
    return { run: () => read(f(X, W)), dispose: () => (X.dispose(), W.dispose()) };
  },

  async trainer(spec: TrainerSpec): Promise<Trainer> {
    const nLayers = spec.layers.length;
    const inDim = spec.layers[0]!.inDim;
    const classes = spec.layers[nLayers - 1]!.outDim;
    const lr = spec.lr;
    const lossFn = (params: Layer[], x: Array, y: Array) => {
      let h: any = x;
      params.forEach((p, i) => {
        h = np.matmul(h, p.w).add(p.b);
        if (i < nLayers - 1) h = nn.relu(h);
      });
      return nn.logSoftmax(h, -1).mul(y).sum(-1).mean().neg();
    };
    // A fresh jit per trainer: its first call traces and compiles. Params are donated.
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
        const X = fromJs(x, [spec.batch, inDim]);
        const Y = fromJs(y, [spec.batch, classes]);
        const [loss, next] = step(params, X, Y);
        params = next;
        X.dispose();
        Y.dispose();
        if (readLoss) return (await read(loss))[0]!;
        loss.dispose();
        return undefined;
      },
      async readParams() {
        return Promise.all(params.map(async (p) => ({ w: (await p.w.data()) as Float32Array, b: (await p.b.data()) as Float32Array })));
      },
      async setParams(layers) {
        params.forEach((p) => (p.w.dispose(), p.b.dispose()));
        params = upload(layers);
      },
      dispose() {
        params.forEach((p) => (p.w.dispose(), p.b.dispose()));
      },
    };
  },
};

export default peer;
