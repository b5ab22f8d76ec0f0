// Fingerprint of what the wasm code generators and the planner produce, for
// refactors that must not change it: hashes bytes and text() of a sweep of
// fused-kernel specs (elementwise, broadcast and gathered inputs, inner, outer,
// blocked and wide-row-scratch reductions, reductions blocked further out,
// all-axes reductions, multi-output, bool/int kernels) and the lowered program
// text of jitted programs (fusion, GEMM and conv epilogues, conv gradients,
// decompositions, indexing, library steps). Run it before and after a change: `tsx scripts/codegen-fingerprint.ts [--list]`.
import { createHash } from "node:crypto";
import { compileKernel, type KDType, type KernelNode, type KernelSpec, type ReduceOp } from "../src/backends/wasm/codegen/kernel";
import { ArrayImpl, grad, jit, lax, nn, np, setDefaultBackend } from "../src/index";

const list = process.argv.includes("--list");
const total = createHash("sha256");
let count = 0;
function record(name: string, text: string, bytes?: Uint8Array): void {
  const h = createHash("sha256").update(text);
  if (bytes) h.update(bytes);
  const digest = h.digest("hex").slice(0, 16);
  total.update(name).update(digest);
  count++;
  if (list) console.log(`${digest} ${name}${text.startsWith("error") ? ` ${text.slice(0, 120)}` : ""}`);
}

const dense = (shape: readonly number[]): number[] => {
  const s = new Array<number>(shape.length).fill(0);
  for (let d = shape.length - 1, acc = 1; d >= 0; d--) {
    s[d] = acc;
    acc *= shape[d];
  }
  return s;
};

// --- fused-kernel specs --------------------------------------------------------------------
const memory = new WebAssembly.Memory({ initial: 1, maximum: 65536, shared: true });
function kernel(name: string, spec: KernelSpec): void {
  // relaxedSimd: false, so the result does not depend on the engine
  let text: string;
  let bytes: Uint8Array | undefined;
  try {
    const k = compileKernel(spec, { memory, relaxedSimd: false });
    text = k.text() + `|scratch=${k.scratchBytes}`;
    bytes = k.bytes;
  } catch (e) {
    text = `error: ${(e as Error).message}`;
  }
  record(name, text, bytes);
}

const UNARY_F: string[] = ["neg", "abs", "sign", "floor", "ceil", "round", "nearest", "trunc", "exp", "log", "log1p", "expm1", "tanh", "logistic", "erf", "sin", "cos", "sqrt", "rsqrt", "round_f16"];
const BINARY_F: string[] = ["add", "sub", "mul", "div", "max", "min", "pow"];
const BINARY_I: string[] = ["add", "sub", "mul", "div", "rem", "max", "min", "and", "or", "xor", "shift_left", "shift_right_logical"];
const COMPARE: string[] = ["eq", "ne", "lt", "le", "gt", "ge"];
const SHAPES: number[][] = [[7], [16], [1000], [3, 5], [64, 33], [4, 1, 9], [2, 3, 4, 5]];

for (const shape of SHAPES) {
  const s = dense(shape);
  for (const op of UNARY_F) kernel(`unary ${op} ${shape}`, unary(op, "float32", "float32", shape, s));
  for (const op of BINARY_F) kernel(`binary ${op} f32 ${shape}`, binary(op, "float32", "float32", shape, s, s));
  for (const dt of ["int32", "uint32"] as const) for (const op of BINARY_I) kernel(`binary ${op} ${dt} ${shape}`, binary(op, dt, dt, shape, s, s));
  for (const dt of ["float32", "int32", "bool"] as const) for (const op of COMPARE) kernel(`compare ${op} ${dt} ${shape}`, binary(op, dt, "bool", shape, s, s));
  kernel(`not bool ${shape}`, unary("not", "bool", "bool", shape, s));
  kernel(`is_finite ${shape}`, unary("is_finite", "float32", "bool", shape, s));
  for (const y of [-3, 2, 5]) kernel(`integer_pow ${y} ${shape}`, { ...unary("integer_pow", "float32", "float32", shape, s), nodes: [{ op: "input", input: 0 }, { op: "integer_pow", args: [0], y, dtype: "float32" }] });
  for (const [from, to] of [["float32", "int32"], ["int32", "float32"], ["bool", "float32"], ["uint32", "float32"], ["float32", "bool"]] as const) kernel(`convert ${from}->${to} ${shape}`, unary("convert", from, to, shape, s));
  // broadcast: the second input constant along the first dim, or a scalar
  const bcast = s.map((v, d) => (d === 0 ? 0 : v));
  kernel(`broadcast add ${shape}`, binary("add", "float32", "float32", shape, s, bcast));
  kernel(`scalar mul ${shape}`, binary("mul", "float32", "float32", shape, s, s.map(() => 0)));
  // gathered (transposed) input
  if (shape.length >= 2) kernel(`transposed add ${shape}`, binary("add", "float32", "float32", shape, s, dense([...shape].reverse()).reverse()));
  kernel(`select+clamp ${shape}`, {
    shape,
    inputs: [{ dtype: "bool", strides: s }, { dtype: "float32", strides: s }, { dtype: "float32", strides: s }],
    nodes: [
      { op: "input", input: 0 }, { op: "input", input: 1 }, { op: "input", input: 2 },
      { op: "select", args: [0, 1, 2], dtype: "float32" },
      { op: "const", value: -0.5, dtype: "float32" }, { op: "const", value: 0.5, dtype: "float32" },
      { op: "clamp", args: [4, 3, 5], dtype: "float32" },
    ],
    outputs: [{ node: 6, dtype: "float32" }, { node: 3, dtype: "float32" }],
  });
  kernel(`fused tanh ${shape}`, tanhLike(shape, s));
}

// reductions: every axis subset of a few shapes, every op, plain and heavy bodies, one or two outputs
const RSHAPES: number[][] = [[9], [1000], [5000], [40, 3], [3000, 4], [3000, 8], [3000, 13], [300, 64], [2000, 40], [7, 40, 3], [2, 600, 5], [4, 5, 6, 7], [100000, 2], [20000, 37]];
const FOPS: ReduceOp[] = ["sum", "prod", "max", "min"];
for (const shape of RSHAPES) {
  const s = dense(shape);
  const subsets = [...Array(1 << shape.length).keys()].filter((m) => m > 0).map((m) => shape.map((_, d) => d).filter((d) => m & (1 << d)));
  for (const axes of subsets) {
    for (const op of FOPS) {
      kernel(`reduce ${op} f32 ${shape} ${axes}`, { ...unary("neg", "float32", "float32", shape, s), reduction: { op, axes } });
      kernel(`reduce ${op} exp ${shape} ${axes}`, { ...unary("exp", "float32", "float32", shape, s), reduction: { op, axes } });
    }
    kernel(`reduce sum two outputs ${shape} ${axes}`, {
      shape,
      inputs: [{ dtype: "float32", strides: s }],
      nodes: [{ op: "input", input: 0 }, { op: "mul", args: [0, 0], dtype: "float32" }],
      outputs: [{ node: 0, dtype: "float32" }, { node: 1, dtype: "float32" }],
      reduction: { op: "sum", axes },
    });
    kernel(`reduce max int32 ${shape} ${axes}`, { ...unary("abs", "int32", "int32", shape, s), reduction: { op: "max", axes } });
    kernel(`reduce sum int32 ${shape} ${axes}`, { ...unary("neg", "int32", "int32", shape, s), reduction: { op: "sum", axes } });
    for (const op of ["and", "or"] as const) kernel(`reduce ${op} bool ${shape} ${axes}`, { ...unary("not", "bool", "bool", shape, s), reduction: { op, axes } });
  }
}
// strided (gathered) reduction input and empty shapes
kernel("reduce sum transposed", { ...unary("neg", "float32", "float32", [300, 64], [1, 300]), reduction: { op: "sum", axes: [0] } });
// reduced dims further out than the one just outside the innermost (blocked with levels in scratch):
// a broadcast operand keeps the kept dims apart, or reduced and kept dims alternate
const bcastK = [0, 1, 0];
for (const op of ["sum", "prod", "max"] as const) {
  kernel(`reduce ${op} bcast [3000,4,5] 0`, { ...binary("add", "float32", "float32", [3000, 4, 5], dense([3000, 4, 5]), bcastK), reduction: { op, axes: [0] } });
  kernel(`reduce ${op} bcast [300,40,50] 0`, { ...binary("mul", "float32", "float32", [300, 40, 50], dense([300, 40, 50]), bcastK), reduction: { op, axes: [0] } });
  kernel(`reduce ${op} bcast [100000,3] all`, { ...binary("add", "float32", "float32", [100000, 3], [3, 1], [0, 1]), reduction: { op, axes: [0, 1] } });
  kernel(`reduce ${op} [1000,4,6] 0,2`, { ...unary("exp", "float32", "float32", [1000, 4, 6], dense([1000, 4, 6])), reduction: { op, axes: [0, 2] } });
  kernel(`reduce ${op} [200,3,1000,40] 0,2`, { ...unary("neg", "float32", "float32", [200, 3, 1000, 40], dense([200, 3, 1000, 40])), reduction: { op, axes: [0, 2] } });
}
kernel("reduce sum empty axis", { ...unary("neg", "float32", "float32", [0, 4], [4, 1]), reduction: { op: "sum", axes: [0] } });
kernel("elementwise empty", unary("neg", "float32", "float32", [0], [1]));
kernel("bad op", unary("exp", "int32", "int32", [4], [1]));

function unary(op: string, inDt: KDType, outDt: KDType, shape: number[], strides: number[]): KernelSpec {
  return { shape, inputs: [{ dtype: inDt, strides }], nodes: [{ op: "input", input: 0 }, { op, args: [0], dtype: outDt } as KernelNode], outputs: [{ node: 1, dtype: outDt }] };
}
function binary(op: string, inDt: KDType, outDt: KDType, shape: number[], sa: number[], sb: number[]): KernelSpec {
  return {
    shape,
    inputs: [{ dtype: inDt, strides: sa }, { dtype: inDt, strides: sb }],
    nodes: [{ op: "input", input: 0 }, { op: "input", input: 1 }, { op, args: [0, 1], dtype: outDt } as KernelNode],
    outputs: [{ node: 2, dtype: outDt }],
  };
}
function tanhLike(shape: number[], strides: number[]): KernelSpec {
  return {
    shape,
    inputs: [{ dtype: "float32", strides }],
    nodes: [
      { op: "input", input: 0 }, { op: "const", value: 2, dtype: "float32" }, { op: "mul", args: [0, 1], dtype: "float32" },
      { op: "const", value: 1, dtype: "float32" }, { op: "add", args: [2, 3], dtype: "float32" },
      { op: "tanh", args: [4], dtype: "float32" }, { op: "mul", args: [5, 0], dtype: "float32" },
    ],
    outputs: [{ node: 6, dtype: "float32" }],
  };
}

// --- lowered programs --------------------------------------------------------------------
setDefaultBackend("wasm");
const arr = (shape: number[], dtype: "float32" | "int32" = "float32"): ArrayImpl => {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = dtype === "float32" ? Float32Array.from({ length: n }, (_, i) => Math.sin(i + 1)) : Int32Array.from({ length: n }, (_, i) => (i * 7) % 11);
  return ArrayImpl.fromTyped(data, shape, dtype, { backend: "wasm" });
};
function program(name: string, f: (...xs: any[]) => unknown, ...args: ArrayImpl[]): void {
  let text: string;
  try {
    text = (jit(f).lower as (...a: unknown[]) => { text(): string })(...args).text();
  } catch (e) {
    text = `error: ${(e as Error).message}`;
  }
  record(`program ${name}`, text);
}
const x = arr([8, 16]);
const w = arr([16, 32]);
const b = arr([32]);
program("elementwise chain", (a: any) => np.tanh(a.mul(2).add(1)).mul(a), x);
program("softmax", (a: any) => nn.softmax(a, -1), x);
program("logsumexp grad", grad((a: any) => nn.logsumexp(a, -1).sum()), x);
program("mlp relu bias", (a: any, m: any, v: any) => nn.relu(np.matmul(a, m).add(v)), x, w, b);
program("mlp row bias scale", (a: any, m: any, v: any) => np.matmul(a, m).mul(2).add(v.reshape([1, 32])).maximum(0), x, w, b);
program("gemm used twice", (a: any, m: any) => { const y = np.matmul(a, m); return [y.add(1), y.sum()]; }, x, w);
program("narrow gemm", (a: any, m: any) => np.matmul(a, m), arr([512, 128]), arr([128, 4]));
program("batched gemm", (a: any, m: any) => np.matmul(a, m).add(1), arr([3, 8, 16]), arr([3, 16, 32]));
program("mlp grad", grad((m: any, a: any) => nn.relu(np.matmul(a, m)).sum()), w, x);
program("dot int", (a: any, m: any) => np.matmul(a, m), arr([4, 5], "int32"), arr([5, 6], "int32"));
const img = arr([2, 3, 9, 9]);
const ker = arr([4, 3, 3, 3]);
const cb = arr([1, 4, 1, 1]);
program("conv", (a: any, k: any) => lax.conv(a, k, [1, 1], "SAME"), img, ker);
program("conv bias relu", (a: any, k: any, v: any) => nn.relu(lax.conv(a, k, [1, 1], "SAME").add(v)), img, ker, cb);
program("conv nhwc bias", (a: any, k: any, v: any) => lax.convGeneralDilated(a, k, [1, 1], "SAME", { dimensionNumbers: ["NHWC", "HWIO", "NHWC"] }).add(v), arr([2, 9, 9, 3]), arr([3, 3, 3, 4]), arr([4]));
program("conv strided", (a: any, k: any) => lax.conv(a, k, [2, 2], "VALID"), img, ker);
program("conv 1x1", (a: any, k: any) => lax.conv(a, k, [1, 1], "VALID"), img, arr([4, 3, 1, 1]));
program("conv grads", grad((a: any, k: any) => lax.conv(a, k, [1, 1], "SAME").sum(), { argnums: [0, 1] } as any), img, ker);
program("conv grads strided", grad((a: any, k: any) => lax.conv(a, k, [2, 2], "SAME").mul(lax.conv(a, k, [2, 2], "SAME")).sum(), { argnums: [0, 1] } as any), img, ker);
const sq = arr([6, 6]);
const spd = (a: any) => np.matmul(a, a.T).add(np.eye(6).mul(6));
program("cholesky", (a: any) => np.linalg.cholesky(spd(a)), sq);
program("qr", (a: any) => np.linalg.qr(a), sq);
program("eigh", (a: any) => np.linalg.eigh(spd(a)), sq);
program("svd", (a: any) => np.linalg.svd(a), sq);
program("solve", (a: any, v: any) => np.linalg.solve(spd(a), v), sq, arr([6]));
program("inv", (a: any) => np.linalg.inv(spd(a)), sq);
program("det", (a: any) => np.linalg.det(spd(a)), sq);
program("solve grad", grad((a: any) => np.linalg.solve(spd(a), np.ones([6])).sum()), sq);
program("cumsum", (a: any) => np.cumsum(a, 1), x);
program("sort", (a: any) => np.sort(a, -1), x);
program("argmax", (a: any) => np.argmax(a, 1), x);
program("topk", (a: any) => lax.topK(a, 3), x);
program("gather take", (a: any, i: any) => np.take(a, i, 0), x, arr([5], "int32"));
program("slice pad concat", (a: any) => np.concatenate([np.pad(a, [[1, 0], [0, 2]]), np.ones([9, 18])], 0), x);
program("transpose reduce", (a: any) => a.T.sum(0), x);
program("outer reduction wide", (a: any) => a.sum(0), arr([2000, 40]));
program("outer reduction narrow", (a: any) => a.sum(0), arr([3000, 4]));
program("mean var", (a: any) => [np.mean(a, 0), np.var(a, 1)], x);
program("maxpool", (a: any) => lax.reduceWindow(a, -Infinity, "max", [1, 1, 2, 2], [1, 1, 2, 2], "VALID"), img);
program("avgpool grad", grad((a: any) => lax.reduceWindow(a, 0, "sum", [1, 1, 3, 3], [1, 1, 2, 2], "SAME").sum()), img);
program("dynamic slices", (a: any, i: any) => lax.dynamicUpdateSlice(a, lax.dynamicSlice(a, [i, 0], [2, 16]).mul(2), [0, 0]), x, arr([], "int32"));
program("transcendental", (a: any) => [np.tan(a), np.sinh(a), np.arctan(a), np.arcsin(a.mul(0.1)), np.cosh(a), np.arctan2(a, a.add(2))], x);
program("rem integer_pow", (a: any) => [np.remainder(a, 0.7), a.mul(a).mul(a), np.power(a, 3), np.power(a, -2)], x);
program("int ops", (a: any) => [np.bitwiseAnd(a, 3), np.remainder(a, 4), a.add(1).max()], arr([5, 7], "int32"));
program("comparisons select", (a: any) => np.where(a.gt(0), a, a.mul(0.1)), x);
program("cast", (a: any) => a.astype("int32").add(1).astype("float32"), x);
program("scan", (a: any) => lax.scan((c: any, v: any) => [c.add(v), c.mul(v)], np.zeros([16]), a), x);
program("grad tanh mlp", grad((m: any, a: any) => np.tanh(np.matmul(a, m).add(b)).mul(2).sum()), w, x);

console.log(`${count} fingerprints: ${total.digest("hex")}`);
