// bench/eager_frontend.ts — the cost of recording and differentiating ops in
// the eager (PyTorch-style) front end, before and after a change, in one
// process.
//
// "after" is src/frontends/eager of this checkout; "before" is the same file
// at a git revision (default: main), copied next to this script with its
// imports pointed at this checkout's src/ — so both run on the same core and
// backend, and only the front end differs. Workloads, each timed on both
// versions in interleaved repetitions (before, after, before, after, ...):
//   ops:    a chain of 10 elementwise/broadcasting ops on a [32, 32] tensor
//           that requires grad, then sum().backward() — reported per op
//   line:   one step of examples/eager_regression.ts part 1 (x@w + b, mse, manual SGD)
//   mlp:    one Adam step of examples/eager_regression.ts part 2 (1-32-32-1 tanh MLP, 128 points)
//   mlpCls: one SGD step of a 64-128-10 ReLU MLP with crossEntropy on a batch of 64
// Prints min and median wall ms per step, the median CPU ms per step (user +
// system: steadier than wall time on a loaded machine, though the worker
// threads of big kernels count too), µs per op for "ops", and the ratios
// before/after of the medians, with the load average. Benchmarks are not
// tests: nothing here asserts.
// Run: npx tsx bench/eager_frontend.ts [--before <git rev>] [--reps N]

import { execFileSync } from "node:child_process";
import { unlinkSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { median } from "./harness";

type Eager = typeof import("../src/frontends/eager");

const args = process.argv.slice(2);
const flag = (name: string, dflt: string) => {
  const i = args.indexOf(name);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : dflt;
};
const REV = flag("--before", "main");
const REPS = Number(flag("--reps", "7"));
const HERE = path.dirname(fileURLToPath(import.meta.url));

/** The front end at `rev`, loaded from a temporary copy whose imports resolve to this checkout. */
async function loadBefore(rev: string): Promise<Eager | null> {
  let src: string;
  try {
    src = execFileSync("git", ["show", `${rev}:src/frontends/eager/index.ts`], { cwd: HERE, encoding: "utf8" });
  } catch {
    console.log(`(no "before": git show ${rev}:src/frontends/eager/index.ts failed)`);
    return null;
  }
  const file = path.join(HERE, `.eager_before_${process.pid}.ts`);
  writeFileSync(file, src.replaceAll('"../../../', '"../').replaceAll('"../../', '"../src/'));
  try {
    return (await import(pathToFileURL(file).href)) as Eager;
  } finally {
    unlinkSync(file);
  }
}

interface Workload {
  name: string;
  /** ops recorded per step (for a per-op figure), or 0 */
  ops: number;
  setup(t: Eager): () => void;
}

const filled = (n: number, seed: number) => Array.from({ length: n }, (_, i) => Math.sin(i * 0.37 + seed));
const grid = (rows: number, cols: number, seed: number) => Array.from({ length: rows }, (_, r) => filled(cols, seed + r));

const workloads: Workload[] = [
  {
    name: "ops",
    ops: 11,
    setup(t) {
      const x = t.tensor(grid(32, 32, 1), { requiresGrad: true });
      const b = t.tensor(filled(32, 2), { requiresGrad: true });
      const c = t.tensor(grid(32, 32, 3));
      return () => {
        x.grad = null;
        b.grad = null;
        const y = x.mul(b).add(c).tanh().mul(2).sub(b).square().div(c.square().add(1)).sigmoid().mul(x).exp();
        y.sum().backward();
        x.grad!.value.dataSync();
      };
    },
  },
  {
    name: "line",
    ops: 0,
    setup(t) {
      t.manualSeed(0);
      const x = t.rand(200, 1).mul(4).sub(2);
      const y = x.mul(3).sub(1);
      const w = t.tensor([[0]], { requiresGrad: true });
      const b = t.tensor([0], { requiresGrad: true });
      return () => {
        const loss = x.matmul(w).add(b).sub(y).square().mean();
        loss.backward();
        t.noGrad(() => {
          w.sub_(w.grad!.mul(0.1));
          b.sub_(b.grad!.mul(0.1));
        });
        w.zeroGrad();
        b.zeroGrad();
        loss.item();
      };
    },
  },
  {
    name: "mlp",
    ops: 0,
    setup(t) {
      t.manualSeed(0);
      const xs = Array.from({ length: 128 }, (_, i) => -3 + (6 * i) / 127);
      const X = t.tensor(xs.map((v) => [v]));
      const Y = t.tensor(xs.map((v) => [Math.sin(v)]));
      const model = new t.Sequential(new t.Linear(1, 32), new t.Tanh(), new t.Linear(32, 32), new t.Tanh(), new t.Linear(32, 1));
      const opt = new t.Adam(model.parameters(), { lr: 0.01 });
      return () => {
        opt.zeroGrad();
        const loss = t.functional.mseLoss(model.forward(X), Y);
        loss.backward();
        opt.step();
        loss.item();
      };
    },
  },
  {
    name: "mlpCls",
    ops: 0,
    setup(t) {
      t.manualSeed(0);
      const X = t.tensor(grid(64, 64, 5));
      const labels = t.tensor(Int32Array.from({ length: 64 }, (_, i) => (i * 7) % 10));
      const model = new t.Sequential(new t.Linear(64, 128), new t.ReLU(), new t.Linear(128, 10));
      const opt = new t.SGD(model.parameters(), { lr: 0.1, momentum: 0.9 });
      return () => {
        opt.zeroGrad();
        const loss = t.functional.crossEntropy(model.forward(X), labels);
        loss.backward();
        opt.step();
        loss.item();
      };
    },
  },
];

const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
/** [wall, CPU] ms per step of `fn`: one sample is the mean over a batch of ~50 ms. */
function sample(fn: () => void, batch: number): [number, number] {
  const t0 = performance.now();
  const c0 = cpuMs();
  for (let i = 0; i < batch; i++) fn();
  return [(performance.now() - t0) / batch, (cpuMs() - c0) / batch];
}

async function main(): Promise<void> {
  const after = (await import("../src/frontends/eager")) as Eager;
  const before = await loadBefore(REV);
  const versions: [string, Eager][] = before ? [["before", before], ["after", after]] : [["after", after]];
  console.log(`# eager front end: before = ${before ? REV : "(none)"}, after = this checkout`);
  console.log(`${new Date().toISOString()}  ${os.cpus()[0]?.model ?? "?"} x${os.cpus().length}  node ${process.version}  load ${os.loadavg().map((l) => l.toFixed(2)).join(" ")}`);
  console.log("");
  console.log("| workload | version | min ms/step | median ms/step | median CPU ms/step | µs/op (median) | before/after (median) | before/after (CPU) |");
  console.log("|---|---|---|---|---|---|---|---|");
  for (const w of workloads) {
    const fns = versions.map(([, t]) => w.setup(t));
    // warm up (traces, compiles), then size the batch so that the slowest version takes ~50 ms
    for (const fn of fns) for (let i = 0; i < 3; i++) fn();
    const slowest = Math.max(...fns.map((fn) => sample(fn, 1)[0]));
    const batch = Math.max(1, Math.min(200, Math.ceil(50 / Math.max(slowest, 0.01))));
    const times = fns.map(() => [] as number[]);
    const cpus = fns.map(() => [] as number[]);
    for (let r = 0; r < REPS; r++) {
      fns.forEach((fn, i) => {
        const [wall, cpu] = sample(fn, batch);
        times[i].push(wall);
        cpus[i].push(cpu);
      });
    }
    const meds = times.map(median);
    const cpuMeds = cpus.map(median);
    versions.forEach(([v], i) => {
      const perOp = w.ops > 0 ? ((meds[i] * 1000) / w.ops).toFixed(0) : "";
      const last = versions.length === 2 && i === 1;
      const ratio = last ? `${(meds[0] / meds[1]).toFixed(1)}×` : "";
      const cpuRatio = last ? `${(cpuMeds[0] / cpuMeds[1]).toFixed(1)}×` : "";
      console.log(`| ${w.name} | ${v} | ${Math.min(...times[i]).toFixed(3)} | ${meds[i].toFixed(3)} | ${cpuMeds[i].toFixed(3)} | ${perOp} | ${ratio} | ${cpuRatio} |`);
    });
  }
  console.log("");
  console.log(`load after: ${os.loadavg().map((l) => l.toFixed(2)).join(" ")}; ${REPS} interleaved repetitions per version`);
}

await main();
