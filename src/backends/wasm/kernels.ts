// Loader and typed API for the hand-written Rust/WebAssembly SIMD kernels in
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

import { BackendError } from "../../core/errors";
import type { EpilogueOp, EpilogueOpKind } from "../plan/kernel_graph";
// At most this many ops (wasm/src/epilogue.rs MAX_OPS, which must agree).
import { CONV_EPILOGUE_MAX_OPS } from "../plan/conv_lowering";

/**
 * Where the kernels are looked for: next to this module. `npm run build` puts
 * the binary beside the emitted kernels.js, and bundlers that understand the
 * literal `new URL("./file", import.meta.url)` pattern (Vite, webpack) ship it
 * with the bundle; after a bundler that does not (esbuild), the URL is
 * relative to the bundle, so the .wasm has to be copied next to it.
 */
export const KERNELS_URL = new URL("./tinyflow_kernels.wasm", import.meta.url);
// Run from the sources (tests, tsx), the binary is wasm/tinyflow_kernels.wasm,
// where scripts/build-wasm.sh writes it. Resolved against KERNELS_URL rather
// than import.meta.url so that bundlers do not take it for an asset to ship
// (it does not exist in dist/; webpack would warn of a dynamic dependency).
const SOURCE_TREE_KERNELS = "../../../wasm/tinyflow_kernels.wasm";
const MAX_PAGES = 65536;
const ABI_VERSION = 1;
/** Int32 words of the conv2d parameter block. */
export const CONV_PARAMS_LEN = 21;

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

/** Error codes returned by the wasm side. */
export const WASM_ERROR_CODES: Readonly<Record<number, string>> = {
  [-1]: "bad layout",
  [-2]: "bad arguments",
  [-3]: "channels not divisible by groups",
  [-4]: "stride and dilations must be >= 1",
  [-5]: "output shape does not match the parameters",
  [-6]: "out of wasm memory",
  [-7]: "problem too large for a 4 GiB memory",
  [-8]: "leading dimension too small",
  [-9]: "bad conv epilogue block",
};

/** A hand-written kernel refused its arguments, or the wasm memory could not hold them (a BackendError). */
export class WasmKernelError extends BackendError {
  /** Negative code from the wasm side, or 0 for checks done in TypeScript. */
  readonly code: number;
  constructor(message: string, code = 0) {
    super(message);
    this.name = "WasmKernelError";
    this.code = code;
  }
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

export type ConvLayout = "NHWC" | "NCHW";

/**
 * A 2-D convolution. NHWC: x [N,H,W,Cin], w [KH,KW,Cin/G,Cout] (HWIO),
 * y [N,OH,OW,Cout]. NCHW: x [N,Cin,H,W], w [Cout,Cin/G,KH,KW] (OIHW),
 * y [N,Cout,OH,OW].
 */
export interface Conv2dParams {
  layout: ConvLayout;
  n: number;
  h: number;
  w: number;
  cin: number;
  cout: number;
  kh: number;
  kw: number;
  /** Feature groups (default 1); cin and cout must be divisible by it. */
  groups?: number;
  /** [sh, sw], default [1, 1]. */
  strides?: readonly [number, number];
  /** [[top, bottom], [left, right]], default zeros; negative values crop. */
  padding?: readonly [readonly [number, number], readonly [number, number]];
  /** Kernel (rhs) dilation [dh, dw], default [1, 1]. */
  dilation?: readonly [number, number];
  /** Input (lhs) dilation [lh, lw], default [1, 1] (transposed convolution). */
  lhsDilation?: readonly [number, number];
}

/** Which convolution a conv2d_range call computes, and its units (what a thread pool splits). */
export type ConvMode = "forward" | "data" | "filter";
const CONV_MODE_CODE: Record<ConvMode, number> = { forward: 0, data: 1, filter: 2 };

/** Units a convolution splits into: output lines (N·OH) for the forward, images (N) for the gradients. */
export function convUnits(p: Conv2dParams, mode: ConvMode): number {
  return mode === "forward" ? p.n * conv2dShapes(p).oh : p.n;
}

/** The conv2d parameter block (wasm/src/conv.rs ConvParams::read) and the shapes it implies. */
export function convParamsBlock(p: Conv2dParams): { block: number[]; shapes: ConvShapes } {
  const s = conv2dShapes(p);
  const [sh, sw] = p.strides ?? [1, 1];
  const [[pt, pb], [pl, pr]] = p.padding ?? [[0, 0], [0, 0]];
  const [dh, dw] = p.dilation ?? [1, 1];
  const [lh, lw] = p.lhsDilation ?? [1, 1];
  const block = [
    p.layout === "NCHW" ? 1 : 0, p.n, p.h, p.w, p.cin, p.cout, p.kh, p.kw, p.groups ?? 1,
    sh, sw, pt, pb, pl, pr, dh, dw, lh, lw, s.oh, s.ow,
  ];
  return { block, shapes: s };
}

/** Int32 words of an encoded conv epilogue. */
export const CONV_EPILOGUE_WORDS = 1 + 3 * CONV_EPILOGUE_MAX_OPS;
const EPILOGUE_KIND_CODE: Record<EpilogueOpKind, number> = { add: 0, sub: 1, rsub: 2, mul: 3, div: 4, rdiv: 5, max: 6, min: 7, relu: 8 };

/**
 * A conv epilogue as the int32 block wasm/src/epilogue.rs reads: `ops` in
 * order, each vector operand a per-output-channel vector at the next of
 * `vectorPtrs` (byte pointers). Row/column vectors of a GEMM epilogue have no
 * meaning here: the planner gives a conv only channel vectors, marked "col".
 */
export function encodeConvEpilogue(ops: readonly EpilogueOp[], vectorPtrs: readonly number[]): number[] {
  if (ops.length > CONV_EPILOGUE_MAX_OPS) fail(`conv epilogue: at most ${CONV_EPILOGUE_MAX_OPS} ops, got ${ops.length}`);
  const words = new Array<number>(CONV_EPILOGUE_WORDS).fill(0);
  words[0] = ops.length;
  let v = 0;
  ops.forEach((o, i) => {
    const at = 1 + 3 * i;
    words[at] = EPILOGUE_KIND_CODE[o.op];
    if (o.operand.kind === "const") {
      words[at + 1] = 1;
      words[at + 2] = new Int32Array(new Float32Array([o.operand.value]).buffer)[0]!;
    } else if (o.operand.kind === "none") {
      words[at + 1] = 0;
    } else {
      const ptr = vectorPtrs[v++];
      if (ptr === undefined) fail(`conv epilogue: op ${i} (${o.op}) needs a vector operand, but only ${vectorPtrs.length} were given`);
      words[at + 1] = 2;
      words[at + 2] = ptr | 0;
    }
  });
  if (v !== vectorPtrs.length) fail(`conv epilogue: ${vectorPtrs.length} vector operands given, the ops use ${v}`);
  return words;
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

function fail(message: string, code = 0): never {
  throw new WasmKernelError(message, code);
}

function check(code: number, what: string): void {
  if (code !== 0) fail(`${what}: ${WASM_ERROR_CODES[code] ?? "unknown error"} (code ${code})`, code);
}

function isInt(x: unknown): x is number {
  return typeof x === "number" && Number.isInteger(x);
}

function nonNeg(name: string, x: unknown): number {
  if (!isInt(x) || x < 0 || x > 0x7fffffff) fail(`${name} must be a non-negative int32, got ${String(x)}`);
  return x;
}

function pos(name: string, x: unknown): number {
  if (!isInt(x) || x < 1 || x > 0x7fffffff) fail(`${name} must be a positive int32, got ${String(x)}`);
  return x;
}

function int32(name: string, x: unknown): number {
  if (!isInt(x) || x < -0x80000000 || x > 0x7fffffff) fail(`${name} must be an int32, got ${String(x)}`);
  return x;
}

function finite(name: string, x: unknown): number {
  if (typeof x !== "number" || !Number.isFinite(x)) fail(`${name} must be a finite number, got ${String(x)}`);
  return x;
}

interface ImportedMemoryInfo {
  /** Byte offset of the limits flag byte in the module. */
  flagsOffset: number;
  flags: number;
  minimum: number;
  maximum: number | undefined;
}

/** Finds the memory import in the import section (wasm binary format). */
function findMemoryImport(bytes: Uint8Array): ImportedMemoryInfo {
  let p = 8;
  const leb = (): number => {
    let result = 0;
    let shift = 0;
    for (;;) {
      if (p >= bytes.length) fail("truncated wasm module");
      const b = bytes[p++]!;
      result += (b & 0x7f) * 2 ** shift;
      shift += 7;
      if ((b & 0x80) === 0) return result;
    }
  };
  if (bytes.length < 8 || bytes[0] !== 0 || bytes[1] !== 0x61 || bytes[2] !== 0x73 || bytes[3] !== 0x6d) {
    fail("not a wasm module");
  }
  while (p < bytes.length) {
    const id = bytes[p++]!;
    const size = leb();
    const end = p + size;
    if (id !== 2) {
      p = end;
      continue;
    }
    const count = leb();
    for (let i = 0; i < count; i++) {
      const moduleLen = leb(); // (read before adding: `p += leb()` would use the old p)
      p += moduleLen;
      const fieldLen = leb();
      p += fieldLen;
      const kind = bytes[p++]!;
      if (kind === 0) leb();
      else if (kind === 1) {
        p++; // reftype
        const f = bytes[p++]!;
        leb();
        if (f & 1) leb();
      } else if (kind === 3) p += 2;
      else if (kind === 2) {
        const flagsOffset = p;
        const flags = bytes[p++]!;
        const minimum = leb();
        const maximum = flags & 1 ? leb() : undefined;
        return { flagsOffset, flags, minimum, maximum };
      } else fail(`unknown import kind ${kind}`);
    }
    break;
  }
  return fail("wasm module has no memory import");
}

function sharedMemorySupported(): boolean {
  if (typeof SharedArrayBuffer === "undefined") return false;
  try {
    new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true } as WebAssembly.MemoryDescriptor);
    return true;
  } catch {
    return false;
  }
}

// Node's fs without a top-level await (which would make this module async for
// every importer); process.getBuiltinModule exists from Node 20.16.
type NodeFs = { readFileSync(url: URL): Uint8Array; existsSync(url: URL): boolean };
const nodeFs = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process?.getBuiltinModule?.("node:fs") as NodeFs | undefined;

/** Whether the kernels can be read synchronously here (Node, Deno, Bun: a file system). */
export function canReadKernelsSync(): boolean {
  return nodeFs !== undefined;
}

/**
 * The environment variable that points the Node loader at another kernels
 * file (a path or a `file:` URL), e.g. a locally rebuilt one; tests use it to
 * load a missing or corrupt file.
 */
export const KERNELS_PATH_ENV = "TINYFLOW_KERNELS";

function kernelsPathOverride(): URL | undefined {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env?.[KERNELS_PATH_ENV];
  if (env === undefined || env.trim() === "") return undefined;
  if (env.startsWith("file:")) return new URL(env);
  const path = env.startsWith("/") ? env : `${(globalThis as { process?: { cwd?: () => string } }).process?.cwd?.() ?? ""}/${env}`;
  return new URL(`file://${path.split("/").map(encodeURIComponent).join("/")}`);
}

/** Where the Node loader reads the kernels: $TINYFLOW_KERNELS, else KERNELS_URL, else the source tree's wasm/ folder. Node only. */
export function locateKernelFile(): URL {
  if (!nodeFs) fail("no file system here: pass `bytes` (e.g. from fetchKernelBytes) to instantiateWasmKernels");
  const override = kernelsPathOverride();
  if (override) {
    if (!nodeFs.existsSync(override)) throw new BackendError(`the wasm kernels are missing: ${KERNELS_PATH_ENV} names ${override.pathname}, which does not exist; fix or unset ${KERNELS_PATH_ENV}`);
    return override;
  }
  const candidates = [KERNELS_URL, new URL(SOURCE_TREE_KERNELS, KERNELS_URL)];
  const found = candidates.find((url) => nodeFs.existsSync(url));
  if (!found) {
    throw new BackendError(`the wasm kernels are missing: looked for ${candidates.map((u) => u.pathname).join(" and ")}; reinstall tinyflow (or run \`npm run build\` in its repository)`);
  }
  return found;
}

/** Bytes of the kernels .wasm from disk (see locateKernelFile), checked to be a wasm module. Node only. */
export function readKernelBytes(): Uint8Array {
  const file = locateKernelFile();
  let bytes: Uint8Array;
  try {
    bytes = nodeFs!.readFileSync(file);
  } catch (e) {
    throw new BackendError(`the wasm kernels at ${file.pathname} could not be read: ${(e as Error).message}`);
  }
  if (bytes.length < 8 || WASM_MAGIC.some((b, i) => bytes[i] !== b)) {
    throw new BackendError(`the wasm kernels at ${file.pathname} are corrupt: ${bytes.length} bytes that do not start with the wasm magic number; reinstall tinyflow (or run \`npm run build\` in its repository)`);
  }
  return bytes;
}

const WASM_MAGIC = [0x00, 0x61, 0x73, 0x6d];

/**
 * Fetches the kernels .wasm (browsers, workers; a `file:` URL is read from
 * disk). A failed request says so with its status, and a response that is not
 * a wasm module (e.g. a dev server's HTML page for a missing file) is
 * reported as such, so a misplaced file is never mistaken for a broken one.
 */
export async function fetchKernelBytes(url: URL | string = KERNELS_URL): Promise<Uint8Array> {
  const where = String(url);
  if (where.startsWith("file:") && nodeFs) return nodeFs.readFileSync(new URL(where));
  let response: Response;
  try {
    response = await fetch(url);
  } catch (e) {
    throw new BackendError(`could not fetch the kernels from ${where}: ${(e as Error).message}`);
  }
  if (!response.ok) {
    throw new BackendError(
      `could not fetch the kernels from ${where}: ${response.status} ${response.statusText}`.trimEnd() +
        ` — serve tinyflow_kernels.wasm (it ships in tinyflow's dist/) at that URL, next to your bundle, or pass its URL to loadWasmBackend(url)`,
    );
  }
  const bytes = new Uint8Array(await response.arrayBuffer());
  if (bytes.length < 4 || WASM_MAGIC.some((b, i) => bytes[i] !== b)) {
    const head = new TextDecoder().decode(bytes.subarray(0, 32)).replace(/\s+/g, " ");
    throw new BackendError(`the kernels fetched from ${where} are not a wasm module (${bytes.length} bytes starting "${head}", content-type ${response.headers.get("content-type") ?? "none"}): is the server answering a missing file with a page?`);
  }
  return bytes;
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

  /** Bytes currently allocated by the allocator (size-class rounded). */
  liveBytes(): number {
    return this.raw.heap_live_bytes() >>> 0;
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

export interface ConvShapes {
  oh: number;
  ow: number;
  xSize: number;
  wSize: number;
  ySize: number;
  xShape: number[];
  wShape: number[];
  yShape: number[];
}

/** Validates conv parameters and returns output size and buffer shapes. */
export function conv2dShapes(p: Conv2dParams): ConvShapes {
  if (p.layout !== "NHWC" && p.layout !== "NCHW") fail(`layout must be "NHWC" or "NCHW", got ${String(p.layout)}`, -1);
  const n = nonNeg("n", p.n);
  const h = pos("h", p.h);
  const w = pos("w", p.w);
  const cin = pos("cin", p.cin);
  const cout = pos("cout", p.cout);
  const kh = pos("kh", p.kh);
  const kw = pos("kw", p.kw);
  const groups = pos("groups", p.groups ?? 1);
  if (cin % groups !== 0 || cout % groups !== 0) fail(`cin ${cin} and cout ${cout} must be divisible by groups ${groups}`, -3);
  const [sh, sw] = p.strides ?? [1, 1];
  const [dh, dw] = p.dilation ?? [1, 1];
  const [lh, lw] = p.lhsDilation ?? [1, 1];
  pos("strides[0]", sh); pos("strides[1]", sw);
  pos("dilation[0]", dh); pos("dilation[1]", dw);
  pos("lhsDilation[0]", lh); pos("lhsDilation[1]", lw);
  const [[pt, pb], [pl, pr]] = p.padding ?? [[0, 0], [0, 0]];
  int32("padding top", pt); int32("padding bottom", pb); int32("padding left", pl); int32("padding right", pr);
  const out = (size: number, k: number, s: number, d: number, l: number, lo: number, hi: number) => {
    const span = (size - 1) * l + 1 + lo + hi - ((k - 1) * d + 1);
    return span < 0 ? 0 : Math.floor(span / s) + 1;
  };
  const oh = out(h, kh, sh, dh, lh, pt, pb);
  const ow = out(w, kw, sw, dw, lw, pl, pr);
  const nchw = p.layout === "NCHW";
  const xShape = nchw ? [n, cin, h, w] : [n, h, w, cin];
  const wShape = nchw ? [cout, cin / groups, kh, kw] : [kh, kw, cin / groups, cout];
  const yShape = nchw ? [n, cout, oh, ow] : [n, oh, ow, cout];
  const size = (s: number[]) => s.reduce((a, b) => a * b, 1);
  const shapes = { oh, ow, xShape, wShape, yShape, xSize: size(xShape), wSize: size(wShape), ySize: size(yShape) };
  if (oh > 0x7fffffff || ow > 0x7fffffff || Math.max(shapes.xSize, shapes.wSize, shapes.ySize) >= 2 ** 30) {
    fail("convolution too large for a 4 GiB memory", -7);
  }
  return shapes;
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
