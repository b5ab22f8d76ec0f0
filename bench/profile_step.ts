// Profiling aid: times the pieces of a small jitted training step (the W4
// logistic regression) so dispatch overhead can be compared with compute.
// Run: npx tsx bench/profile_step.ts  (add --cpu-prof to node for a profile)

import { np, nn, jit, valueAndGrad } from "../src/index";

const batch = 100;
const x = new Float32Array(batch * 784).map((_, i) => (i % 7) / 7);
const y = new Float32Array(batch * 10).map((_, i) => (i % 10 === 3 ? 1 : 0));
let params = { w: np.zeros([784, 10]), b: np.zeros([10]) };
const loss = (p: any, xb: any, yb: any) => np.mean(nn.softmaxCrossEntropy(np.matmul(xb, p.w).add(p.b), yb));
const step = jit((p: any, xb: any, yb: any) => {
  const [, g] = valueAndGrad(loss)(p, xb, yb);
  return { w: p.w.sub(g.w.mul(0.5)), b: p.b.sub(g.b.mul(0.5)) };
});

const time = (label: string, n: number, f: () => void) => {
  f();
  const t0 = performance.now();
  for (let i = 0; i < n; i++) f();
  console.log(`${label}: ${(((performance.now() - t0) / n) * 1000).toFixed(1)} µs`);
};
time("upload x (np.array of 78400 floats)", 200, () => np.array(x, { dtype: np.float32 }).reshape([batch, 784]));
const X = np.array(x, { dtype: np.float32 }).reshape([batch, 784]);
const Y = np.array(y, { dtype: np.float32 }).reshape([batch, 10]);
time("jitted step (arrays already uploaded)", 300, () => {
  params = step(params, X, Y);
});
time("full step incl. uploads", 300, () => {
  const xb = np.array(x, { dtype: np.float32 }).reshape([batch, 784]);
  const yb = np.array(y, { dtype: np.float32 }).reshape([batch, 10]);
  params = step(params, xb, yb);
});
console.log(step.lower(params, X, Y).text().split("# generated kernels")[0]);
console.log(step.lower(params, X, Y).profile());
