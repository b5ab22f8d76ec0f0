// bench/peers/jaxjs.ts — the @jax-js/jax adapter for the benchmark harness.
//
// Runs on jax-js's "wasm" device. jax-js counts references: every function
// (jit-compiled ones included) consumes its array arguments, `x.ref` adds a
// reference, `data()` consumes the array it reads. This adapter follows those
// rules so nothing leaks across repetitions: inputs kept for later calls are
// passed as `x.ref`, results are consumed by `data()` or `dispose()`.
// Every timed path is jit-compiled (W1, W2, W5, the training step); W2 also
// reports the eager (un-jitted) form and W5 the native NCHW layout.

import { numpy as np, nn, lax, jit, valueAndGrad, init, defaultDevice, tree, blockUntilReady } from "@jax-js/jax";
import {
  packageVersion,
  hwioToOihw,
  nhwcToNchw,
  nchwToNhwc,
  type Peer,
  type PeerInfo,
  type Timed,
  type ConvShape,
  type TrainerSpec,
  type Trainer,
  type DenseLayer,
} from "../harness.js";

type Layer = { w: np.Array; b: np.Array };

/** Upload a JS Float32Array (jax-js types its input as Float32Array<ArrayBuffer>). */
const fromJs = (x: Float32Array): np.Array => np.array(x as Float32Array<ArrayBuffer>);

const f32 = async (a: np.Array): Promise<Float32Array> => (await a.data()) as Float32Array;

function upload(layers: DenseLayer[]): Layer[] {
  return layers.map((l) => ({
    w: fromJs(l.w).reshape([l.inDim, l.outDim]),
    b: fromJs(l.b),
  }));
}

const peer: Peer = {
  name: "jaxjs",
  hasJit: true,

  async setup(): Promise<PeerInfo> {
    // init() with no argument also probes WebGPU and throws in Node 20
    // ("navigator is not defined"), so ask for wasm only.
    const devices = await init("wasm");
    if (!devices.includes("wasm")) throw new Error(`jax-js: wasm device unavailable (got ${devices.join(",")})`);
    defaultDevice("wasm");
    // jax-js's wasm backend starts a worker pool only when both
    // SharedArrayBuffer and a global Web `Worker` exist; Node has no global Worker.
    const threaded = typeof SharedArrayBuffer !== "undefined" && typeof (globalThis as { Worker?: unknown }).Worker !== "undefined";
    return {
      version: `@jax-js/jax ${packageVersion("@jax-js/jax")}`,
      backend: "wasm",
      notes: [
        threaded ? "multi-threaded (worker pool)" : "single-threaded: Node has no global Worker, so no worker pool",
        "kernels generated at run time, SIMD (v128) matmul tiles",
      ],
    };
  },

  async matmul(a, b, n): Promise<Timed> {
    const A = fromJs(a).reshape([n, n]);
    const B = fromJs(b).reshape([n, n]);
    const f = jit((x: np.Array, y: np.Array) => np.matmul(x, y));
    return {
      run: () => f32(f(A.ref, B.ref)),
      dispose: () => {
        A.dispose();
        B.dispose();
        f.dispose();
      },
    };
  },

  async elementwise(x): Promise<Timed> {
    const X = fromJs(x);
    const fn = (v: np.Array) => np.tanh(v.ref.mul(2).add(1)).mul(v);
    const f = jit(fn);
    return {
      run: () => f32(f(X.ref)),
      variants: [{ label: "eager", run: () => f32(fn(X.ref)) }],
      dispose: () => {
        X.dispose();
        f.dispose();
      },
    };
  },

  async conv(x, w, s: ConvShape): Promise<Timed> {
    // jax-js's convGeneralDilated has fixed layouts: lhs NCHW, rhs OIHW, out NCHW.
    // Main row: NHWC in, NHWC out, the transposes inside the jitted function
    // (that is what NHWC costs this peer). The kernel is converted to OIHW once,
    // untimed, like loading weights. Variant: the same conv with NCHW data given.
    const X = fromJs(x).reshape([s.n, s.h, s.w, s.cin]);
    const Xc = fromJs(nhwcToNchw(x, s.n, s.h, s.w, s.cin)).reshape([s.n, s.cin, s.h, s.w]);
    const W = fromJs(hwioToOihw(w, s)).reshape([s.cout, s.cin, s.kh, s.kw]);
    const nhwc = jit((xi: np.Array, wi: np.Array) =>
      lax.convGeneralDilated(xi.transpose([0, 3, 1, 2]), wi, [1, 1], "SAME").transpose([0, 2, 3, 1]),
    );
    const nchw = jit((xi: np.Array, wi: np.Array) => lax.convGeneralDilated(xi, wi, [1, 1], "SAME"));
    return {
      run: () => f32(nhwc(X.ref, W.ref)),
      variants: [
        {
          label: "NCHW native",
          run: () => f32(nchw(Xc.ref, W.ref)),
          toCanonical: (out) => nchwToNhwc(out, s.n, s.h, s.w, s.cout),
        },
      ],
      dispose: () => {
        X.dispose();
        Xc.dispose();
        W.dispose();
        nhwc.dispose();
        nchw.dispose();
      },
    };
  },

  async trainer(spec: TrainerSpec): Promise<Trainer> {
    const nLayers = spec.layers.length;
    const inDim = spec.layers[0]!.inDim;
    const classes = spec.layers[nLayers - 1]!.outDim;
    const lr = spec.lr;

    const lossFn = (params: Layer[], x: np.Array, y: np.Array): np.Array => {
      let h = x;
      params.forEach((p, i) => {
        h = np.matmul(h, p.w).add(p.b);
        if (i < nLayers - 1) h = nn.relu(h);
      });
      return nn.logSoftmax(h, -1).mul(y).sum(-1).mean().neg();
    };
    // A fresh jit per trainer: its first call traces and compiles.
    const step = jit((params: Layer[], x: np.Array, y: np.Array) => {
      const [loss, grads] = valueAndGrad(lossFn)(tree.ref(params), x, y);
      const next = params.map((p, i) => ({
        w: p.w.sub(grads[i]!.w.mul(lr)),
        b: p.b.sub(grads[i]!.b.mul(lr)),
      }));
      return [loss, next] as [np.Array, Layer[]];
    });
    let params = upload(spec.layers);

    return {
      async step(x, y, readLoss) {
        const X = fromJs(x).reshape([spec.batch, inDim]);
        const Y = fromJs(y).reshape([spec.batch, classes]);
        const [loss, next] = step(params, X, Y); // consumes params, X, Y
        params = next;
        if (readLoss) return (await f32(loss))[0]!;
        loss.dispose();
        // jax-js queues work lazily; its docs ask iterative code to call
        // blockUntilReady regularly, else the pending queue grows without bound
        // (1000 unsynchronised W4 steps took ~24 s and 1.4 GB here). Waiting
        // every step matches TF1's synchronous sess.run(train_step).
        await blockUntilReady(params);
        return undefined;
      },
      async readParams() {
        const out: { w: Float32Array; b: Float32Array }[] = [];
        for (const p of params) out.push({ w: await f32(p.w.ref), b: await f32(p.b.ref) });
        return out;
      },
      async setParams(layers) {
        tree.dispose(params);
        params = upload(layers);
      },
      dispose() {
        tree.dispose(params);
        step.dispose();
      },
    };
  },
};

export default peer;
