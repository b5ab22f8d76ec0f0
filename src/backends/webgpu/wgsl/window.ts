// WGSL for the planner's window steps (WindowSpec, plan/kernel_graph.ts): the
// one loop nest behind gather, scatter, scatter_add, dynamic_slice,
// dynamic_update_slice, pad and concatenate, run as one invocation per point
// of the nest. The nest's first `at` dims pick an index vector; there each
// invocation reads its start indices, clamps them ("clip") or checks them
// ("fill"), and moves the source (gather-like) or destination (scatter-like)
// position; the remaining dims walk the window.
//
// Points of a gathering nest write distinct destination elements, so they
// run independently. A scattering nest may hit one destination element from
// several points (duplicate indices):
// - scatter_add accumulates with atomics: atomicAdd for int32/uint32 (wrapping
//   sums are order-free, so bit for bit the interpreter's), atomicOr for bool,
//   and for float32 — WGSL has no float atomics — a compare-and-swap loop on
//   the word's bits (each add rounds to float32; their order is the GPU's);
// - scatter must let the last update win, as the interpreter does (the nest
//   is in the updates' row-major order): a first pass takes, per destination
//   element, the atomic maximum of the points writing it into a scratch
//   buffer, a second pass lets only that point write. Three dispatches (the
//   scratch is cleared first), deterministic.
// Copies move raw words, so NaN payloads and -0 are kept.
//
// Sizes, strides, offsets and bounds are read from a per-dispatch uniform
// (params.ts): one pipeline per nest structure (rank, which strides are zero,
// the starts' count and dtypes, mode, target, combine, dtype); `specialize`
// bakes them in instead.

import type { WindowSpec } from "../../plan/kernel_graph";
import { WORKGROUP } from "./kernel";
import { ParamTable } from "./params";
import { wordOf } from "./scalar";

/** One dispatch of a window step: its shader and how many invocations it runs. */
export interface WindowPass {
  code: string;
  threads: number;
  /** Which storage buffers the pass binds, in binding order. */
  bindings: readonly WindowBinding[];
  /** The words of the pass's parameter uniform, bound after `bindings`; null when it has none. */
  params: Uint32Array | null;
}

/** A binding of a window pass: the source, the destination, an index buffer, or the step's scratch (last-writer table). */
export type WindowBinding = { kind: "src" } | { kind: "dst" } | { kind: "index"; buffer: number } | { kind: "scratch" };

const GLOBAL_INDEX = `gid.x + gid.y * nwg.x * ${WORKGROUP}u`;

/** Whether a scatter may write one destination element from several points (the last must win). */
export function needsLastWriter(spec: WindowSpec): boolean {
  return spec.target === "dst" && spec.combine === "copy" && spec.at > 0 && spec.starts.length > 0;
}

/**
 * The passes of a window step. `indexBuffers` says which distinct buffer each start reads
 * (starts of one index array share a buffer), `indexOffsets` the element offset each start
 * reads at, and `srcOffset`/`dstOffset` the element offsets of the two pointers. `specialize`
 * bakes the sizes into the shaders (one pipeline per shape).
 */
export function generateWindow(
  spec: WindowSpec,
  offsets: { src: number; dst: number; starts: readonly number[] },
  indexBuffers: readonly number[],
  dstWords: number,
  { specialize = false } = {},
): WindowPass[] {
  const total = spec.dims.reduce((a, d) => a * d.size, 1);
  if (total === 0) return [];
  const distinctIdx = [...new Set(indexBuffers)];
  const idxBinding = (k: number) => 2 + distinctIdx.indexOf(indexBuffers[k]);
  const lastWriter = needsLastWriter(spec);
  const atomicDst = spec.combine === "add";

  const bindings: WindowBinding[] = [{ kind: "src" }, { kind: "dst" }, ...distinctIdx.map((buffer) => ({ kind: "index" as const, buffer }))];
  const decls = (role: "clear" | "claim" | "write"): string[] => {
    const out = [
      `@group(0) @binding(0) var<storage, read> src: array<u32>;`,
      `@group(0) @binding(1) var<storage, read_write> dst: array<${atomicDst ? "atomic<u32>" : "u32"}>;`,
      ...distinctIdx.map((_, j) => `@group(0) @binding(${2 + j}) var<storage, read> idx${j}: array<u32>;`),
    ];
    if (role !== "write" || lastWriter) out.push(`@group(0) @binding(${2 + distinctIdx.length}) var<storage, read_write> last: array<atomic<u32>>;`);
    return out;
  };

  // The body at one point: coordinates, the three positions, the starts. The write and claim
  // passes share one table of parameters (the claim reads a subset of it).
  const P = new ParamTable(specialize);
  const body: string[] = [`let i = ${GLOBAL_INDEX};`, `if (i >= ${P.u32(total)}) { return; }`, `var rest = i;`];
  for (let d = spec.dims.length - 1; d >= 0; d--) {
    const size = P.u32(spec.dims[d].size);
    body.push(`let c${d} = i32(rest % ${size});`, `rest = rest / ${size};`);
  }
  const sum = (terms: string[], base: string) => [base, ...terms].join(" + ");
  // A zero stride is structure (its term is left out); the others are parameters.
  const along = (key: "src" | "dst" | "idx") => spec.dims.flatMap((d, k) => (d[key] === 0 ? [] : [`c${k} * ${P.i32(d[key])}`]));
  body.push(`var s = ${sum(along("src"), P.i32(offsets.src))};`, `var t = ${sum(along("dst"), P.i32(offsets.dst))};`, `let x = ${sum(along("idx"), "0")};`, `var ok = true;`);
  spec.starts.forEach((st, k) => {
    const word = `idx${idxBinding(k) - 2}[u32(x + ${P.i32(offsets.starts[k])})]`;
    if (spec.mode === "fill") {
      // Out of [0, hi] for int32 and uint32 starts alike, as one unsigned comparison.
      const hi = P.u32(st.hi);
      body.push(`let v${k} = ${word};`, `ok = ok && v${k} <= ${hi};`);
      body.push(`let m${k} = i32(min(v${k}, ${hi}));`);
    } else if (st.dtype === "int32") body.push(`let m${k} = clamp(bitcast<i32>(${word}), 0, ${P.i32(st.hi)});`);
    else body.push(`let m${k} = i32(min(${word}, ${P.u32(st.hi)}));`);
    body.push(`${spec.target === "src" ? "s" : "t"} += m${k} * ${P.i32(st.stride)};`);
  });
  const fillWord = spec.fill === undefined || spec.mode !== "fill" ? null : P.u32(wordOf(spec.fill, spec.dtype));

  const entry = (lines: string[]) =>
    `@compute @workgroup_size(${WORKGROUP})\nfn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {\n  ${lines.join("\n  ")}\n}`;
  const shader = (role: "clear" | "claim" | "write", lines: string[]) => `${decls(role).join("\n")}\n${P.finish(decls(role).length).decl}\n\n${entry(lines)}\n`;
  const params = P.finish(0).words;
  const write: string[] = [...body];
  if (spec.mode === "fill" && spec.target === "dst") write.push("if (!ok) { return; }");
  if (lastWriter) write.push("if (atomicLoad(&last[u32(t)]) != i + 1u) { return; }");
  if (spec.combine === "copy") {
    const value = fillWord !== null ? `select(${fillWord}, src[u32(s)], ok)` : "src[u32(s)]";
    write.push(`dst[u32(t)] = ${value};`);
  } else if (spec.dtype === "float32") {
    write.push(
      "let add = bitcast<f32>(src[u32(s)]);",
      "var old = atomicLoad(&dst[u32(t)]);",
      "loop {",
      "  let r = atomicCompareExchangeWeak(&dst[u32(t)], old, bitcast<u32>(bitcast<f32>(old) + add));",
      "  if (r.exchanged) { break; }",
      "  old = r.old_value;",
      "}",
    );
  } else if (spec.dtype === "bool") write.push("atomicOr(&dst[u32(t)], src[u32(s)]);");
  else write.push("atomicAdd(&dst[u32(t)], src[u32(s)]);");

  const writePass: WindowPass = { code: shader("write", write), threads: total, bindings: lastWriter ? [...bindings, { kind: "scratch" }] : bindings, params };
  if (!lastWriter) return [writePass];
  const clearParams = new ParamTable(specialize);
  const clearBody = entry([`let i = ${GLOBAL_INDEX};`, `if (i >= ${clearParams.u32(dstWords)}) { return; }`, "atomicStore(&last[i], 0u);"]);
  const clearUniform = clearParams.finish(1);
  const clear: WindowPass = {
    code: `@group(0) @binding(0) var<storage, read_write> last: array<atomic<u32>>;\n${clearUniform.decl}\n\n${clearBody}\n`,
    threads: dstWords,
    bindings: [{ kind: "scratch" }],
    params: clearUniform.words,
  };
  // The claim pass binds only what it reads: the index buffers and the table.
  const claimDecls = [
    ...distinctIdx.map((_, j) => `@group(0) @binding(${j}) var<storage, read> idx${j}: array<u32>;`),
    `@group(0) @binding(${distinctIdx.length}) var<storage, read_write> last: array<atomic<u32>>;`,
  ];
  const claimBody = body.filter((l) => !l.startsWith("var s =") && !l.startsWith("s +=")).concat(spec.mode === "fill" ? ["if (!ok) { return; }"] : [], ["atomicMax(&last[u32(t)], i + 1u);"]);
  const claim: WindowPass = {
    code: `${claimDecls.join("\n")}\n${P.finish(claimDecls.length).decl}\n\n${entry(claimBody)}\n`,
    threads: total,
    bindings: [...distinctIdx.map((buffer) => ({ kind: "index" as const, buffer })), { kind: "scratch" }],
    params,
  };
  return [clear, claim, writePass];
}
