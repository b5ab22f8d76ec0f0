// WGSL for the planner's fused kernels (KernelSpec): an elementwise DAG
// evaluated at every point of an iteration space, optionally reduced over
// some of its axes. Every buffer is bound as an array<u32> (one word per
// element, bool as 0/1; float16 packed two per word, see half.ts: a kernel
// writing one computes two neighbouring outputs per invocation), so one buffer can be read
// as two dtypes (a bitcast) and the shader needs no per-dtype bindings; the
// kernel's inputs are bound once per buffer, each read through its own view
// (offset and element strides). Sizes, offsets and strides are read from a
// per-dispatch uniform buffer (params.ts), as are the DAG's constants, so one
// pipeline, cached by its WGSL text, serves every shape of the same kernel
// structure (its DAG, dtypes, rank, reduced axes, broadcast pattern and
// reduction strategy); with
// `specialize` they are baked in as literals instead (one pipeline per shape).
//
// Elementwise kernels run one invocation per output element. Reductions run
// one invocation per output when the reduced extent is small, and one
// workgroup per output otherwise (each invocation folds a strided share, then
// a tree in workgroup memory), so a full sum of a large array uses the GPU.

import { BackendError } from "../../../core/errors";
import type { KDType, KernelSpec, ReduceOp } from "../../plan/kernel_graph";
import { HALF_WGSL } from "../half";
import { ParamTable } from "./params";
import { SCALAR_PRELUDE, SCALAR_WGSL, WGSL_TYPE, fromWord, integerPow, literal, toWord, wordOf } from "./scalar";

export const WORKGROUP = 256;
/** Reductions over at least this many elements per output use a whole workgroup per output. */
const WORKGROUP_REDUCE_MIN = 256;

/** A compiled kernel's shader and how to dispatch it. */
export interface WgslKernel {
  code: string;
  /** Invocations (elementwise: one per element) or workgroups (per-output reductions) to launch. */
  dispatch: { threads: number } | { workgroups: number };
  /** Storage bindings (inputs, then outputs); the parameter uniform, if any, binds after them. */
  bindings: number;
  /** Contents of the parameter uniform (bound after the storage buffers), or null when the shader is specialised. */
  params: Uint32Array | null;
}

/**
 * One input view of the step: the binding holding its buffer, its element offset and strides.
 * `output`: the input is read from that output's buffer instead (a donated input updated in place,
 * each element read by the invocation that writes it).
 */
export interface BoundView {
  binding: number;
  offset: number;
  strides: readonly number[];
  output?: number;
  /** The buffer holds float16 packed two per word (half.ts); read as f32. */
  packed?: boolean;
}

/** The global invocation index from a 2-D dispatch (x wraps at 65535 workgroups). */
const GLOBAL_INDEX = "gid.x + gid.y * nwg.x * " + WORKGROUP + "u";

/**
 * The strided loop of one invocation of a workgroup-per-output reduction (`j` from `lid` by
 * WORKGROUP while `cond`), folding `values` into `accs`. Float sums and products fold in blocks:
 * 64 values into a block accumulator, 64 blocks into a second level, then into the accumulator,
 * so no accumulator takes more than ~64 terms of similar size and the error stays ~eps·log(n)
 * (a 1e6-element sum of 0.1 was off by 3.7e-5 relative, serially folded; the wasm kernels block
 * the same way, REDUCTION_BLOCKS). Integer and bool folds are exact and stay plain.
 */
function blockedStrideLoop(op: ReduceOp, accs: readonly { name: string; dtype: KDType }[], values: readonly string[], cond: string, inner: readonly string[]): string[] {
  const blocked = (op === "sum" || op === "prod") && accs.some((a) => a.dtype === "float32");
  const lines = [`if (in_range) {`];
  if (!blocked) {
    lines.push(`  for (var j = lid; ${cond}; j += ${WORKGROUP}u) {`, ...inner.map((l) => "    " + l));
    accs.forEach((a, k) => lines.push(`    ${a.name} = ${reduceCombine(op, a.name, values[k], a.dtype)};`));
    return [...lines, "  }", "}"];
  }
  const levels = (a: { name: string }) => [`b1_${a.name}`, `b2_${a.name}`];
  accs.forEach((a) => levels(a).forEach((b) => lines.push(`  var ${b}: ${WGSL_TYPE[a.dtype]} = ${reduceIdentity(op, a.dtype)};`)));
  lines.push(`  var count = 0u;`, `  for (var j = lid; ${cond}; j += ${WORKGROUP}u) {`, ...inner.map((l) => "    " + l));
  accs.forEach((a, k) => lines.push(`    b1_${a.name} = ${reduceCombine(op, `b1_${a.name}`, values[k], a.dtype)};`));
  lines.push(`    count = count + 1u;`, `    if (count % 64u == 0u) {`);
  accs.forEach((a) => lines.push(`      b2_${a.name} = ${reduceCombine(op, `b2_${a.name}`, `b1_${a.name}`, a.dtype)};`, `      b1_${a.name} = ${reduceIdentity(op, a.dtype)};`));
  lines.push(`      if (count % 4096u == 0u) {`);
  accs.forEach((a) => lines.push(`        ${a.name} = ${reduceCombine(op, a.name, `b2_${a.name}`, a.dtype)};`, `        b2_${a.name} = ${reduceIdentity(op, a.dtype)};`));
  lines.push(`      }`, `    }`, `  }`);
  accs.forEach((a) => lines.push(`  ${a.name} = ${reduceCombine(op, a.name, reduceCombine(op, `b2_${a.name}`, `b1_${a.name}`, a.dtype), a.dtype)};`));
  return [...lines, "}"];
}

function reduceIdentity(op: ReduceOp, d: KDType): string {
  const f = d === "float32";
  switch (op) {
    case "sum":
      return literal(0, d);
    case "prod":
      return literal(1, d);
    case "max":
      return d === "bool" ? "false" : f ? "-tf_inf()" : d === "int32" ? literal(-2147483648, d) : "0u";
    case "min":
      return d === "bool" ? "true" : f ? "tf_inf()" : d === "int32" ? "2147483647" : "4294967295u";
    case "and":
      return d === "bool" ? "true" : literal(-1, d);
    case "or":
      return d === "bool" ? "false" : literal(0, d);
  }
}

function reduceCombine(op: ReduceOp, a: string, b: string, d: KDType): string {
  const t: KDType[] = [d, d];
  switch (op) {
    case "sum":
      return SCALAR_WGSL.add([a, b], t, d);
    case "prod":
      return SCALAR_WGSL.mul([a, b], t, d);
    case "max":
      return SCALAR_WGSL.max([a, b], t, d);
    case "min":
      return SCALAR_WGSL.min([a, b], t, d);
    case "and":
      return SCALAR_WGSL.and([a, b], t, d);
    case "or":
      return SCALAR_WGSL.or([a, b], t, d);
  }
}

/**
 * Mixed-radix decomposition of `index` over `shape`: statements defining `${prefix}${d}` for each dim.
 * (A 0-size dim never runs; it is divided as 1 so the shader still compiles.)
 */
function coords(index: string, shape: readonly number[], prefix: string, lines: string[], params: ParamTable): void {
  if (shape.length === 0) return;
  lines.push(`var ${prefix}rest = ${index};`);
  for (let d = shape.length - 1; d >= 0; d--) {
    if (d === 0) lines.push(`let ${prefix}${d} = i32(${prefix}rest);`);
    else {
      lines.push(`let ${prefix}n${d} = ${params.u32(Math.max(1, shape[d]))};`);
      lines.push(`let ${prefix}${d} = i32(${prefix}rest % ${prefix}n${d});`);
      lines.push(`${prefix}rest = ${prefix}rest / ${prefix}n${d};`);
    }
  }
}

/**
 * The body evaluating the DAG at one point: `pos(d)` names the coordinate of
 * iteration dim d. Returns the WGSL names of the output values.
 */
function evaluate(spec: KernelSpec, views: readonly BoundView[], pos: (d: number) => string, lines: string[], params: ParamTable): string[] {
  let counter = 0;
  const fresh = () => `t${counter++}`;
  const names: string[] = [];
  const types: KDType[] = [];
  spec.nodes.forEach((node) => {
    const name = fresh();
    if (node.op === "input") {
      const v = views[node.input];
      const d = spec.inputs[node.input].dtype;
      // A broadcast (stride 0) is part of the kernel's structure; a size-1 dim is left out only when specialised (a shape).
      const skip = (s: number, dim: number) => s === 0 || (params.specialize && spec.shape[dim] === 1);
      const terms = [params.i32(v.offset), ...v.strides.flatMap((s, dim) => (skip(s, dim) ? [] : [`${pos(dim)} * ${params.i32(s)}`]))];
      const buffer = v.output === undefined ? `b${v.binding}` : `o${v.output}`;
      if (v.packed) {
        lines.push(`let ${name}_e = u32(${terms.join(" + ")});`, `let ${name} = tf_half_at(${buffer}[${name}_e >> 1u], ${name}_e);`);
      } else lines.push(`let ${name} = ${fromWord(`${buffer}[u32(${terms.join(" + ")})]`, d)};`);
      types.push(d);
    } else if (node.op === "const") {
      // A generic shader reads its constants from the uniform as well: a constant is often a
      // shape (an axis size wrapping negative indices, a mean's 1/n).
      const value = params.specialize ? literal(node.value, node.dtype) : fromWord(params.u32(wordOf(node.value, node.dtype)), node.dtype);
      lines.push(`let ${name}: ${WGSL_TYPE[node.dtype]} = ${value};`);
      types.push(node.dtype);
    } else if (node.op === "integer_pow") {
      const x = names[node.args[0]];
      lines.push(`let ${name}: ${WGSL_TYPE[node.dtype]} = ${integerPow(x, node.y, node.dtype, fresh, lines)};`);
      types.push(node.dtype);
    } else {
      const args = node.args.map((a) => names[a]);
      const argTypes = node.args.map((a) => types[a]);
      lines.push(`let ${name}: ${WGSL_TYPE[node.dtype]} = ${SCALAR_WGSL[node.op](args, argTypes, node.dtype)};`);
      types.push(node.dtype);
    }
    names.push(name);
  });
  return spec.outputs.map((o) => names[o.node]);
}

/**
 * Generates the shader of `spec`, whose input k is read through `views[k]`; outputs bind after the
 * inputs, the parameter uniform after them. `specialize` bakes sizes and strides into the text.
 * `packedOutputs[k]`: output k is float16, packed two per word: then each invocation (or
 * workgroup, for a workgroup-per-output reduction) computes two neighbouring outputs and writes
 * whole words, so no two invocations write one word.
 */
export function generateKernel(
  spec: KernelSpec,
  views: readonly BoundView[],
  inputBindings: number,
  { specialize = false, packedOutputs = [] }: { specialize?: boolean; packedOutputs?: readonly boolean[] } = {},
): WgslKernel {
  const params = new ParamTable(specialize);
  const outputs = spec.outputs;
  const bindingCount = inputBindings + outputs.length;
  const pairs = packedOutputs.some(Boolean);
  const decls: string[] = [];
  for (let b = 0; b < inputBindings; b++) decls.push(`@group(0) @binding(${b}) var<storage, read> b${b}: array<u32>;`);
  outputs.forEach((_, k) => decls.push(`@group(0) @binding(${inputBindings + k}) var<storage, read_write> o${k}: array<u32>;`));
  const shape = spec.shape;
  const red = spec.reduction;
  const lines: string[] = [];
  let dispatch: WgslKernel["dispatch"];
  let entry: string;
  const perInvocation = (body: string[]) =>
    `@compute @workgroup_size(${WORKGROUP})\nfn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {\n  ${body.join("\n  ")}\n}`;
  /**
   * Statements computing output element `i` (statements `compute(values)` leave the outputs' values
   * in the names `values`) and storing them: directly, or in pairs mode for the two elements 2p and
   * 2p+1 of the invocation's (or workgroup's) index p, gathered in registers then stored as words.
   */
  const store = (index: string, count: string, compute: () => { body: string[]; values: string[] }, guardAll = ""): string[] => {
    if (!pairs) {
      const { body, values } = compute();
      return [`let i = ${index};`, ...body, ...(guardAll ? [`if (${guardAll}) {`] : []), ...values.map((v, k) => `o${k}[i] = ${toWord(v, outputs[k].dtype)};`), ...(guardAll ? ["}"] : [])];
    }
    const { body, values } = compute();
    const out: string[] = [`let p = ${index};`, `let n_out = ${count};`];
    outputs.forEach((o, k) => out.push(`var r${k}: array<${WGSL_TYPE[o.dtype]}, 2>;`));
    out.push(`for (var h = 0u; h < 2u; h++) {`, `  let i = 2u * p + h;`, ...body.map((l) => "  " + l), ...values.map((v, k) => `  r${k}[h] = ${v};`), "}");
    out.push(`if (${guardAll ? `${guardAll} && ` : ""}2u * p < n_out) {`);
    outputs.forEach((o, k) => {
      if (packedOutputs[k]) out.push(`  o${k}[p] = tf_pack_halves(r${k}[0], r${k}[1]);`);
      else out.push(`  o${k}[2u * p] = ${toWord(`r${k}[0]`, o.dtype)};`, `  if (2u * p + 1u < n_out) { o${k}[2u * p + 1u] = ${toWord(`r${k}[1]`, o.dtype)}; }`);
    });
    out.push("}");
    return out;
  };
  /** Invocations (or workgroups) for `n` outputs: one per output, or per pair of outputs. */
  const launches = (n: number) => (pairs ? Math.ceil(n / 2) : n);
  if (!red) {
    const total = shape.reduce((a, b) => a * b, 1);
    const n = params.u32(total);
    lines.push(
      ...store(GLOBAL_INDEX, n, () => {
        const body = pairs ? [`if (i >= n_out) { break; }`] : [`if (i >= ${n}) { return; }`];
        coords("i", shape, "c", body, params);
        return { body, values: evaluate(spec, views, (d) => `c${d}`, body, params) };
      }),
    );
    dispatch = { threads: launches(total) };
    entry = perInvocation(lines);
  } else {
    const reduced = new Set(red.axes);
    const keptDims = shape.map((_, d) => d).filter((d) => !reduced.has(d));
    const redDims = shape.map((_, d) => d).filter((d) => reduced.has(d));
    const keptShape = keptDims.map((d) => shape[d]);
    const redShape = redDims.map((d) => shape[d]);
    const outCount = keptShape.reduce((a, b) => a * b, 1);
    const redCount = redShape.reduce((a, b) => a * b, 1);
    const pos = (d: number) => (reduced.has(d) ? `r${redDims.indexOf(d)}` : `c${keptDims.indexOf(d)}`);
    const inner: string[] = [];
    const outTotal = params.u32(outCount);
    const redTotal = params.u32(redCount);
    coords("j", redShape, "r", inner, params);
    const values = evaluate(spec, views, pos, inner, params);
    const accs = outputs.map((o, k) => ({ name: `acc${k}`, type: WGSL_TYPE[o.dtype], dtype: o.dtype }));
    const fold = accs.map((a, k) => `${a.name} = ${reduceCombine(red.op, a.name, values[k], a.dtype)};`);
    const init = accs.map((a) => `var ${a.name}: ${a.type} = ${reduceIdentity(red.op, a.dtype)};`);
    if (redCount < WORKGROUP_REDUCE_MIN || outCount > 65535 * 65535) {
      lines.push(
        ...store(GLOBAL_INDEX, outTotal, () => {
          const body = pairs ? [`if (i >= n_out) { break; }`] : [`if (i >= ${outTotal}) { return; }`];
          coords("i", keptShape, "c", body, params);
          body.push(...init, `for (var j = 0u; j < ${redTotal}; j++) {`, ...inner.map((l) => "  " + l), ...fold.map((l) => "  " + l), "}");
          return { body, values: accs.map((a) => a.name) };
        }),
      );
      dispatch = { threads: launches(outCount) };
      entry = perInvocation(lines);
    } else {
      // A workgroup per output (per pair of outputs in pairs mode, one after the other: the loop and its barriers are uniform).
      accs.forEach((a) => decls.push(`var<workgroup> s_${a.name}: array<${a.type}, ${WORKGROUP}>;`));
      lines.push(
        ...store(
          "wid.x + wid.y * nwg.x",
          outTotal,
          () => {
            const body = [`let in_range = i < ${outTotal};`];
            coords("i", keptShape, "c", body, params);
            body.push(...init, ...blockedStrideLoop(red.op, accs, values, `j < ${redTotal}`, inner));
            accs.forEach((a) => body.push(`s_${a.name}[lid] = ${a.name};`));
            body.push("workgroupBarrier();");
            for (let step = WORKGROUP / 2; step >= 1; step /= 2) {
              body.push(`if (lid < ${step}u) {`);
              accs.forEach((a) => body.push(`  s_${a.name}[lid] = ${reduceCombine(red.op, `s_${a.name}[lid]`, `s_${a.name}[lid + ${step}u]`, a.dtype)};`));
              body.push("}", "workgroupBarrier();");
            }
            // Every invocation reads the root before any may start the next pair's tree (only invocation 0 stores it).
            accs.forEach((a) => body.push(`let root_${a.name} = s_${a.name}[0];`));
            body.push("workgroupBarrier();");
            return { body, values: accs.map((a) => `root_${a.name}`) };
          },
          pairs ? "lid == 0u" : "lid == 0u && in_range",
        ),
      );
      dispatch = { workgroups: launches(outCount) };
      entry =
        `@compute @workgroup_size(${WORKGROUP})\nfn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32, @builtin(num_workgroups) nwg: vec3<u32>) {\n  ${lines.join("\n  ")}\n}`;
    }
  }
  if (bindingCount === 0) throw new BackendError("webgpu: a kernel without outputs");
  const uniform = params.finish(bindingCount);
  if (uniform.decl) decls.push(uniform.decl);
  const packedIO = pairs || views.some((v) => v.packed);
  return { code: `${SCALAR_PRELUDE}${packedIO ? HALF_WGSL : ""}\n${decls.join("\n")}\n\n${entry}\n`, dispatch, bindings: bindingCount, params: uniform.words };
}
