// The code generator of one fused kernel (kernel.ts compiles and caches it):
// the phases that turn a canonical KernelSpec into a wasm function — live
// nodes and byte strides, hoisted constants and loop-invariant nodes (see
// placeNodes), reduction outputs set to the identity, then the loop nest level
// by level down to the innermost row, which
// is either stored elementwise, reduced in vector accumulators, or (a row under
// a reduced outer dim) summed over the rows in registers or, for wide rows, in
// scratch rows (outer_scratch.ts). A reduced dim further out is blocked too,
// its kept block in scratch levels (emitRowBlocks). See kernel.ts for the shape
// of the generated code.

import { range } from "../../../core/shape";
import { FuncBuilder, ModuleBuilder, memoryImport } from "./assembler";
import { Emitter, type Ex } from "./expr";
import type { MathCtx } from "./vecmath";
import { HEAVY, type Canon } from "./kernel_spec";
import { OUTER_ROW_BLOCKS, emitAddLevelsIntoOutputs, emitOuterRowsWithScratch, outerScratchBytes } from "./outer_scratch";
import {
  OUTER_ROW_VECTORS, REDUCTION_BLOCKS, constEx, constShift, emitOp, esize, identityBits, loadLanes, loadSplat, loadStrided, monoid, splatBroadcastInputs, storeLane0, storePartial,
} from "./kernel_emit";
import type { KDType, KernelSpec, ReduceOp } from "../../plan/kernel_graph";

export interface Generated {
  bytes: Uint8Array;
  text: string;
  usesSin: boolean;
  usesCos: boolean;
  /** Bytes of scratch the kernel's extra last parameter addresses (0: no such parameter). */
  scratchBytes: number;
}

/** What every phase of one kernel's generation reads: the spec over its canonical space and the function being built. */
interface KernelGen {
  readonly spec: KernelSpec;
  readonly canon: Canon;
  /** The dtype of every node. */
  readonly dts: KDType[];
  readonly f: FuncBuilder;
  readonly e: Emitter;
  readonly m: MathCtx;
  readonly nIn: number;
  readonly nOut: number;
  /** Pointers: the inputs', then the outputs'. */
  readonly nPtr: number;
  /** The innermost canonical dim and its length. */
  readonly inner: number;
  readonly n: number;
  readonly redOp: ReduceOp | undefined;
  readonly hasRed: boolean;
  readonly mode: "none" | "inner" | "outer";
  /** Only the innermost (canonical) dim is reduced: each output is written exactly once. */
  readonly directStore: boolean;
  readonly heavy: boolean;
  readonly live: boolean[];
  /** Where each node is computed (placeNodes). */
  readonly place: NodePlace[];
  /** The values bound once per call, before the loops: constants and the nodes placed "kernel". */
  readonly invariantVals: (Ex | undefined)[];
  readonly outDTs: KDType[];
  /** Byte strides per pointer per canonical dim. */
  readonly bstr: number[][];
  /** Short rows are unrolled completely: no loop and no pointer updates, the element offsets go
   * into the memargs, and the parent level's pointers are used directly. */
  readonly unrollInner: boolean;
  /** Lanes 0..rem-1 set: selects the live lanes of a partial (tail) vector (-1: none). */
  tailMask: number;
}

/** How the rows of a reduced dim just outside the kept innermost one are summed (outerRowSums). */
interface OuterRowSums {
  /** The rows of that dim (0: no such dim). */
  readonly rows: number;
  /** Each row's sum kept in registers, with block levels. */
  readonly inRegisters: boolean;
  /** Bytes of scratch rows for the block levels of rows too wide for registers (0: none). */
  readonly scratchBytes: number;
}

/** A reduced dim further out, blocked over its rows with the kept block inside it in scratch (rowBlocks). */
interface RowBlocks {
  /** The canonical dim whose iterations are the rows. */
  readonly dim: number;
  readonly rows: number;
  /** Bytes of one level of one output: the kept elements inside `dim`, in whole vectors. */
  readonly levelBytes: number;
  /** Block levels in use: 1 + the highest level that takes a whole unit. */
  readonly levels: number;
  /** Byte offset of this scratch from the scratch pointer (after the scratch rows of OuterRowSums). */
  readonly offset: number;
  readonly scratchBytes: number;
}

export function generate(spec: KernelSpec, canon: Canon, dts: KDType[], shared: boolean, relaxed: boolean): Generated {
  const { shape, reduced } = canon;
  const D = shape.length;
  const inner = D - 1;
  const redOp = spec.reduction?.op;
  const hasRed = redOp !== undefined && reduced.some((r) => r);
  const mode: "none" | "inner" | "outer" = !hasRed ? "none" : reduced[inner] ? "inner" : "outer";
  const live = liveNodes(spec);
  const place = placeNodes(spec, canon);
  const liveOps = spec.nodes.filter((_, i) => live[i]).map((nd) => nd.op as string);
  const usesSin = liveOps.includes("sin");
  const usesCos = liveOps.includes("cos");
  // Code run once per call does not make the per-vector code long.
  const heavy = spec.nodes.some((nd, i) => live[i] && place[i] !== "kernel" && HEAVY.has(nd.op));
  const nIn = spec.inputs.length;
  const nOut = spec.outputs.length;
  const n = shape[inner];
  const outDTs = spec.outputs.map((o) => o.dtype);
  const outerRows = outerRowSums(canon, mode, redOp, outDTs, heavy);
  const rowBlocks = rowBlocksFor(canon, mode, redOp, outDTs, outerRows);
  const scratchBytes = outerRows.scratchBytes + (rowBlocks?.scratchBytes ?? 0);

  const mb = new ModuleBuilder();
  mb.importMemory(memoryImport(shared));
  const ctxImports: { sinImport?: number; cosImport?: number } = {};
  if (usesSin) ctxImports.sinImport = mb.importFunction("env", "sin", ["f64"], ["f64"]);
  if (usesCos) ctxImports.cosImport = mb.importFunction("env", "cos", ["f64"], ["f64"]);
  const f = new FuncBuilder("kernel", new Array(nIn + nOut + (scratchBytes > 0 ? 1 : 0)).fill("i32"), [], { relaxedSimd: relaxed });
  const e = new Emitter(f, relaxed);
  const g: KernelGen = {
    spec, canon, dts, f, e, m: { e, ...ctxImports }, nIn, nOut, nPtr: nIn + nOut, inner, n, redOp, hasRed, mode,
    directStore: mode === "inner" && reduced.filter((r) => r).length === 1,
    heavy, live, place, invariantVals: [], outDTs, bstr: byteStrides(spec, canon, mode),
    unrollInner: Math.floor(n / 4) <= (heavy ? 2 : 4), tailMask: -1,
  };

  f.comment(
    `shape [${shape.join(",")}]${hasRed ? ` reduce ${redOp} over dims [${reduced.flatMap((r, d) => (r ? [d] : [])).join(",")}]` : ""}; ` +
      `inner dim: ${spec.inputs.map((_, k) => (canon.strides[k][inner] === 1 ? "contig" : canon.strides[k][inner] === 0 ? "bcast" : "gather")).join(" ")}`,
  );
  hoistInvariants(g);
  if (mode !== "none" && !g.directStore) initReductionOutputs(g);
  // pointer locals per level: level 0 uses the params
  const ptr: number[][] = [range(g.nPtr)];
  for (let d = 1; d < D; d++) ptr.push(Array.from({ length: g.nPtr }, () => f.local("i32", `p${d}_`)));
  const rem = n % 4;
  if (rem > 0 && mode === "inner") {
    const l = (g.tailMask = f.local("v128", "tailmask"));
    f.inPrologue((ff) => {
      ff.v128ConstI32(-1, rem > 1 ? -1 : 0, rem > 2 ? -1 : 0, 0);
      ff.localSet(l);
    });
  }
  emitLevel(g, ptr, 0, outerRows, rowBlocks);

  mb.addFunction(f, "kernel");
  return { bytes: mb.encode(), text: mb.text(), usesSin, usesCos, scratchBytes };
}

/** The nodes an output depends on. */
function liveNodes(spec: KernelSpec): boolean[] {
  const live = new Array<boolean>(spec.nodes.length).fill(false);
  for (const o of spec.outputs) live[o.node] = true;
  for (let i = spec.nodes.length - 1; i >= 0; i--) {
    const nd = spec.nodes[i];
    if (live[i] && "args" in nd) for (const a of nd.args) live[a] = true;
  }
  return live;
}

/** Byte strides per pointer (inputs then outputs) per canonical dim; outputs are dense over the kept dims. */
function byteStrides(spec: KernelSpec, canon: Canon, mode: KernelGen["mode"]): number[][] {
  const { shape, reduced, strides } = canon;
  const bstr: number[][] = spec.inputs.map((inp, k) => strides[k].map((s) => s * esize(inp.dtype)));
  for (const out of spec.outputs) {
    const s = new Array<number>(shape.length).fill(0);
    let acc = esize(out.dtype);
    for (let d = shape.length - 1; d >= 0; d--) {
      if (mode !== "none" && reduced[d]) continue;
      s[d] = acc;
      acc *= shape[d];
    }
    bstr.push(s);
  }
  return bstr;
}

/**
 * Where a node's value is computed. "vector": for every vector of the innermost
 * row, as it reads an input that varies along the inner dim. "row": once per
 * innermost row, as all it reads is broadcast along the inner dim (a function
 * of b[:, None] in x + f(b)[:, None]). "kernel": once per call, before the
 * loops, as all it reads is constants and inputs broadcast along every dim
 * (Adam's bias corrections 1 - b1^t and a global-norm clipping factor, scalars
 * that were recomputed for every vector of the parameter, a pow in f64 lanes
 * each). Every op works lane by lane, so a node computed on splatted operands
 * gives each element the bits it would get computed in place.
 */
type NodePlace = "vector" | "row" | "kernel";

function placeNodes(spec: KernelSpec, canon: Canon): NodePlace[] {
  const inner = canon.shape.length - 1;
  const rank: Record<NodePlace, number> = { kernel: 0, row: 1, vector: 2 };
  const place: NodePlace[] = [];
  for (const nd of spec.nodes) {
    if (nd.op === "const") place.push("kernel");
    else if (nd.op === "input") {
      const s = canon.strides[nd.input];
      place.push(s[inner] !== 0 ? "vector" : s.every((x) => x === 0) ? "kernel" : "row");
    } else place.push(nd.args.map((a) => place[a]).reduce((p, q) => (rank[p] >= rank[q] ? p : q), "kernel" as NodePlace));
  }
  return place;
}

/** The live op (not input or const) nodes placed `at`, and the input nodes they read. */
function hoistedAt(g: KernelGen, at: NodePlace): boolean[] {
  const pick = g.spec.nodes.map((nd, i) => g.live[i] && g.place[i] === at && nd.op !== "input" && nd.op !== "const");
  g.spec.nodes.forEach((nd, i) => {
    if (pick[i] && "args" in nd) for (const a of nd.args) if (g.spec.nodes[a].op === "input") pick[a] = true;
  });
  return pick;
}

/** Binds constants and the nodes placed "kernel" to locals once, before the loops; their inputs
 * are splatted from the parameters (broadcast along every dim, any position reads the element). */
function hoistInvariants(g: KernelGen): void {
  const { spec, e, f } = g;
  const pick = hoistedAt(g, "kernel");
  if (pick.some((p) => p)) f.comment("loop-invariant nodes, computed once per call");
  evalNodes(g, g.invariantVals, (i) => pick[i] || spec.nodes[i].op === "const", (k) => {
    const l = f.local("v128", "inv");
    loadSplat(f, spec.inputs[k].dtype, k);
    f.localSet(l);
    return e.get(l);
  });
}

/**
 * Evaluates, in order, the live nodes that `select` picks and `vals` does not hold yet into `vals`:
 * inputs through `input`, constants and ops bound to locals (an op's arguments must be in `vals`
 * or picked too).
 */
function evalNodes(g: KernelGen, vals: (Ex | undefined)[], select: (i: number) => boolean, input: (k: number) => Ex): void {
  const { spec, e } = g;
  spec.nodes.forEach((nd, i) => {
    if (!g.live[i] || vals[i] !== undefined || !select(i)) return;
    if (nd.op === "input") vals[i] = input(nd.input);
    else if (nd.op === "const") vals[i] = e.bind(constEx(e, nd.value, nd.dtype), "v128", "c");
    else {
      const args = nd.args.map((a) => vals[a]!);
      const amount = nd.op === "shift_left" || nd.op === "shift_right_logical" ? spec.nodes[nd.args[1]] : undefined;
      const r =
        amount?.op === "const"
          ? constShift(e, args[0], amount.value, nd.op === "shift_left")
          : emitOp(g.m, nd, args, nd.args.map((a) => g.dts[a]));
      vals[i] = e.bind(r, "v128", "v");
    }
  });
}

/** Evaluates the DAG on input values, reusing the values `known` holds (by default the
 * loop-invariant ones); returns the output values. */
function evalDag(g: KernelGen, inVals: Ex[], known: readonly (Ex | undefined)[] = g.invariantVals): Ex[] {
  const vals = [...known];
  evalNodes(g, vals, () => true, (k) => inVals[k]);
  return g.spec.outputs.map((o) => vals[o.node]!);
}

/** Reduction outputs start at the identity unless each is written once. */
function initReductionOutputs(g: KernelGen): void {
  const { f } = g;
  for (let o = 0; o < g.nOut; o++) {
    const dt = g.outDTs[o];
    const p = f.local("i32", "init");
    const cnt = f.local("i32", "i");
    f.localGet(g.nIn + o).localSet(p);
    f.i32Const(0).localSet(cnt);
    f.loop();
    f.localGet(p).i32Const(identityBits(g.redOp!, dt)).mem(dt === "bool" ? "i32.store8" : "i32.store", 0, dt === "bool" ? 0 : 2);
    f.localGet(p).i32Const(esize(dt)).op("i32.add").localSet(p);
    f.localGet(cnt).i32Const(1).op("i32.add").localTee(cnt).i32Const(g.canon.outSize).op("i32.lt_u").brIf(0);
    f.end();
  }
}

/** Moves every pointer `times` steps along dim `d`. */
function advance(g: KernelGen, ps: number[], d: number, times: number): void {
  for (let p = 0; p < g.nPtr; p++) {
    const step = g.bstr[p][d] * times;
    if (step !== 0) g.f.localGet(ps[p]).i32Const(step).op("i32.add").localSet(ps[p]);
  }
}

/** A counted loop of `count` (> 0) iterations around `body`. */
function counted(f: FuncBuilder, count: number, body: () => void): void {
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
}

/**
 * `total` units of the finest level of a blocked accumulation whose level l + 1
 * takes `blocks[l]` units of level l (REDUCTION_BLOCKS, OUTER_ROW_BLOCKS): whole
 * units of the highest level first, then of each lower one. `leaf` adds one
 * finest unit into level 0; `carry(l)` moves level l's sum into level l + 1.
 */
function blockedLoop(f: FuncBuilder, blocks: readonly number[], total: number, leaf: () => void, carry: (l: number) => void): void {
  /** `count` units of level `l`, each carried into level l + 1. */
  const units = (l: number, count: number): void => {
    if (count === 0) return;
    if (l === 0) counted(f, count, leaf);
    else
      counted(f, count, () => {
        units(l - 1, blocks[l - 1]);
        carry(l - 1);
      });
  };
  const unitSize = [1];
  for (const b of blocks) unitSize.push(unitSize[unitSize.length - 1] * b);
  let left = total;
  for (let l = blocks.length; l >= 0; l--) {
    const q = Math.floor(left / unitSize[l]);
    units(l, q);
    left -= q * unitSize[l];
  }
}

/** The loop over canonical dim `d` and everything inside it. */
function emitLevel(g: KernelGen, ptr: number[][], d: number, outerRows: OuterRowSums, rowBlocks: RowBlocks | null): void {
  const { f, canon } = g;
  if (d === canon.shape.length - 2 && outerRows.inRegisters) {
    emitBlockedOuterRows(g, ptr[d], outerRows.rows);
    return;
  }
  if (d === canon.shape.length - 2 && outerRows.scratchBytes > 0) {
    const ctx = {
      f, e: g.e, spec: g.spec, outDTs: g.outDTs, redOp: g.redOp!, bstr: g.bstr, rowDim: d, innerDim: g.inner, rows: outerRows.rows, rowLength: g.n,
      scratchParam: g.nPtr, dag: (inVals: Ex[]) => evalDag(g, inVals), counted: (count: number, body: () => void) => counted(f, count, body),
    };
    emitOuterRowsWithScratch(ctx, ptr[d]);
    return;
  }
  if (d === g.inner) {
    emitRow(g, ptr[d]);
    return;
  }
  if (d === rowBlocks?.dim) {
    emitRowBlocks(g, ptr, rowBlocks, () => emitStep(g, ptr, d, outerRows, rowBlocks));
    return;
  }
  f.comment(`dim ${d}: ${canon.shape[d]}${canon.reduced[d] && g.hasRed ? " (reduced)" : ""}`);
  counted(f, canon.shape[d], () => emitStep(g, ptr, d, outerRows, rowBlocks));
}

/** One iteration of dim `d`: everything inside it at the pointers `ptr[d]`, which then move one step along `d`. */
function emitStep(g: KernelGen, ptr: number[][], d: number, outerRows: OuterRowSums, rowBlocks: RowBlocks | null): void {
  if (d + 1 === g.inner && g.unrollInner) emitRow(g, ptr[d]);
  else {
    for (let p = 0; p < g.nPtr; p++) g.f.localGet(ptr[d][p]).localSet(ptr[d + 1][p]);
    emitLevel(g, ptr, d + 1, outerRows, rowBlocks);
  }
  advance(g, ptr[d], d, 1);
}

/** The output values at element `at` (static, relative to the pointers) of the inner dim, computed
 * from `lanes` consecutive elements of the inputs (4, or 1..3 for the tail; other lanes hold filler). */
type RowOutputs = (at: number, lanes: number) => Ex[];

/** The innermost dim at pointers `ps`: broadcast inputs splatted and the nodes placed "row"
 * computed once, then the row stored or reduced. */
function emitRow(g: KernelGen, ps: number[]): void {
  const { f, e, spec, bstr, inner } = g;
  const bcast = splatBroadcastInputs(f, e, spec.inputs, bstr, inner, ps, "b");
  const rowVals = [...g.invariantVals];
  const pick = hoistedAt(g, "row");
  if (pick.some((p) => p)) {
    f.comment("row-invariant nodes, computed once per row");
    evalNodes(g, rowVals, (i) => pick[i], (k) => bcast[k]!);
  }
  const outputsAt: RowOutputs = (at, lanes) =>
    evalDag(g, spec.inputs.map((inp, k) => {
      const bv = bcast[k];
      if (bv) return bv;
      const bs = bstr[k][inner];
      const l = f.local("v128", "in");
      loadStrided(f, inp.dtype, ps[k], bs, at * bs, lanes);
      f.localSet(l);
      return e.get(l);
    }), rowVals);
  if (g.mode === "inner") emitRowReduction(g, ps, outputsAt);
  else emitRowStores(g, ps, outputsAt);
}

/** A row not reduced along: each vector stored, or (an outer dim reduced) accumulated into the outputs. */
function emitRowStores(g: KernelGen, ps: number[], outputsAt: RowOutputs): void {
  const { f, e, outDTs, nIn, n } = g;
  const nv = Math.floor(n / 4);
  const rem = n % 4;
  const storeAt = (outs: Ex[], at: number, lanes: number): void => {
    outs.forEach((v, o) => {
      const dt = outDTs[o];
      const pp = ps[nIn + o];
      const off = at * esize(dt);
      let val = v;
      if (g.mode === "outer") {
        const cur = f.local("v128", "acc");
        loadLanes(f, dt, pp, off, lanes);
        f.localSet(cur);
        val = e.bind(monoid(e, g.redOp!, dt, e.get(cur), v));
      }
      storePartial(f, dt, pp, val, off, lanes);
    });
  };
  if (g.unrollInner) {
    if (nv > 0) f.comment(`vectors: ${nv} x 4, unrolled`);
    for (let j = 0; j < nv; j++) storeAt(outputsAt(4 * j, 4), 4 * j, 4);
    if (rem > 0) {
      f.comment(`tail: ${rem} lane(s)`);
      storeAt(outputsAt(4 * nv, rem), 4 * nv, rem);
    }
    return;
  }
  f.comment(`vector loop: ${nv} x 4`);
  counted(f, nv, () => {
    storeAt(outputsAt(0, 4), 0, 4);
    advance(g, ps, g.inner, 4);
  });
  if (rem > 0) {
    f.comment(`tail: ${rem} lane(s)`);
    storeAt(outputsAt(0, rem), 0, rem);
  }
}

/** The innermost dim reduced: K vector accumulators (blocked for long float sums and products), then one store per output. */
function emitRowReduction(g: KernelGen, ps: number[], outputsAt: RowOutputs): void {
  const { f, e, outDTs, n, heavy, unrollInner } = g;
  const redOp = g.redOp!;
  const nv = Math.floor(n / 4);
  const rem = n % 4;
  const K = heavy ? 1 : unrollInner ? Math.max(1, Math.min(4, nv + (rem > 0 ? 1 : 0))) : 4;
  const accs: number[][] = outDTs.map((dt) =>
    Array.from({ length: K }, () => {
      const l = f.local("v128", "acc");
      f.v128ConstI32(identityBits(redOp, dt)).localSet(l);
      return l;
    }),
  );
  // Blocked accumulation (REDUCTION_BLOCKS) for float sums and products that span more than one block.
  const blocked = (redOp === "sum" || redOp === "prod") && outDTs.includes("float32") && !unrollInner && Math.floor(nv / K) > REDUCTION_BLOCKS[0];
  const levelAccs: number[][] = blocked
    ? REDUCTION_BLOCKS.map(() =>
        outDTs.map((dt) => {
          const l = f.local("v128", "blk");
          f.v128ConstI32(identityBits(redOp, dt)).localSet(l);
          return l;
        }),
      )
    : [];
  /** Moves the sum of level `l` (0: the lane accumulators) into level l + 1 and resets it. */
  const flush = (l: number): void =>
    outDTs.forEach((dt, o) => {
      const id = identityBits(redOp, dt);
      if (l === 0) {
        let sum: Ex = e.get(accs[o][0]);
        for (let j = 1; j < K; j++) sum = e.bind(monoid(e, redOp, dt, sum, e.get(accs[o][j])));
        e.set(levelAccs[0][o], monoid(e, redOp, dt, e.get(levelAccs[0][o]), sum));
        for (let j = 0; j < K; j++) f.v128ConstI32(id).localSet(accs[o][j]);
      } else {
        e.set(levelAccs[l][o], monoid(e, redOp, dt, e.get(levelAccs[l][o]), e.get(levelAccs[l - 1][o])));
        f.v128ConstI32(id).localSet(levelAccs[l - 1][o]);
      }
    });
  const accumulate = (outs: Ex[], j: number, lanes: number): void => {
    outs.forEach((v, o) => {
      const dt = outDTs[o];
      let val = v;
      if (lanes < 4) val = e.sel(v, e.ic(identityBits(redOp, dt)), e.get(g.tailMask));
      e.set(accs[o][j], monoid(e, redOp, dt, e.get(accs[o][j]), val));
    });
  };
  if (unrollInner) {
    if (nv > 0) f.comment(`vectors: ${nv} x 4, unrolled into ${K} accumulator(s)`);
    for (let j = 0; j < nv; j++) accumulate(outputsAt(4 * j, 4), j % K, 4);
    if (rem > 0) {
      f.comment(`tail: ${rem} lane(s)`);
      accumulate(outputsAt(4 * nv, rem), nv % K, rem);
    }
  } else {
    const nb = Math.floor(nv / K);
    const nr = nv - nb * K;
    const group = (): void => {
      for (let j = 0; j < K; j++) accumulate(outputsAt(4 * j, 4), j, 4);
      advance(g, ps, g.inner, 4 * K);
    };
    if (blocked && nb > REDUCTION_BLOCKS[0]) {
      f.comment(`vector loop: ${nb} x ${K} x 4, blocked ${REDUCTION_BLOCKS.join("/")} (pairwise-like accumulation)`);
      blockedLoop(f, REDUCTION_BLOCKS, nb, group, flush);
    } else if (nb > 0) {
      f.comment(`vector loop: ${nb} x ${K} x 4`);
      counted(f, nb, group);
    }
    for (let j = 0; j < nr; j++) accumulate(outputsAt(4 * j, 4), j, 4);
    if (rem > 0) {
      f.comment(`tail: ${rem} lane(s)`);
      accumulate(outputsAt(4 * nr, rem), nr % K, rem);
    }
  }
  f.comment("combine accumulators, horizontal reduce, store");
  outDTs.forEach((dt, o) => storeHorizontal(g, ps[g.nIn + o], dt, accs[o], levelAccs.map((lv) => lv[o])));
}

/** Combines one output's lane accumulators and block levels (smallest sums first), reduces across lanes and stores lane 0. */
function storeHorizontal(g: KernelGen, pp: number, dt: KDType, a: number[], levels: number[]): void {
  const { f, e } = g;
  const redOp = g.redOp!;
  for (let j = 1; j < a.length; j++) e.set(a[0], monoid(e, redOp, dt, e.get(a[0]), e.get(a[j])));
  for (const lv of levels) e.set(a[0], monoid(e, redOp, dt, e.get(a[0]), e.get(lv)));
  const acc = e.get(a[0]);
  const swapHalves: Ex = (ff) => {
    acc(ff);
    acc(ff);
    ff.shuffle([8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7]);
  };
  e.set(a[0], monoid(e, redOp, dt, acc, swapHalves));
  const swapPairs: Ex = (ff) => {
    acc(ff);
    acc(ff);
    ff.shuffle([4, 5, 6, 7, 0, 1, 2, 3, 12, 13, 14, 15, 8, 9, 10, 11]);
  };
  e.set(a[0], monoid(e, redOp, dt, acc, swapPairs));
  if (g.directStore) storeLane0(f, dt, pp, acc);
  else {
    const cur = f.local("v128", "cur");
    loadSplat(f, dt, pp);
    f.localSet(cur);
    storeLane0(f, dt, pp, e.bind(monoid(e, redOp, dt, e.get(cur), acc)));
  }
}

// --- blocked accumulation over an outer reduced dim ------------------------------------
// A reduced dim just outside the kept innermost one -- sum(x, 0) of [1e6, 4] -- would add
// row after row into the outputs, an error of eps·rows. When the row fits in
// OUTER_ROW_VECTORS vectors, its sum over the rows is kept in registers instead, with block
// levels as in inner reductions (OUTER_ROW_BLOCKS, counted in rows), and added into the
// outputs once: error ~ eps·log(rows), and faster (no load/store of the outputs per row;
// measured 10x on [1e6, 4]). Wider rows use the same levels in scratch rows the caller
// passes as one extra pointer (outer_scratch.ts): walking them in column tiles (strided)
// measured 1.2-2x slower than streaming the rows.

/** How the rows of the reduced dim just outside the innermost one are summed: float sums and products over more than one block are blocked. */
function outerRowSums(canon: Canon, mode: KernelGen["mode"], redOp: ReduceOp | undefined, outDTs: readonly KDType[], heavy: boolean): OuterRowSums {
  const { shape, reduced } = canon;
  const D = shape.length;
  const rows = D >= 2 && mode === "outer" && reduced[D - 2] ? shape[D - 2] : 0;
  const rowLength = shape[D - 1];
  const rowVecs = Math.ceil(rowLength / 4);
  const blockedSum = (redOp === "sum" || redOp === "prod") && outDTs.includes("float32") && rows > REDUCTION_BLOCKS[0];
  const inRegisters = blockedSum && rowVecs <= (heavy ? 2 : OUTER_ROW_VECTORS);
  return { rows, inRegisters, scratchBytes: blockedSum && !inRegisters ? outerScratchBytes(rowLength, outDTs.length) : 0 };
}

function emitBlockedOuterRows(g: KernelGen, ps: number[], outerRows: number): void {
  const { f, e, spec, bstr, outDTs, nIn, nPtr, inner, n } = g;
  const redOp = g.redOp!;
  const d = g.canon.shape.length - 2;
  const rowVecs = Math.ceil(n / 4);
  const lastLanes = n % 4 === 0 ? 4 : n % 4;
  f.comment(`dim ${d}: ${outerRows} (reduced), rows of ${rowVecs} vector(s) summed in registers, blocked ${OUTER_ROW_BLOCKS.join("/")}`);
  const rowPtr = Array.from({ length: nPtr }, () => f.local("i32", "row"));
  for (let p = 0; p < nPtr; p++) f.localGet(ps[p]).localSet(rowPtr[p]);
  // levels[0] takes rows; levels[l] takes OUTER_ROW_BLOCKS[l - 1] units of level l - 1
  const levels: number[][][] = [0, ...OUTER_ROW_BLOCKS].map(() =>
    outDTs.map((dt) =>
      Array.from({ length: rowVecs }, () => {
        const l = f.local("v128", "oacc");
        f.v128ConstI32(identityBits(redOp, dt)).localSet(l);
        return l;
      }),
    ),
  );
  const fold = (into: number, from: number): void =>
    outDTs.forEach((dt, o) => {
      for (let j = 0; j < rowVecs; j++) e.set(levels[into][o][j], monoid(e, redOp, dt, e.get(levels[into][o][j]), e.get(levels[from][o][j])));
    });
  const reset = (l: number): void =>
    outDTs.forEach((dt, o) => {
      for (let j = 0; j < rowVecs; j++) f.v128ConstI32(identityBits(redOp, dt)).localSet(levels[l][o][j]);
    });
  /** One row into level 0; advances the row pointers. Filler lanes of a partial last vector are never stored. */
  const row = (): void => {
    for (let j = 0; j < rowVecs; j++) {
      const lanes = j === rowVecs - 1 ? lastLanes : 4;
      const ins = spec.inputs.map((inp, k) => {
        const bs = bstr[k][inner];
        const l = f.local("v128", "oin");
        if (bs === 0) loadSplat(f, inp.dtype, rowPtr[k]);
        else loadStrided(f, inp.dtype, rowPtr[k], bs, 4 * j * bs, lanes);
        f.localSet(l);
        return e.get(l);
      });
      evalDag(g, ins).forEach((v, o) => e.set(levels[0][o][j], monoid(e, redOp, outDTs[o], e.get(levels[0][o][j]), v)));
    }
    advance(g, rowPtr, d, 1);
  };
  blockedLoop(f, OUTER_ROW_BLOCKS, outerRows, row, (l) => {
    fold(l + 1, l);
    reset(l);
  });
  f.comment("combine the block levels (smallest sums first), add into the outputs");
  for (let l = 1; l <= OUTER_ROW_BLOCKS.length; l++) fold(0, l);
  outDTs.forEach((dt, o) => {
    for (let j = 0; j < rowVecs; j++) {
      const lanes = j === rowVecs - 1 ? lastLanes : 4;
      const off = 4 * j * esize(dt);
      const cur = f.local("v128", "ocur");
      loadLanes(f, dt, ps[nIn + o], off, lanes);
      f.localSet(cur);
      storePartial(f, dt, ps[nIn + o], e.bind(monoid(e, redOp, dt, e.get(cur), e.get(levels[0][o][j]))), off, lanes);
    }
  });
}

// --- blocked accumulation over a reduced dim further out ------------------------------
// A reduced dim that is not just outside the kept innermost one -- sum(x + b, 0) of
// [rows, k, n] where b of shape [k, 1] keeps k and n from merging, or the whole sum of
// x + b over [rows, n] with b of shape [n] -- would add each row's contribution (the loop
// nest inside it) into the outputs, an error of eps·rows. Instead the nest inside writes to
// a level-0 block in scratch laid out as the outputs it touches (the kept dims inside,
// dense), folded into level 1 every OUTER_ROW_BLOCKS[0] rows and so on, as the other
// blocked paths, and the levels are added into the outputs once. The nest inside is the
// usual one (its own blocked paths included) with its output pointers moved to level 0.
// The scratch is at most 4 levels × the outputs' block, and does not depend on how the
// kept dims are cut into chunks, so a split kernel gives the whole one's bits.

/** The reduced dim with the most rows (more than one level-0 block) that no other blocked path
 * covers, for float sums and products with 4-byte outputs; null when there is none. */
function rowBlocksFor(canon: Canon, mode: KernelGen["mode"], redOp: ReduceOp | undefined, outDTs: readonly KDType[], outerRows: OuterRowSums): RowBlocks | null {
  const { shape, reduced } = canon;
  const D = shape.length;
  if (mode === "none" || !(redOp === "sum" || redOp === "prod") || !outDTs.includes("float32") || outDTs.some((dt) => esize(dt) !== 4)) return null;
  let dim = -1;
  for (let d = 0; d < D - 1; d++) {
    const covered = d === D - 2 && (outerRows.inRegisters || outerRows.scratchBytes > 0);
    if (reduced[d] && !covered && shape[d] > OUTER_ROW_BLOCKS[0] && (dim < 0 || shape[d] > shape[dim])) dim = d;
  }
  if (dim < 0) return null;
  const rows = shape[dim];
  let levels = 1;
  for (let l = 0, unit = 1; l < OUTER_ROW_BLOCKS.length; l++) {
    unit *= OUTER_ROW_BLOCKS[l];
    if (rows >= unit) levels = l + 2;
  }
  const levelBytes = Math.ceil(keptInside(canon, dim) / 4) * 16;
  return { dim, rows, levelBytes, levels, offset: outerRows.scratchBytes, scratchBytes: outDTs.length * levels * levelBytes };
}

/** The loop over `rb.dim`, `step` emitting one row (the nest inside, then the pointers moved). */
function emitRowBlocks(g: KernelGen, ptr: number[][], rb: RowBlocks, step: () => void): void {
  const { f, e, outDTs, nIn, nPtr: scratchParam } = g;
  const redOp = g.redOp!;
  const ps = ptr[rb.dim];
  const vecs = rb.levelBytes / 16;
  const kept = keptInside(g.canon, rb.dim);
  f.comment(`dim ${rb.dim}: ${rb.rows} (reduced), the ${kept} kept element(s) inside summed in ${rb.levels} scratch level(s), blocked ${OUTER_ROW_BLOCKS.join("/")}`);
  /** Byte offset of output o's level l from the scratch pointer. */
  const at = (o: number, l: number): number => rb.offset + (o * rb.levels + l) * rb.levelBytes;
  const sp = f.local("i32", "bsp");
  const load = (off: number): Ex => (ff) => void ff.localGet(sp).mem("v128.load", off, 4);
  const store = (off: number, val: Ex): void => {
    f.localGet(sp);
    val(f);
    f.mem("v128.store", off, 4);
  };
  /** One pass over the levels' vectors, `sp` addressing the current one from the scratch pointer. */
  const pass = (body: () => void): void => {
    f.localGet(scratchParam).localSet(sp);
    counted(f, vecs, () => {
      body();
      f.localGet(sp).i32Const(16).op("i32.add").localSet(sp);
    });
  };
  pass(() => outDTs.forEach((dt, o) => {
    for (let l = 0; l < rb.levels; l++) store(at(o, l), e.ic(identityBits(redOp, dt)));
  }));
  const outBase = outDTs.map((_, o) => {
    const l = f.local("i32", "obase");
    f.localGet(ps[nIn + o]).localSet(l);
    f.localGet(scratchParam).i32Const(at(o, 0)).op("i32.add").localSet(ps[nIn + o]);
    return l;
  });
  const carry = (l: number): void =>
    pass(() => outDTs.forEach((dt, o) => {
      store(at(o, l + 1), monoid(e, redOp, dt, load(at(o, l + 1)), load(at(o, l))));
      store(at(o, l), e.ic(identityBits(redOp, dt)));
    }));
  blockedLoop(f, OUTER_ROW_BLOCKS.slice(0, rb.levels - 1), rb.rows, step, carry);
  f.comment("combine the block levels (smallest sums first), add into the outputs");
  const levels = range(rb.levels);
  emitAddLevelsIntoOutputs({ f, e, outDTs, redOp, counted: (count, body) => counted(f, count, body) }, kept, { scratchParam, sp, name: "bcur" }, (o) => levels.map((l) => at(o, l)), outBase);
}

/** Elements of the kept dims inside `dim`. */
function keptInside(canon: Canon, dim: number): number {
  let kept = 1;
  for (let d = dim + 1; d < canon.shape.length; d++) if (!canon.reduced[d]) kept *= canon.shape[d];
  return kept;
}
