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
import type { ConvStepParams } from "../../plan/planner";
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

/** The GEMM shader; bindings: A, B, C, then one per vector operand of the epilogue. */
export function generateGemm(s: GemmShape, epilogue: readonly EpilogueOp[]): { code: string; workgroups: [number, number] } {
  const { m, n, k } = s;
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
      var v = 0.0; if (gm < ${m}u && gk < ${k}u) { v = a[aBase + gk * ${m}u + gm]; } As[kk][mm] = v;`
    : `let kk = e % ${TK}u; let mm = e / ${TK}u; let gm = row0 + mm; let gk = k0 + kk;
      var v = 0.0; if (gm < ${m}u && gk < ${k}u) { v = a[aBase + gm * ${k}u + gk]; } As[kk][mm] = v;`;
  const loadB = s.transB
    ? `let kk = e % ${TK}u; let nn = e / ${TK}u; let gn = col0 + nn; let gk = k0 + kk;
      var v = 0.0; if (gn < ${n}u && gk < ${k}u) { v = b[bBase + gn * ${k}u + gk]; } Bs[kk][nn] = v;`
    : `let nn = e % ${TILE}u; let kk = e / ${TILE}u; let gn = col0 + nn; let gk = k0 + kk;
      var v = 0.0; if (gn < ${n}u && gk < ${k}u) { v = b[bBase + gk * ${n}u + gn]; } Bs[kk][nn] = v;`;
  const code = `${SCALAR_PRELUDE}
fn tf_relu(x: f32) -> f32 { return select(x, 0.0, x <= 0.0); }
${decls.join("\n")}
var<workgroup> As: array<array<f32, ${TILE}>, ${TK}>;
var<workgroup> Bs: array<array<f32, ${TILE}>, ${TK}>;

@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let batch = wid.z;
  let row0 = wid.y * ${TILE}u;
  let col0 = wid.x * ${TILE}u;
  let tid = lid.y * 16u + lid.x;
  let aBase = batch * ${m * k}u;
  let bBase = batch * ${k * n}u;
  var acc: array<array<f32, 4>, 4>;
  for (var k0 = 0u; k0 < ${k}u; k0 += ${TK}u) {
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
    if (row >= ${m}u) { continue; }
    for (var j = 0u; j < 4u; j++) {
      let col = col0 + lid.x + 16u * j;
      if (col < ${n}u) { c[batch * ${m * n}u + row * ${n}u + col] = ${epilogueExpr(epilogue, "acc[i][j]")}; }
    }
  }
}
`;
  return { code, workgroups: [Math.ceil(n / TILE), Math.ceil(m / TILE)] };
}

/** Output spatial size of a convolution along one dim. */
function outSize(size: number, kernel: number, stride: number, pad: [number, number], dil: number, lhsDil: number): number {
  const padded = (size - 1) * lhsDil + 1 + pad[0] + pad[1];
  const extent = (kernel - 1) * dil + 1;
  return size === 0 || padded < extent ? 0 : Math.floor((padded - extent) / stride) + 1;
}

/** The conv shader (bindings: x, w, y) and its number of output elements. */
export function generateConv(layout: "NHWC" | "NCHW", p: ConvStepParams): { code: string; outputs: number } {
  const oh = outSize(p.h, p.kh, p.strides[0], p.padding[0], p.dilation[0], p.lhsDilation[0]);
  const ow = outSize(p.w, p.kw, p.strides[1], p.padding[1], p.dilation[1], p.lhsDilation[1]);
  // Only shaders with output elements are compiled (the caller skips empty convs), so no size here is 0 but cg and kh/kw loops.
  const cg = p.cin / p.groups;
  const coutPerGroup = p.cout / p.groups;
  const outputs = p.n * oh * ow * p.cout;
  const nhwc = layout === "NHWC";
  const decompose = nhwc
    ? `let co = i % ${p.cout}u; let ox = (i / ${p.cout}u) % ${ow}u; let oy = (i / ${p.cout * ow}u) % ${oh}u; let bn = i / ${p.cout * ow * oh}u;`
    : `let ox = i % ${ow}u; let oy = (i / ${ow}u) % ${oh}u; let co = (i / ${ow * oh}u) % ${p.cout}u; let bn = i / ${ow * oh * p.cout}u;`;
  const xIndex = nhwc ? `((bn * ${p.h}u + iy) * ${p.w}u + ix) * ${p.cin}u + ci` : `((bn * ${p.cin}u + ci) * ${p.h}u + iy) * ${p.w}u + ix`;
  const wIndex = nhwc ? `((ky * ${p.kw}u + kx) * ${cg}u + cig) * ${p.cout}u + co` : `((co * ${cg}u + cig) * ${p.kh}u + ky) * ${p.kw}u + kx`;
  const code = `
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> w: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * 256u;
  if (i >= ${outputs}u) { return; }
  ${decompose}
  let g = co / ${coutPerGroup}u;
  var acc = 0.0;
  for (var ky = 0u; ky < ${p.kh}u; ky++) {
    let py = i32(oy * ${p.strides[0]}u + ky * ${p.dilation[0]}u) - (${p.padding[0][0]});
    if (py < 0 || py % ${p.lhsDilation[0]} != 0) { continue; }
    let iy = u32(py / ${p.lhsDilation[0]});
    if (iy >= ${p.h}u) { continue; }
    for (var kx = 0u; kx < ${p.kw}u; kx++) {
      let px = i32(ox * ${p.strides[1]}u + kx * ${p.dilation[1]}u) - (${p.padding[1][0]});
      if (px < 0 || px % ${p.lhsDilation[1]} != 0) { continue; }
      let ix = u32(px / ${p.lhsDilation[1]});
      if (ix >= ${p.w}u) { continue; }
      for (var cig = 0u; cig < ${cg}u; cig++) {
        let ci = g * ${cg}u + cig;
        acc = fma(x[${xIndex}], w[${wIndex}], acc);
      }
    }
  }
  y[i] = acc;
}
`;
  return { code, outputs };
}
