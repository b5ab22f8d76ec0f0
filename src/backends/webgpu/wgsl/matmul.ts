// WGSL for the planner's GEMM and conv steps.
//
// GEMM: C[b] = op(A[b])·op(B[b]) (row-major, optional transposes, batched
// over the dispatch's z) with the planner's elementwise epilogue fused into
// the store. Each 16x16 workgroup computes a TxT block of C (T = 64, or 128
// for GEMMs large enough to fill a GPU with such blocks); each invocation an
// RxR register block of it (R = T/16), at rows lid.y + 16i and columns
// lid.x + 16j, so neighbouring invocations read neighbouring words of the
// shared tiles. K is walked in steps of 16: the workgroup stages a Tx16
// panel of A and a 16xT panel of B in workgroup memory, each loaded along the
// operand's contiguous dimension (coalesced whichever the transposes), zero
// padded at the edges. The register block is R² named scalars, every loop
// over it unrolled in the generated text: a private array indexed by loop
// counters stays in memory under compilers that do not unroll (SwiftShader
// ran the array form 3-4x slower).
//
// Conv: a direct convolution, one invocation per output element, over NHWC
// (weights HWIO) or NCHW (weights OIHW) with strides, padding, rhs and lhs
// dilation and feature groups — the forward pass and, through lhs dilation
// and swapped dimension numbers, both gradients.

import type { EpilogueOp } from "../../plan/kernel_graph";
import type { ConvStepParams } from "../../plan/lowered_program";
import { ParamTable } from "./params";
import { SCALAR_PRELUDE, fromWord, literal, wordOf } from "./scalar";

const TK = 16;
/** The large tile is used when it still launches this many workgroups: a few per compute unit of a large GPU. */
const LARGE_TILE_MIN_WORKGROUPS = 256;

/** The block of C a workgroup computes: 128 (8x8 per invocation, more reuse of each loaded word) where that still fills a GPU, else 64. */
function tileFor(s: GemmShape): number {
  const large = Math.ceil(s.m / 128) * Math.ceil(s.n / 128) * s.batch;
  return large >= LARGE_TILE_MIN_WORKGROUPS ? 128 : 64;
}

export interface GemmShape {
  transA: boolean;
  transB: boolean;
  m: number;
  n: number;
  k: number;
  batch: number;
}

/** The epilogue's constants, as statements `let k{i}` (i: the op's position): parameters unless `params` specialises. */
function epilogueConstants(ops: readonly EpilogueOp[], params: ParamTable): string {
  return ops
    .flatMap(({ operand }, i) => {
      if (operand.kind !== "const") return [];
      const value = params.specialize ? literal(operand.value, "float32") : fromWord(params.u32(wordOf(operand.value, "float32")), "float32");
      return [`let k${i} = ${value};`];
    })
    .join(" ");
}

/** The epilogue applied to `v` (its constants named by epilogueConstants). */
function epilogueExpr(ops: readonly EpilogueOp[], v: string): string {
  let x = v;
  let vec = 0;
  for (const [i, { op, operand }] of ops.entries()) {
    const o = operand.kind === "const" ? `k${i}` : operand.kind === "col" ? `e${vec++}[col]` : operand.kind === "row" ? `e${vec++}[row]` : "0.0";
    switch (op) {
      case "add":
        x = `(${x} + ${o})`;
        break;
      case "sub":
        x = `(${x} - ${o})`;
        break;
      case "rsub":
        x = `(${o} - ${x})`;
        break;
      case "mul":
        x = `(${x} * ${o})`;
        break;
      case "div":
        x = `(${x} / ${o})`;
        break;
      case "rdiv":
        x = `(${o} / ${x})`;
        break;
      case "max":
        x = `tf_fmax(${x}, ${o})`;
        break;
      case "min":
        x = `tf_fmin(${x}, ${o})`;
        break;
      case "relu":
        x = `tf_relu(${x})`;
        break;
    }
  }
  return x;
}

/**
 * The GEMM shader; bindings: A, B, C, then one per vector operand of the epilogue, then the
 * parameter uniform (M, N, K) unless `specialize` bakes them in. The tile sizes are always constants.
 */
export function generateGemm(s: GemmShape, epilogue: readonly EpilogueOp[], { specialize = false } = {}): { code: string; workgroups: [number, number]; params: Uint32Array | null } {
  const TILE = tileFor(s);
  // Each of the 256 invocations loads this many words of each panel per step of K.
  const PANEL_LOADS = Array.from({ length: (TILE * TK) / 256 }, (_, l) => l);
  const params = new ParamTable(specialize);
  const dims = `let M = ${params.u32(s.m)}; let N = ${params.u32(s.n)}; let K = ${params.u32(s.k)};`;
  const vectors = epilogue.filter((o) => o.operand.kind === "col" || o.operand.kind === "row").length;
  const decls = [
    "@group(0) @binding(0) var<storage, read> a: array<f32>;",
    "@group(0) @binding(1) var<storage, read> b: array<f32>;",
    "@group(0) @binding(2) var<storage, read_write> c: array<f32>;",
    ...Array.from({ length: vectors }, (_, i) => `@group(0) @binding(${3 + i}) var<storage, read> e${i}: array<f32>;`),
  ];
  // Panel element e = tid + 256·l of A (64 rows x 16 k) and B (16 k x 64 columns), each walked
  // along the operand's contiguous dimension so neighbouring invocations read neighbouring words.
  const loadA = (l: number) =>
    s.transA
      ? `{ let e = tid + ${256 * l}u; let mm = e % ${TILE}u; let kk = e / ${TILE}u; let gm = row0 + mm; let gk = k0 + kk;
      var v = 0.0; if (gm < M && gk < K) { v = a[aBase + gk * M + gm]; } As[kk][mm] = v; }`
      : `{ let e = tid + ${256 * l}u; let kk = e % ${TK}u; let mm = e / ${TK}u; let gm = row0 + mm; let gk = k0 + kk;
      var v = 0.0; if (gm < M && gk < K) { v = a[aBase + gm * K + gk]; } As[kk][mm] = v; }`;
  const loadB = (l: number) =>
    s.transB
      ? `{ let e = tid + ${256 * l}u; let kk = e % ${TK}u; let nn = e / ${TK}u; let gn = col0 + nn; let gk = k0 + kk;
      var v = 0.0; if (gn < N && gk < K) { v = b[bBase + gn * K + gk]; } Bs[kk][nn] = v; }`
      : `{ let e = tid + ${256 * l}u; let nn = e % ${TILE}u; let kk = e / ${TILE}u; let gn = col0 + nn; let gk = k0 + kk;
      var v = 0.0; if (gn < N && gk < K) { v = b[bBase + gk * N + gn]; } Bs[kk][nn] = v; }`;
  const R = Array.from({ length: TILE / 16 }, (_, i) => i);
  const accDecl = R.flatMap((i) => R.map((j) => `var acc${i}${j} = 0.0;`)).join(" ");
  const inner = [
    ...R.map((i) => `let a${i} = As[kk][lid.y + ${16 * i}u];`),
    ...R.map((j) => `let b${j} = Bs[kk][lid.x + ${16 * j}u];`),
    ...R.flatMap((i) => R.map((j) => `acc${i}${j} = fma(a${i}, b${j}, acc${i}${j});`)),
  ].join("\n      ");
  const stores = R.map(
    (i) => `{
    let row = row0 + lid.y + ${16 * i}u;
    if (row < M) {
${R.map((j) => `      { let col = col0 + lid.x + ${16 * j}u; if (col < N) { c[cBase + row * N + col] = ${epilogueExpr(epilogue, `acc${i}${j}`)}; } }`).join("\n")}
    }
  }`,
  ).join("\n  ");
  const constants = epilogueConstants(epilogue, params);
  const uniform = params.finish(3 + vectors);
  const code = `${SCALAR_PRELUDE}
fn tf_relu(x: f32) -> f32 { return select(x, 0.0, x <= 0.0); }
${decls.join("\n")}
${uniform.decl}
var<workgroup> As: array<array<f32, ${TILE}>, ${TK}>;
var<workgroup> Bs: array<array<f32, ${TILE}>, ${TK}>;

@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  ${dims}
  ${constants}
  let batch = wid.z;
  let row0 = wid.y * ${TILE}u;
  let col0 = wid.x * ${TILE}u;
  let tid = lid.y * 16u + lid.x;
  let aBase = batch * M * K;
  let bBase = batch * K * N;
  let cBase = batch * M * N;
  ${accDecl}
  for (var k0 = 0u; k0 < K; k0 += ${TK}u) {
    ${PANEL_LOADS.map(loadA).join("\n    ")}
    ${PANEL_LOADS.map(loadB).join("\n    ")}
    workgroupBarrier();
    for (var kk = 0u; kk < ${TK}u; kk++) {
      ${inner}
    }
    workgroupBarrier();
  }
  ${stores}
}
`;
  return { code, workgroups: [Math.ceil(s.n / TILE), Math.ceil(s.m / TILE)], params: uniform.words };
}

/** Output spatial size of a convolution along one dim. */
function outSize(size: number, kernel: number, stride: number, pad: [number, number], dil: number, lhsDil: number): number {
  const padded = (size - 1) * lhsDil + 1 + pad[0] + pad[1];
  const extent = (kernel - 1) * dil + 1;
  return size === 0 || padded < extent ? 0 : Math.floor((padded - extent) / stride) + 1;
}

/**
 * The conv shader (bindings: x, w, y, then the parameter uniform unless `specialize` bakes the
 * sizes, strides, padding and dilations in) and its number of output elements.
 */
export function generateConv(layout: "NHWC" | "NCHW", p: ConvStepParams, { specialize = false } = {}): { code: string; outputs: number; params: Uint32Array | null } {
  const oh = outSize(p.h, p.kh, p.strides[0], p.padding[0], p.dilation[0], p.lhsDilation[0]);
  const ow = outSize(p.w, p.kw, p.strides[1], p.padding[1], p.dilation[1], p.lhsDilation[1]);
  // Only shaders with output elements are compiled (the caller skips empty convs), so no size here is 0 but cg and kh/kw loops.
  const cg = p.cin / p.groups;
  const outputs = p.n * oh * ow * p.cout;
  const params = new ParamTable(specialize);
  const u = (name: string, v: number) => `let ${name} = ${params.u32(v)};`;
  const i = (name: string, v: number) => `let ${name} = ${params.i32(v)};`;
  const sizes = [
    u("OUTPUTS", outputs), u("H", p.h), u("W", p.w), u("CIN", p.cin), u("COUT", p.cout), u("OH", oh), u("OW", ow), u("KH", p.kh), u("KW", p.kw),
    u("CG", cg), u("COUT_G", p.cout / p.groups), u("SY", p.strides[0]), u("SX", p.strides[1]), u("DY", p.dilation[0]), u("DX", p.dilation[1]),
    i("PY", p.padding[0][0]), i("PX", p.padding[1][0]), i("LY", p.lhsDilation[0]), i("LX", p.lhsDilation[1]),
  ].join("\n  ");
  const nhwc = layout === "NHWC";
  const decompose = nhwc
    ? `let co = i % COUT; let ox = (i / COUT) % OW; let oy = (i / (COUT * OW)) % OH; let bn = i / (COUT * OW * OH);`
    : `let ox = i % OW; let oy = (i / OW) % OH; let co = (i / (OW * OH)) % COUT; let bn = i / (OW * OH * COUT);`;
  const xIndex = nhwc ? `((bn * H + iy) * W + ix) * CIN + ci` : `((bn * CIN + ci) * H + iy) * W + ix`;
  const wIndex = nhwc ? `((ky * KW + kx) * CG + cig) * COUT + co` : `((co * CG + cig) * KH + ky) * KW + kx`;
  const uniform = params.finish(3);
  const code = `
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> w: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
${uniform.decl}

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  ${sizes}
  let i = gid.x + gid.y * nwg.x * 256u;
  if (i >= OUTPUTS) { return; }
  ${decompose}
  let g = co / COUT_G;
  var acc = 0.0;
  for (var ky = 0u; ky < KH; ky++) {
    let py = i32(oy * SY + ky * DY) - PY;
    if (py < 0 || py % LY != 0) { continue; }
    let iy = u32(py / LY);
    if (iy >= H) { continue; }
    for (var kx = 0u; kx < KW; kx++) {
      let px = i32(ox * SX + kx * DX) - PX;
      if (px < 0 || px % LX != 0) { continue; }
      let ix = u32(px / LX);
      if (ix >= W) { continue; }
      for (var cig = 0u; cig < CG; cig++) {
        let ci = g * CG + cig;
        acc = fma(x[${xIndex}], w[${wIndex}], acc);
      }
    }
  }
  y[i] = acc;
}
`;
  return { code, outputs, params: uniform.words };
}
