// Compiler of fused elementwise / reduction kernels to WebAssembly SIMD.
//
// A KernelSpec describes one fused group as a scalar DAG evaluated at every
// point of an iteration space; `compileKernel` turns it into a wasm module
// that imports the backend's linear memory ("env"."memory", plain or shared)
// and exports `kernel(in0, ..., inN-1, out0, ..., outM-1)`, whose arguments are
// byte pointers into that memory.
//
//   interface KernelSpec {
//     shape: number[];        // iteration space (= output shape for elementwise,
//                             //   = input shape for reductions)
//     inputs: { dtype; strides: number[] }[]  // element strides per iteration dim;
//                             //   0 = broadcast along that dim; negative allowed
//                             //   (the pointer passed to run() addresses the element
//                             //   at iteration index 0)
//     nodes: KernelNode[];    // the DAG in topological order (args refer to earlier nodes)
//     outputs: { node; dtype }[]   // dense row-major outputs of `shape`, or of the
//                             //   shape with the reduced axes removed
//     reduction?: { op: "sum"|"prod"|"max"|"min"|"and"|"or"; axes: number[] }
//                             // every output is reduced over these axes
//   }
//
// Nodes: {op:"input", input: k} | {op:"const", value, dtype} |
// {op, args, dtype} with the ops of `ScalarOp` (see ARITY in kernel_spec.ts for arities; `dtype`
// is the result dtype) | {op:"integer_pow", args:[x], y, dtype}. dtypes:
// float32, int32, uint32, bool (stored as one byte 0/1; in registers as i32
// lanes 0/1). Semantics follow the reference interpreter
// (backends/interpreter/rules/elementwise.ts): max/min propagate NaN, round is
// half away from zero (`nearest` is half to even), int division truncates with
// x/0 = -1 (all ones) and INT_MIN/-1 = INT_MIN, x%0 = x, shifts by >= 32 give 0,
// float->int converts truncate and saturate (NaN -> 0), anything->bool is x != 0,
// `select` is lax.select_n(pred, onFalse, onTrue) (int preds clamp), and
// `clamp` is (lo, x, hi). Float reductions accumulate in f32 (the interpreter
// in f64), in several vector accumulators, so sums differ by rounding; long
// inner float sums/products are blocked (see REDUCTION_BLOCKS) so their error
// grows with the logarithm of the length, not the length.
//
// Code shape: the iteration space is canonicalised (size-1 dims dropped,
// adjacent dims merged when every operand is linear across them), then a loop
// nest walks it with one pointer per operand. The innermost dim runs 4-wide:
// inputs contiguous in it are loaded with v128.load, broadcast ones (stride 0)
// are splatted once per row, others are gathered lane by lane. Short rows (up
// to 4 vectors, 2 for heavy DAGs) are unrolled: no inner loop, no pointer
// updates, the element offsets in the memargs, the parent's pointers used
// directly. The n % 4 tail is one partial vector (1-3 elements loaded and
// stored; its filler lanes repeat real elements so they cannot produce a
// subnormal or anything else the real lanes do not). When the innermost dim is
// reduced, it is reduced in up to 4 vector accumulators (the tail masked to the
// identity), then horizontally; when an outer dim is reduced, the
// (pre-initialised) outputs are accumulated into vector-wise. `run` calls the
// export with a fixed arity (no per-call allocation). Modules are cached by a
// canonical key.
//
// Subnormals: x86 takes a microcode assist (~100+ cycles) on float ops that
// produce a subnormal (and on multiplications that consume one), and wasm
// cannot set FTZ/DAZ (measured: a kernel 10-30x slower). The
// special functions avoid creating them internally (exp builds subnormal
// results as integers, see vecmath.ts); subnormals that the user's own
// arithmetic produces stay slow.

import { BackendError } from "../../../core/errors";
import { FuncBuilder, ModuleBuilder, compileGenerated, isSharedMemory, memoryImport, probeRelaxedSimd } from "./assembler";
import { Emitter, type Ex } from "./expr";
import type { MathCtx } from "./vecmath";
import { HEAVY, canonicalize, fail, inferDTypes, type Canon } from "./kernel_spec";
import { OUTER_ROW_BLOCKS, emitOuterRowsWithScratch, outerScratchBytes } from "./outer_scratch";
import {
  OUTER_ROW_VECTORS, REDUCTION_BLOCKS, constEx, constShift, emitOp, esize, gather, identityBits, loadPartial, loadSplat, loadVec, monoid, storeLane0, storePartial,
} from "./kernel_emit";

export type { KDType, UnaryOp, BinaryOp, TernaryOp, ScalarOp, KernelNode, ReduceOp, KernelSpec } from "../../plan/kernel_graph";
import type { KDType, KernelSpec } from "../../plan/kernel_graph";

export interface CompileOptions {
  /** The linear memory the kernel reads and writes (imported as env.memory). */
  memory: WebAssembly.Memory;
  /** Use f32x4/f64x2.relaxed_madd in the special functions' polynomial evaluations (fused or
   * not, the engine's choice; every function stays within its documented ulp bound either way).
   * Defaults to `relaxedSimdAvailable()`; pass false for results that do not depend on the engine. */
  relaxedSimd?: boolean;
}

export interface CompiledKernel {
  /** Runs the kernel on byte pointers into the memory (one per input, one per output), with
   * `scratchPtr` addressing `scratchBytes` bytes of scratch when the kernel needs any. */
  run(inputPtrs: readonly number[], outputPtrs: readonly number[], scratchPtr?: number): void;
  /** The wasm module's bytes (empty for kernels with an empty iteration space). */
  readonly bytes: Uint8Array;
  /** A readable listing of the generated code. */
  text(): string;
  /** Bytes of scratch memory `run` needs (0: none): outer reductions over wide rows keep their
   * block-level partial sums there (codegen/outer_scratch.ts). Calls running at the same time need
   * distinct scratch. */
  readonly scratchBytes: number;
  /** The canonical cache key. */
  readonly key: string;
}

// --- code generation -----------------------------------------------------------------------

interface Generated {
  bytes: Uint8Array;
  text: string;
  usesSin: boolean;
  usesCos: boolean;
  scratchBytes: number;
}

function generate(spec: KernelSpec, canon: Canon, dts: KDType[], shared: boolean, relaxed: boolean): Generated {
  const nIn = spec.inputs.length;
  const nOut = spec.outputs.length;
  const { shape, reduced, strides } = canon;
  const D = shape.length;
  const inner = D - 1;
  const n = shape[inner];
  const redOp = spec.reduction?.op;
  const hasRed = redOp !== undefined && reduced.some((r) => r);
  const mode: "none" | "inner" | "outer" = !hasRed ? "none" : reduced[inner] ? "inner" : "outer";
  /** Only the innermost (canonical) dim is reduced: each output is written exactly once. */
  const directStore = mode === "inner" && reduced.filter((r) => r).length === 1;

  // live nodes
  const live = new Array<boolean>(spec.nodes.length).fill(false);
  for (const o of spec.outputs) live[o.node] = true;
  for (let i = spec.nodes.length - 1; i >= 0; i--) {
    const nd = spec.nodes[i];
    if (live[i] && "args" in nd) for (const a of nd.args) live[a] = true;
  }
  const liveOps = spec.nodes.filter((_, i) => live[i]).map((nd) => nd.op as string);
  const usesSin = liveOps.includes("sin");
  const usesCos = liveOps.includes("cos");
  const heavy = liveOps.some((op) => HEAVY.has(op));
  const outDTs = spec.outputs.map((o) => o.dtype);

  // --- blocked accumulation over an outer reduced dim ------------------------------------
  // A reduced dim just outside the kept innermost one -- sum(x, 0) of [1e6, 4] -- would add
  // row after row into the outputs, an error of eps·rows. When the row fits in
  // OUTER_ROW_VECTORS vectors, its sum over the rows is kept in registers instead, with block
  // levels as in inner reductions (OUTER_ROW_BLOCKS, counted in rows), and added into the
  // outputs once: error ~ eps·log(rows), and faster (no load/store of the outputs per row;
  // measured 10x on [1e6, 4]). Wider rows use the same levels in scratch rows the caller
  // passes as one extra pointer (outer_scratch.ts): walking them in column tiles (strided)
  // measured 1.2-2x slower than streaming the rows.
  const outerRows = D >= 2 && mode === "outer" && reduced[D - 2] ? shape[D - 2] : 0;
  const rowVecs = Math.ceil(n / 4);
  const blockedSum = (redOp === "sum" || redOp === "prod") && outDTs.includes("float32") && outerRows > REDUCTION_BLOCKS[0];
  const outerBlocked = blockedSum && rowVecs <= (heavy ? 2 : OUTER_ROW_VECTORS);
  const scratchBytes = blockedSum && !outerBlocked ? outerScratchBytes(n, nOut) : 0;

  const mb = new ModuleBuilder();
  mb.importMemory(memoryImport(shared));
  const ctxImports: { sinImport?: number; cosImport?: number } = {};
  if (usesSin) ctxImports.sinImport = mb.importFunction("env", "sin", ["f64"], ["f64"]);
  if (usesCos) ctxImports.cosImport = mb.importFunction("env", "cos", ["f64"], ["f64"]);
  const f = new FuncBuilder("kernel", new Array(nIn + nOut + (scratchBytes > 0 ? 1 : 0)).fill("i32"), [], { relaxedSimd: relaxed });
  const e = new Emitter(f, relaxed);
  const m: MathCtx = { e, ...ctxImports };

  // byte strides per pointer (inputs then outputs) per canonical dim
  const bstr: number[][] = spec.inputs.map((inp, k) => strides[k].map((s) => s * esize(inp.dtype)));
  for (let o = 0; o < nOut; o++) {
    const s = new Array<number>(D).fill(0);
    let acc = esize(outDTs[o]);
    for (let d = D - 1; d >= 0; d--) {
      if (mode !== "none" && reduced[d]) continue;
      s[d] = acc;
      acc *= shape[d];
    }
    bstr.push(s);
  }
  const nPtr = nIn + nOut;

  f.comment(
    `shape [${shape.join(",")}]${hasRed ? ` reduce ${redOp} over dims [${reduced.flatMap((r, d) => (r ? [d] : [])).join(",")}]` : ""}; ` +
      `inner dim: ${spec.inputs.map((_, k) => (strides[k][inner] === 1 ? "contig" : strides[k][inner] === 0 ? "bcast" : "gather")).join(" ")}`,
  );

  // constants, hoisted
  const constVals = new Map<number, Ex>();
  spec.nodes.forEach((nd, i) => {
    if (live[i] && nd.op === "const") constVals.set(i, e.bind(constEx(e, nd.value, nd.dtype), "v128", "c"));
  });

  /** Evaluates the DAG on input values; returns the output values. */
  const dag = (inVals: Ex[]): Ex[] => {
    const vals: Ex[] = [];
    spec.nodes.forEach((nd, i) => {
      if (!live[i]) return;
      if (nd.op === "input") vals[i] = inVals[nd.input];
      else if (nd.op === "const") vals[i] = constVals.get(i)!;
      else {
        const amount = nd.op === "shift_left" || nd.op === "shift_right_logical" ? spec.nodes[nd.args[1]] : undefined;
        const r =
          amount?.op === "const"
            ? constShift(e, vals[nd.args[0]], amount.value, nd.op === "shift_left")
            : emitOp(m, nd, nd.args.map((a) => vals[a]), nd.args.map((a) => dts[a]));
        vals[i] = e.bind(r, "v128", "v");
      }
    });
    return spec.outputs.map((o) => vals[o.node]);
  };

  // reduction outputs start at the identity unless each is written once
  if (mode !== "none" && !directStore) {
    for (let o = 0; o < nOut; o++) {
      const dt = outDTs[o];
      const p = f.local("i32", "init");
      const cnt = f.local("i32", "i");
      f.localGet(nIn + o).localSet(p);
      f.i32Const(0).localSet(cnt);
      f.loop();
      f.localGet(p).i32Const(identityBits(redOp!, dt)).mem(dt === "bool" ? "i32.store8" : "i32.store", 0, dt === "bool" ? 0 : 2);
      f.localGet(p).i32Const(esize(dt)).op("i32.add").localSet(p);
      f.localGet(cnt).i32Const(1).op("i32.add").localTee(cnt).i32Const(canon.outSize).op("i32.lt_u").brIf(0);
      f.end();
    }
  }

  // pointer locals per level: level 0 uses the params
  const ptr: number[][] = [];
  ptr.push([...Array(nPtr).keys()]);
  for (let d = 1; d < D; d++) ptr.push(Array.from({ length: nPtr }, () => f.local("i32", `p${d}_`)));

  const advance = (ps: number[], d: number, times: number): void => {
    for (let p = 0; p < nPtr; p++) {
      const step = bstr[p][d] * times;
      if (step !== 0) f.localGet(ps[p]).i32Const(step).op("i32.add").localSet(ps[p]);
    }
  };

  /** A counted loop of `count` (> 0) iterations around `body`. */
  const counted = (count: number, body: () => void): void => {
    if (count === 1) {
      body();
      return;
    }
    const cnt = f.local("i32", "i");
    f.i32Const(0).localSet(cnt);
    f.loop();
    body();
    f.localGet(cnt).i32Const(1).op("i32.add").localTee(cnt).i32Const(count).op("i32.lt_u").brIf(0);
    f.end();
  };

  const nv = Math.floor(n / 4);
  const rem = n % 4;
  /** Short rows are unrolled completely: no loop and no pointer updates, the element offsets go
   * into the memargs, and the parent level's pointers are used directly. */
  const unrollInner = nv <= (heavy ? 2 : 4);
  /** Lanes 0..rem-1 set: selects the live lanes of a partial (tail) vector. */
  let tailMask = -1;
  if (rem > 0 && mode === "inner") {
    const l = (tailMask = f.local("v128", "tailmask"));
    f.inPrologue((ff) => {
      ff.v128ConstI32(-1, rem > 1 ? -1 : 0, rem > 2 ? -1 : 0, 0);
      ff.localSet(l);
    });
  }

  const innerLoop = (ps: number[]): void => {
    // broadcast inputs: splat once
    const bcast: (Ex | null)[] = spec.inputs.map((inp, k) => {
      if (bstr[k][inner] !== 0) return null;
      const l = f.local("v128", "b");
      loadSplat(f, inp.dtype, ps[k]);
      f.localSet(l);
      return e.get(l);
    });
    /** The inputs at element `at` (static, relative to the current pointers) of the inner dim:
     * `lanes` consecutive elements (4, or 1..3 for the tail; other lanes hold filler). */
    const inputsAt = (at: number, lanes: number): Ex[] =>
      spec.inputs.map((inp, k) => {
        const bv = bcast[k];
        if (bv) return bv;
        const bs = bstr[k][inner];
        const l = f.local("v128", "in");
        if (bs === esize(inp.dtype)) {
          if (lanes === 4) loadVec(f, inp.dtype, ps[k], at * bs);
          else loadPartial(f, inp.dtype, ps[k], at * bs, lanes);
        } else gather(f, inp.dtype, ps[k], bs, at * bs, lanes);
        f.localSet(l);
        return e.get(l);
      });

    if (mode !== "inner") {
      const storeAt = (outs: Ex[], at: number, lanes: number): void => {
        outs.forEach((v, o) => {
          const dt = outDTs[o];
          const pp = ps[nIn + o];
          const off = at * esize(dt);
          let val = v;
          if (mode === "outer") {
            const cur = f.local("v128", "acc");
            if (lanes === 4) loadVec(f, dt, pp, off);
            else loadPartial(f, dt, pp, off, lanes);
            f.localSet(cur);
            val = e.bind(monoid(e, redOp!, dt, e.get(cur), v));
          }
          storePartial(f, dt, pp, val, off, lanes);
        });
      };
      if (unrollInner) {
        if (nv > 0) f.comment(`vectors: ${nv} x 4, unrolled`);
        for (let j = 0; j < nv; j++) storeAt(dag(inputsAt(4 * j, 4)), 4 * j, 4);
        if (rem > 0) {
          f.comment(`tail: ${rem} lane(s)`);
          storeAt(dag(inputsAt(4 * nv, rem)), 4 * nv, rem);
        }
        return;
      }
      f.comment(`vector loop: ${nv} x 4`);
      counted(nv, () => {
        storeAt(dag(inputsAt(0, 4)), 0, 4);
        advance(ps, inner, 4);
      });
      if (rem > 0) {
        f.comment(`tail: ${rem} lane(s)`);
        storeAt(dag(inputsAt(0, rem)), 0, rem);
      }
      return;
    }

    // innermost dim reduced: vector accumulators
    const K = heavy ? 1 : unrollInner ? Math.max(1, Math.min(4, nv + (rem > 0 ? 1 : 0))) : 4;
    const accs: number[][] = outDTs.map((dt) =>
      Array.from({ length: K }, () => {
        const l = f.local("v128", "acc");
        f.v128ConstI32(identityBits(redOp!, dt)).localSet(l);
        return l;
      }),
    );
    // Blocked accumulation (REDUCTION_BLOCKS) for float sums and products that span more than one block.
    const blocked = (redOp === "sum" || redOp === "prod") && outDTs.includes("float32") && !unrollInner && Math.floor(nv / K) > REDUCTION_BLOCKS[0];
    const levelAccs: number[][] = blocked
      ? REDUCTION_BLOCKS.map(() =>
          outDTs.map((dt) => {
            const l = f.local("v128", "blk");
            f.v128ConstI32(identityBits(redOp!, dt)).localSet(l);
            return l;
          }),
        )
      : [];
    /** Moves the sum of level `l` (0: the lane accumulators) into level l + 1 and resets it. */
    const flush = (l: number): void =>
      outDTs.forEach((dt, o) => {
        const id = identityBits(redOp!, dt);
        if (l === 0) {
          let sum: Ex = e.get(accs[o][0]);
          for (let j = 1; j < K; j++) sum = e.bind(monoid(e, redOp!, dt, sum, e.get(accs[o][j])));
          e.set(levelAccs[0][o], monoid(e, redOp!, dt, e.get(levelAccs[0][o]), sum));
          for (let j = 0; j < K; j++) f.v128ConstI32(id).localSet(accs[o][j]);
        } else {
          e.set(levelAccs[l][o], monoid(e, redOp!, dt, e.get(levelAccs[l][o]), e.get(levelAccs[l - 1][o])));
          f.v128ConstI32(id).localSet(levelAccs[l - 1][o]);
        }
      });
    /** `count` units of level `l` (a level-0 unit is one group), each flushed into level l + 1... */
    const units = (l: number, count: number, group: () => void): void => {
      if (count === 0) return;
      if (l === 0) counted(count, group);
      else
        counted(count, () => {
          units(l - 1, REDUCTION_BLOCKS[l - 1], group);
          flush(l - 1);
        });
    };
    /** `nb` groups as whole units of the highest level, then whole units of each lower level. */
    const blockedGroups = (nb: number, group: () => void): void => {
      const unitGroups = [1];
      for (const b of REDUCTION_BLOCKS) unitGroups.push(unitGroups[unitGroups.length - 1] * b);
      let left = nb;
      for (let l = REDUCTION_BLOCKS.length; l >= 0; l--) {
        const q = Math.floor(left / unitGroups[l]);
        units(l, q, group);
        left -= q * unitGroups[l];
      }
    };
    const accumulate = (outs: Ex[], j: number, lanes: number): void => {
      outs.forEach((v, o) => {
        const dt = outDTs[o];
        let val = v;
        if (lanes < 4) val = e.sel(v, e.ic(identityBits(redOp!, dt)), e.get(tailMask));
        e.set(accs[o][j], monoid(e, redOp!, dt, e.get(accs[o][j]), val));
      });
    };
    if (unrollInner) {
      if (nv > 0) f.comment(`vectors: ${nv} x 4, unrolled into ${K} accumulator(s)`);
      for (let j = 0; j < nv; j++) accumulate(dag(inputsAt(4 * j, 4)), j % K, 4);
      if (rem > 0) {
        f.comment(`tail: ${rem} lane(s)`);
        accumulate(dag(inputsAt(4 * nv, rem)), nv % K, rem);
      }
    } else {
      const nb = Math.floor(nv / K);
      const nr = nv - nb * K;
      const group = (): void => {
        for (let j = 0; j < K; j++) accumulate(dag(inputsAt(4 * j, 4)), j, 4);
        advance(ps, inner, 4 * K);
      };
      if (blocked && nb > REDUCTION_BLOCKS[0]) {
        f.comment(`vector loop: ${nb} x ${K} x 4, blocked ${REDUCTION_BLOCKS.join("/")} (pairwise-like accumulation)`);
        blockedGroups(nb, group);
      } else if (nb > 0) {
        f.comment(`vector loop: ${nb} x ${K} x 4`);
        counted(nb, group);
      }
      for (let j = 0; j < nr; j++) accumulate(dag(inputsAt(4 * j, 4)), j, 4);
      if (rem > 0) {
        f.comment(`tail: ${rem} lane(s)`);
        accumulate(dag(inputsAt(4 * nr, rem)), nr % K, rem);
      }
    }
    f.comment("combine accumulators, horizontal reduce, store");
    outDTs.forEach((dt, o) => {
      const a = accs[o];
      for (let j = 1; j < K; j++) e.set(a[0], monoid(e, redOp!, dt, e.get(a[0]), e.get(a[j])));
      // the block levels, smallest sums first
      for (const lv of levelAccs) e.set(a[0], monoid(e, redOp!, dt, e.get(a[0]), e.get(lv[o])));
      const acc = e.get(a[0]);
      const swapHalves: Ex = (ff) => {
        acc(ff);
        acc(ff);
        ff.shuffle([8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7]);
      };
      e.set(a[0], monoid(e, redOp!, dt, acc, swapHalves));
      const swapPairs: Ex = (ff) => {
        acc(ff);
        acc(ff);
        ff.shuffle([4, 5, 6, 7, 0, 1, 2, 3, 12, 13, 14, 15, 8, 9, 10, 11]);
      };
      e.set(a[0], monoid(e, redOp!, dt, acc, swapPairs));
      const pp = ps[nIn + o];
      if (directStore) storeLane0(f, dt, pp, acc);
      else {
        const cur = f.local("v128", "cur");
        loadSplat(f, dt, pp);
        f.localSet(cur);
        storeLane0(f, dt, pp, e.bind(monoid(e, redOp!, dt, e.get(cur), acc)));
      }
    });
  };

  const blockedOuterRows = (ps: number[]): void => {
    const d = D - 2;
    const lastLanes = n % 4 === 0 ? 4 : n % 4;
    f.comment(`dim ${d}: ${outerRows} (reduced), rows of ${rowVecs} vector(s) summed in registers, blocked ${OUTER_ROW_BLOCKS.join("/")}`);
    const rowPtr = Array.from({ length: nPtr }, () => f.local("i32", "row"));
    for (let p = 0; p < nPtr; p++) f.localGet(ps[p]).localSet(rowPtr[p]);
    // levels[0] takes rows; levels[l] takes OUTER_ROW_BLOCKS[l - 1] units of level l - 1
    const levels: number[][][] = [0, ...OUTER_ROW_BLOCKS].map(() =>
      outDTs.map((dt) =>
        Array.from({ length: rowVecs }, () => {
          const l = f.local("v128", "oacc");
          f.v128ConstI32(identityBits(redOp!, dt)).localSet(l);
          return l;
        }),
      ),
    );
    const fold = (into: number, from: number): void =>
      outDTs.forEach((dt, o) => {
        for (let j = 0; j < rowVecs; j++) e.set(levels[into][o][j], monoid(e, redOp!, dt, e.get(levels[into][o][j]), e.get(levels[from][o][j])));
      });
    const reset = (l: number): void =>
      outDTs.forEach((dt, o) => {
        for (let j = 0; j < rowVecs; j++) f.v128ConstI32(identityBits(redOp!, dt)).localSet(levels[l][o][j]);
      });
    /** One row into level 0; advances the row pointers. Filler lanes of a partial last vector are never stored. */
    const row = (): void => {
      for (let j = 0; j < rowVecs; j++) {
        const lanes = j === rowVecs - 1 ? lastLanes : 4;
        const ins = spec.inputs.map((inp, k) => {
          const bs = bstr[k][inner];
          const l = f.local("v128", "oin");
          if (bs === 0) loadSplat(f, inp.dtype, rowPtr[k]);
          else if (bs === esize(inp.dtype)) {
            if (lanes === 4) loadVec(f, inp.dtype, rowPtr[k], 4 * j * bs);
            else loadPartial(f, inp.dtype, rowPtr[k], 4 * j * bs, lanes);
          } else gather(f, inp.dtype, rowPtr[k], bs, 4 * j * bs, lanes);
          f.localSet(l);
          return e.get(l);
        });
        dag(ins).forEach((v, o) => e.set(levels[0][o][j], monoid(e, redOp!, outDTs[o], e.get(levels[0][o][j]), v)));
      }
      advance(rowPtr, d, 1);
    };
    /** `count` units of level `l` (a level-0 unit is one row), each folded into level l + 1. */
    const units = (l: number, count: number): void => {
      if (count === 0) return;
      if (l === 0) counted(count, row);
      else
        counted(count, () => {
          units(l - 1, OUTER_ROW_BLOCKS[l - 1]);
          fold(l, l - 1);
          reset(l - 1);
        });
    };
    const unitRows = [1];
    for (const b of OUTER_ROW_BLOCKS) unitRows.push(unitRows[unitRows.length - 1] * b);
    let left = outerRows;
    for (let l = OUTER_ROW_BLOCKS.length; l >= 0; l--) {
      const q = Math.floor(left / unitRows[l]);
      units(l, q);
      left -= q * unitRows[l];
    }
    f.comment("combine the block levels (smallest sums first), add into the outputs");
    for (let l = 1; l <= OUTER_ROW_BLOCKS.length; l++) fold(0, l);
    outDTs.forEach((dt, o) => {
      for (let j = 0; j < rowVecs; j++) {
        const lanes = j === rowVecs - 1 ? lastLanes : 4;
        const off = 4 * j * esize(dt);
        const cur = f.local("v128", "ocur");
        if (lanes === 4) loadVec(f, dt, ps[nIn + o], off);
        else loadPartial(f, dt, ps[nIn + o], off, lanes);
        f.localSet(cur);
        storePartial(f, dt, ps[nIn + o], e.bind(monoid(e, redOp!, dt, e.get(cur), e.get(levels[0][o][j]))), off, lanes);
      }
    });
  };

  const level = (d: number): void => {
    if (d === D - 2 && outerBlocked) {
      blockedOuterRows(ptr[d]);
      return;
    }
    if (d === D - 2 && scratchBytes > 0) {
      const ctx = { f, e, spec, outDTs, redOp: redOp!, bstr, rowDim: d, innerDim: inner, rows: outerRows, rowLength: n, scratchParam: nIn + nOut, dag, counted };
      emitOuterRowsWithScratch(ctx, ptr[d]);
      return;
    }
    if (d === inner) {
      innerLoop(ptr[d]);
      return;
    }
    f.comment(`dim ${d}: ${shape[d]}${reduced[d] && hasRed ? " (reduced)" : ""}`);
    counted(shape[d], () => {
      if (d + 1 === inner && unrollInner) innerLoop(ptr[d]);
      else {
        for (let p = 0; p < nPtr; p++) f.localGet(ptr[d][p]).localSet(ptr[d + 1][p]);
        level(d + 1);
      }
      advance(ptr[d], d, 1);
    });
  };
  level(0);

  mb.addFunction(f, "kernel");
  return { bytes: mb.encode(), text: mb.text(), usesSin, usesCos, scratchBytes };
}

// --- compile + caches --------------------------------------------------------------------------

const moduleCache = new Map<string, { module: WebAssembly.Module; gen: Generated }>();
const instanceCache = new WeakMap<WebAssembly.Memory, Map<string, CompiledKernel>>();

/** Whether this engine runs relaxed-SIMD code (probed once by validating a tiny module, then
 * cached): Node >= 22 / recent browsers; Node 20 with `--experimental-wasm-relaxed-simd`. When
 * true, compileKernel uses `relaxed_madd` unless told otherwise. */
export function relaxedSimdAvailable(): boolean {
  return probeRelaxedSimd();
}

/** Number of distinct kernel modules compiled so far (for tests and debugging). */
export function compiledModuleCount(): number {
  return moduleCache.size;
}

function canonicalKey(spec: KernelSpec, canon: Canon, shared: boolean, relaxed: boolean): string {
  return JSON.stringify({
    s: canon.shape,
    r: canon.reduced,
    e: canon.empty,
    o: canon.outSize,
    st: canon.strides,
    i: spec.inputs.map((i) => i.dtype),
    n: spec.nodes,
    out: spec.outputs,
    ro: spec.reduction?.op ?? null,
    sh: shared,
    rx: relaxed,
  }, distinctNumbers);
}

/** JSON writes NaN and ±Infinity all as null and -0 as 0; constants with those values must not share a kernel. */
function distinctNumbers(_key: string, v: unknown): unknown {
  return typeof v === "number" && (!Number.isFinite(v) || Object.is(v, -0)) ? `#${Object.is(v, -0) ? "-0" : v}` : v;
}

/** `run` is called once per kernel per program step, thousands of times a second on small
 * kernels: call the export with a fixed arity (no spread, no per-call allocation) where there
 * are few pointers; beyond that, through one reused argument array. */
function makeRunner(
  fn: (...ptrs: number[]) => void,
  nIn: number,
  nOut: number,
  check: (ins: readonly number[], outs: readonly number[]) => void,
): CompiledKernel["run"] {
  type R = CompiledKernel["run"];
  const f = fn as (...a: number[]) => void;
  if (nOut === 1) {
    const one: R[] = [
      (i, o) => (check(i, o), f(o[0])),
      (i, o) => (check(i, o), f(i[0], o[0])),
      (i, o) => (check(i, o), f(i[0], i[1], o[0])),
      (i, o) => (check(i, o), f(i[0], i[1], i[2], o[0])),
      (i, o) => (check(i, o), f(i[0], i[1], i[2], i[3], o[0])),
      (i, o) => (check(i, o), f(i[0], i[1], i[2], i[3], i[4], o[0])),
      (i, o) => (check(i, o), f(i[0], i[1], i[2], i[3], i[4], i[5], o[0])),
      (i, o) => (check(i, o), f(i[0], i[1], i[2], i[3], i[4], i[5], i[6], o[0])),
      (i, o) => (check(i, o), f(i[0], i[1], i[2], i[3], i[4], i[5], i[6], i[7], o[0])),
    ];
    if (nIn < one.length) return one[nIn];
  }
  if (nOut === 2 && nIn <= 3) {
    const two: R[] = [
      (i, o) => (check(i, o), f(o[0], o[1])),
      (i, o) => (check(i, o), f(i[0], o[0], o[1])),
      (i, o) => (check(i, o), f(i[0], i[1], o[0], o[1])),
      (i, o) => (check(i, o), f(i[0], i[1], i[2], o[0], o[1])),
    ];
    return two[nIn];
  }
  const args = new Array<number>(nIn + nOut).fill(0);
  return (ins, outs) => {
    check(ins, outs);
    for (let k = 0; k < nIn; k++) args[k] = ins[k];
    for (let k = 0; k < nOut; k++) args[nIn + k] = outs[k];
    Reflect.apply(f, undefined, args);
  };
}

/** The runner of a kernel that takes a scratch pointer after its outputs (wide outer reductions,
 * which run once per program step: the argument array is reused, not rebuilt). */
function scratchRunner(
  fn: (...ptrs: number[]) => void,
  nIn: number,
  nOut: number,
  scratchBytes: number,
  check: (ins: readonly number[], outs: readonly number[]) => void,
): CompiledKernel["run"] {
  const args = new Array<number>(nIn + nOut + 1).fill(0);
  return (ins, outs, scratch) => {
    check(ins, outs);
    if (!scratch) throw new BackendError(`kernel.run: this kernel needs ${scratchBytes} bytes of scratch memory; pass its address as the third argument`);
    for (let k = 0; k < nIn; k++) args[k] = ins[k];
    for (let k = 0; k < nOut; k++) args[nIn + k] = outs[k];
    args[nIn + nOut] = scratch;
    Reflect.apply(fn, undefined, args);
  };
}

/** Compiles (or fetches from the cache) the kernel of `spec` for `opts.memory`. */
export function compileKernel(spec: KernelSpec, opts: CompileOptions): CompiledKernel {
  const relaxed = opts.relaxedSimd ?? relaxedSimdAvailable();
  if (relaxed && !relaxedSimdAvailable()) fail("relaxedSimd was requested, but this engine does not support relaxed SIMD");
  const memory = opts.memory;
  const shared = isSharedMemory(memory);
  const dts = inferDTypes(spec);
  spec.outputs.forEach((o, i) => {
    if (!Number.isInteger(o.node) || o.node < 0 || o.node >= spec.nodes.length) fail(`output ${i} names a missing node ${o.node}`);
    if (dts[o.node] !== o.dtype) fail(`output ${i} has dtype ${o.dtype} but node ${o.node} produces ${dts[o.node]}`);
  });
  if (spec.outputs.length === 0) fail("a kernel needs at least one output");
  const canon = canonicalize(spec);
  const key = canonicalKey(spec, canon, shared, relaxed);

  let perMem = instanceCache.get(memory);
  if (!perMem) instanceCache.set(memory, (perMem = new Map()));
  const hit = perMem.get(key);
  if (hit) return hit;

  const nIn = spec.inputs.length;
  const nOut = spec.outputs.length;
  const checkPtrs = (ins: readonly number[], outs: readonly number[]): void => {
    if (ins.length !== nIn || outs.length !== nOut) {
      throw new BackendError(`kernel.run: expected ${nIn} input and ${nOut} output pointers, got ${ins.length} and ${outs.length}`);
    }
  };

  let kernel: CompiledKernel;
  if (canon.empty) {
    // nothing to iterate: reductions over empty axes fill their (non-empty) outputs with the identity
    kernel = {
      key,
      scratchBytes: 0,
      bytes: new Uint8Array(0),
      text: () => ";; empty iteration space: no code" + (spec.reduction ? "; outputs filled with the identity" : ""),
      run(ins, outs) {
        checkPtrs(ins, outs);
        if (!spec.reduction || canon.outSize === 0) return;
        outs.forEach((p, o) => {
          const dt = spec.outputs[o].dtype;
          const bits = identityBits(spec.reduction!.op, dt);
          if (dt === "bool") new Uint8Array(memory.buffer, p, canon.outSize).fill(bits);
          else new Int32Array(memory.buffer, p, canon.outSize).fill(bits);
        });
      },
    };
  } else {
    let cached = moduleCache.get(key);
    if (!cached) {
      const gen = generate(spec, canon, dts, shared, relaxed);
      const module = compileGenerated("compileKernel", gen.bytes);
      cached = { module, gen };
      moduleCache.set(key, cached);
    }
    const { module, gen } = cached;
    const env: Record<string, unknown> = { memory };
    if (gen.usesSin) env.sin = Math.sin;
    if (gen.usesCos) env.cos = Math.cos;
    const instance = new WebAssembly.Instance(module, { env: env as WebAssembly.ModuleImports });
    const fn = instance.exports.kernel as (...ptrs: number[]) => void;
    const run = gen.scratchBytes > 0 ? scratchRunner(fn, nIn, nOut, gen.scratchBytes, checkPtrs) : makeRunner(fn, nIn, nOut, checkPtrs);
    kernel = { key, bytes: gen.bytes, text: () => gen.text, run, scratchBytes: gen.scratchBytes };
  }
  perMem.set(key, kernel);
  return kernel;
}
