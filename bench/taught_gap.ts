// Where the README's idiom loses time against hand-managed code, per workload,
// in one process: the W3 MLP step, the W4 logistic-regression loop and the W5
// conv, each written as taught (`np.array(x).reshape(shape)` uploads, nothing
// disposed, `await y.data()`) and as the tuned adapter writes it
// (`Array.fromTyped`, every input and output disposed), plus the two halves of
// the difference alone (taught uploads but everything disposed; fromTyped
// uploads but nothing disposed). Variants run in blocks, rotated round by
// round, so each sees the collector and allocator state the others leave.
// Prints wall and CPU ms per step (min / median over blocks) and the full
// (mark-compact) collections that started inside each variant's blocks.
//
// Run: npx tsx bench/taught_gap.ts [W3|W4|W5|all] [rounds]   (default all, 8 rounds; ONLY=0,1 picks variants)

import { loadavg } from "node:os";
import { PerformanceObserver, constants } from "node:perf_hooks";
import { np, nn, lax, jit, valueAndGrad, Array as TfArray, memoryStats, type Tracer } from "../src/index";
import { batchAt, convInputs, denseInit, loadMnist, W3_SPEC, W4_SPEC, W5_SHAPE, zeroInit, type DenseLayer } from "./harness";

const which = process.argv[2] ?? "all";
const rounds = Number(process.argv[3] ?? 8);

type Layer = { w: Tracer; b: Tracer };
const fromJs = (x: Float32Array, shape: number[]): Tracer => TfArray.fromTyped(x, shape, "float32");
const taughtUpload = (x: Float32Array, shape: number[]): Tracer => np.array(x).reshape(shape);

// Full collections, by start time, to attribute them to the variant running then.
const majorGcStarts: number[] = [];
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    if ((e as { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR) majorGcStarts.push(e.startTime);
  }
}).observe({ entryTypes: ["gc"] });

interface Variant {
  label: string;
  /** One block of work; returns the number of steps it ran. */
  block(): Promise<number>;
}

function trainStep(nLayers: number, lr: number) {
  const lossFn = (params: Layer[], x: Tracer, y: Tracer) => {
    let h: Tracer = x;
    params.forEach((p, i) => {
      h = np.matmul(h, p.w).add(p.b);
      if (i < nLayers - 1) h = nn.relu(h);
    });
    return nn.logSoftmax(h, -1).mul(y).sum(-1).mean().neg();
  };
  return jit(
    (params: Layer[], x: Tracer, y: Tracer) => {
      const [loss, grads] = valueAndGrad(lossFn)(params, x, y);
      const next = params.map((p, i) => ({ w: p.w.sub(grads[i]!.w.mul(lr)), b: p.b.sub(grads[i]!.b.mul(lr)) }));
      return [loss, next] as [Tracer, Layer[]];
    },
    { donateArgnums: [0] },
  );
}

/** A dense trainer's step with a choice of upload and of disposing; `readLoss` awaits the loss each step. */
function trainerVariants(layers: DenseLayer[], lr: number, batch: number, batches: { x: Float32Array; y: Float32Array }[], steps: number, readLoss: boolean): Variant[] {
  const inDim = layers[0]!.inDim;
  const classes = layers[layers.length - 1]!.outDim;
  const make = (label: string, upload: typeof fromJs, dispose: boolean): Variant => {
    const step = trainStep(layers.length, lr);
    let params: Layer[] = layers.map((l) => ({ w: upload(l.w, [l.inDim, l.outDim]), b: upload(l.b, [l.outDim]) }));
    let k = 0;
    return {
      label,
      async block() {
        for (let i = 0; i < steps; i++) {
          const { x, y } = batches[k++ % batches.length]!;
          const X = upload(x, [batch, inDim]);
          const Y = upload(y, [batch, classes]);
          const [loss, next] = step(params, X, Y);
          params = next;
          if (dispose) (X.dispose(), Y.dispose());
          if (readLoss) await loss.data();
          if (dispose) loss.dispose();
        }
        // The W4 loop reads its parameters back once at the end.
        if (!readLoss) for (const p of params) (await p.w.data(), await p.b.data());
        return steps;
      },
    };
  };
  return [
    make("as taught (np.array+reshape, no dispose)", taughtUpload, false),
    make("tuned (fromTyped, dispose)", fromJs, true),
    make("np.array+reshape, dispose", taughtUpload, true),
    make("fromTyped, no dispose", fromJs, false),
  ];
}

function w5Variants(): Variant[] {
  const s = W5_SHAPE;
  const { x, w } = convInputs(s);
  const f = jit((xi: Tracer, wi: Tracer) => lax.convGeneralDilated(xi, wi, [1, 1], "SAME", { dimensionNumbers: ["NHWC", "HWIO", "NHWC"] }));
  const X = taughtUpload(x, [s.n, s.h, s.w, s.cin]);
  const W = taughtUpload(w, [s.kh, s.kw, s.cin, s.cout]);
  const calls = 20;
  return [
    { label: "as taught: await f(X, W).data()", async block() { for (let i = 0; i < calls; i++) await f(X, W).data(); return calls; } },
    {
      label: "tuned: await data(), dispose()",
      async block() {
        for (let i = 0; i < calls; i++) {
          const y = f(X, W);
          await y.data();
          y.dispose();
        }
        return calls;
      },
    },
  ];
}

async function measure(title: string, all: Variant[]): Promise<void> {
  // ONLY=0,2 keeps those variants (e.g. to profile one alone with node --cpu-prof).
  const only = process.env.ONLY?.split(",").map(Number);
  const variants = only ? all.filter((_, i) => only.includes(i)) : all;
  for (const v of variants) await v.block(); // warm-up: compile, grow memory
  const wall = variants.map(() => [] as number[]);
  const cpu = variants.map(() => [] as number[]);
  const gcs = variants.map(() => 0);
  const faults = variants.map(() => 0);
  const steps = variants.map(() => 0);
  for (let r = 0; r < rounds; r++) {
    for (let j = 0; j < variants.length; j++) {
      const i = (j + r) % variants.length;
      const f0 = process.resourceUsage().minorPageFault;
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      const n = await variants[i]!.block();
      const t1 = performance.now();
      const c = process.cpuUsage(c0);
      faults[i]! += process.resourceUsage().minorPageFault - f0;
      wall[i]!.push((t1 - t0) / n);
      cpu[i]!.push((c.user + c.system) / 1000 / n);
      steps[i]! += n;
      // Collections are reported asynchronously: let the observer catch up before counting.
      await new Promise((res) => setTimeout(res, 5));
      gcs[i]! += majorGcStarts.filter((t) => t >= t0 && t <= t1).length;
    }
  }
  const stat = (xs: number[]) => {
    const q = xs.slice().sort((a, b) => a - b);
    return `${q[0]!.toFixed(3)} / ${q[q.length >> 1]!.toFixed(3)}`;
  };
  console.log(`\n${title}: ${rounds} rounds, ms per step (min / median over blocks); load ${loadavg().map((l) => l.toFixed(2)).join(" ")}`);
  console.log(`${"variant".padEnd(44)} ${"wall".padStart(15)}   ${"CPU".padStart(15)}   full GCs / page faults per 1000 steps`);
  variants.forEach((v, i) => console.log(`${v.label.padEnd(44)} ${stat(wall[i]!).padStart(15)}   ${stat(cpu[i]!).padStart(15)}   ${((gcs[i]! / steps[i]!) * 1000).toFixed(1)} / ${((faults[i]! / steps[i]!) * 1000).toFixed(0)}`));
  console.log(`memoryStats: ${JSON.stringify(memoryStats())}`);
}

const mnist = loadMnist();
if (which === "W3" || which === "all") {
  const batches = Array.from({ length: 40 }, (_, i) => batchAt(mnist.train, W3_SPEC.batch, i));
  await measure("W3 MLP 784-256-10 b128 step, loss awaited each step", trainerVariants(denseInit([784, W3_SPEC.hidden, 10], 6000), W3_SPEC.lr, W3_SPEC.batch, batches, 50, true));
}
if (which === "W4" || which === "all") {
  const batches = Array.from({ length: 80 }, (_, i) => batchAt(mnist.train, W4_SPEC.batch, i));
  await measure("W4 logreg, 1000 synchronous steps then a read", trainerVariants(zeroInit([784, 10]), W4_SPEC.lr, W4_SPEC.batch, batches, W4_SPEC.steps, false));
}
if (which === "W5" || which === "all") await measure("W5 conv 32x28x28x1->32 NHWC", w5Variants());
process.exit(0);
