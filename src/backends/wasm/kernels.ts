// Instantiation and typed API of the hand-written Rust/WebAssembly SIMD kernels in
// wasm/tinyflow_kernels.wasm (sgemm, conv2d and its gradients, the axis and
// window kernels run by library_steps.ts, a peak-FLOPS probe, and the
// allocator of the wasm backend's linear memory).
//
// The module imports its memory ("env"."memory"), so this file creates the
// WebAssembly.Memory and the rest of the wasm backend (e.g. kernels generated
// at run time) can import the same one. The binary is linked for a shared
// memory so a worker pool can instantiate it again on the same memory (pass
// `memory` to `instantiateWasmKernels`; each extra instance gets its own
// shadow stack). When shared memory is not available (e.g. a browser page
// without cross-origin isolation) the memory import is patched to unshared and
// an ordinary memory is used. See wasm/src/lib.rs for the memory model.
//
// All pointers are byte offsets into `memory`; every float32 pointer must be
// 4-byte aligned. Functions throw WasmKernelError on bad arguments.
//
// The binary's location, reading and fetching are in kernel_binary.ts, the
// conv parameters and their encoding in conv_params.ts, the error type and
// argument checks in kernel_args.ts.

import { BackendError } from "../../core/errors";
import { CONV_MODE_CODE, CONV_PARAMS_LEN, conv2dShapes, convParamsBlock, type Conv2dParams, type ConvMode, type ConvShapes } from "./conv_params";
import { check, fail, finite, isInt, nonNeg, pos } from "./kernel_args";
import { findMemoryImport, locateKernelFile, readKernelBytes, sharedMemorySupported } from "./kernel_binary";

const MAX_PAGES = 65536;
const ABI_VERSION = 1;

/**
 * sgemm reads A and B in place, without packing, when op(A) has at most this
 * many rows and B is stored transposed, or at most 2 rows otherwise
 * (wasm/src/gemm.rs SKINNY_M): vector-matrix products, and narrow
 * matrix-vector ones the lowering computes transposed.
 */
export const SGEMM_SKINNY_M = 4;

/** Raw exports of the module (C ABI; i32 pointers are byte offsets). */
export interface RawKernelExports {
  abi_version(): number;
  alloc(bytes: number): number;
  free(ptr: number, bytes: number): void;
  heap_live_bytes(): number;
  /** The allocator's invariant check (wasm/src/alloc.rs check): freed bytes / 16, or a negative code. */
  heap_check(): number;
  /** Coalesces the allocator's quick lists (wasm/src/alloc.rs flush). */
  heap_flush(): void;
  sgemm(
    transA: number, transB: number, m: number, n: number, k: number, alpha: number,
    a: number, lda: number, b: number, ldb: number, beta: number, c: number, ldc: number,
  ): number;
  sgemm_rows(
    transA: number, transB: number, m: number, n: number, k: number, alpha: number,
    a: number, lda: number, b: number, ldb: number, beta: number, c: number, ldc: number,
    m0: number, m1: number, scratch: number,
  ): number;
  sgemm_scratch_bytes(rows: number, n: number, k: number): number;
  /** Packing passes of sgemm, imported by the GEMMs generated at run time (codegen/gemm.ts). */
  sgemm_pack_a(transA: number, a: number, lda: number, i0: number, p0: number, mc: number, kc: number, dst: number): void;
  sgemm_pack_b(transB: number, b: number, ldb: number, p0: number, j0: number, kc: number, nc: number, dst: number): void;
  conv2d(params: number, x: number, w: number, y: number): number;
  conv2d_backward_data(params: number, dy: number, w: number, dx: number): number;
  conv2d_backward_filter(params: number, x: number, dy: number, dw: number): number;
  conv2d_params_len(): number;
  /** Units u0..u1 of a conv (wasm/src/conv.rs run_range); mode 0 forward, 1 data gradient, 2 filter gradient (partial sum). */
  conv2d_range(params: number, mode: number, a: number, b: number, out: number, u0: number, u1: number, epilogue: number): number;
  conv2d_sum_parts(parts: number, count: number, len: number, dst: number): number;
  /** Axis and window kernels (wasm/src/ordering.rs, window.rs); see library_steps.ts. */
  argreduce(dtype: number, isMin: number, x: number, out: number, outer: number, n: number, inner: number): number;
  cumulative(dtype: number, fold: number, reverse: number, x: number, out: number, outer: number, n: number, inner: number): number;
  sort_keys(dtype: number, x: number, keys: number, n: number): number;
  sort_permutation(keys: number, numKeys: number, rows: number, n: number, perm: number): number;
  permute_rows(elemBytes: number, src: number, perm: number, dst: number, rows: number, n: number): number;
  top_k(dtype: number, x: number, rows: number, n: number, k: number, vals: number, idx: number): number;
  reduce_window(dtype: number, fold: number, params: number, x: number, out: number): number;
  select_and_scatter_add(dtype: number, ge: number, params: number, source: number, operand: number, out: number, operandLen: number): number;
  select_and_gather_add(dtype: number, ge: number, params: number, tangents: number, operand: number, out: number): number;
  /** Matrix decompositions over batches of float32 matrices (wasm/src/linalg.rs). */
  linalg_cholesky(a: number, l: number, batch: number, n: number): number;
  linalg_lu(a: number, lu: number, pivots: number, perm: number, batch: number, m: number, n: number): number;
  linalg_qr(a: number, q: number, r: number, batch: number, m: number, n: number, full: number): number;
  linalg_eigh(a: number, v: number, w: number, batch: number, n: number): number;
  linalg_svd(a: number, s: number, u: number, vt: number, batch: number, m: number, n: number, full: number): number;
  linalg_triangular_solve(a: number, b: number, x: number, batch: number, n: number, rows: number, cols: number, flags: number): number;
  peak_flops_kernel(iters: number): number;
  peak_flops_per_iter(): number;
  __stack_pointer: WebAssembly.Global;
  __heap_base: WebAssembly.Global;
}

export interface SgemmArgs {
  transA?: boolean;
  transB?: boolean;
  m: number;
  n: number;
  k: number;
  alpha?: number;
  /** Byte pointer to A: M x K row-major, or K x M when transA. */
  a: number;
  /** Row stride of A in elements (default: its column count). */
  lda?: number;
  /** Byte pointer to B: K x N row-major, or N x K when transB. */
  b: number;
  ldb?: number;
  /** Default 0 (C is then not read). */
  beta?: number;
  /** Byte pointer to C: M x N row-major. */
  c: number;
  ldc?: number;
}

export interface SgemmRowsArgs extends SgemmArgs {
  /** Rows m0..m1 of C are computed. */
  m0: number;
  m1: number;
  /** Byte pointer to at least `sgemmScratchBytes(m1-m0, n, k)` bytes owned by this caller; 0 = allocate. */
  scratch?: number;
}

export interface InstantiateOptions {
  /** Module bytes; default: readKernelBytes() (Node only). */
  bytes?: Uint8Array;
  /** Existing memory to instantiate on (e.g. a worker joining a pool). */
  memory?: WebAssembly.Memory;
  /** Use a shared memory when creating one (default: when available). */
  shared?: boolean;
  /** Initial pages when creating a memory (default: module minimum). */
  initialPages?: number;
  /** Maximum pages when creating a memory (default 65536 = 4 GiB). */
  maximumPages?: number;
  /** Give this instance its own shadow stack of this many bytes (default: 1 MiB when `memory` is passed, else none). */
  stackBytes?: number;
}

/** The kernels bound to one instance and its memory. */
export class WasmKernels {
  readonly raw: RawKernelExports;
  readonly memory: WebAssembly.Memory;
  readonly shared: boolean;
  /** Shadow stack owned by this instance (0 when it uses the module's main stack). */
  readonly stackBase: number;
  private readonly paramsPtr: number;
  private f32Cache: Float32Array;

  constructor(raw: RawKernelExports, memory: WebAssembly.Memory, shared: boolean, stackBytes: number) {
    this.raw = raw;
    this.memory = memory;
    this.shared = shared;
    this.f32Cache = new Float32Array(memory.buffer);
    if (raw.abi_version() !== ABI_VERSION) fail(`kernel ABI ${raw.abi_version()} != expected ${ABI_VERSION}`);
    if (raw.conv2d_params_len() !== CONV_PARAMS_LEN) fail("conv2d parameter block length mismatch");
    if (stackBytes > 0) {
      const size = Math.ceil(stackBytes / 16) * 16;
      this.stackBase = this.alloc(size);
      raw.__stack_pointer.value = this.stackBase + size;
    } else {
      this.stackBase = 0;
    }
    this.paramsPtr = this.alloc(CONV_PARAMS_LEN * 4);
  }

  // ------------------------------------------------------------ memory --

  /** Allocates `bytes` bytes (16-byte aligned); throws when memory is exhausted. */
  alloc(bytes: number): number {
    nonNeg("bytes", bytes);
    const p = this.raw.alloc(bytes) >>> 0;
    if (p === 0) fail(`out of wasm memory allocating ${bytes} bytes`, -6);
    return p;
  }

  /** Frees a block from `alloc`; `bytes` must equal the size it was allocated with. */
  free(ptr: number, bytes: number): void {
    nonNeg("ptr", ptr);
    nonNeg("bytes", bytes);
    this.raw.free(ptr, bytes);
  }

  /** Bytes currently allocated by the allocator (block sizes: requests rounded up to their size class, at most 3% more; wasm/src/alloc.rs `block_size`). */
  liveBytes(): number {
    return this.raw.heap_live_bytes() >>> 0;
  }

  /**
   * Checks the allocator's invariants (free blocks listed by size, tagged in
   * the side bitmaps, never adjacent) and returns the bytes of freed blocks
   * it holds (coalesced, or waiting in its quick lists); throws when one is
   * broken. O(free blocks): for tests. `coalesce` first merges the blocks
   * waiting in the quick lists, as an allocation that finds no block does.
   */
  heapFreeBytes(coalesce = false): number {
    if (coalesce) this.raw.heap_flush();
    const r = this.raw.heap_check();
    if (r < 0) fail(`allocator invariant broken (heap_check code ${r})`);
    return r * 16;
  }

  /** Allocates room for `length` float32 values. */
  allocF32(length: number): number {
    return this.alloc(nonNeg("length", length) * 4);
  }

  freeF32(ptr: number, length: number): void {
    this.free(ptr, length * 4);
  }

  /** Float32 view of the whole memory, refreshed after the memory grew. */
  heapF32(): Float32Array {
    const buf = this.memory.buffer;
    if (this.f32Cache.buffer !== buf || this.f32Cache.byteLength !== buf.byteLength) {
      this.f32Cache = new Float32Array(buf);
    }
    return this.f32Cache;
  }

  /** Memory size last read: linear memory only grows, so a range inside it stays inside. */
  private knownMemoryBytes = 0;

  private checkRange(name: string, ptr: number, elems: number): void {
    if (!isInt(ptr) || ptr < 0 || ptr % 4 !== 0) fail(`${name} must be a 4-byte aligned byte pointer, got ${String(ptr)}`);
    // Reading memory.buffer costs ~80 ns on a shared memory (three times per sgemm call): only when the range passes the size last seen.
    if (elems > 0 && ptr + elems * 4 > this.knownMemoryBytes) this.knownMemoryBytes = this.memory.buffer.byteLength;
    if (elems > 0 && ptr + elems * 4 > this.knownMemoryBytes) {
      fail(`${name} [${ptr}, ${ptr + elems * 4}) is outside wasm memory (${this.memory.buffer.byteLength} bytes)`);
    }
    if (elems > 0 && ptr === 0) fail(`${name} is a null pointer`);
  }

  /** Live view of `length` floats at `ptr` (invalid once memory grows). */
  viewF32(ptr: number, length: number): Float32Array {
    this.checkRange("ptr", ptr, nonNeg("length", length));
    return this.heapF32().subarray(ptr >>> 2, (ptr >>> 2) + length);
  }

  /** Copies `data` into memory at `ptr`. */
  writeF32(ptr: number, data: ArrayLike<number>): void {
    this.checkRange("ptr", ptr, data.length);
    this.heapF32().set(data, ptr >>> 2);
  }

  /** Copies `length` floats at `ptr` out of memory. */
  readF32(ptr: number, length: number): Float32Array {
    return this.viewF32(ptr, length).slice();
  }

  /** Allocates and fills a float32 buffer; returns its pointer. */
  putF32(data: ArrayLike<number>): number {
    const p = this.allocF32(data.length);
    this.writeF32(p, data);
    return p;
  }

  // -------------------------------------------------------------- gemm --

  private gemmArgs(args: SgemmArgs): number[] {
    const ta = args.transA === true;
    const tb = args.transB === true;
    const m = nonNeg("m", args.m);
    const n = nonNeg("n", args.n);
    const k = nonNeg("k", args.k);
    const alpha = finite("alpha", args.alpha ?? 1);
    const beta = finite("beta", args.beta ?? 0);
    const [aRows, aCols] = ta ? [k, m] : [m, k];
    const [bRows, bCols] = tb ? [n, k] : [k, n];
    const lda = nonNeg("lda", args.lda ?? Math.max(1, aCols));
    const ldb = nonNeg("ldb", args.ldb ?? Math.max(1, bCols));
    const ldc = nonNeg("ldc", args.ldc ?? Math.max(1, n));
    if (lda < Math.max(1, aCols)) fail(`lda ${lda} < ${aCols} columns of A`, -8);
    if (ldb < Math.max(1, bCols)) fail(`ldb ${ldb} < ${bCols} columns of B`, -8);
    if (ldc < Math.max(1, n)) fail(`ldc ${ldc} < ${n} columns of C`, -8);
    const extent = (rows: number, cols: number, ld: number) => (rows === 0 || cols === 0 ? 0 : (rows - 1) * ld + cols);
    const useAB = m > 0 && n > 0 && k > 0 && alpha !== 0;
    this.checkRange("a", args.a, useAB ? extent(aRows, aCols, lda) : 0);
    this.checkRange("b", args.b, useAB ? extent(bRows, bCols, ldb) : 0);
    this.checkRange("c", args.c, extent(m, n, ldc));
    return [ta ? 1 : 0, tb ? 1 : 0, m, n, k, alpha, args.a, lda, args.b, ldb, beta, args.c, ldc];
  }

  /** C = alpha * op(A) * op(B) + beta * C on pointers into `memory` (row-major). */
  sgemm(args: SgemmArgs): void {
    const v = this.gemmArgs(args);
    check(this.raw.sgemm(v[0]!, v[1]!, v[2]!, v[3]!, v[4]!, v[5]!, v[6]!, v[7]!, v[8]!, v[9]!, v[10]!, v[11]!, v[12]!), "sgemm");
  }

  /** Computes rows m0..m1 of C only (for splitting one sgemm across threads). */
  sgemmRows(args: SgemmRowsArgs): void {
    const v = this.gemmArgs(args);
    const m0 = nonNeg("m0", args.m0);
    const m1 = nonNeg("m1", args.m1);
    if (m0 > m1 || m1 > args.m) fail(`row range [${m0}, ${m1}) not within [0, ${args.m}]`);
    const scratch = nonNeg("scratch", args.scratch ?? 0);
    if (scratch !== 0) this.checkRange("scratch", scratch, this.sgemmScratchBytes(m1 - m0, args.n, args.k) / 4);
    check(
      this.raw.sgemm_rows(v[0]!, v[1]!, v[2]!, v[3]!, v[4]!, v[5]!, v[6]!, v[7]!, v[8]!, v[9]!, v[10]!, v[11]!, v[12]!, m0, m1, scratch),
      "sgemm_rows",
    );
  }

  /** Scratch bytes `sgemmRows` needs for `rows` rows of C. */
  sgemmScratchBytes(rows: number, n: number, k: number): number {
    return this.raw.sgemm_scratch_bytes(nonNeg("rows", rows), nonNeg("n", n), nonNeg("k", k));
  }

  /** Convenience: op(A) * op(B) on JS arrays (copies in and out). */
  matmul(
    a: Float32Array, b: Float32Array, m: number, n: number, k: number,
    opts: { transA?: boolean; transB?: boolean } = {},
  ): Float32Array {
    if (a.length !== m * k) fail(`A has ${a.length} elements, expected ${m * k}`);
    if (b.length !== k * n) fail(`B has ${b.length} elements, expected ${k * n}`);
    const pa = this.putF32(a);
    const pb = this.putF32(b);
    const pc = this.allocF32(m * n);
    try {
      this.sgemm({ ...opts, m, n, k, a: pa, b: pb, c: pc });
      return this.readF32(pc, m * n);
    } finally {
      this.freeF32(pa, a.length);
      this.freeF32(pb, b.length);
      this.freeF32(pc, m * n);
    }
  }

  // -------------------------------------------------------------- conv --

  private writeConvParams(p: Conv2dParams): ConvShapes {
    const { block, shapes } = convParamsBlock(p);
    new Int32Array(this.memory.buffer, this.paramsPtr, CONV_PARAMS_LEN).set(block);
    return shapes;
  }

  /** Checks that a conv's operands lie in memory, as `mode` reads and writes them. */
  checkConvOperands(p: Conv2dParams, mode: ConvMode, a: number, b: number, out: number): ConvShapes {
    const s = conv2dShapes(p);
    const [[an, as], [bn, bs], [on, os]]: Array<[string, number]> =
      mode === "forward" ? [["x", s.xSize], ["w", s.wSize], ["y", s.ySize]]
        : mode === "data" ? [["dy", s.ySize], ["w", s.wSize], ["dx", s.xSize]]
          : [["x", s.xSize], ["dy", s.ySize], ["dw", s.wSize]];
    this.checkRange(an, a, as);
    this.checkRange(bn, b, bs);
    this.checkRange(on, out, os);
    return s;
  }

  /**
   * Units u0..u1 of a conv (convUnits) from a parameter block and an optional
   * epilogue block already in memory (byte pointers; 0 = no epilogue): what
   * every thread of a split conv runs. Operands are not checked here (see
   * checkConvOperands).
   */
  conv2dRangeAt(block: number, mode: ConvMode, a: number, b: number, out: number, u0: number, u1: number, epilogue: number): void {
    check(this.raw.conv2d_range(block, CONV_MODE_CODE[mode], a, b, out, u0, u1, epilogue), `conv2d_range (${mode})`);
  }

  /** dst = the sum of `count` partial results of `len` floats at `parts`, added in order. */
  convSumParts(parts: number, count: number, len: number, dst: number): void {
    this.checkRange("parts", parts, count * len);
    this.checkRange("dst", dst, len);
    check(this.raw.conv2d_sum_parts(parts, count, len, dst), "conv2d_sum_parts");
  }

  /** y = conv2d(x, w); x, w, y are byte pointers (see Conv2dParams for layouts). */
  conv2d(p: Conv2dParams, x: number, w: number, y: number): void {
    const s = this.writeConvParams(p);
    this.checkRange("x", x, s.xSize);
    this.checkRange("w", w, s.wSize);
    this.checkRange("y", y, s.ySize);
    check(this.raw.conv2d(this.paramsPtr, x, w, y), "conv2d");
  }

  /** dx = d/dx sum(conv2d(x, w) * dy); dx is overwritten. */
  conv2dBackwardData(p: Conv2dParams, dy: number, w: number, dx: number): void {
    const s = this.writeConvParams(p);
    this.checkRange("dy", dy, s.ySize);
    this.checkRange("w", w, s.wSize);
    this.checkRange("dx", dx, s.xSize);
    check(this.raw.conv2d_backward_data(this.paramsPtr, dy, w, dx), "conv2d_backward_data");
  }

  /** dw = d/dw sum(conv2d(x, w) * dy); dw is overwritten. */
  conv2dBackwardFilter(p: Conv2dParams, x: number, dy: number, dw: number): void {
    const s = this.writeConvParams(p);
    this.checkRange("x", x, s.xSize);
    this.checkRange("dy", dy, s.ySize);
    this.checkRange("dw", dw, s.wSize);
    check(this.raw.conv2d_backward_filter(this.paramsPtr, x, dy, dw), "conv2d_backward_filter");
  }

  /** Convenience: conv2d on JS arrays (copies in and out). */
  conv2dArrays(p: Conv2dParams, x: Float32Array, w: Float32Array): Float32Array {
    const s = conv2dShapes(p);
    if (x.length !== s.xSize) fail(`x has ${x.length} elements, expected ${s.xSize}`);
    if (w.length !== s.wSize) fail(`w has ${w.length} elements, expected ${s.wSize}`);
    return this.withBuffers([x, w, s.ySize], ([px, pw, py]) => {
      this.conv2d(p, px, pw, py);
      return this.readF32(py, s.ySize);
    });
  }

  /** Convenience: conv2dBackwardData on JS arrays. */
  conv2dBackwardDataArrays(p: Conv2dParams, dy: Float32Array, w: Float32Array): Float32Array {
    const s = conv2dShapes(p);
    if (dy.length !== s.ySize) fail(`dy has ${dy.length} elements, expected ${s.ySize}`);
    if (w.length !== s.wSize) fail(`w has ${w.length} elements, expected ${s.wSize}`);
    return this.withBuffers([dy, w, s.xSize], ([pdy, pw, pdx]) => {
      this.conv2dBackwardData(p, pdy, pw, pdx);
      return this.readF32(pdx, s.xSize);
    });
  }

  /** Convenience: conv2dBackwardFilter on JS arrays. */
  conv2dBackwardFilterArrays(p: Conv2dParams, x: Float32Array, dy: Float32Array): Float32Array {
    const s = conv2dShapes(p);
    if (x.length !== s.xSize) fail(`x has ${x.length} elements, expected ${s.xSize}`);
    if (dy.length !== s.ySize) fail(`dy has ${dy.length} elements, expected ${s.ySize}`);
    return this.withBuffers([x, dy, s.wSize], ([px, pdy, pdw]) => {
      this.conv2dBackwardFilter(p, px, pdy, pdw);
      return this.readF32(pdw, s.wSize);
    });
  }

  /** Allocates buffers (arrays are copied in, numbers are sizes), runs `f`, frees them. */
  private withBuffers<T>(specs: ReadonlyArray<Float32Array | number>, f: (ptrs: number[]) => T): T {
    const ptrs: number[] = [];
    const lens: number[] = [];
    try {
      for (const s of specs) {
        const len = typeof s === "number" ? s : s.length;
        const p = this.allocF32(len);
        ptrs.push(p);
        lens.push(len);
        if (typeof s !== "number") this.writeF32(p, s);
      }
      return f(ptrs);
    } finally {
      ptrs.forEach((p, i) => this.freeF32(p, lens[i]!));
    }
  }

  // -------------------------------------------------------------- peak --

  /** Runs the peak-throughput probe; returns flops performed and a sink value. */
  peakFlops(iters: number): { flops: number; sink: number } {
    const it = pos("iters", iters);
    const sink = this.raw.peak_flops_kernel(it);
    return { flops: it * this.raw.peak_flops_per_iter(), sink };
  }
}

/**
 * Instantiates the kernels synchronously. Without `memory`, creates one
 * (shared when supported unless `shared: false`).
 */
export function instantiateWasmKernels(options: InstantiateOptions = {}): WasmKernels {
  let bytes = options.bytes ?? readKernelBytes();
  const info = findMemoryImport(bytes);
  const moduleMax = info.maximum ?? MAX_PAGES;
  let memory = options.memory;
  let shared: boolean;
  if (memory) {
    shared = typeof SharedArrayBuffer !== "undefined" && memory.buffer instanceof SharedArrayBuffer;
  } else {
    shared = options.shared ?? sharedMemorySupported();
    const initial = Math.max(info.minimum, nonNeg("initialPages", options.initialPages ?? info.minimum));
    const maximum = Math.min(moduleMax, pos("maximumPages", options.maximumPages ?? moduleMax));
    if (initial > maximum) fail(`initialPages ${initial} > maximumPages ${maximum}`);
    memory = new WebAssembly.Memory({ initial, maximum, shared } as WebAssembly.MemoryDescriptor);
  }
  if (!shared && info.flags & 2) {
    bytes = bytes.slice();
    bytes[info.flagsOffset] = info.flags & ~2;
  }
  const module = new WebAssembly.Module(bytes as Uint8Array<ArrayBuffer>);
  const instance = new WebAssembly.Instance(module, { env: { memory } });
  const raw = instance.exports as unknown as RawKernelExports;
  const stackBytes = nonNeg("stackBytes", options.stackBytes ?? (options.memory ? 1 << 20 : 0));
  return new WasmKernels(raw, memory, shared, stackBytes);
}

let defaultKernels: WasmKernels | undefined;

/** The process-wide default instance (created on first use; reads the .wasm from disk, so Node only). */
export function getWasmKernels(): WasmKernels {
  if (defaultKernels === undefined) {
    const bytes = readKernelBytes();
    try {
      defaultKernels = instantiateWasmKernels({ bytes });
    } catch (e) {
      throw new BackendError(`the wasm kernels at ${locateKernelFile().pathname} could not be instantiated (a corrupt or mismatched file?): ${(e as Error).message}`);
    }
  }
  return defaultKernels;
}
