// Compiler of "window copy" kernels to WebAssembly: the one loop nest behind
// the wasm backend's indexing and structural steps — gather, scatter,
// scatter_add, dynamic_slice, dynamic_update_slice, pad and concatenate.
//
// A WindowSpec is a loop nest over `dims` (outermost first) moving three byte
// pointers: the source, the destination and an offset into the index buffers.
// After the first `at` dims (the "batch" dims, whose position picks an index
// vector), the kernel reads one start index from each index pointer, clamps it
// into [0, hi] ("clip") or checks it is in range ("fill"), and moves the source
// (gather-like) or destination (scatter-like) pointer by start · stride. The
// remaining dims walk the window, copying, adding (bool: or-ing) source
// elements into the destination, or — for a gather window out of range in
// "fill" mode — writing the fill value. A scatter window out of range in
// "fill" mode is skipped. Elements are visited in loop-nest order, which the
// lowering makes the row-major order of the source (the updates, for a
// scatter), so duplicate scatter indices resolve exactly as in the interpreter:
// the last update wins, and sums are accumulated one update at a time in that
// order (int32/uint32 sums wrap, so they equal the interpreter bit for bit;
// float32 sums round after every add where the interpreter rounds once from a
// float64 sum).
//
// The innermost dim is copied four elements at a time with v128 loads/stores
// when both pointers are contiguous in it (4-byte dtypes). Copies move raw
// bits (i32 loads/stores), so NaN payloads and -0 are preserved.
//
// The exported function is `kernel(src, dst, idx0, ..., idxK-1)` (byte
// pointers); modules are cached by spec.

import { BackendError } from "../../../core/errors";
import { FuncBuilder, ModuleBuilder, compileGenerated, isSharedMemory, memoryImport } from "./assembler";
import { KernelCache } from "./instance_cache";
import type { KDType } from "../../plan/kernel_graph";

export type { WindowDim, WindowStart, WindowSpec } from "../../plan/kernel_graph";
import type { WindowSpec } from "../../plan/kernel_graph";

export interface CompiledWindow {
  run(src: number, dst: number, idx: readonly number[]): void;
  readonly key: string;
  /** The wasm module's bytes (empty for an empty loop nest); its export takes (src, dst, ...idx). */
  readonly bytes: Uint8Array;
  text(): string;
}

const fail = (msg: string): never => {
  throw new BackendError(`compileWindow: ${msg}`);
};

/** Raw 32-bit (or 8-bit for bool) pattern of `v` stored as `dtype`. */
function bitsOf(dtype: KDType, v: number): number {
  if (dtype === "float32") return new Int32Array(new Float32Array([v]).buffer)[0];
  if (dtype === "bool") return v ? 1 : 0;
  return v | 0;
}

function validate(spec: WindowSpec): void {
  if (spec.at < 0 || spec.at > spec.dims.length) fail(`'at' ${spec.at} is outside the ${spec.dims.length} dims`);
  for (const d of spec.dims) {
    if (![d.size, d.src, d.dst, d.idx].every(Number.isInteger) || d.size < 0) fail(`bad dim ${JSON.stringify(d)}`);
  }
  for (const s of spec.starts) if (!Number.isInteger(s.hi) || s.hi < 0) fail(`start bound ${s.hi} must be a non-negative integer`);
  if (spec.combine === "add" && spec.target !== "dst") fail("an accumulating window kernel must move its destination");
  if (spec.fill !== undefined && spec.target !== "src") fail("only a gathering kernel has a fill value");
}

function generate(spec: WindowSpec, shared: boolean): { bytes: Uint8Array; text: string } {
  const K = spec.starts.length;
  const es = spec.dtype === "bool" ? 1 : 4;
  const align = spec.dtype === "bool" ? 0 : 2;
  const load = spec.dtype === "bool" ? "i32.load8_u" : spec.dtype === "float32" && spec.combine === "add" ? "f32.load" : "i32.load";
  const store = spec.dtype === "bool" ? "i32.store8" : spec.dtype === "float32" && spec.combine === "add" ? "f32.store" : "i32.store";
  const scalarAdd = spec.dtype === "bool" ? "i32.or" : spec.dtype === "float32" ? "f32.add" : "i32.add";
  const vecAdd = spec.dtype === "float32" ? "f32x4.add" : "i32x4.add";

  const mb = new ModuleBuilder();
  mb.importMemory(memoryImport(shared));
  const f = new FuncBuilder("kernel", new Array(2 + K).fill("i32"), []);
  f.comment(
    `${spec.combine} window: dims [${spec.dims.map((d) => d.size).join(",")}], starts after ${spec.at} (${spec.mode}) move the ${spec.target}`,
  );
  const SRC = 0;
  const DST = 1;
  const idxParam = (k: number) => 2 + k;

  /** Innermost-dim body for one element at byte offsets (sOff, tOff) from the pointers. */
  const element = (s: number, t: number, kind: "data" | "fill", sOff: number, tOff: number): void => {
    f.localGet(t);
    if (kind === "fill") f.i32Const(bitsOf(spec.dtype, spec.fill!));
    else if (spec.combine === "copy") f.localGet(s).mem(load, sOff, align);
    else f.localGet(t).mem(load, tOff, align).localGet(s).mem(load, sOff, align).op(scalarAdd);
    f.mem(kind === "fill" ? (spec.dtype === "bool" ? "i32.store8" : "i32.store") : store, tOff, align);
  };

  /** Emits the loops of dims[d..] from pointers s, t, x (locals); kind = what the window body
   * does; `pending`: the starts are still to be read (at depth `at`). */
  const nest = (d: number, s: number, t: number, x: number, kind: "data" | "fill", pending: boolean): void => {
    if (pending && d === spec.at) return starts(d, s, t, x);
    if (d === spec.dims.length) return element(s, t, kind, 0, 0);
    const dim = spec.dims[d];
    const innermost = d === spec.dims.length - 1;
    const vectorizable = innermost && !pending && es === 4 && dim.dst === 1 && (kind === "fill" || dim.src === 1) && dim.size >= 4;
    const s2 = f.local("i32", "s");
    const t2 = f.local("i32", "t");
    const x2 = f.local("i32", "x");
    const i = f.local("i32", "i");
    f.localGet(s).localSet(s2).localGet(t).localSet(t2).localGet(x).localSet(x2);
    const step = vectorizable ? 4 : 1;
    const trips = Math.floor(dim.size / step);
    f.i32Const(0).localSet(i);
    f.loop();
    if (vectorizable) {
      f.localGet(t2);
      if (kind === "fill") f.v128ConstI32(bitsOf(spec.dtype, spec.fill!));
      else if (spec.combine === "copy") f.localGet(s2).mem("v128.load", 0, 2);
      else f.localGet(t2).mem("v128.load", 0, 2).localGet(s2).mem("v128.load", 0, 2).op(vecAdd);
      f.mem("v128.store", 0, 2);
    } else nest(d + 1, s2, t2, x2, kind, pending);
    const adv = (p: number, elems: number, bytes: number) => {
      if (elems !== 0) f.localGet(p).i32Const(elems * bytes * step).op("i32.add").localSet(p);
    };
    adv(s2, kind === "fill" ? 0 : dim.src, es);
    adv(t2, dim.dst, es);
    adv(x2, dim.idx, 4);
    f.localGet(i).i32Const(1).op("i32.add").localTee(i).i32Const(trips).op("i32.lt_u").brIf(0);
    f.end();
    // The n % 4 tail of a vectorized row, at static offsets from where the loop stopped.
    if (vectorizable) for (let e = 0; e < dim.size % 4; e++) element(s2, t2, kind, e * es, e * es);
  };

  /** Reads the start indices at index offset x, moves the target pointer, then the window loops. */
  const starts = (d: number, s: number, t: number, x: number): void => {
    const off = f.local("i32", "off");
    const v = f.local("i32", "v");
    const ok = f.local("i32", "ok");
    f.i32Const(0).localSet(off).i32Const(1).localSet(ok);
    spec.starts.forEach((st, k) => {
      f.localGet(idxParam(k)).localGet(x).op("i32.add").mem("i32.load", 0, 2).localSet(v);
      if (spec.mode === "fill") {
        // Out of [0, hi] for both int32 and uint32 starts, as one unsigned comparison.
        f.localGet(ok).localGet(v).i32Const(st.hi).op("i32.le_u").op("i32.and").localSet(ok);
      } else {
        if (st.dtype === "int32") f.i32Const(0).localGet(v).localGet(v).i32Const(0).op("i32.lt_s").op("select").localSet(v);
        f.i32Const(st.hi).localGet(v).localGet(v).i32Const(st.hi).op(st.dtype === "int32" ? "i32.gt_s" : "i32.gt_u").op("select").localSet(v);
      }
      f.localGet(off).localGet(v).i32Const(st.stride * es).op("i32.mul").op("i32.add").localSet(off);
    });
    const s2 = f.local("i32", "s");
    const t2 = f.local("i32", "t");
    f.localGet(s);
    if (spec.target === "src") f.localGet(off).op("i32.add");
    f.localSet(s2);
    f.localGet(t);
    if (spec.target === "dst") f.localGet(off).op("i32.add");
    f.localSet(t2);
    if (spec.mode === "clip") return nest(d, s2, t2, x, "data", false);
    f.localGet(ok).if_();
    nest(d, s2, t2, x, "data", false);
    if (spec.fill !== undefined) {
      f.else_();
      nest(d, s2, t2, x, "fill", false);
    }
    f.end();
  };

  const x0 = f.local("i32", "x");
  f.i32Const(0).localSet(x0);
  nest(0, SRC, DST, x0, "data", K > 0);
  mb.addFunction(f, "kernel");
  return { bytes: mb.encode(), text: mb.text() };
}

const cache = new KernelCache<{ module: WebAssembly.Module; text: string; bytes: Uint8Array }, CompiledWindow>("window");

/** Compiles (or fetches from the cache) the window kernel of `spec` for `memory`. */
export function compileWindow(spec: WindowSpec, memory: WebAssembly.Memory): CompiledWindow {
  validate(spec);
  const shared = isSharedMemory(memory);
  // The fill value by its bits: JSON writes NaN and ±Infinity all as null, and -0 as 0.
  const key = JSON.stringify({ ...spec, fill: spec.fill === undefined ? undefined : bitsOf(spec.dtype, spec.fill), shared });
  const hit = cache.instance(memory, key);
  if (hit) return hit;
  let kernel: CompiledWindow;
  if (spec.dims.some((d) => d.size === 0)) {
    kernel = { key, bytes: new Uint8Array(0), text: () => ";; empty loop nest: no code", run() {} };
  } else {
    let cached = cache.module(key);
    if (!cached) {
      const gen = generate(spec, shared);
      const module = compileGenerated("compileWindow", gen.bytes);
      cache.setModule(key, (cached = { module, text: gen.text, bytes: gen.bytes }));
    }
    const fn = new WebAssembly.Instance(cached.module, { env: { memory } }).exports.kernel as (...ptrs: number[]) => void;
    const K = spec.starts.length;
    const args = new Array<number>(2 + K).fill(0);
    const text = cached.text;
    kernel = {
      key,
      bytes: cached.bytes,
      text: () => text,
      run:
        K === 0
          ? (src, dst) => fn(src, dst)
          : K === 1
            ? (src, dst, idx) => fn(src, dst, idx[0])
            : (src, dst, idx) => {
                args[0] = src;
                args[1] = dst;
                for (let k = 0; k < K; k++) args[2 + k] = idx[k];
                Reflect.apply(fn, undefined, args);
              },
    };
  }
  cache.setInstance(memory, key, kernel);
  return kernel;
}
