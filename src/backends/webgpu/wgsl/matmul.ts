// WGSL for the planner's GEMM and conv steps.
//
// GEMM: C[b] = op(A[b])·op(B[b]) (row-major, optional transposes, batched
// over the dispatch's z) with the planner's elementwise epilogue fused into
// the store. Each 16x16 workgroup computes a 64x64 block of C; each
// invocation a 4x4 register block of it, at rows lid.y + 16i and columns
// lid.x + 16j, so neighbouring invocations read neighbouring words of the
// shared tiles. K is walked in steps of 16: the workgroup stages a 64x16
// panel of A and a 16x64 panel of B in workgroup memory, each loaded along the
// operand's contiguous dimension (coalesced whichever the transposes), zero
// padded at the edges.
//
// Conv: a direct convolution, one invocation per output element, over NHWC
// (weights HWIO) or NCHW (weights OIHW) with strides, padding, rhs and lhs
// dilation and feature groups — the forward pass and, through lhs dilation
// and swapped dimension numbers, both gradients.

import type { EpilogueOp } from "../../plan/kernel_graph";
import type { ConvStepParams } from "../../plan/lowered_program";
import { ParamTable } from "./params";
import { SCALAR_PRELUDE, literal } from "./scalar";

const TILE = 64;
const TK = 16;

export interface GemmShape {
  transA: boolean;
  transB: boolean;
  m: number;
  n: number;
  k: number;
}

function epilogueExpr(ops: readonly EpilogueOp[], v: string): string {
  let x = v;
  let vec = 0;
  for (const { op, operand } of ops) {
    const o = operand.kind === "const" ? literal(operand.value, "float32") : operand.kind === "col" ? `e${vec++}[col]` : operand.kind === "row" ? `e${vec++}[row]` : "0.0";
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
  const params = new ParamTable(specialize);
  const dims = `let M = ${params.u32(s.m)}; let N = ${params.u32(s.n)}; let K = ${params.u32(s.k)};`;
  const vectors = epilogue.filter((o) => o.operand.kind === "col" || o.operand.kind === "row").length;
  const decls = [
    "@group(0) @binding(0) var<storage, read> a: array<f32>;",
    "@group(0) @binding(1) var<storage, read> b: array<f32>;",
    "@group(0) @binding(2) var<storage, read_write> c: array<f32>;",
    ...Array.from({ length: vectors }, (_, i) => `@group(0) @binding(${3 + i}) var<storage, read> e${i}: array<f32>;`),
  ];
  // A tile element e (of 64 rows x 16 k): coalesced along k for A[M,K], along m for Aᵀ stored [K,M].
  const loadA = s.transA
    ? `let mm = e % ${TILE}u; let kk = e / ${TILE}u; let gm = row0 + mm; let gk = k0 + kk;
      var v = 0.0; if (gm < M && gk < K) { v = a[aBase + gk * M + gm]; } As[kk][mm] = v;`
    : `let kk = e % ${TK}u; let mm = e / ${TK}u; let gm = row0 + mm; let gk = k0 + kk;
      var v = 0.0; if (gm < M && gk < K) { v = a[aBase + gm * K + gk]; } As[kk][mm] = v;`;
  const loadB = s.transB
    ? `let kk = e % ${TK}u; let nn = e / ${TK}u; let gn = col0 + nn; let gk = k0 + kk;
      var v = 0.0; if (gn < N && gk < K) { v = b[bBase + gn * K + gk]; } Bs[kk][nn] = v;`
    : `let nn = e % ${TILE}u; let kk = e / ${TILE}u; let gn = col0 + nn; let gk = k0 + kk;
      var v = 0.0; if (gn < N && gk < K) { v = b[bBase + gk * N + gn]; } Bs[kk][nn] = v;`;
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
  let batch = wid.z;
  let row0 = wid.y * ${TILE}u;
  let col0 = wid.x * ${TILE}u;
  let tid = lid.y * 16u + lid.x;
  let aBase = batch * M * K;
  let bBase = batch * K * N;
  var acc: array<array<f32, 4>, 4>;
  for (var k0 = 0u; k0 < K; k0 += ${TK}u) {
    for (var l = 0u; l < 4u; l++) {
      let e = tid + l * 256u;
      ${loadA}
    }
    for (var l = 0u; l < 4u; l++) {
      let e = tid + l * 256u;
      ${loadB}
    }
    workgroupBarrier();
    for (var kk = 0u; kk < ${TK}u; kk++) {
      var av: array<f32, 4>;
      var bv: array<f32, 4>;
      for (var i = 0u; i < 4u; i++) { av[i] = As[kk][lid.y + 16u * i]; }
      for (var j = 0u; j < 4u; j++) { bv[j] = Bs[kk][lid.x + 16u * j]; }
      for (var i = 0u; i < 4u; i++) {
        for (var j = 0u; j < 4u; j++) { acc[i][j] = fma(av[i], bv[j], acc[i][j]); }
      }
    }
    workgroupBarrier();
  }
  for (var i = 0u; i < 4u; i++) {
    let row = row0 + lid.y + 16u * i;
    if (row >= M) { continue; }
    for (var j = 0u; j < 4u; j++) {
      let col = col0 + lid.x + 16u * j;
      if (col < N) { c[batch * M * N + row * N + col] = ${epilogueExpr(epilogue, "acc[i][j]")}; }
    }
  }
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
