// WGSL for the matrix decompositions the WebGPU target runs on the device
// (the planner's "decomposition" library calls, plan/library.ts), and the
// table that tells the planner which ones those are: the others stay host
// steps (read back, computed by the interpreter, uploaded), which also need a
// readback in the middle of a program.
//
// The kernels work on stacks of row-major float32 matrices and give the
// interpreter's results up to float32 rounding (the interpreter computes in
// float64 and rounds once; here every operation rounds to f32):
//
// - cholesky: one workgroup per matrix, right-looking (for each column j: the
//   pivot's square root, column j below it divided by it, then the trailing
//   lower triangle updated by the outer product of column j), in place in the
//   output buffer, one storage barrier per phase. It reads only a's lower
//   triangle, writes zeros above the diagonal, and where a pivot is not
//   positive (or NaN) the whole factor is NaN, as the interpreter (and JAX,
//   reporting LAPACK's failure) gives.
// - triangular_solve: the solve is normalised to a left solve M y = c with M
//   lower or upper triangular (x op(a) = b is op(a)ᵀ xᵀ = bᵀ), as the
//   interpreter does. One workgroup per matrix and chunk of RHS_CHUNK
//   right-hand sides runs column-oriented substitution: at step i every
//   later row k of the chunk loses M(k,i)·y(i) (y(i) = z(i)/M(i,i) recomputed
//   from the still-undivided row i, so one barrier per step suffices), and the
//   rows are divided by their diagonal at the end. Only the triangle the
//   params name is read; unitDiagonal skips the divisions.
// - lu: one workgroup per matrix, right-looking with partial pivoting as the
//   interpreter (LAPACK getrf) chooses: for each column j the pivot is the first
//   row at or below j of largest |entry|, found by a tree reduction in workgroup
//   memory (NaN never wins; a NaN diagonal stays the pivot); the rows are
//   swapped, the column below divided by the pivot (skipped for a zero pivot),
//   and the trailing block updated (rows whose multiplier is 0 untouched).
//   Outputs: the packed L\U, the pivots (int32, min(m, n)) and the permutation
//   (int32, m).
//
// Each runs n dependent steps inside one workgroup, so it suits the many
// small and moderate matrices of batched models (n up to a few hundred: a
// 256-thread workgroup does O(n²) work per step, all through storage
// memory); a large single matrix would want a blocked multi-workgroup
// factorisation. Where NaN decides a branch, the test is on the bits
// (tf_is_nan, tf_nonzero): SwiftShader's compiler, as WGSL allows, does not
// keep NaN semantics in float comparisons. Sizes come from the
// parameter uniform (params.ts) unless specialised; the triangle, side,
// transpose and unit-diagonal choice are the kernel's structure.

import type { Decomposition } from "../../../core/primitives";
import { BackendError } from "../../../core/errors";
import type { LibraryCall } from "../../plan/kernel_graph";
import { WORKGROUP } from "./kernel";
import { ParamTable } from "./params";
import { SCALAR_PRELUDE } from "./scalar";

/** Which decompositions have a WGSL kernel here (WEBGPU_TARGET's table); the rest run as host steps. */
export const WGSL_DECOMPOSITIONS: { readonly [P in Decomposition]: boolean } = {
  cholesky: true,
  triangular_solve: true,
  lu: true,
  qr: false,
  eigh: false,
  svd: false,
};

/** Right-hand sides one workgroup of a triangular solve handles. */
export const RHS_CHUNK = 64;

/** One pass of a decomposition: `workgroups` workgroups over the step's inputs then outputs, its uniform bound after them. */
export interface DecompositionPass {
  code: string;
  dispatch: { workgroups: number };
  bindings: readonly ({ kind: "input"; index: number } | { kind: "output"; index: number })[];
  params: Uint32Array | null;
}

type DecompositionCall = Extract<LibraryCall, { op: "decomposition" }>;

const ENTRY =
  `@compute @workgroup_size(${WORKGROUP})\n` +
  "fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32, @builtin(num_workgroups) nwg: vec3<u32>)";

/**
 * Comparisons go through the bits where NaN matters: WGSL lets a compiler assume floats are
 * never NaN, so `x != 0.0` or `v > best` could not be trusted to see one.
 */
const NONZERO = "fn tf_nonzero(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) != 0u; }";

const f32At = (buf: string, at: string) => `bitcast<f32>(${buf}[${at}])`;

/** A shader over `inputs` read-only buffers in0.. and `outputs` writable ones (out, out1, out2, ...). */
function shader(P: ParamTable, inputs: number, body: string[], extra = "", outputs = 1): { code: string; params: Uint32Array | null } {
  const decls = [
    ...Array.from({ length: inputs }, (_, b) => `@group(0) @binding(${b}) var<storage, read> in${b}: array<u32>;`),
    ...Array.from({ length: outputs }, (_, o) => `@group(0) @binding(${inputs + o}) var<storage, read_write> out${o === 0 ? "" : o}: array<u32>;`),
  ];
  const uniform = P.finish(inputs + outputs);
  const code = `${SCALAR_PRELUDE}\n${[...decls, uniform.decl].join("\n")}\n${extra}\n${ENTRY} {\n  ${body.join("\n  ")}\n}\n`;
  return { code, params: uniform.words };
}

/** The passes of a decomposition step the WGSL kernels cover; `specialize` bakes sizes into the shader. */
export function generateDecomposition(call: DecompositionCall, { specialize = false } = {}): DecompositionPass[] {
  const P = new ParamTable(specialize);
  switch (call.prim) {
    case "cholesky":
      return cholesky(call, P);
    case "triangular_solve":
      return triangularSolve(call, P);
    case "lu":
      return lu(call, P);
    case "qr":
    case "eigh":
    case "svd":
      throw new BackendError(`webgpu: no WGSL kernel for ${call.prim}; WGSL_DECOMPOSITIONS plans it as a host step`);
  }
}

function cholesky(call: DecompositionCall, P: ParamTable): DecompositionPass[] {
  const { batch, n } = call;
  if (batch === 0 || n === 0) return [];
  const body = [
    `let N = ${P.u32(n)};`,
    `let m = wid.x + wid.y * nwg.x;`,
    `if (m >= ${P.u32(batch)}) { return; }`,
    "let NN = N * N;",
    "let base = m * NN;",
    // a's lower triangle, zeros above.
    `for (var t = lid; t < NN; t += ${WORKGROUP}u) { out[base + t] = select(0u, in0[base + t], t % N <= t / N); }`,
    "if (lid == 0u) { failed = 0u; }",
    "workgroupBarrier();",
    "storageBarrier();",
    "for (var j = 0u; j < N; j++) {",
    `  let pivot = ${f32At("out", "base + j * N + j")};`,
    "  let root = sqrt(pivot);",
    // Every invocation has read the pivot before it is overwritten.
    "  storageBarrier();",
    "  if (lid == 0u) {",
    "    out[base + j * N + j] = bitcast<u32>(root);",
    "    if (tf_is_nan(pivot) || pivot <= 0.0) { failed = 1u; }",
    "  }",
    `  for (var i = j + 1u + lid; i < N; i += ${WORKGROUP}u) { out[base + i * N + j] = bitcast<u32>(${f32At("out", "base + i * N + j")} / root); }`,
    "  storageBarrier();",
    // The trailing lower triangle (rows i > j, columns j < k <= i) loses column j's outer product.
    "  let rest = N - j - 1u;",
    `  for (var t = lid; t < rest * rest; t += ${WORKGROUP}u) {`,
    "    let i = j + 1u + t / rest;",
    "    let k = j + 1u + t % rest;",
    "    if (k <= i) {",
    `      let v = ${f32At("out", "base + i * N + k")} - ${f32At("out", "base + i * N + j")} * ${f32At("out", "base + k * N + j")};`,
    "      out[base + i * N + k] = bitcast<u32>(v);",
    "    }",
    "  }",
    "  storageBarrier();",
    "}",
    "if (workgroupUniformLoad(&failed) != 0u) {",
    `  for (var t = lid; t < NN; t += ${WORKGROUP}u) { out[base + t] = bitcast<u32>(tf_nan()); }`,
    "}",
  ];
  const { code, params } = shader(P, 1, body, "var<workgroup> failed: u32;");
  return [{ code, params, dispatch: { workgroups: batch }, bindings: [{ kind: "input", index: 0 }, { kind: "output", index: 0 }] }];
}

function triangularSolve(call: DecompositionCall, P: ParamTable): DecompositionPass[] {
  const { batch, rows, cols } = call;
  const p = call.solve!;
  const n = p.leftSide ? rows : cols;
  const rhsCount = p.leftSide ? cols : rows;
  if (batch === 0 || n === 0 || rhsCount === 0) return [];
  // M y = c with M = aᵀ where the left solve is transposed or the right one is not.
  const transposed = p.leftSide ? p.transposeA : !p.transposeA;
  const lowerM = p.lower !== transposed;
  const chunks = Math.ceil(rhsCount / RHS_CHUNK);
  /** M(i, k) as an f32 expression. */
  const M = (i: string, k: string) => f32At("in0", transposed ? `abase + (${k}) * N + (${i})` : `abase + (${i}) * N + (${k})`);
  /** Where y(i, r) (row i of right-hand side r) lives in b and x. */
  const at = (i: string, r: string) => (p.leftSide ? `bbase + (${i}) * COLS + (${r})` : `bbase + (${r}) * COLS + (${i})`);
  const y = (i: string, r: string) => f32At("out", at(i, r));
  const body = [
    `let N = ${P.u32(n)};`,
    `let COLS = ${P.u32(cols)};`,
    `let CHUNKS = ${P.u32(chunks)};`,
    `let RHS = ${P.u32(rhsCount)};`,
    `let g = wid.x + wid.y * nwg.x;`,
    `if (g >= ${P.u32(batch)} * CHUNKS) { return; }`,
    "let m = g / CHUNKS;",
    `let r0 = (g % CHUNKS) * ${RHS_CHUNK}u;`,
    `let width = min(${RHS_CHUNK}u, RHS - r0);`,
    "let abase = m * N * N;",
    "let bbase = m * N * RHS;",
    `for (var t = lid; t < N * width; t += ${WORKGROUP}u) {`,
    "  let i = t / width;",
    "  let r = r0 + t % width;",
    `  out[${at("i", "r")}] = in1[${at("i", "r")}];`,
    "}",
    "storageBarrier();",
    "for (var s = 0u; s < N; s++) {",
    `  let i = ${lowerM ? "s" : "N - 1u - s"};`,
    ...(p.unitDiagonal ? [] : [`  let d = ${M("i", "i")};`]),
    "  let later = N - 1u - s;",
    `  for (var t = lid; t < later * width; t += ${WORKGROUP}u) {`,
    `    let k = ${lowerM ? "i + 1u + t / width" : "i - 1u - t / width"};`,
    "    let r = r0 + t % width;",
    `    let yi = ${p.unitDiagonal ? y("i", "r") : `${y("i", "r")} / d`};`,
    `    out[${at("k", "r")}] = bitcast<u32>(${y("k", "r")} - ${M("k", "i")} * yi);`,
    "  }",
    "  storageBarrier();",
    "}",
    ...(p.unitDiagonal
      ? []
      : [
          `for (var t = lid; t < N * width; t += ${WORKGROUP}u) {`,
          "  let i = t / width;",
          "  let r = r0 + t % width;",
          `  out[${at("i", "r")}] = bitcast<u32>(${y("i", "r")} / ${M("i", "i")});`,
          "}",
        ]),
  ];
  const { code, params } = shader(P, 2, body);
  return [
    {
      code,
      params,
      dispatch: { workgroups: batch * chunks },
      bindings: [{ kind: "input", index: 0 }, { kind: "input", index: 1 }, { kind: "output", index: 0 }],
    },
  ];
}

function lu(call: DecompositionCall, P: ParamTable): DecompositionPass[] {
  const { batch, m, n } = call;
  if (batch === 0 || m === 0) return [];
  const a = (i: string, c: string) => `base + (${i}) * N + (${c})`;
  const body = [
    `let M = ${P.u32(m)};`,
    `let N = ${P.u32(n)};`,
    "let K = min(M, N);",
    "let g = wid.x + wid.y * nwg.x;",
    `if (g >= ${P.u32(batch)}) { return; }`,
    "let base = g * M * N;",
    "let pbase = g * K;",
    "let qbase = g * M;",
    `for (var t = lid; t < M * N; t += ${WORKGROUP}u) { out[base + t] = in0[base + t]; }`,
    `for (var t = lid; t < M; t += ${WORKGROUP}u) { out2[qbase + t] = t; }`,
    "storageBarrier();",
    "for (var j = 0u; j < K; j++) {",
    // Each invocation's first largest |entry| below the diagonal (NaN never larger), then a tree over the workgroup.
    "  var bv = -1.0;",
    "  var bi = M;",
    `  for (var i = j + 1u + lid; i < M; i += ${WORKGROUP}u) {`,
    `    let v = abs(${f32At("out", a("i", "j"))});`,
    "    if (!tf_is_nan(v) && v > bv) { bv = v; bi = i; }",
    "  }",
    "  best_v[lid] = bv;",
    "  best_i[lid] = bi;",
    "  workgroupBarrier();",
    `  for (var off = ${WORKGROUP / 2}u; off > 0u; off = off / 2u) {`,
    "    if (lid < off) {",
    "      let ov = best_v[lid + off];",
    "      let oi = best_i[lid + off];",
    "      if (ov > best_v[lid] || (ov == best_v[lid] && oi < best_i[lid])) { best_v[lid] = ov; best_i[lid] = oi; }",
    "    }",
    "    workgroupBarrier();",
    "  }",
    // The diagonal stays the pivot unless a row below is strictly larger (a NaN diagonal always stays).
    `  let d = abs(${f32At("out", a("j", "j"))});`,
    "  var p = j;",
    "  if (!tf_is_nan(d) && best_v[0] > d) { p = best_i[0]; }",
    "  workgroupBarrier();",
    "  storageBarrier();",
    "  if (p != j) {",
    `    for (var c = lid; c < N; c += ${WORKGROUP}u) {`,
    `      let t = out[${a("j", "c")}];`,
    `      out[${a("j", "c")}] = out[${a("p", "c")}];`,
    `      out[${a("p", "c")}] = t;`,
    "    }",
    "  }",
    "  if (lid == 0u) {",
    "    out1[pbase + j] = p;",
    "    let q = out2[qbase + j];",
    "    out2[qbase + j] = out2[qbase + p];",
    "    out2[qbase + p] = q;",
    "  }",
    "  storageBarrier();",
    `  let pivot = ${f32At("out", a("j", "j"))};`,
    "  if (tf_nonzero(pivot)) {",
    `    for (var i = j + 1u + lid; i < M; i += ${WORKGROUP}u) { out[${a("i", "j")}] = bitcast<u32>(${f32At("out", a("i", "j"))} / pivot); }`,
    "  }",
    "  storageBarrier();",
    "  let rest = N - j - 1u;",
    "  if (tf_nonzero(pivot)) {",
    `    for (var t = lid; t < (M - j - 1u) * rest; t += ${WORKGROUP}u) {`,
    "      let i = j + 1u + t / rest;",
    "      let c = j + 1u + t % rest;",
    `      let l = ${f32At("out", a("i", "j"))};`,
    `      if (tf_nonzero(l)) { out[${a("i", "c")}] = bitcast<u32>(${f32At("out", a("i", "c"))} - l * ${f32At("out", a("j", "c"))}); }`,
    "    }",
    "  }",
    "  storageBarrier();",
    "}",
  ];
  const extra = `${NONZERO}\nvar<workgroup> best_v: array<f32, ${WORKGROUP}>;\nvar<workgroup> best_i: array<u32, ${WORKGROUP}>;`;
  const { code, params } = shader(P, 1, body, extra, 3);
  return [
    {
      code,
      params,
      dispatch: { workgroups: batch },
      bindings: [{ kind: "input", index: 0 }, { kind: "output", index: 0 }, { kind: "output", index: 1 }, { kind: "output", index: 2 }],
    },
  ];
}
