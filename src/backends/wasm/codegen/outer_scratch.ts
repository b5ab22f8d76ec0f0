// Blocked accumulation over an outer reduced dim whose kept rows are too wide
// for registers (`sum(x, 0)` of [1e6, 64] or [1e5, 1000]), in a scratch row per
// block level that the caller passes to the kernel as one extra pointer.
//
// Adding row after row into the output is an error of eps·rows. Here each row
// goes into the level-0 scratch row; after OUTER_ROW_BLOCKS[0] rows, level 0 is
// added into level 1, after OUTER_ROW_BLOCKS[1] of those level 1 into level 2,
// and so on (as the levels of inner reductions, REDUCTION_BLOCKS, counted in
// rows), and at the end the levels are added into the outputs: every
// accumulator takes at most ~128 terms of similar size, so the error is
// ~eps·log(rows) at any row width. Rows still stream through memory once, as
// the row-by-row loop did: the extra work is one pass over a cache-resident
// scratch row per OUTER_ROW_BLOCKS[0] input rows. Rows enter level 0 a group
// (ROW_GROUP) at a time, so the scratch row is loaded and stored once per
// group. generate() (kernel_loops.ts) calls this for the dim just outside the
// kept innermost one; rows that fit OUTER_ROW_VECTORS vectors stay in registers
// there instead.

import type { FuncBuilder } from "./assembler";
import type { Emitter, Ex } from "./expr";
import { esize, identityBits, loadLanes, loadStrided, monoid, splatBroadcastInputs, storePartial } from "./kernel_emit";
import type { KDType, KernelSpec, ReduceOp } from "../../plan/kernel_graph";

/** Block levels of every blocked outer-axis reduction, in registers (kernel_loops.ts) or in scratch rows:
 * rows per level-0 block, then level-0 blocks per level-1 block, and so on. Level 0 takes 128
 * rows, not REDUCTION_BLOCKS' 32: each fold here is a pass over the scratch rows as long as an
 * input row, and at 32 it cost 7-11% on [1e6, 64] and [1e5, 1000] (measured in one process,
 * interleaved); at 128 the time is the row-by-row loop's, and the error stays ~1e-7 relative.
 * Both paths use the same levels so that a kernel split into column chunks (some narrow enough
 * for registers) gives bitwise the whole kernel's result. */
export const OUTER_ROW_BLOCKS = [128, 64, 64] as const;

/** Rows summed per pass over the level-0 scratch row (a divisor of OUTER_ROW_BLOCKS[0]). */
const ROW_GROUP = 8;
/** Kernels with more nodes than this sum row by row: their loop body, copied per row of a group, would grow too long. */
const MAX_GROUPED_NODES = 24;

/** Scratch rows per output: level 0 (rows) plus one per OUTER_ROW_BLOCKS entry. */
const LEVELS = OUTER_ROW_BLOCKS.length + 1;


/** Bytes of scratch a kernel whose kept rows hold `rowLength` elements needs, for `nOutputs` outputs.
 * Scratch rows hold whole vectors in register form (an i32 lane per bool), 16-byte aligned. */
export function outerScratchBytes(rowLength: number, nOutputs: number): number {
  return nOutputs * LEVELS * Math.ceil(rowLength / 4) * 16;
}

/** What the scratch emitter needs from the generator's state. */
export interface OuterScratchContext {
  f: FuncBuilder;
  e: Emitter;
  spec: KernelSpec;
  outDTs: KDType[];
  redOp: ReduceOp;
  /** Byte strides per pointer (inputs then outputs) per canonical dim. */
  bstr: number[][];
  /** The reduced dim walked here (the rows) and the kept innermost dim (their elements). */
  rowDim: number;
  innerDim: number;
  rows: number;
  rowLength: number;
  /** The local (parameter) holding the scratch pointer. */
  scratchParam: number;
  /** Evaluates the kernel's DAG on input values; returns the output values. */
  dag: (inputs: Ex[]) => Ex[];
  /** A counted loop of `count` (> 0) iterations around `body`. */
  counted: (count: number, body: () => void) => void;
}

/** Emits the sum (or product) over `ctx.rows` rows starting at the pointers `ps` (inputs then
 * outputs), added into the outputs once. Leaves `ps` unchanged. */
export function emitOuterRowsWithScratch(ctx: OuterScratchContext, ps: readonly number[]): void {
  const { f, e, spec, outDTs, redOp, bstr, rowDim, innerDim, rows, rowLength, scratchParam, dag, counted } = ctx;
  const nIn = spec.inputs.length;
  const fullVecs = Math.floor(rowLength / 4);
  const rem = rowLength % 4;
  const rowVecs = Math.ceil(rowLength / 4);
  const rowBytes = rowVecs * 16;
  /** Byte offset of output o's level-l scratch row from the scratch pointer. */
  const slot = (o: number, l: number): number => (o * LEVELS + l) * rowBytes;
  const loadScratch = (sp: number, off: number): Ex => (ff) => void ff.localGet(sp).mem("v128.load", off, 4);
  const storeScratch = (sp: number, off: number, val: Ex): void => {
    f.localGet(sp);
    val(f);
    f.mem("v128.store", off, 4);
  };

  // How the rows split into whole units of each level (highest first), as inner reductions do.
  const unitRows = [1];
  for (const b of OUTER_ROW_BLOCKS) unitRows.push(unitRows[unitRows.length - 1] * b);
  const topUnits: number[] = new Array<number>(LEVELS).fill(0);
  let left = rows;
  for (let l = LEVELS - 1; l >= 0; l--) {
    topUnits[l] = Math.floor(left / unitRows[l]);
    left -= topUnits[l] * unitRows[l];
  }
  const topLevel = topUnits.reduce((hi, q, l) => (q > 0 ? l : hi), 0);

  f.comment(
    `dim ${rowDim}: ${rows} (reduced), rows of ${rowLength} summed in scratch rows, blocked ${OUTER_ROW_BLOCKS.join("/")}`,
  );
  const sp = f.local("i32", "sp");
  /** One pass over the scratch rows' vectors; `body` uses `sp` as the current vector's address. */
  const scratchPass = (body: () => void): void => {
    f.localGet(scratchParam).localSet(sp);
    counted(rowVecs, () => {
      body();
      f.localGet(sp).i32Const(16).op("i32.add").localSet(sp);
    });
  };

  // Levels 1..topLevel start at the identity; level 0 is written (not added to) by each block's first row.
  if (topLevel >= 1) {
    scratchPass(() =>
      outDTs.forEach((dt, o) => {
        for (let l = 1; l <= topLevel; l++) storeScratch(sp, slot(o, l), e.ic(identityBits(redOp, dt)));
      }),
    );
  }

  const rowPtr = spec.inputs.map(() => f.local("i32", "srow"));
  const colPtr = spec.inputs.map(() => f.local("i32", "scol"));
  for (let k = 0; k < nIn; k++) f.localGet(ps[k]).localSet(rowPtr[k]);

  // Rows are taken ROW_GROUP at a time where every input can be read at a fixed offset from the
  // group's first row: each scratch vector is then loaded and stored once per group instead of
  // once per row, and the loop runs ROW_GROUP times less often. The rows still combine in order into the
  // accumulator (((s + r0) + r1) + ...), so the sum is bitwise the row-by-row one.
  const groupable =
    spec.nodes.length <= MAX_GROUPED_NODES &&
    spec.inputs.every((_, k) => bstr[k][rowDim] >= 0 && (bstr[k][innerDim] !== 0 || bstr[k][rowDim] === 0));

  /** `count` consecutive rows into level 0 (`first`: the level is empty, store instead of combining). */
  const rowGroup = (first: boolean, count: number): void => {
    const bcast = splatBroadcastInputs(f, e, spec.inputs, bstr, innerDim, rowPtr, "sb");
    for (let k = 0; k < nIn; k++) if (!bcast[k]) f.localGet(rowPtr[k]).localSet(colPtr[k]);
    f.localGet(scratchParam).localSet(sp);
    const vector = (lanes: number): void => {
      const accs: (Ex | null)[] = outDTs.map((_, o) => (first ? null : loadScratch(sp, slot(o, 0))));
      for (let r = 0; r < count; r++) {
        const ins = spec.inputs.map((inp, k) => {
          const bv = bcast[k];
          if (bv) return bv;
          const l = f.local("v128", "sin");
          loadStrided(f, inp.dtype, colPtr[k], bstr[k][innerDim], r * bstr[k][rowDim], lanes);
          f.localSet(l);
          return e.get(l);
        });
        dag(ins).forEach((v, o) => {
          const prev = accs[o];
          accs[o] = e.bind(prev === null ? v : monoid(e, redOp, outDTs[o], prev, v));
        });
      }
      accs.forEach((acc, o) => storeScratch(sp, slot(o, 0), acc!));
    };
    if (fullVecs > 0) {
      counted(fullVecs, () => {
        vector(4);
        for (let k = 0; k < nIn; k++) if (!bcast[k]) f.localGet(colPtr[k]).i32Const(4 * bstr[k][innerDim]).op("i32.add").localSet(colPtr[k]);
        f.localGet(sp).i32Const(16).op("i32.add").localSet(sp);
      });
    }
    if (rem > 0) vector(rem);
    for (let k = 0; k < nIn; k++) {
      const step = bstr[k][rowDim] * count;
      if (step !== 0) f.localGet(rowPtr[k]).i32Const(step).op("i32.add").localSet(rowPtr[k]);
    }
  };

  /** `count` rows into level 0, which starts empty: in groups where the inputs allow it. */
  const rowsIntoLevel0 = (count: number): void => {
    const group = groupable ? Math.min(ROW_GROUP, count) : 1;
    const groups = Math.floor(count / group);
    rowGroup(true, group);
    if (groups > 1) counted(groups - 1, () => rowGroup(false, group));
    for (let r = groups * group; r < count; r++) rowGroup(false, 1);
  };

  /** Adds level `from` into level `from + 1`; a level above 0 is reset to the identity (level 0 is
   * overwritten by the next block's first row). */
  const fold = (from: number): void =>
    scratchPass(() =>
      outDTs.forEach((dt, o) => {
        storeScratch(sp, slot(o, from + 1), monoid(e, redOp, dt, loadScratch(sp, slot(o, from + 1)), loadScratch(sp, slot(o, from))));
        if (from > 0) storeScratch(sp, slot(o, from), e.ic(identityBits(redOp, dt)));
      }),
    );

  /** `count` units of level `l` into level l (a level-0 unit is one row), starting with level l empty. */
  const units = (l: number, count: number): void => {
    if (count === 0) return;
    if (l === 0) {
      rowsIntoLevel0(count);
      return;
    }
    counted(count, () => {
      units(l - 1, OUTER_ROW_BLOCKS[l - 1]);
      fold(l - 1);
    });
  };
  for (let l = LEVELS - 1; l >= 0; l--) units(l, topUnits[l]);

  f.comment("combine the block levels (smallest sums first), add into the outputs");
  const used = topUnits.flatMap((q, l) => (q > 0 ? [l] : []));
  const outPtr = outDTs.map(() => f.local("i32", "sout"));
  outDTs.forEach((_, o) => f.localGet(ps[nIn + o]).localSet(outPtr[o]));
  emitAddLevelsIntoOutputs({ f, e, outDTs, redOp, counted }, rowLength, { scratchParam, sp, name: "scur" }, (o) => used.map((l) => slot(o, l)), outPtr);
}

/** Adds each output's block levels, summed smallest first, into its `elements` outputs from
 * `outPtr[o]`: the levels are scratch rows of whole vectors at `levelOffsets(o)` bytes from the
 * scratch pointer (`at.scratchParam`), walked with the local `at.sp`. Moves `outPtr`. */
export function emitAddLevelsIntoOutputs(
  ctx: Pick<OuterScratchContext, "f" | "e" | "outDTs" | "redOp" | "counted">,
  elements: number,
  at: { scratchParam: number; sp: number; name: string },
  levelOffsets: (o: number) => readonly number[],
  outPtr: readonly number[],
): void {
  const { f, e, outDTs, redOp, counted } = ctx;
  const { scratchParam, sp } = at;
  const load = (off: number): Ex => (ff) => void ff.localGet(sp).mem("v128.load", off, 4);
  const combine = (lanes: number): void =>
    outDTs.forEach((dt, o) => {
      const [first, ...rest] = levelOffsets(o);
      let acc: Ex = load(first);
      for (const off of rest) acc = e.bind(monoid(e, redOp, dt, acc, load(off)));
      const cur = f.local("v128", at.name);
      loadLanes(f, dt, outPtr[o], 0, lanes);
      f.localSet(cur);
      storePartial(f, dt, outPtr[o], e.bind(monoid(e, redOp, dt, e.get(cur), acc)), 0, lanes);
    });
  const fullVecs = Math.floor(elements / 4);
  const rem = elements % 4;
  f.localGet(scratchParam).localSet(sp);
  if (fullVecs > 0) {
    counted(fullVecs, () => {
      combine(4);
      outDTs.forEach((dt, o) => f.localGet(outPtr[o]).i32Const(4 * esize(dt)).op("i32.add").localSet(outPtr[o]));
      f.localGet(sp).i32Const(16).op("i32.add").localSet(sp);
    });
  }
  if (rem > 0) combine(rem);
}
