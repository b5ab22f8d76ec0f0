// WGSL for the planner's library steps (LibraryCall, plan/kernel_graph.ts):
// argmax/argmin, the cumulative scans, sort, top_k, reduce_window and
// max-pool's gradients (select_and_scatter_add, select_and_gather_add) — what
// wasm runs as Rust kernels (wasm/src/ordering.rs, window.rs). Semantics are the
// interpreter's: argmax/argmin take the first extremum and the first NaN;
// scans fold in order along the axis; sort is stable under the total order
// (-0 == +0, NaNs equal and last), lexicographic over its keys; top_k takes the
// largest first (NaN largest), lower index first among equals; window folds
// skip padding and dilation holes; a pooling gradient picks the first tap that
// is >= (or <=) every later one. float16 operands reach these shaders widened to
// float32 (program.ts converts packed halves around the step), and computed
// values are rounded to half on every store.
//
// Sizes and strides are read from a per-dispatch uniform (params.ts), so one
// pipeline serves every shape of a step's structure (its op, dtypes, rank,
// fold, key count); `specialize` bakes them in instead.
//
// Designs:
// - argmax/argmin: one invocation per output, a serial scan of its row.
// - scans: one invocation per line for short lines; for long lines one
//   workgroup per line runs a work-efficient blocked scan — each invocation
//   folds a contiguous chunk, the 256 chunk totals are scanned in workgroup
//   memory, and each invocation rescans its chunk from its prefix.
// - sort/top_k: a bitonic sort per row of a permutation padded to a power of
//   two (sentinels last), over keys first mapped to order-preserving u32 words
//   (`sortable`); ties between keys fall to the original index, so the order is
//   strict and the result is the stable sort's. One dispatch per bitonic pass
//   (its k and j in a small uniform buffer, so one pipeline serves them all),
//   then one gather per operand through the permutation.
// - reduce_window and select_and_gather_add: one invocation per output window.
// - select_and_scatter_add: one invocation per operand element, which visits
//   the windows covering it, redoes each one's selection and adds the source
//   values of those that chose it — no atomics, and deterministic.

import type { DType } from "../../../core/dtype";
import type { Fold, KDType, LibraryCall } from "../../plan/kernel_graph";
import { generateDecomposition } from "./decomposition";
import { WORKGROUP } from "./kernel";
import { ParamTable } from "./params";
import { SCALAR_PRELUDE, SCALAR_WGSL, WGSL_TYPE, fromWord, literal, toWord } from "./scalar";

/** A storage buffer a library pass binds: an operand or result of the step, or a private scratch buffer. */
export type LibraryBinding = { kind: "input"; index: number } | { kind: "output"; index: number } | { kind: "keys" } | { kind: "perm" };

export interface LibraryPass {
  code: string;
  dispatch: { threads: number } | { workgroups: number };
  bindings: readonly LibraryBinding[];
  /** The words of this pass's parameter uniform, bound after `bindings`; null when the pass has none. */
  params: Uint32Array | null;
}

export interface LibraryKernel {
  passes: LibraryPass[];
  /** Words of the private scratch buffers the passes share (0: none). */
  keysWords: number;
  permWords: number;
}

const GLOBAL_INDEX = `gid.x + gid.y * nwg.x * ${WORKGROUP}u`;
const THREAD_ENTRY = `@compute @workgroup_size(${WORKGROUP})\nfn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>)`;
/** Lines at least this long are scanned by a workgroup each. */
const WORKGROUP_SCAN_MIN = 2 * WORKGROUP;

const kd = (d: DType): KDType => (d === "float16" ? "float32" : (d as KDType));
/** The stored word of a computed value of `d` (float16: rounded to half). */
const store = (v: string, d: DType) => toWord(d === "float16" ? `tf_round_f16(${v})` : v, kd(d));

/** A pass of `body` over storage `bindings` (declared by `decls`), its parameter uniform bound after them. */
function pass(P: ParamTable, decls: string[], body: string[], dispatch: LibraryPass["dispatch"], bindings: LibraryBinding[], entry = THREAD_ENTRY, extra = ""): LibraryPass {
  const uniform = P.finish(bindings.length);
  const code = `${SCALAR_PRELUDE}\n${[...decls, uniform.decl].join("\n")}\n${extra}\n${entry} {\n  ${body.join("\n  ")}\n}\n`;
  return { code, dispatch, bindings, params: uniform.words };
}

/** A pass of one invocation `i` per element of `count`: the bounds check, then `body`. */
function threadPass(P: ParamTable, count: number, decls: string[], body: string[], bindings: LibraryBinding[], extra = ""): LibraryPass {
  return pass(P, decls, [`let i = ${GLOBAL_INDEX};`, `if (i >= ${P.u32(count)}) { return; }`, ...body], { threads: count }, bindings, THREAD_ENTRY, extra);
}

const readDecl = (b: number, name: string) => `@group(0) @binding(${b}) var<storage, read> ${name}: array<u32>;`;
const writeDecl = (b: number, name: string) => `@group(0) @binding(${b}) var<storage, read_write> ${name}: array<u32>;`;

/** The identity of a fold in dtype `d`. */
function identity(fold: Fold, d: KDType): string {
  switch (fold) {
    case "add":
      return literal(0, d);
    case "mul":
      return literal(1, d);
    case "max":
      return d === "float32" ? "-tf_inf()" : d === "int32" ? literal(-2147483648, d) : d === "bool" ? "false" : "0u";
    case "min":
      return d === "float32" ? "tf_inf()" : d === "int32" ? "2147483647" : d === "bool" ? "true" : "4294967295u";
  }
}

const combine = (fold: Fold, a: string, b: string, d: KDType) => SCALAR_WGSL[fold]([a, b], [d, d], d);

/** `a` is strictly better than `b` for argmax (gt) / argmin (lt), in dtype `d` (NaN handled by the caller). */
function better(isMin: boolean, a: string, b: string, d: KDType): string {
  const t = d === "bool" ? (x: string) => `select(0u, 1u, ${x})` : (x: string) => x;
  return `(${t(a)} ${isMin ? "<" : ">"} ${t(b)})`;
}

/** The passes of a library step; `specialize` bakes its sizes into the shaders (one pipeline per shape). */
export function generateLibrary(call: LibraryCall, { specialize = false } = {}): LibraryKernel {
  const table = () => new ParamTable(specialize);
  switch (call.op) {
    case "argreduce":
      return { passes: argreduce(call, table()), keysWords: 0, permWords: 0 };
    case "cumulative":
      return { passes: cumulative(call, table()), keysWords: 0, permWords: 0 };
    case "sort":
      return sortKernel(call.dtypes, call.numKeys, call.rows, call.n, null, table);
    case "top_k":
      return sortKernel([call.dtype], 1, call.rows, call.n, call.k, table);
    case "reduce_window":
      return { passes: reduceWindow(call.dtype, call.fold, call.window, table()), keysWords: 0, permWords: 0 };
    case "select_and_gather_add":
      return { passes: selectAndGatherAdd(call.dtype, call.ge, call.window, table()), keysWords: 0, permWords: 0 };
    case "select_and_scatter_add":
      return { passes: selectAndScatterAdd(call.dtype, call.ge, call.window, call.operandSize, table()), keysWords: 0, permWords: 0 };
    case "decomposition":
      return { passes: generateDecomposition(call, { specialize }), keysWords: 0, permWords: 0 };
  }
}

const io = (inputs: number, outputs: number): LibraryBinding[] => [
  ...Array.from({ length: inputs }, (_, index) => ({ kind: "input" as const, index })),
  ...Array.from({ length: outputs }, (_, index) => ({ kind: "output" as const, index })),
];

/** The first element of line `line` of an [outer, n, inner] array, as a statement `let base`. */
const lineBase = (line: string, N: string, INNER: string) => `let base = (${line} / ${INNER}) * ${N} * ${INNER} + ${line} % ${INNER};`;

function argreduce(call: Extract<LibraryCall, { op: "argreduce" }>, P: ParamTable): LibraryPass[] {
  const { outer, n, inner, isMin } = call;
  const d = kd(call.dtype);
  const count = outer * inner;
  if (count === 0) return [];
  // An empty axis: index 0, as the interpreter writes (the shader binds only the result).
  if (n === 0) return [threadPass(P, count, [writeDecl(0, "out")], ["out[i] = 0u;"], [{ kind: "output", index: 0 }])];
  const read = (at: string) => fromWord(`x[${at}]`, d);
  const isNan = (v: string) => (d === "float32" ? `tf_is_nan(${v})` : "false");
  const body = [
    `let N = ${P.u32(n)};`,
    `let INNER = ${P.u32(inner)};`,
    lineBase("i", "N", "INNER"),
    "var best = 0u;",
    `var bv = ${read("base")};`,
    "for (var j = 1u; j < N; j++) {",
    `  if (${isNan("bv")}) { break; }`,
    `  let v = ${read("base + j * INNER")};`,
    `  if (${isNan("v")} || ${better(isMin, "v", "bv", d)}) { best = j; bv = v; }`,
    "}",
    "out[i] = best;",
  ];
  return [threadPass(P, count, [readDecl(0, "x"), writeDecl(1, "out")], body, io(1, 1))];
}

function cumulative(call: Extract<LibraryCall, { op: "cumulative" }>, P: ParamTable): LibraryPass[] {
  const { outer, n, inner, reverse, fold } = call;
  const d = kd(call.dtype);
  const T = WGSL_TYPE[d];
  const lines = outer * inner;
  if (lines === 0 || n === 0) return [];
  const decls = [readDecl(0, "x"), writeDecl(1, "out")];
  const sizes = [`let N = ${P.u32(n)};`, `let INNER = ${P.u32(inner)};`];
  const pos = (t: string) => `base + ${reverse ? `(N - 1u - ${t})` : t} * INNER`;
  const read = (t: string) => fromWord(`x[${pos(t)}]`, d);
  const write = (t: string, v: string) => `out[${pos(t)}] = ${store(v, call.dtype)};`;
  if (n < WORKGROUP_SCAN_MIN) {
    const body = [
      ...sizes,
      lineBase("i", "N", "INNER"),
      `var acc: ${T} = ${read("0u")};`,
      write("0u", "acc"),
      "for (var t = 1u; t < N; t++) {",
      `  acc = ${combine(fold, "acc", read("t"), d)};`,
      `  ${write("t", "acc")}`,
      "}",
    ];
    return [threadPass(P, lines, decls, body, io(1, 1))];
  }
  const body = [
    ...sizes,
    "let line = wid.x + wid.y * nwg.x;",
    `let live = line < ${P.u32(lines)};`,
    lineBase("line", "N", "INNER"),
    `let chunk = ${P.u32(Math.ceil(n / WORKGROUP))};`,
    "let start = lid * chunk;",
    "let end = min(start + chunk, N);",
    "let mine = live && start < end;",
    `var acc: ${T} = ${identity(fold, d)};`,
    "if (mine) {",
    `  acc = ${read("start")};`,
    `  for (var t = start + 1u; t < end; t++) { acc = ${combine(fold, "acc", read("t"), d)}; }`,
    "}",
    "part[lid] = acc;",
    "workgroupBarrier();",
    // Inclusive scan of the chunk totals (Hillis-Steele over 256 words).
    `for (var off = 1u; off < ${WORKGROUP}u; off = off * 2u) {`,
    `  var lower: ${T} = ${identity(fold, d)};`,
    "  if (lid >= off) { lower = part[lid - off]; }",
    "  workgroupBarrier();",
    `  if (lid >= off) { part[lid] = ${combine(fold, "lower", "part[lid]", d)}; }`,
    "  workgroupBarrier();",
    "}",
    "if (mine) {",
    `  var run: ${T} = ${read("start")};`,
    `  if (lid > 0u) { run = ${combine(fold, "part[lid - 1u]", "run", d)}; }`,
    `  ${write("start", "run")}`,
    "  for (var t = start + 1u; t < end; t++) {",
    `    run = ${combine(fold, "run", read("t"), d)};`,
    `    ${write("t", "run")}`,
    "  }",
    "}",
  ];
  const entry =
    `@compute @workgroup_size(${WORKGROUP})\nfn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32, @builtin(num_workgroups) nwg: vec3<u32>)`;
  return [pass(P, decls, body, { workgroups: lines }, io(1, 1), entry, `var<workgroup> part: array<${T}, ${WORKGROUP}>;`)];
}

/** An order-preserving u32 of a stored word: floats by the total order (-0 == +0, every NaN equal and last). */
function sortable(word: string, d: DType): string {
  switch (kd(d)) {
    case "float32":
      return `tf_sortable_f32(${word})`;
    case "int32":
      return `(${word} ^ 0x80000000u)`;
    case "uint32":
    case "bool":
      return word;
  }
}

const SORTABLE_F32 = `
fn tf_sortable_f32(w: u32) -> u32 {
  let a = w & 0x7fffffffu;
  if (a > 0x7f800000u) { return 0xffffffffu; }
  if (a == 0u) { return 0x80000000u; }
  if ((w & 0x80000000u) != 0u) { return ~w; }
  return w | 0x80000000u;
}`;

/**
 * Sort (`k` null: every operand by the first `numKeys`, ascending) or top_k (`k`: the one operand
 * descending, its first k values and their indices) of `rows` contiguous rows of `n`.
 */
function sortKernel(dtypes: DType[], numKeys: number, rows: number, n: number, k: number | null, table: () => ParamTable): LibraryKernel {
  const count = rows * n;
  if (count === 0) return { passes: [], keysWords: 0, permWords: 0 };
  let width = 1;
  while (width < n) width *= 2;
  const passes: LibraryPass[] = [];
  // Keys as order-preserving words; top_k's inverted, so ascending order is descending values.
  for (let key = 0; key < numKeys; key++) {
    const P = table();
    const word = sortable("x[i]", dtypes[key]);
    const body = [`keys[${P.u32(key * count)} + i] = ${k === null ? word : `~${word}`};`];
    passes.push(threadPass(P, count, [readDecl(0, "x"), writeDecl(1, "keys")], body, [{ kind: "input", index: key }, { kind: "keys" }], SORTABLE_F32));
  }
  {
    const P = table();
    passes.push(threadPass(P, rows * width, [writeDecl(0, "perm")], [`perm[i] = i % ${P.u32(width)};`], [{ kind: "perm" }]));
  }
  // One bitonic pass: its k and j are per-dispatch words, so every pass of the sort shares one pipeline.
  const bitonic = (kk: number, j: number): LibraryPass => {
    const P = table();
    const N = P.u32(n);
    const keyCompare = Array.from({ length: numKeys }, (_, key) => {
      const at = (e: string) => `keys[${P.u32(key * count)} + r * ${N} + ${e}]`;
      return [`  let ka${key} = ${at("a")};`, `  let kb${key} = ${at("b")};`, `  if (ka${key} != kb${key}) { return ka${key} < kb${key}; }`];
    }).flat();
    const less = [
      "// Row r's element a sorts before b: by the keys, then by index; padding (>= n) last.",
      "fn before(r: u32, a: u32, b: u32) -> bool {",
      `  if (a >= ${N} || b >= ${N}) { return a < b; }`,
      ...keyCompare,
      "  return a < b;",
      "}",
    ].join("\n");
    const W = P.u32(width);
    const half = P.u32(width / 2);
    const body = [
      `let kk = ${P.perDispatch(kk)};`,
      `let j = ${P.perDispatch(j)};`,
      `let r = i / ${half};`,
      `let q = i % ${half};`,
      "let a = (q / j) * 2u * j + q % j;",
      "let b = a + j;",
      `let pa = perm[r * ${W} + a];`,
      `let pb = perm[r * ${W} + b];`,
      "let up = (a & kk) == 0u;",
      "if (select(before(r, pa, pb), before(r, pb, pa), up)) {",
      `  perm[r * ${W} + a] = pb;`,
      `  perm[r * ${W} + b] = pa;`,
      "}",
    ];
    return threadPass(P, rows * (width / 2), [readDecl(0, "keys"), writeDecl(1, "perm")], body, [{ kind: "keys" }, { kind: "perm" }], less);
  };
  for (let kk = 2; kk <= width; kk *= 2) {
    for (let j = kk / 2; j >= 1; j /= 2) passes.push(bitonic(kk, j));
  }
  const taken = k ?? n;
  if (taken > 0) {
    // (Every declared binding must be read: the pipelines' "auto" layouts drop unused ones.)
    const gather = (operand: number | null, output: number): LibraryPass => {
      const P = table();
      const perm = `let p = perm[(i / ${P.u32(taken)}) * ${P.u32(width)} + i % ${P.u32(taken)}];`;
      if (operand === null) return threadPass(P, rows * taken, [readDecl(0, "perm"), writeDecl(1, "out")], [perm, "out[i] = p;"], [{ kind: "perm" }, { kind: "output", index: output }]);
      const body = [perm, `out[i] = x[(i / ${P.u32(taken)}) * ${P.u32(n)} + p];`];
      return threadPass(P, rows * taken, [readDecl(0, "perm"), readDecl(1, "x"), writeDecl(2, "out")], body, [{ kind: "perm" }, { kind: "input", index: operand }, { kind: "output", index: output }]);
    };
    dtypes.forEach((_, t) => passes.push(gather(t, t)));
    if (k !== null) passes.push(gather(null, 1));
  }
  return { passes, keysWords: numKeys * count, permWords: rows * width };
}

/** The window block of plan/library.ts: rank, then per dim in, out, window, stride, pad_lo, base dilation, window dilation. */
interface WindowDimParams {
  inSize: number;
  out: number;
  win: number;
  stride: number;
  padLo: number;
  baseDil: number;
  winDil: number;
}

function windowDims(block: readonly number[]): WindowDimParams[] {
  const rank = block[0];
  return Array.from({ length: rank }, (_, d) => {
    const [inSize, out, win, stride, padLo, baseDil, winDil] = block.slice(1 + 7 * d, 8 + 7 * d);
    return { inSize, out, win, stride, padLo, baseDil, winDil };
  });
}

const rowMajor = (sizes: readonly number[]) => sizes.map((_, d) => sizes.slice(d + 1).reduce((a, b) => a * b, 1));

/**
 * Statements visiting window `o` (coordinates `o{d}`): for each tap in row-major order that lands on
 * an input element (not padding, not a dilation hole), `visit` runs with `at` its flat input index.
 * Whether a dim has base dilation is structure (the hole test is left out without it); the sizes are parameters.
 */
function eachTap(dims: readonly WindowDimParams[], visit: string[], P: ParamTable): string[] {
  const taps = dims.reduce((a, d) => a * d.win, 1);
  const inStrides = rowMajor(dims.map((d) => d.inSize));
  const lines = [`for (var tap = 0u; tap < ${P.u32(taps)}; tap++) {`, "  var tr = tap;", "  var at = 0;", "  var inside = true;"];
  for (let d = dims.length - 1; d >= 0; d--) {
    const p = dims[d];
    const win = P.u32(p.win);
    lines.push(`  let k${d} = i32(tr % ${win});`, `  tr = tr / ${win};`);
    lines.push(`  let pos${d} = o${d} * ${P.i32(p.stride)} + k${d} * ${P.i32(p.winDil)} - ${P.i32(p.padLo)};`);
    const dilated = P.i32(p.inSize === 0 ? 0 : (p.inSize - 1) * p.baseDil + 1);
    const baseDil = p.baseDil === 1 ? null : P.i32(p.baseDil);
    lines.push(`  if (pos${d} < 0 || pos${d} >= ${dilated}${baseDil ? ` || pos${d} % ${baseDil} != 0` : ""}) { inside = false; }`);
    lines.push(`  at += ${baseDil ? `(pos${d} / ${baseDil})` : `pos${d}`} * ${P.i32(inStrides[d])};`);
  }
  lines.push("  if (inside) {", ...visit.map((l) => "    " + l), "  }", "}");
  return lines;
}

/** Statements decomposing the flat index `i` into coordinates `{prefix}{d}` over `sizes`. */
function coordsOf(i: string, sizes: readonly number[], prefix: string, P: ParamTable): string[] {
  const lines = [`var ${prefix}rest = ${i};`];
  for (let d = sizes.length - 1; d >= 0; d--) {
    const size = P.u32(Math.max(1, sizes[d]));
    lines.push(`let ${prefix}${d} = i32(${prefix}rest % ${size});`, `${prefix}rest = ${prefix}rest / ${size};`);
  }
  return lines;
}

/** A pass of one invocation per output window (coordinates `o{d}`), `body` after them; none when there are no windows. */
function perWindowPass(P: ParamTable, dims: readonly WindowDimParams[], decls: string[], body: (P: ParamTable) => string[], bindings: LibraryBinding[]): LibraryPass[] {
  const outCount = dims.reduce((a, p) => a * p.out, 1);
  if (outCount === 0) return [];
  return [threadPass(P, outCount, decls, [...coordsOf("i", dims.map((p) => p.out), "o", P), ...body(P)], bindings)];
}

function reduceWindow(dtype: DType, fold: Exclude<Fold, "mul">, block: readonly number[], P: ParamTable): LibraryPass[] {
  const dims = windowDims(block);
  const d = kd(dtype);
  return perWindowPass(P, dims, [readDecl(0, "x"), writeDecl(1, "out")], (P) => [
    `var acc: ${WGSL_TYPE[d]} = ${identity(fold, d)};`,
    ...eachTap(dims, [`acc = ${combine(fold, "acc", fromWord("x[u32(at)]", d), d)};`], P),
    `out[i] = ${fold === "add" ? store("acc", dtype) : toWord("acc", d)};`,
  ], io(1, 1));
}

/** Statements choosing window o's tap (`sel`, -1 when every tap is padding): the first one >= (ge) / <= every later one. */
function selectInWindow(dims: readonly WindowDimParams[], d: KDType, ge: boolean, P: ParamTable): string[] {
  const v = fromWord("operand[u32(at)]", d);
  const keep =
    d === "float32"
      ? `!tf_is_nan(best) && !tf_is_nan(v) && best ${ge ? ">=" : "<="} v`
      : d === "bool"
        ? `select(0u, 1u, best) ${ge ? ">=" : "<="} select(0u, 1u, v)`
        : `best ${ge ? ">=" : "<="} v`;
  return [
    "var sel = -1;",
    `var best: ${WGSL_TYPE[d]} = ${literal(0, d)};`,
    ...eachTap(dims, [`let v = ${v};`, `if (sel < 0 || !(${keep})) { sel = at; best = v; }`], P),
  ];
}

function selectAndGatherAdd(dtype: DType, ge: boolean, block: readonly number[], P: ParamTable): LibraryPass[] {
  const dims = windowDims(block);
  const d = kd(dtype);
  return perWindowPass(P, dims, [readDecl(0, "tangents"), readDecl(1, "operand"), writeDecl(2, "out")], (P) => [
    ...selectInWindow(dims, d, ge, P),
    `if (sel < 0) { out[i] = ${toWord(literal(0, d), d)}; } else { out[i] = tangents[u32(sel)]; }`,
  ], io(2, 1));
}

function selectAndScatterAdd(dtype: DType, ge: boolean, block: readonly number[], operandSize: number, P: ParamTable): LibraryPass[] {
  const dims = windowDims(block);
  const d = kd(dtype);
  if (operandSize === 0) return [];
  const outStrides = rowMajor(dims.map((p) => p.out));
  const lines = [...coordsOf("i", dims.map((p) => p.inSize), "c", P), `var acc: ${WGSL_TYPE[d]} = ${literal(0, d)};`];
  // The windows covering element c: o·stride - pad_lo <= c <= o·stride - pad_lo + win - 1 (no dilation here).
  dims.forEach((p, k) => {
    const stride = P.i32(p.stride);
    lines.push(`let padded${k} = c${k} + ${P.i32(p.padLo)};`);
    lines.push(`let lo_num${k} = padded${k} - ${P.i32(p.win - 1)};`);
    lines.push(`let lo${k} = select(0, (lo_num${k} + ${stride} - 1) / ${stride}, lo_num${k} > 0);`);
    lines.push(`let hi${k} = select(-1, min(padded${k} / ${stride}, ${P.i32(p.out - 1)}), padded${k} >= 0);`);
  });
  const source = dims.map((_, k) => `o${k} * ${P.i32(outStrides[k])}`).join(" + ") || "0";
  const inner = [
    ...selectInWindow(dims, d, ge, P),
    `if (sel == i32(i)) { acc = ${SCALAR_WGSL.add(["acc", fromWord(`source[u32(${source})]`, d)], [d, d], d)}; }`,
  ];
  let nest = inner;
  for (let k = dims.length - 1; k >= 0; k--) nest = [`for (var o${k} = lo${k}; o${k} <= hi${k}; o${k}++) {`, ...nest.map((l) => "  " + l), "}"];
  lines.push(...nest, `out[i] = ${store("acc", dtype)};`);
  return [threadPass(P, operandSize, [readDecl(0, "source"), readDecl(1, "operand"), writeDecl(2, "out")], lines, io(2, 1))];
}
