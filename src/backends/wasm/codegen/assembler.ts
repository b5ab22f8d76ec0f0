// A small typed assembler for WebAssembly binary modules, used by the wasm
// backend to generate fused elementwise / reduction kernels at run time.
//
// It covers what the kernel generator needs and little more: function types,
// an imported linear memory (plain or shared), imported and defined functions
// with params/locals, exports, LEB128, structured control flow, the i32/i64/
// f32/f64 scalar instructions, loads/stores with alignment and offset, and the
// fixed-width SIMD (v128) instruction set, plus `f32x4.relaxed_madd` /
// `relaxed_nmadd` behind a feature flag. Every emitted instruction is also
// recorded as a line of WAT-like text so a lowered program can print its code.
//
// The binary encoding (LEB128, opcode tables) is in wasm_encoding.ts; the
// host feature probes and memory imports are here, with the module builder
// whose output they compile.

import { BackendError } from "../../../core/errors";
import {
  LANE_OPS, MEM_LANE_OPS, MEM_OPS, RELAXED_OPS, SAT_OPS, SCALAR_OPS, SIMD_OPS, VALTYPE_CODE, encodeName, sleb, uleb,
  type BlockType, type LaneOp, type MemLaneOp, type MemOp, type PlainOp, type RelaxedOp, type SatOp, type ScalarOp, type SimdOp, type ValType,
} from "./wasm_encoding";

// --- functions ---------------------------------------------------------------------

export interface FuncOptions {
  /** Allow relaxed-SIMD instructions in this function. */
  relaxedSimd?: boolean;
}

/** Builds one function body: locals, instructions, and a text listing of them. */
export class FuncBuilder {
  readonly params: readonly ValType[];
  readonly results: readonly ValType[];
  readonly relaxedSimd: boolean;
  private readonly localTypes: ValType[] = [];
  private readonly localNames: string[] = [];
  private code: number[] = [];
  private lines: string[] = [];
  private prologueCode: number[] = [];
  private prologueLines: string[] = [];
  private depth = 0;

  constructor(
    readonly name: string,
    params: readonly ValType[],
    results: readonly ValType[],
    opts: FuncOptions = {},
  ) {
    this.params = [...params];
    this.results = [...results];
    this.relaxedSimd = opts.relaxedSimd ?? false;
    for (let i = 0; i < params.length; i++) this.localNames.push(`$p${i}`);
  }

  /** Declares a local of `type`; returns its index (params come first). */
  local(type: ValType, name?: string): number {
    const idx = this.params.length + this.localTypes.length;
    this.localTypes.push(type);
    this.localNames.push(`$${name ?? "l"}${idx}`);
    return idx;
  }

  /** Emits what `emit` emits at the start of the function body instead of at the current
   * position (used to hoist loop-invariant constants out of loops). */
  inPrologue(emit: (f: this) => void): void {
    const [code, lines, depth] = [this.code, this.lines, this.depth];
    this.code = this.prologueCode;
    this.lines = this.prologueLines;
    this.depth = 0;
    try {
      emit(this);
      if (this.depth !== 0) throw new BackendError(`${this.name}: a prologue must not leave blocks open`);
    } finally {
      this.code = code;
      this.lines = lines;
      this.depth = depth;
    }
  }

  /** Types of the declared locals (params excluded). */
  get locals(): readonly ValType[] {
    return this.localTypes;
  }

  private line(text: string): void {
    this.lines.push("  ".repeat(this.depth + 1) + text);
  }

  private localName(i: number): string {
    const n = this.localNames[i];
    if (n === undefined) throw new BackendError(`${this.name}: local index ${i} is not declared`);
    return n;
  }

  /** A comment line in the text listing (no code). */
  comment(text: string): this {
    this.line(`;; ${text}`);
    return this;
  }

  /** Any instruction without immediates. */
  op(name: PlainOp): this {
    if (name in SCALAR_OPS) {
      this.code.push(SCALAR_OPS[name as ScalarOp]);
    } else if (name in SAT_OPS) {
      this.code.push(0xfc);
      uleb(SAT_OPS[name as SatOp], this.code);
    } else if (name in SIMD_OPS) {
      this.code.push(0xfd);
      uleb(SIMD_OPS[name as SimdOp], this.code);
    } else if (name in RELAXED_OPS) {
      if (!this.relaxedSimd) throw new BackendError(`${this.name}: ${name} needs relaxed SIMD, which this function does not enable`);
      this.code.push(0xfd);
      uleb(RELAXED_OPS[name as RelaxedOp], this.code);
    } else {
      throw new BackendError(`${this.name}: unknown instruction ${name}`);
    }
    this.line(name);
    return this;
  }

  localGet(i: number): this {
    this.code.push(0x20);
    uleb(i, this.code);
    this.line(`local.get ${this.localName(i)}`);
    return this;
  }
  localSet(i: number): this {
    this.code.push(0x21);
    uleb(i, this.code);
    this.line(`local.set ${this.localName(i)}`);
    return this;
  }
  localTee(i: number): this {
    this.code.push(0x22);
    uleb(i, this.code);
    this.line(`local.tee ${this.localName(i)}`);
    return this;
  }

  i32Const(v: number): this {
    this.code.push(0x41);
    sleb(v | 0, this.code);
    this.line(`i32.const ${v | 0}`);
    return this;
  }
  i64Const(v: bigint | number): this {
    this.code.push(0x42);
    sleb(BigInt.asIntN(64, BigInt(v)), this.code);
    this.line(`i64.const ${v}`);
    return this;
  }
  f32Const(v: number): this {
    this.code.push(0x43);
    const b = new Uint8Array(new Float32Array([v]).buffer);
    for (const x of b) this.code.push(x);
    this.line(`f32.const ${fmtFloat(Math.fround(v))}`);
    return this;
  }
  f64Const(v: number): this {
    this.code.push(0x44);
    const b = new Uint8Array(new Float64Array([v]).buffer);
    for (const x of b) this.code.push(x);
    this.line(`f64.const ${fmtFloat(v)}`);
    return this;
  }
  /** v128.const from 16 raw little-endian bytes. */
  v128Const(bytes: Uint8Array, text?: string): this {
    if (bytes.length !== 16) throw new BackendError(`${this.name}: v128.const needs 16 bytes, got ${bytes.length}`);
    this.code.push(0xfd);
    uleb(12, this.code);
    for (const x of bytes) this.code.push(x);
    this.line(`v128.const ${text ?? "i8x16 " + Array.from(bytes).join(" ")}`);
    return this;
  }
  v128ConstF32(a: number, b = a, c = a, d = a): this {
    const bytes = new Uint8Array(new Float32Array([a, b, c, d]).buffer);
    return this.v128Const(bytes, `f32x4 ${[a, b, c, d].map((v) => fmtFloat(Math.fround(v))).join(" ")}`);
  }
  v128ConstI32(a: number, b = a, c = a, d = a): this {
    const bytes = new Uint8Array(new Int32Array([a, b, c, d]).buffer);
    return this.v128Const(bytes, `i32x4 ${[a, b, c, d].map((v) => v | 0).join(" ")}`);
  }
  v128ConstF64(a: number, b = a): this {
    const bytes = new Uint8Array(new Float64Array([a, b]).buffer);
    return this.v128Const(bytes, `f64x2 ${fmtFloat(a)} ${fmtFloat(b)}`);
  }
  v128ConstI64(a: bigint, b = a): this {
    const bytes = new Uint8Array(new BigInt64Array([a, b]).buffer);
    return this.v128Const(bytes, `i64x2 ${a} ${b}`);
  }

  private memarg(name: string, natural: number, offset: number, align: number | undefined): void {
    const a = align ?? natural;
    if (a > natural || a < 0) throw new BackendError(`${this.name}: ${name} alignment 2^${a} exceeds natural 2^${natural}`);
    if (!Number.isInteger(offset) || offset < 0 || offset > 0xffffffff) {
      throw new BackendError(`${this.name}: ${name} offset must be a u32, got ${offset}`);
    }
    uleb(a, this.code);
    uleb(offset, this.code);
  }

  /** A load or store; `align` is log2 of the promised alignment (defaults to natural). */
  mem(name: MemOp, offset = 0, align?: number): this {
    const [prefix, code, natural] = MEM_OPS[name];
    if (prefix >= 0) {
      this.code.push(prefix);
      uleb(code, this.code);
    } else this.code.push(code);
    this.memarg(name, natural, offset, align);
    this.line(`${name}${offset ? ` offset=${offset}` : ""}${align !== undefined && align !== natural ? ` align=${1 << align}` : ""}`);
    return this;
  }

  /** v128.loadN_lane / storeN_lane. */
  memLane(name: MemLaneOp, lane: number, offset = 0, align?: number): this {
    const [code, natural, lanes] = MEM_LANE_OPS[name];
    if (!Number.isInteger(lane) || lane < 0 || lane >= lanes) throw new BackendError(`${this.name}: ${name} lane ${lane} out of range`);
    this.code.push(0xfd);
    uleb(code, this.code);
    this.memarg(name, natural, offset, align);
    this.code.push(lane);
    this.line(`${name}${offset ? ` offset=${offset}` : ""}${align !== undefined && align !== natural ? ` align=${1 << align}` : ""} ${lane}`);
    return this;
  }

  /** extract_lane / replace_lane. */
  lane(name: LaneOp, lane: number): this {
    const [code, lanes] = LANE_OPS[name];
    if (!Number.isInteger(lane) || lane < 0 || lane >= lanes) throw new BackendError(`${this.name}: ${name} lane ${lane} out of range`);
    this.code.push(0xfd);
    uleb(code, this.code);
    this.code.push(lane);
    this.line(`${name} ${lane}`);
    return this;
  }

  /** i8x16.shuffle with 16 byte indices in [0, 32). */
  shuffle(indices: readonly number[]): this {
    if (indices.length !== 16 || indices.some((i) => !Number.isInteger(i) || i < 0 || i >= 32)) {
      throw new BackendError(`${this.name}: i8x16.shuffle needs 16 indices in [0, 32)`);
    }
    this.code.push(0xfd);
    uleb(13, this.code);
    for (const i of indices) this.code.push(i);
    this.line(`i8x16.shuffle ${indices.join(" ")}`);
    return this;
  }

  private blockType(t: BlockType): void {
    this.code.push(t === null ? 0x40 : VALTYPE_CODE[t]);
  }

  block(t: BlockType = null, label?: string): this {
    this.code.push(0x02);
    this.blockType(t);
    this.line(`block${label ? ` $${label}` : ""}${t ? ` (result ${t})` : ""}`);
    this.depth++;
    return this;
  }
  loop(t: BlockType = null, label?: string): this {
    this.code.push(0x03);
    this.blockType(t);
    this.line(`loop${label ? ` $${label}` : ""}${t ? ` (result ${t})` : ""}`);
    this.depth++;
    return this;
  }
  if_(t: BlockType = null): this {
    this.code.push(0x04);
    this.blockType(t);
    this.line(`if${t ? ` (result ${t})` : ""}`);
    this.depth++;
    return this;
  }
  else_(): this {
    this.code.push(0x05);
    this.depth--;
    this.line("else");
    this.depth++;
    return this;
  }
  end(): this {
    if (this.depth === 0) throw new BackendError(`${this.name}: 'end' without an open block`);
    this.code.push(0x0b);
    this.depth--;
    this.line("end");
    return this;
  }
  br(depth: number): this {
    this.code.push(0x0c);
    uleb(depth, this.code);
    this.line(`br ${depth}`);
    return this;
  }
  brIf(depth: number): this {
    this.code.push(0x0d);
    uleb(depth, this.code);
    this.line(`br_if ${depth}`);
    return this;
  }
  call(funcIndex: number, name?: string): this {
    this.code.push(0x10);
    uleb(funcIndex, this.code);
    this.line(`call ${name ? "$" + name : funcIndex}`);
    return this;
  }

  /** The encoded function body (locals + code + end), without its size prefix. */
  encodeBody(): number[] {
    if (this.depth !== 0) throw new BackendError(`${this.name}: ${this.depth} block(s) left open`);
    const out: number[] = [];
    const runs: [number, ValType][] = [];
    for (const t of this.localTypes) {
      const last = runs[runs.length - 1];
      if (last && last[1] === t) last[0]++;
      else runs.push([1, t]);
    }
    uleb(runs.length, out);
    for (const [n, t] of runs) {
      uleb(n, out);
      out.push(VALTYPE_CODE[t]);
    }
    for (const b of this.prologueCode) out.push(b);
    for (const b of this.code) out.push(b);
    out.push(0x0b);
    return out;
  }

  /** Instruction count-ish size of the body so far, in bytes. */
  get codeSize(): number {
    return this.prologueCode.length + this.code.length;
  }

  text(): string {
    const sig = [
      ...this.params.map((t, i) => `(param ${this.localNames[i]} ${t})`),
      ...this.results.map((t) => `(result ${t})`),
    ].join(" ");
    const locals = this.localTypes.map((t, i) => `  (local ${this.localNames[this.params.length + i]} ${t})`);
    return [`(func $${this.name} ${sig}`, ...locals, ...this.prologueLines, ...this.lines, ")"].join("\n");
  }
}

function fmtFloat(v: number): string {
  if (Number.isNaN(v)) return "nan";
  if (v === Infinity) return "inf";
  if (v === -Infinity) return "-inf";
  return Object.is(v, -0) ? "-0" : String(v);
}

// --- modules -----------------------------------------------------------------------

export interface MemoryImport {
  module: string;
  name: string;
  /** Minimum pages the imported memory must have (0 accepts any). */
  initialPages: number;
  /** Maximum pages; required for a shared memory (the import must declare one). */
  maximumPages?: number;
  shared: boolean;
}

interface FuncImport {
  module: string;
  name: string;
  typeIndex: number;
}

/** Builds a module: types, imports (one memory, functions), functions, exports. */
export class ModuleBuilder {
  private readonly types: { params: ValType[]; results: ValType[] }[] = [];
  private readonly typeKeys = new Map<string, number>();
  private memory: MemoryImport | null = null;
  private readonly funcImports: FuncImport[] = [];
  private readonly funcs: { fb: FuncBuilder; typeIndex: number }[] = [];
  private readonly exports: { name: string; kind: number; index: number }[] = [];

  /** The index of a function type, added on first use. */
  typeIndex(params: readonly ValType[], results: readonly ValType[]): number {
    const key = `${params.join(",")}->${results.join(",")}`;
    const found = this.typeKeys.get(key);
    if (found !== undefined) return found;
    const idx = this.types.length;
    this.types.push({ params: [...params], results: [...results] });
    this.typeKeys.set(key, idx);
    return idx;
  }

  /** Imports the linear memory (memory index 0). */
  importMemory(m: MemoryImport): this {
    if (this.memory) throw new BackendError("ModuleBuilder: a memory is already imported");
    if (m.shared && m.maximumPages === undefined) {
      throw new BackendError("ModuleBuilder: a shared memory import must declare a maximum");
    }
    this.memory = { ...m };
    return this;
  }

  /** Imports a function; must precede every defined function. Returns its function index. */
  importFunction(module: string, name: string, params: readonly ValType[], results: readonly ValType[]): number {
    if (this.funcs.length > 0) throw new BackendError("ModuleBuilder: import functions before defining any");
    this.funcImports.push({ module, name, typeIndex: this.typeIndex(params, results) });
    return this.funcImports.length - 1;
  }

  /** Index the next defined function will get. */
  get nextFunctionIndex(): number {
    return this.funcImports.length + this.funcs.length;
  }

  /** Adds a finished function; returns its function index. */
  addFunction(fb: FuncBuilder, exportName?: string): number {
    const index = this.nextFunctionIndex;
    this.funcs.push({ fb, typeIndex: this.typeIndex(fb.params, fb.results) });
    if (exportName !== undefined) this.exports.push({ name: exportName, kind: 0x00, index });
    return index;
  }

  encode(): Uint8Array {
    const out: number[] = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
    const section = (id: number, body: number[]): void => {
      out.push(id);
      uleb(body.length, out);
      for (const b of body) out.push(b);
    };

    if (this.types.length) {
      const b: number[] = [];
      uleb(this.types.length, b);
      for (const t of this.types) {
        b.push(0x60);
        uleb(t.params.length, b);
        for (const p of t.params) b.push(VALTYPE_CODE[p]);
        uleb(t.results.length, b);
        for (const r of t.results) b.push(VALTYPE_CODE[r]);
      }
      section(1, b);
    }

    const nImports = this.funcImports.length + (this.memory ? 1 : 0);
    if (nImports) {
      const b: number[] = [];
      uleb(nImports, b);
      if (this.memory) {
        const m = this.memory;
        encodeName(m.module, b);
        encodeName(m.name, b);
        b.push(0x02);
        const flags = (m.maximumPages !== undefined ? 1 : 0) | (m.shared ? 2 : 0);
        b.push(flags);
        uleb(m.initialPages, b);
        if (m.maximumPages !== undefined) uleb(m.maximumPages, b);
      }
      for (const f of this.funcImports) {
        encodeName(f.module, b);
        encodeName(f.name, b);
        b.push(0x00);
        uleb(f.typeIndex, b);
      }
      section(2, b);
    }

    if (this.funcs.length) {
      const b: number[] = [];
      uleb(this.funcs.length, b);
      for (const f of this.funcs) uleb(f.typeIndex, b);
      section(3, b);
    }

    if (this.exports.length) {
      const b: number[] = [];
      uleb(this.exports.length, b);
      for (const e of this.exports) {
        encodeName(e.name, b);
        b.push(e.kind);
        uleb(e.index, b);
      }
      section(7, b);
    }

    if (this.funcs.length) {
      const b: number[] = [];
      uleb(this.funcs.length, b);
      for (const f of this.funcs) {
        const body = f.fb.encodeBody();
        uleb(body.length, b);
        for (const x of body) b.push(x);
      }
      section(10, b);
    }
    return Uint8Array.from(out);
  }

  /** A WAT-like listing of the whole module. */
  text(): string {
    const lines = ["(module"];
    if (this.memory) {
      const m = this.memory;
      lines.push(
        `  (import "${m.module}" "${m.name}" (memory ${m.initialPages}${m.maximumPages !== undefined ? " " + m.maximumPages : ""}${m.shared ? " shared" : ""}))`,
      );
    }
    this.funcImports.forEach((f, i) => {
      const t = this.types[f.typeIndex];
      lines.push(`  (import "${f.module}" "${f.name}" (func $${f.name} (;${i};) (param ${t.params.join(" ")}) (result ${t.results.join(" ")})))`);
    });
    for (const e of this.exports) lines.push(`  (export "${e.name}" (func ${e.index}))`);
    for (const f of this.funcs) lines.push(f.fb.text().replace(/^/gm, "  "));
    lines.push(")");
    return lines.join("\n");
  }
}

// --- feature probes ----------------------------------------------------------------

/** Compile a module a code generator built; `where` names the generator in the error if the engine rejects it (a generator bug). */
export function compileGenerated(where: string, bytes: Uint8Array): WebAssembly.Module {
  try {
    return new WebAssembly.Module(bytes as BufferSource);
  } catch (err) {
    throw new BackendError(`${where}: generated module failed to compile: ${(err as Error).message}`);
  }
}

let relaxedProbe: boolean | undefined;

/** Whether this engine validates relaxed-SIMD (`f32x4.relaxed_madd`); cached. Node 20 needs
 * `--experimental-wasm-relaxed-simd`; newer engines ship it. */
export function probeRelaxedSimd(): boolean {
  if (relaxedProbe !== undefined) return relaxedProbe;
  const mb = new ModuleBuilder();
  const f = new FuncBuilder("probe", ["v128"], ["v128"], { relaxedSimd: true });
  f.localGet(0).localGet(0).localGet(0).op("f32x4.relaxed_madd");
  mb.addFunction(f, "probe");
  try {
    relaxedProbe = WebAssembly.validate(mb.encode() as BufferSource);
  } catch {
    relaxedProbe = false;
  }
  return relaxedProbe;
}

let simdProbe: boolean | undefined;

/** Whether this engine validates fixed-width SIMD (v128); cached. */
export function probeSimd(): boolean {
  if (simdProbe !== undefined) return simdProbe;
  const mb = new ModuleBuilder();
  const f = new FuncBuilder("probe", ["v128"], ["v128"]);
  f.localGet(0).localGet(0).op("f32x4.add");
  mb.addFunction(f, "probe");
  try {
    simdProbe = WebAssembly.validate(mb.encode() as BufferSource);
  } catch {
    simdProbe = false;
  }
  return simdProbe;
}

/** True when `memory` is backed by a SharedArrayBuffer. */
export function isSharedMemory(memory: WebAssembly.Memory): boolean {
  return typeof SharedArrayBuffer !== "undefined" && memory.buffer instanceof SharedArrayBuffer;
}

/** The memory import a module needs to be instantiated on `memory`. */
export function memoryImportFor(memory: WebAssembly.Memory, module = "env", name = "memory"): MemoryImport {
  return memoryImport(isSharedMemory(memory), module, name);
}

/** A memory import accepting any plain (or, with `shared`, any shared) memory. */
export function memoryImport(shared: boolean, module = "env", name = "memory"): MemoryImport {
  return shared
    ? { module, name, initialPages: 0, maximumPages: 65536, shared: true }
    : { module, name, initialPages: 0, shared: false };
}
