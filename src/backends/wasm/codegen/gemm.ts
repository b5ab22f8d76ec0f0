// A single-precision GEMM generated at run time as WebAssembly: the 4x8
// register-tiled microkernel and its loop nest, with f32x4.relaxed_madd when
// the engine has relaxed SIMD (Chrome >= 114, Node >= 22, Node 20 with
// --experimental-wasm-relaxed-simd) and f32x4.mul + f32x4.add otherwise, and
// with an elementwise epilogue (bias, scale, clamp, relu...) fused into the
// store of the last K block, so `relu(x @ W + b)` never makes a second pass
// over C.
//
// Packing is not generated: the module imports `sgemm_pack_a`/`sgemm_pack_b`
// from the Rust kernels (wasm/src/gemm.rs), so both GEMMs share one packed
// layout (4-row A panels, 8-column B panels, zero padded) and the packing's
// denormals-are-zero flush. Without relaxed SIMD the generated loop performs
// exactly the Rust microkernel's operations in the same order (acc + a*b from
// k = 0, K blocks of 256 merged by addition), so the two are bitwise equal;
// with relaxed_madd each product is fused or not at the engine's choice.
//
// Exported function `gemm_rows(transA, transB, m, n, k, a, lda, b, ldb, c, ldc,
// m0, m1, scratch, ...epiloguePtrs)` computes rows m0..m1 of the row-major
// C = op(A)·op(B) then the epilogue (pointers are byte offsets; `scratch` holds
// `generatedGemmScratchBytes` bytes owned by the caller), so the thread pool
// splits it by rows exactly like the Rust sgemm_rows. The module depends only
// on the epilogue's structure and the relaxed flag, not on shapes, so a
// process compiles a handful of them and V8 tiers each up once.

import { BackendError } from "../../../core/errors";
import { FuncBuilder, ModuleBuilder, compileGenerated, isSharedMemory, memoryImport, probeRelaxedSimd } from "./assembler";
import { KernelCache } from "./instance_cache";
import type { PlainOp } from "./wasm_encoding";

/** Blocking of the Rust sgemm (wasm/src/gemm.rs): the scratch layout depends on it. */
const MR = 4;
const NR = 8;
const KC = 256;
const MC = 128;
const NC = 2048;
/** k steps per iteration of the microkernel's main loop (measured: see bench/gemm_peak.ts). */
const DEFAULT_UNROLL = 1;

export { MAX_EPILOGUE_OPERANDS, isVectorOperand, type EpilogueOpKind, type EpilogueOperand, type EpilogueOp } from "../../plan/kernel_graph";
import { MAX_EPILOGUE_OPERANDS, isVectorOperand, type EpilogueOp, type EpilogueOpKind } from "../../plan/kernel_graph";

const VEC_OP: Record<Exclude<EpilogueOpKind, "relu">, PlainOp> = {
  add: "f32x4.add", sub: "f32x4.sub", rsub: "f32x4.sub", mul: "f32x4.mul",
  div: "f32x4.div", rdiv: "f32x4.div", max: "f32x4.max", min: "f32x4.min",
};
const SWAPPED = new Set<EpilogueOpKind>(["rsub", "rdiv"]);

/** Readable form of an epilogue, e.g. `max(add(x, col[j]), 0)`. */
export function describeEpilogue(ops: readonly EpilogueOp[]): string {
  let x = "x";
  for (const { op, operand } of ops) {
    const v = operand.kind === "const" ? String(operand.value) : operand.kind === "col" ? "col[j]" : "row[i]";
    x = op === "relu" ? `relu(${x})` : SWAPPED.has(op) ? `${op.slice(1)}(${v}, ${x})` : `${op}(${x}, ${v})`;
  }
  return x;
}

/** Pointer operands (col/row vectors) of an epilogue, in argument order. */
export function epilogueVectorCount(ops: readonly EpilogueOp[]): number {
  return ops.filter((o) => isVectorOperand(o.operand)).length;
}

export interface GeneratedGemm {
  /** The module bytes (workers instantiate them on the shared memory). */
  readonly bytes: Uint8Array;
  readonly relaxed: boolean;
  readonly epilogue: readonly EpilogueOp[];
  /** Byte pointers of the epilogue's vector operands follow `scratch`. */
  gemmRows(
    transA: number, transB: number, m: number, n: number, k: number,
    a: number, lda: number, b: number, ldb: number, c: number, ldc: number,
    m0: number, m1: number, scratch: number, ...epilogue: number[]
  ): void;
  /** Scratch bytes `gemmRows` needs for `rows` rows of an m x n x k product. */
  scratchBytes(rows: number, n: number, k: number): number;
  /** The generated code as text. */
  text(): string;
}

const roundUp = (x: number, m: number): number => Math.ceil(x / m) * m;

/** Bytes after the packed panels: the staging tile of partial tiles and its staged operands. */
function stagingBytes(ops: readonly EpilogueOp[]): number {
  const cols = ops.filter((o) => o.operand.kind === "col").length;
  const rows = ops.filter((o) => o.operand.kind === "row").length;
  return 16 + MR * NR * 4 + cols * NR * 4 + rows * MR * 4;
}

/** Scratch bytes of the packed panels: the layout of the Rust sgemm_rows (gemm.rs `scratch_floats`). */
function panelBytes(rows: number, n: number, k: number): number {
  if (rows === 0 || n === 0 || k === 0) return 0;
  const kc = Math.min(KC, k);
  return (roundUp(roundUp(Math.min(MC, rows), MR) * kc, 16) + roundUp(Math.min(NC, n), NR) * kc) * 4;
}

/** Scratch bytes a generated gemm_rows needs for `rows` rows. */
export function generatedGemmScratchBytes(ops: readonly EpilogueOp[], rows: number, n: number, k: number): number {
  return panelBytes(rows, n, k) + stagingBytes(ops);
}

function validate(ops: readonly EpilogueOp[]): void {
  if (epilogueVectorCount(ops) > MAX_EPILOGUE_OPERANDS) {
    throw new BackendError(`generated GEMM: an epilogue takes at most ${MAX_EPILOGUE_OPERANDS} vector operands, got ${epilogueVectorCount(ops)}`);
  }
  for (const o of ops) {
    if (o.op !== "relu" && !(o.op in VEC_OP)) throw new BackendError(`generated GEMM: unknown epilogue op '${String(o.op)}'`);
    if ((o.op === "relu") !== (o.operand.kind === "none")) throw new BackendError(`generated GEMM: '${o.op}' cannot take a ${o.operand.kind} operand`);
    if (o.operand.kind === "const" && typeof o.operand.value !== "number") {
      throw new BackendError(`generated GEMM: epilogue constant must be a number, got ${String(o.operand.value)}`);
    }
  }
}

/**
 * The microkernel: acc(4x8) = Σ_p pa[p][0..4] ⊗ pb[p][0..8] over `kc` packed
 * steps, merged into the tile at `cp` (row stride `ldc` bytes): overwritten
 * when `acc` is 0, added to otherwise; when `last` is set the epilogue is
 * applied to the merged value before it is stored.
 * Params: kc, pa, pb, cp, ldcBytes, accumulate, last, then one pointer per
 * vector operand (already offset to this tile's first row / column).
 */
function emitMicro(ops: readonly EpilogueOp[], relaxed: boolean, UNROLL: number): FuncBuilder {
  const nVec = epilogueVectorCount(ops);
  const f = new FuncBuilder("micro_4x8", ["i32", "i32", "i32", "i32", "i32", "i32", "i32", ...new Array<"i32">(nVec).fill("i32")], [], { relaxedSimd: relaxed });
  const [KCP, PA, PB, CP, LDC, ACC, LAST] = [0, 1, 2, 3, 4, 5, 6];
  const vecParam = (idx: number) => 7 + idx;
  const acc = [...Array(MR)].map((_, i) => [f.local("v128", `c${i}0`), f.local("v128", `c${i}1`)]);
  const b0 = f.local("v128", "b0");
  const b1 = f.local("v128", "b1");
  const av = f.local("v128", "a");
  const end = f.local("i32", "end");
  const unrolledEnd = f.local("i32", "uend");
  const x = f.local("v128", "x");
  const row = f.local("i32", "row");

  f.comment(`${MR}x${NR} tile over the packed panels, ${relaxed ? "f32x4.relaxed_madd" : "f32x4.mul + f32x4.add"}`);
  // end = pa + kc * MR * 4
  f.localGet(PA).localGet(KCP).i32Const(MR * 4).op("i32.mul").op("i32.add").localSet(end);
  // One k step of the tile at byte offsets (oa, ob) from pa / pb.
  const step = (oa: number, ob: number): void => {
    f.localGet(PB).mem("v128.load", ob).localSet(b0);
    f.localGet(PB).mem("v128.load", ob + 16).localSet(b1);
    for (let i = 0; i < MR; i++) {
      f.localGet(PA).mem("v128.load32_splat", oa + i * 4).localSet(av);
      for (const [h, bv] of [b0, b1].entries()) {
        if (relaxed) {
          f.localGet(av).localGet(bv).localGet(acc[i]![h]!).op("f32x4.relaxed_madd");
        } else {
          // acc + a*b, the operations and order of the Rust microkernel.
          f.localGet(acc[i]![h]!).localGet(av).localGet(bv).op("f32x4.mul").op("f32x4.add");
        }
        f.localSet(acc[i]![h]!);
      }
    }
  };
  // Bottom-tested loops (one branch per iteration): UNROLL steps at a time, then single steps.
  f.localGet(PA).localGet(KCP).i32Const(-UNROLL).op("i32.and").i32Const(MR * 4).op("i32.mul").op("i32.add").localSet(unrolledEnd);
  f.localGet(PA).localGet(unrolledEnd).op("i32.lt_u").if_().loop();
  for (let u = 0; u < UNROLL; u++) step(u * MR * 4, u * NR * 4);
  f.localGet(PA).i32Const(UNROLL * MR * 4).op("i32.add").localSet(PA);
  f.localGet(PB).i32Const(UNROLL * NR * 4).op("i32.add").localSet(PB);
  f.localGet(PA).localGet(unrolledEnd).op("i32.lt_u").brIf(0);
  f.end().end();
  f.localGet(PA).localGet(end).op("i32.lt_u").if_().loop();
  step(0, 0);
  f.localGet(PA).i32Const(MR * 4).op("i32.add").localSet(PA);
  f.localGet(PB).i32Const(NR * 4).op("i32.add").localSet(PB);
  f.localGet(PA).localGet(end).op("i32.lt_u").brIf(0);
  f.end().end();

  f.comment("store: merge with C, then the epilogue on the last K block");
  for (let i = 0; i < MR; i++) {
    // row = cp + i * ldc
    f.localGet(CP);
    if (i > 0) f.localGet(LDC).i32Const(i).op("i32.mul").op("i32.add");
    f.localSet(row);
    for (let h = 0; h < 2; h++) {
      // C + acc on later K blocks (the Rust kernel's `ld(p) + r`), acc on the first.
      f.localGet(ACC).if_("v128").localGet(row).mem("v128.load", 16 * h).localGet(acc[i]![h]!).op("f32x4.add");
      f.else_().localGet(acc[i]![h]!).end();
      f.localSet(x);
      if (ops.length > 0) {
        f.localGet(LAST).if_();
        let vi = 0;
        for (const { op, operand } of ops) {
          if (op === "relu") {
            // x & ~(x <= 0): +0 where x <= 0, x elsewhere (NaN included, as jax.nn.relu).
            f.localGet(x).localGet(x).v128ConstF32(0).op("f32x4.le").op("v128.andnot").localSet(x);
            continue;
          }
          const pushOperand = (): void => {
            if (operand.kind === "const") f.v128ConstF32(operand.value);
            else if (operand.kind === "col") f.localGet(vecParam(vi)).mem("v128.load", 16 * h);
            else f.localGet(vecParam(vi)).mem("v128.load32_splat", 4 * i);
          };
          if (SWAPPED.has(op)) {
            pushOperand();
            f.localGet(x);
          } else {
            f.localGet(x);
            pushOperand();
          }
          f.op(VEC_OP[op]).localSet(x);
          if (isVectorOperand(operand)) vi++;
        }
        f.end();
      }
      f.localGet(row).localGet(x).mem("v128.store", 16 * h);
    }
  }
  return f;
}

/** Emits `for (i = 0; i < limit; i++) body()` with i32 locals. */
function forCount(f: FuncBuilder, i: number, limit: number, body: () => void): void {
  f.i32Const(0).localSet(i);
  f.block().loop();
  f.localGet(i).localGet(limit).op("i32.ge_s").brIf(1);
  body();
  f.localGet(i).i32Const(1).op("i32.add").localSet(i);
  f.br(0).end().end();
}

/**
 * gemm_rows: the Goto/BLIS loop nest of the Rust sgemm_rows (jc by NC, pc by
 * KC packing B, ic by MC packing A, then 8-column by 4-row tiles), calling
 * the microkernel on full tiles and on a staged copy of partial ones.
 */
function emitGemmRows(ops: readonly EpilogueOp[], microIndex: number, packA: number, packB: number): FuncBuilder {
  const nVec = epilogueVectorCount(ops);
  const params = new Array<"i32">(14 + nVec).fill("i32");
  const f = new FuncBuilder("gemm_rows", params, []);
  // Parameter indices (index 2, m, is not needed: the loops run over rows m0..m1).
  const [TA, TB, , N, K, A, LDA, B, LDB, C, LDC, M0, M1, SCRATCH] = [...Array(14).keys()];
  const vecParam = (idx: number) => 14 + idx;
  const kinds = ops.flatMap((o) => (isVectorOperand(o.operand) ? [o.operand.kind] : []));
  const L = (name: string) => f.local("i32", name);
  const [kcMax, pa, pb, stage, jc, nc, pc, kc, last, accum, ic, mc, jr, cols, ir, rws, cp, ldcB, ii, jj, src] =
    ["kcmax", "pa", "pb", "stage", "jc", "nc", "pc", "kc", "last", "accum", "ic", "mc", "jr", "cols", "ir", "rows", "cp", "ldcb", "ii", "jj", "src"].map(L);
  const minInto = (dst: number, emitA: () => void, emitB: () => void): void => {
    emitA();
    emitB();
    emitA();
    emitB();
    f.op("i32.lt_s").op("select").localSet(dst);
  };

  f.localGet(M1).localGet(M0).op("i32.le_s").localGet(N).op("i32.eqz").op("i32.or").if_().op("return").end();
  minInto(kcMax, () => f.i32Const(KC), () => f.localGet(K));
  f.localGet(LDC).i32Const(4).op("i32.mul").localSet(ldcB);
  // Scratch: A panels, then B panels at a 64-byte boundary, then the staging area.
  f.localGet(SCRATCH).localSet(pa);
  f.localGet(M1).localGet(M0).op("i32.sub").localSet(ii);
  minInto(ii, () => f.i32Const(MC), () => f.localGet(ii));
  f.localGet(ii).i32Const(MR - 1).op("i32.add").i32Const(-MR).op("i32.and")
    .localGet(kcMax).op("i32.mul").i32Const(15).op("i32.add").i32Const(-16).op("i32.and")
    .i32Const(4).op("i32.mul").localGet(SCRATCH).op("i32.add").localSet(pb);
  minInto(jj, () => f.i32Const(NC), () => f.localGet(N));
  f.localGet(jj).i32Const(NR - 1).op("i32.add").i32Const(-NR).op("i32.and")
    .localGet(kcMax).op("i32.mul").i32Const(4).op("i32.mul").localGet(pb).op("i32.add")
    .i32Const(15).op("i32.add").i32Const(-16).op("i32.and").localSet(stage);

  // Pointer of vector operand v for the tile at (row r, column j), pushed on the stack.
  const pushVec = (v: number, rowLocal: number, colLocal: number): void => {
    f.localGet(vecParam(v)).localGet(kinds[v] === "col" ? colLocal : rowLocal).i32Const(4).op("i32.mul").op("i32.add");
  };
  // Staged copy of vector operand v (after the 32-float tile).
  const stageOffsets: number[] = [];
  let off = MR * NR * 4;
  for (const kind of kinds) {
    stageOffsets.push(off);
    off += kind === "col" ? NR * 4 : MR * 4;
  }

  f.i32Const(0).localSet(jc);
  f.block().loop(); // jc
  minInto(nc, () => f.i32Const(NC), () => f.localGet(N).localGet(jc).op("i32.sub"));
  f.i32Const(0).localSet(pc);
  f.block().loop(); // pc: runs once even when k = 0, so C gets zeros and the epilogue
  minInto(kc, () => f.i32Const(KC), () => f.localGet(K).localGet(pc).op("i32.sub"));
  f.localGet(kc).if_()
    .localGet(TB).localGet(B).localGet(LDB).localGet(pc).localGet(jc).localGet(kc).localGet(nc).localGet(pb).call(packB, "sgemm_pack_b")
    .end();
  f.localGet(pc).localGet(kc).op("i32.add").localGet(K).op("i32.ge_s").localSet(last);
  f.localGet(pc).i32Const(0).op("i32.ne").localSet(accum);
  f.localGet(M0).localSet(ic);
  f.block().loop(); // ic
  minInto(mc, () => f.i32Const(MC), () => f.localGet(M1).localGet(ic).op("i32.sub"));
  f.localGet(kc).if_()
    .localGet(TA).localGet(A).localGet(LDA).localGet(ic).localGet(pc).localGet(mc).localGet(kc).localGet(pa).call(packA, "sgemm_pack_a")
    .end();
  f.i32Const(0).localSet(jr);
  f.block().loop(); // jr
  minInto(cols, () => f.i32Const(NR), () => f.localGet(nc).localGet(jr).op("i32.sub"));
  f.i32Const(0).localSet(ir);
  f.block().loop(); // ir
  minInto(rws, () => f.i32Const(MR), () => f.localGet(mc).localGet(ir).op("i32.sub"));
  // cp = c + ((ic + ir) * ldc + jc + jr) * 4; the global row and column go to ii / jj
  f.localGet(ic).localGet(ir).op("i32.add").localSet(ii);
  f.localGet(jc).localGet(jr).op("i32.add").localSet(jj);
  f.localGet(C).localGet(ii).localGet(ldcB).op("i32.mul").op("i32.add").localGet(jj).i32Const(4).op("i32.mul").op("i32.add").localSet(cp);
  const pushPanels = (): void => {
    f.localGet(kc);
    f.localGet(pa).localGet(ir).localGet(kc).op("i32.mul").i32Const(4).op("i32.mul").op("i32.add");
    f.localGet(pb).localGet(jr).localGet(kc).op("i32.mul").i32Const(4).op("i32.mul").op("i32.add");
  };
  f.localGet(rws).i32Const(MR).op("i32.eq").localGet(cols).i32Const(NR).op("i32.eq").op("i32.and");
  f.if_();
  pushPanels();
  f.localGet(cp).localGet(ldcB).localGet(accum).localGet(last);
  for (let v = 0; v < kinds.length; v++) pushVec(v, ii, jj);
  f.call(microIndex, "micro_4x8");
  f.else_();
  f.comment("partial tile: run the microkernel on a staged copy");
  const [r, q] = [L("r"), L("q")];
  const copyTile = (toStage: boolean): void =>
    forCount(f, r, rws, () =>
      forCount(f, q, cols, () => {
        // stage[r*8 + q] <-> cp[r*ldc + q]
        const stageAddr = () => f.localGet(stage).localGet(r).i32Const(NR * 4).op("i32.mul").op("i32.add").localGet(q).i32Const(4).op("i32.mul").op("i32.add");
        const cAddr = () => f.localGet(cp).localGet(r).localGet(ldcB).op("i32.mul").op("i32.add").localGet(q).i32Const(4).op("i32.mul").op("i32.add");
        if (toStage) {
          stageAddr();
          cAddr();
        } else {
          cAddr();
          stageAddr();
        }
        f.mem("f32.load").mem("f32.store");
      }),
    );
  f.localGet(accum).if_();
  copyTile(true);
  f.end();
  kinds.forEach((kind, v) => {
    pushVec(v, ii, jj);
    f.localSet(src);
    forCount(f, q, kind === "col" ? cols : rws, () => {
      f.localGet(stage).localGet(q).i32Const(4).op("i32.mul").op("i32.add");
      f.localGet(src).localGet(q).i32Const(4).op("i32.mul").op("i32.add").mem("f32.load");
      f.mem("f32.store", stageOffsets[v]);
    });
  });
  pushPanels();
  f.localGet(stage).i32Const(NR * 4).localGet(accum).localGet(last);
  kinds.forEach((_, v) => f.localGet(stage).i32Const(stageOffsets[v]!).op("i32.add"));
  f.call(microIndex, "micro_4x8");
  copyTile(false);
  f.end();
  f.localGet(ir).i32Const(MR).op("i32.add").localTee(ir).localGet(mc).op("i32.lt_s").brIf(0);
  f.end().end(); // ir
  f.localGet(jr).i32Const(NR).op("i32.add").localTee(jr).localGet(nc).op("i32.lt_s").brIf(0);
  f.end().end(); // jr
  f.localGet(ic).i32Const(MC).op("i32.add").localTee(ic).localGet(M1).op("i32.lt_s").brIf(0);
  f.end().end(); // ic
  f.localGet(pc).i32Const(KC).op("i32.add").localTee(pc).localGet(K).op("i32.lt_s").brIf(0);
  f.end().end(); // pc
  f.localGet(jc).i32Const(NC).op("i32.add").localTee(jc).localGet(N).op("i32.lt_s").brIf(0);
  f.end().end(); // jc
  return f;
}

interface BuiltGemm {
  bytes: Uint8Array;
  text: string;
}

/** The module of a generated GEMM (memory and the Rust packing routines imported). */
export function buildGemmModule(ops: readonly EpilogueOp[], relaxed: boolean, shared: boolean, unroll = DEFAULT_UNROLL): BuiltGemm {
  validate(ops);
  const mb = new ModuleBuilder();
  mb.importMemory(memoryImport(shared));
  const packA = mb.importFunction("env", "sgemm_pack_a", new Array(8).fill("i32"), []);
  const packB = mb.importFunction("env", "sgemm_pack_b", new Array(8).fill("i32"), []);
  const micro = emitMicro(ops, relaxed, unroll);
  const microIndex = mb.addFunction(micro);
  mb.addFunction(emitGemmRows(ops, microIndex, packA, packB), "gemm_rows");
  return { bytes: mb.encode(), text: `;; epilogue: ${describeEpilogue(ops)}\n${mb.text()}` };
}

/** The Rust exports a generated GEMM imports. */
export interface GemmPackers {
  sgemm_pack_a: (...args: number[]) => void;
  sgemm_pack_b: (...args: number[]) => void;
}

const cache = new KernelCache<{ module: WebAssembly.Module; built: BuiltGemm }, GeneratedGemm>("gemm");

/** Cache key of a generated GEMM: its epilogue's structure (constants included) and the relaxed flag. */
function gemmKey(ops: readonly EpilogueOp[], relaxed: boolean, shared: boolean, unroll: number): string {
  return JSON.stringify({ ops, relaxed, shared, unroll });
}

export interface GemmCompileOptions {
  memory: WebAssembly.Memory;
  /** The Rust kernels instantiated on `memory` (their packing routines are imported). */
  packers: GemmPackers;
  /** Use f32x4.relaxed_madd (default: when the engine has relaxed SIMD). */
  relaxedSimd?: boolean;
  /** k steps per microkernel loop iteration: 1, 2, 4 or 8 (a tuning knob for benchmarks; default 1). */
  unroll?: number;
}

/** Compiles (or fetches from the cache) the generated GEMM with epilogue `ops`. */
export function compileGemm(ops: readonly EpilogueOp[], opts: GemmCompileOptions): GeneratedGemm {
  const relaxed = opts.relaxedSimd ?? probeRelaxedSimd();
  if (relaxed && !probeRelaxedSimd()) throw new BackendError("compileGemm: relaxedSimd was requested, but this engine does not support relaxed SIMD");
  const shared = isSharedMemory(opts.memory);
  const unroll = opts.unroll ?? DEFAULT_UNROLL;
  if (![1, 2, 4, 8].includes(unroll)) throw new BackendError(`compileGemm: unroll must be 1, 2, 4 or 8, got ${String(unroll)}`);
  const key = gemmKey(ops, relaxed, shared, unroll);
  const hit = cache.instance(opts.memory, key);
  if (hit) return hit;
  let cached = cache.module(key);
  if (!cached) {
    const built = buildGemmModule(ops, relaxed, shared, unroll);
    const module = compileGenerated("compileGemm", built.bytes);
    cached = { module, built };
    cache.setModule(key, cached);
  }
  const env = { memory: opts.memory, sgemm_pack_a: opts.packers.sgemm_pack_a, sgemm_pack_b: opts.packers.sgemm_pack_b };
  const instance = new WebAssembly.Instance(cached.module, { env });
  const fn = instance.exports.gemm_rows as GeneratedGemm["gemmRows"];
  const { built } = cached;
  const epilogue = ops.map((o) => ({ op: o.op, operand: { ...o.operand } }));
  const gemm: GeneratedGemm = {
    bytes: built.bytes,
    relaxed,
    epilogue,
    gemmRows: fn,
    scratchBytes: (rows, n, k) => generatedGemmScratchBytes(epilogue, rows, n, k),
    text: () => built.text,
  };
  cache.setInstance(opts.memory, key, gemm);
  return gemm;
}
