// bench/peers/tfjs.ts — the TensorFlow.js adapter for the benchmark harness,
// on @tensorflow/tfjs-backend-wasm (XNNPACK kernels compiled to WebAssembly).
//
// tfjs has no jit: each op is one kernel call, so W6 is n/a. Tensors are freed
// with tf.tidy / dispose(); the training step uses tf.train.sgd().minimize(),
// which computes the gradients with tf.variableGrads and frees them itself.
// setup() records which .wasm binary the backend actually loaded (SIMD or
// not, threaded or not) by watching fs reads of *.wasm during initialisation.

import fs from "node:fs";
import * as tf from "@tensorflow/tfjs";
import * as tfwasm from "@tensorflow/tfjs-backend-wasm";
import { packageVersion, type Peer, type PeerInfo, type Timed, type TrainerSpec, type Trainer, type DenseLayer } from "../harness.js";

type Vars = { w: tf.Variable; b: tf.Variable }[];

function makeVars(layers: DenseLayer[]): Vars {
  return layers.map((l) => ({
    w: tf.variable(tf.tensor2d(l.w, [l.inDim, l.outDim]), true),
    b: tf.variable(tf.tensor1d(l.b), true),
  }));
}

const f32 = async (t: tf.Tensor): Promise<Float32Array> => {
  const d = (await t.data()) as Float32Array;
  t.dispose();
  return d;
};

const peer: Peer = {
  name: "tfjs",
  hasJit: false,

  async setup(): Promise<PeerInfo> {
    const loaded: string[] = [];
    const orig = fs.readFileSync;
    (fs as { readFileSync: unknown }).readFileSync = function (this: unknown, p: unknown, ...rest: unknown[]) {
      if (String(p).endsWith(".wasm")) loaded.push(String(p).split("/").pop()!);
      return (orig as (...a: unknown[]) => unknown).call(this, p, ...rest);
    };
    try {
      if (!(await tf.setBackend("wasm"))) throw new Error("tfjs: setBackend('wasm') failed");
      await tf.ready();
    } finally {
      (fs as { readFileSync: unknown }).readFileSync = orig;
    }
    const simd = await tf.env().getAsync("WASM_HAS_SIMD_SUPPORT");
    const threads = await tf.env().getAsync("WASM_HAS_MULTITHREAD_SUPPORT");
    return {
      version: `@tensorflow/tfjs ${packageVersion("@tensorflow/tfjs")} + tfjs-backend-wasm ${packageVersion("@tensorflow/tfjs-backend-wasm")}`,
      backend: tf.getBackend(),
      notes: [
        `loaded ${loaded.join(", ") || "(no .wasm read through fs)"}`,
        `SIMD ${simd ? "yes" : "no"}, threads ${threads ? "yes" : "no"} (tfjs disables wasm threads in Node), ${tfwasm.getThreadsCount()} thread(s)`,
      ],
    };
  },

  async matmul(a, b, n): Promise<Timed> {
    const A = tf.tensor2d(a, [n, n]);
    const B = tf.tensor2d(b, [n, n]);
    return {
      run: () => f32(tf.matMul(A, B)),
      dispose: () => tf.dispose([A, B]),
    };
  },

  async elementwise(x): Promise<Timed> {
    const X = tf.tensor1d(x);
    return {
      run: () => f32(tf.tidy(() => tf.mul(tf.tanh(tf.add(tf.mul(X, 2), 1)), X))),
      dispose: () => X.dispose(),
    };
  },

  async conv(x, w, s): Promise<Timed> {
    const X = tf.tensor4d(x, [s.n, s.h, s.w, s.cin]);
    const W = tf.tensor4d(w, [s.kh, s.kw, s.cin, s.cout]);
    return {
      run: () => f32(tf.conv2d(X, W, 1, "same", "NHWC")),
      dispose: () => tf.dispose([X, W]),
    };
  },

  async trainer(spec: TrainerSpec): Promise<Trainer> {
    const nLayers = spec.layers.length;
    const inDim = spec.layers[0]!.inDim;
    const classes = spec.layers[nLayers - 1]!.outDim;
    let vars = makeVars(spec.layers);
    const varList = vars.flatMap((v) => [v.w, v.b]);
    const opt = tf.train.sgd(spec.lr);
    return {
      async step(x, y, readLoss) {
        const X = tf.tensor2d(x, [spec.batch, inDim]);
        const Y = tf.tensor2d(y, [spec.batch, classes]);
        const loss = opt.minimize(() => {
          let h: tf.Tensor = X;
          vars.forEach((v, i) => {
            h = tf.add(tf.matMul(h, v.w), v.b);
            if (i < nLayers - 1) h = tf.relu(h);
          });
          return tf.neg(tf.mean(tf.sum(tf.mul(Y, tf.logSoftmax(h, -1)), -1))) as tf.Scalar;
        }, readLoss, varList);
        tf.dispose([X, Y]);
        if (readLoss && loss) return (await f32(loss))[0]!;
        return undefined;
      },
      async readParams() {
        const out: { w: Float32Array; b: Float32Array }[] = [];
        for (const v of vars) out.push({ w: (await v.w.data()) as Float32Array, b: (await v.b.data()) as Float32Array });
        return out;
      },
      async setParams(layers) {
        tf.tidy(() =>
          vars.forEach((v, i) => {
            v.w.assign(tf.tensor2d(layers[i]!.w, [layers[i]!.inDim, layers[i]!.outDim]));
            v.b.assign(tf.tensor1d(layers[i]!.b));
          }),
        );
      },
      dispose() {
        vars.forEach((v) => tf.dispose([v.w, v.b]));
        vars = [];
        opt.dispose();
      },
    };
  },
};

export default peer;
