// The transformation rules of the control-flow primitives cond, while and
// scan: jvp, vmap, partial evaluation and transpose. Each rule transforms the
// primitive's inner jaxprs (jaxpr_utils.ts) and binds the same primitive on
// the transformed jaxprs, so control flow survives every transformation:
//  - cond: jvp/vmap per branch (a batched predicate becomes a select over
//    all branches), partial eval with residuals from every branch, transpose
//    per branch;
//  - while: jvp and vmap with a fixed point over which carries get tangents /
//    a batch axis (a batched predicate runs until every lane is done); no
//    transpose (reverse mode needs scan / foriLoop with static bounds);
//  - scan: jvp/vmap with the same fixed point, partial eval with a fixed
//    point over unknown carries (residuals are stacked as extra ys, loop
//    invariant ones hoisted), and a transpose that runs the scan backwards.

import { Array, isArray } from "../../src/core/array";
import { TransformError } from "../../src/core/errors";
import { evalClosedJaxpr, evalJaxpr } from "../../src/core/eval_jaxpr";
import { ClosedJaxpr, Jaxpr, Var } from "../../src/core/ir";
import type { ParamsOf } from "../../src/core/primitives";
import { bind, bind1, type Tracer } from "../../src/core/trace";
import { traceFlatToJaxpr } from "../jaxpr_trace";
import type { JvpRule } from "../jvp";
import type { PartialEvalRule, PartialEvalTracer } from "../partial_eval";
import { Zero, instantiate, isDifferentiable, isZero, zerosOfAval, type Tangent } from "../tangents";
import { UndefinedPrimal, backwardPass, isUndefined, type LinearArg, type TransposeRule } from "../transpose";
import { matchBatchDim, moveAxis, vmapFlat, type BatchDim, type VmapRule } from "../vmap";
import {
  addUnusedInvars,
  any,
  dce,
  dependsOn,
  hoist,
  hoistBranches,
  jvpJaxpr,
  orFlags,
  partialEvalJaxpr,
  type PartialEvalJaxprResult,
  permuteInvars,
  permuteOutvars,
  pick,
  ranges,
  transposeJaxpr,
  vmapJaxpr,
} from "./jaxpr_utils";

type CF = "cond" | "while" | "scan";

const sameFlags = (a: readonly boolean[], b: readonly boolean[]) => a.every((x, i) => x === b[i]);
const count = (flags: readonly boolean[], value = true) => flags.filter((b) => b === value).length;
const falses = (n: number) => new globalThis.Array<boolean>(n).fill(false);
const int32 = (v: number) => Array.scalar(v, "int32");

/** Nonzero tangents that can carry a derivative (float dtype). */
function nonzeroFlags(primals: readonly Tracer[], tangents: readonly Tangent[]): boolean[] {
  return tangents.map((t, i) => !isZero(t) && isDifferentiable(primals[i].aval));
}

/** Rebuild per-output tangents: outputs marked nonzero take the next value of `vals`. */
function spreadTangents(primals: readonly Tracer[], nonzero: readonly boolean[], vals: readonly Tracer[]): Tangent[] {
  let k = 0;
  return primals.map((p, i) => (nonzero[i] ? vals[k++] : new Zero(p.aval)));
}

// =============================================================================
// cond
// =============================================================================

const condJvp: JvpRule<"cond"> = ([index, ...ops], [, ...opTangents], { branches }) => {
  const nz = nonzeroFlags(ops, opTangents);
  const nOut = branches[0].outAvals.length;
  let outNz = falses(nOut);
  for (const b of branches) outNz = orFlags(outNz, jvpJaxpr(b, nz, false).outNonzeros);
  const jvps = branches.map((b) => jvpJaxpr(b, nz, outNz).jaxpr);
  const { branches: hb, consts } = hoistBranches(jvps);
  const outs = bind("cond", [index, ...consts, ...ops, ...(pick(opTangents, nz) as Tracer[])], { branches: hb });
  const po = outs.slice(0, nOut);
  return [po, spreadTangents(po, outNz, outs.slice(nOut))];
};

/** A batched branch index picks per lane: evaluate every branch on the whole batch and select. */
function condBatchedIndex(axisSize: number, index: Tracer, indexDim: number, ops: Tracer[], opDims: BatchDim[], branches: ClosedJaxpr[]): Tracer[] {
  let idx = moveAxis(index, indexDim, 0);
  const n = branches.length;
  if (idx.dtype === "bool" && n > 2) idx = bind1("convert_element_type", [idx], { newDtype: "int32", weakType: false });
  if (idx.dtype !== "bool") {
    if (idx.dtype !== "int32") idx = bind1("convert_element_type", [idx], { newDtype: "int32", weakType: false });
    idx = bind1("clamp", [int32(0), idx, int32(n - 1)], {});
  }
  const perBranch = branches.map((b) =>
    vmapFlat((...xs) => evalJaxpr(b.jaxpr, b.consts, xs), axisSize, ops, opDims, (m) => new globalThis.Array<BatchDim>(m).fill(0)),
  );
  const outs = perBranch[0].map((o0, k) => {
    if (n === 1) return o0;
    const which = bind1("broadcast_in_dim", [idx], { shape: [...o0.shape], broadcastDimensions: [0] });
    return bind1("select_n", [which, ...perBranch.map((outs) => outs[k])], {});
  });
  return outs;
}

const condVmap: VmapRule<"cond"> = (axisSize, [index, ...ops], [indexDim, ...opDims], { branches }) => {
  if (indexDim !== null) {
    const outs = condBatchedIndex(axisSize, index, indexDim, ops, opDims, branches);
    return [outs, outs.map(() => 0)];
  }
  const inB = opDims.map((d) => d !== null);
  const moved = ops.map((x, i) => (opDims[i] === null ? x : moveAxis(x, opDims[i]!, 0)));
  let outB = falses(branches[0].outAvals.length);
  for (const b of branches) outB = orFlags(outB, vmapJaxpr(b, axisSize, inB, false).outBatched);
  const vb = branches.map((b) => vmapJaxpr(b, axisSize, inB, outB).jaxpr);
  const { branches: hb, consts } = hoistBranches(vb);
  const outs = bind("cond", [index, ...consts, ...moved], { branches: hb });
  return [outs, outB.map((b) => (b ? 0 : null))];
};

const condTranspose: TransposeRule<"cond"> = (cts, [index, ...ops], { branches }) => {
  if (isUndefined(index)) throw new TransformError("cond: cannot transpose with respect to the branch index (it is not linear)");
  const linear = ops.map(isUndefined);
  const res = ops.filter((o): o is Tracer => !isUndefined(o));
  const outAvals = branches[0].outAvals;
  const ctsIn = cts.map((c, i) => (isZero(c) ? zerosOfAval(outAvals[i]) : c));
  const tb = branches.map((b) => transposeJaxpr(b, linear));
  const { branches: hb, consts } = hoistBranches(tb);
  const outs = bind("cond", [index, ...consts, ...res, ...ctsIn], { branches: hb });
  let k = 0;
  return [null, ...linear.map((l) => (l ? outs[k++] : null))];
};

const condPartialEval: PartialEvalRule<"cond"> = (trace, tracers, params) => {
  const [index, ...ops] = tracers;
  const { branches } = params;
  if (!index.pval.isKnown) return trace.stage("cond", tracers, params);
  const idxVal = index.knownValue();
  if (isArray(idxVal)) {
    // A concrete index: only the chosen branch runs (under partial evaluation).
    const i = Math.min(Math.max(Number(idxVal.item()), 0), branches.length - 1);
    return evalClosedJaxpr(branches[i], ops).map((o) => (o._trace.main === trace.main ? o : trace.lift(o)));
  }
  const opsUk = ops.map((t) => !t.pval.isKnown);
  const nOut = branches[0].outAvals.length;
  let outUk = falses(nOut);
  for (const b of branches) outUk = orFlags(outUk, partialEvalJaxpr(b, opsUk, false).outUnknowns);
  const pes = branches.map((b) => partialEvalJaxpr(b, opsUk, outUk));
  const nKnownOut = count(outUk, false);
  const resAvals = pes.map((p) => p.known.outAvals.slice(nKnownOut));
  const knownOps = pick(ops, opsUk, false);
  const knownAvals = knownOps.map((t) => t.aval);
  // Known cond: each branch's known outputs, then the residuals of every branch
  // (zeros for the residuals of the branches not taken).
  const knownBranches = pes.map(
    (p, b) =>
      traceFlatToJaxpr((...kops: Tracer[]) => {
        const outs = evalJaxpr(p.known.jaxpr, p.known.consts, kops);
        const own = outs.slice(nKnownOut);
        return [...outs.slice(0, nKnownOut), ...resAvals.flatMap((avals, c) => (c === b ? own : avals.map(zerosOfAval)))];
      }, knownAvals).jaxpr,
  );
  const hk = hoistBranches(knownBranches);
  const knownOuts = bind("cond", [idxVal, ...hk.consts, ...knownOps.map((t) => t.knownValue())], { branches: hk.branches });
  const lift = (x: Tracer) => trace.lift(x) as PartialEvalTracer;
  if (!any(outUk)) return knownOuts.map(lift);
  const allRes = resAvals.flat();
  const residuals = knownOuts.slice(nKnownOut);
  // Unknown cond: every branch takes all residuals and uses its own.
  let offset = 0;
  const unknownBranches = pes.map((p, b) => {
    const before = resAvals.slice(0, b).flat();
    const after = resAvals.slice(b + 1).flat();
    const j = addUnusedInvars(addUnusedInvars(p.unknown, before, 0), after, before.length + p.numRes);
    offset += p.numRes;
    return j;
  });
  if (offset !== allRes.length) throw new TransformError("internal: cond partial evaluation lost track of residuals");
  const staged = trace.stage("cond", [index, ...residuals.map(lift), ...pick(ops, opsUk)], { branches: unknownBranches });
  let k = 0;
  let u = 0;
  return outUk.map((uk) => (uk ? staged[u++] : lift(knownOuts[k++])));
};

// =============================================================================
// while
// =============================================================================

function splitWhile<T>(args: readonly T[], p: ParamsOf<"while">): [T[], T[], T[]] {
  const { condNconsts: nc, bodyNconsts: nb } = p;
  return [args.slice(0, nc), args.slice(nc, nc + nb), args.slice(nc + nb)];
}

const whileJvp: JvpRule<"while"> = (primals, tangents, params) => {
  const { condJaxpr, bodyJaxpr } = params;
  const [cc, bc, carry] = splitWhile(primals, params);
  const [, bcT, carryT] = splitWhile(tangents, params);
  const bcNz = nonzeroFlags(bc, bcT);
  let carryNz = nonzeroFlags(carry, carryT);
  for (;;) {
    const { outNonzeros } = jvpJaxpr(bodyJaxpr, [...bcNz, ...carryNz], carryNz);
    const next = orFlags(carryNz, outNonzeros);
    if (sameFlags(next, carryNz)) break;
    carryNz = next;
  }
  if (!any(carryNz)) {
    const outs = bind("while", primals, params);
    return [outs, outs.map((o) => new Zero(o.aval))];
  }
  const nBC = bc.length;
  const nK = carry.length;
  const nBT = count(bcNz);
  const nKT = count(carryNz);
  const { jaxpr: jb } = jvpJaxpr(bodyJaxpr, [...bcNz, ...carryNz], carryNz);
  // [bc, carry, bcT, carryT] -> [bc, bcT, carry, carryT]
  const body = hoist(permuteInvars(jb, ranges([0, nBC], [nBC + nK, nBT], [nBC, nK], [nBC + nK + nBT, nKT])));
  const carryTAvals = pick(carry, carryNz).map((c) => c.aval);
  const cond = hoist(addUnusedInvars(condJaxpr, carryTAvals, cc.length + nK));
  const carryTangents = carryT.filter((_, i) => carryNz[i]).map((t) => instantiate(t));
  const outs = bind("while", [...cond.consts, ...cc, ...body.consts, ...bc, ...(pick(bcT, bcNz) as Tracer[]), ...carry, ...carryTangents], {
    condJaxpr: cond.jaxpr,
    bodyJaxpr: body.jaxpr,
    condNconsts: cond.consts.length + cc.length,
    bodyNconsts: body.consts.length + nBC + nBT,
  });
  const po = outs.slice(0, nK);
  return [po, spreadTangents(po, carryNz, outs.slice(nK))];
};

const whileVmap: VmapRule<"while"> = (axisSize, args, dims, params) => {
  const { condJaxpr, bodyJaxpr } = params;
  const [cc, bc, carry] = splitWhile(args, params);
  const [ccD, bcD, carryD] = splitWhile(dims, params);
  const ccB = ccD.map((d) => d !== null);
  const bcB = bcD.map((d) => d !== null);
  let carryB = carryD.map((d) => d !== null);
  for (;;) {
    const { outBatched } = vmapJaxpr(bodyJaxpr, axisSize, [...bcB, ...carryB], carryB);
    const next = orFlags(carryB, outBatched);
    if (sameFlags(next, carryB)) break;
    carryB = next;
  }
  const predBatched = vmapJaxpr(condJaxpr, axisSize, [...ccB, ...carryB], false).outBatched[0];
  // Lanes finish at different times: every carry needs its own value per lane.
  if (predBatched) carryB = carryB.map(() => true);
  const to0 = (x: Tracer, d: BatchDim) => (d === null ? x : moveAxis(x, d, 0));
  const ccM = cc.map((x, i) => to0(x, ccD[i]));
  const bcM = bc.map((x, i) => to0(x, bcD[i]));
  const carryM = carry.map((x, i) => (carryB[i] ? matchBatchDim(x, carryD[i], axisSize, 0) : x));
  const vBody = vmapJaxpr(bodyJaxpr, axisSize, [...bcB, ...carryB], carryB).jaxpr;
  const vCond = vmapJaxpr(condJaxpr, axisSize, [...ccB, ...carryB], false).jaxpr;
  const outDims = carryB.map((b) => (b ? 0 : null));
  if (!predBatched) {
    const hb = hoist(vBody);
    const hc = hoist(vCond);
    const outs = bind("while", [...hc.consts, ...ccM, ...hb.consts, ...bcM, ...carryM], {
      condJaxpr: hc.jaxpr,
      bodyJaxpr: hb.jaxpr,
      condNconsts: hc.consts.length + cc.length,
      bodyNconsts: hb.consts.length + bc.length,
    });
    return [outs, outDims];
  }
  // Batched predicate: loop while any lane's predicate holds; the body steps
  // only the lanes whose predicate still holds and keeps the others as they are.
  const nCC = cc.length;
  const nBC = bc.length;
  const ccAvals = ccM.map((x) => x.aval);
  const bcAvals = bcM.map((x) => x.aval);
  const carryAvals = carryM.map((x) => x.aval);
  const anyCond = traceFlatToJaxpr((...a: Tracer[]) => {
    const [pred] = evalJaxpr(vCond.jaxpr, vCond.consts, a);
    return [bind1("reduce_or", [pred], { axes: [0] })];
  }, [...ccAvals, ...carryAvals]).jaxpr;
  const maskedBody = traceFlatToJaxpr((...a: Tracer[]) => {
    const ccv = a.slice(0, nCC);
    const bcv = a.slice(nCC, nCC + nBC);
    const cv = a.slice(nCC + nBC);
    const [pred] = evalJaxpr(vCond.jaxpr, vCond.consts, [...ccv, ...cv]);
    const stepped = evalJaxpr(vBody.jaxpr, vBody.consts, [...bcv, ...cv]);
    return cv.map((old, i) => {
      const which = bind1("broadcast_in_dim", [pred], { shape: [...old.shape], broadcastDimensions: [0] });
      return bind1("select_n", [which, old, stepped[i]], {});
    });
  }, [...ccAvals, ...bcAvals, ...carryAvals]).jaxpr;
  const hc = hoist(anyCond);
  const hb = hoist(maskedBody);
  const outs = bind("while", [...hc.consts, ...ccM, ...hb.consts, ...ccM, ...bcM, ...carryM], {
    condJaxpr: hc.jaxpr,
    bodyJaxpr: hb.jaxpr,
    condNconsts: hc.consts.length + nCC,
    bodyNconsts: hb.consts.length + nCC + nBC,
  });
  return [outs, outDims];
};

/** The known part of a partially evaluated jaxpr without its residual outputs. */
function knownOnly(pe: PartialEvalJaxprResult): ClosedJaxpr {
  const nOut = pe.known.outAvals.length - pe.numRes;
  const { jaxpr } = dce(pe.known.jaxpr, pe.known.jaxpr.outvars.map((_, i) => i < nOut));
  return new ClosedJaxpr(jaxpr, pe.known.consts);
}

const whilePartialEval: PartialEvalRule<"while"> = (trace, tracers, params) => {
  const { condJaxpr, bodyJaxpr } = params;
  const [cc, bc, carry] = splitWhile(tracers, params);
  const ccUk = cc.map((t) => !t.pval.isKnown);
  const bcUk = bc.map((t) => !t.pval.isKnown);
  let carryUk = carry.map((t) => !t.pval.isKnown);
  let bodyPe: PartialEvalJaxprResult;
  for (;;) {
    bodyPe = partialEvalJaxpr(bodyJaxpr, [...bcUk, ...carryUk], carryUk);
    const next = orFlags(carryUk, bodyPe.outUnknowns);
    if (sameFlags(next, carryUk)) break;
    carryUk = next;
  }
  const condPe = partialEvalJaxpr(condJaxpr, [...ccUk, ...carryUk], false);
  if (condPe.outUnknowns[0]) return trace.stage("while", tracers, params);
  // The known carries evolve on their own: run a loop over them now. The
  // unknown ones need the whole loop (recomputing the known part): stage it.
  const known = (ts: PartialEvalTracer[], uk: boolean[]) => pick(ts, uk, false).map((t) => t.knownValue());
  const kBody = hoist(knownOnly(bodyPe));
  const kCond = hoist(knownOnly(condPe));
  const kc = known(cc, ccUk);
  const kb = known(bc, bcUk);
  const knownOuts = bind("while", [...kCond.consts, ...kc, ...kBody.consts, ...kb, ...known(carry, carryUk)], {
    condJaxpr: kCond.jaxpr,
    bodyJaxpr: kBody.jaxpr,
    condNconsts: kCond.consts.length + kc.length,
    bodyNconsts: kBody.consts.length + kb.length,
  });
  const lift = (x: Tracer) => trace.lift(x) as PartialEvalTracer;
  if (!any(carryUk)) return knownOuts.map(lift);
  const staged = trace.stage("while", tracers, params);
  let k = 0;
  return carryUk.map((uk, i) => (uk ? staged[i] : lift(knownOuts[k++])));
};

// =============================================================================
// scan
// =============================================================================

function splitScan<T>(args: readonly T[], p: ParamsOf<"scan">): [T[], T[], T[]] {
  const { numConsts: nc, numCarry: nk } = p;
  return [args.slice(0, nc), args.slice(nc, nc + nk), args.slice(nc + nk)];
}

const scanJvp: JvpRule<"scan"> = (primals, tangents, params) => {
  const { jaxpr, length, reverse, linear } = params;
  const [consts, carry, xs] = splitScan(primals, params);
  const [constT, carryT, xsT] = splitScan(tangents, params);
  const nC = consts.length;
  const nK = carry.length;
  const nX = xs.length;
  const nY = jaxpr.outAvals.length - nK;
  const constNz = nonzeroFlags(consts, constT);
  const xsNz = nonzeroFlags(xs, xsT);
  let carryNz = nonzeroFlags(carry, carryT);
  for (;;) {
    const { outNonzeros } = jvpJaxpr(jaxpr, [...constNz, ...carryNz, ...xsNz], [...carryNz, ...falses(nY)]);
    const next = orFlags(carryNz, outNonzeros.slice(0, nK));
    if (sameFlags(next, carryNz)) break;
    carryNz = next;
  }
  const { jaxpr: j, outNonzeros } = jvpJaxpr(jaxpr, [...constNz, ...carryNz, ...xsNz], [...carryNz, ...falses(nY)]);
  const ysNz = outNonzeros.slice(nK);
  const [nCT, nKT, nXT, nYT] = [count(constNz), count(carryNz), count(xsNz), count(ysNz)];
  const p0 = nC + nK + nX;
  // invars [consts, carry, xs, constT, carryT, xsT] -> [consts, constT, carry, carryT, xs, xsT]
  const reordered = permuteInvars(j, ranges([0, nC], [p0, nCT], [nC, nK], [p0 + nCT, nKT], [nC + nK, nX], [p0 + nCT + nKT, nXT]));
  // outvars [carry, ys, carryT, ysT] -> [carry, carryT, ys, ysT]
  const body = hoist(permuteOutvars(reordered, ranges([0, nK], [nK + nY, nKT], [nK, nY], [nK + nY + nKT, nYT])));
  const [lc, lk, lx] = splitScan(linear, params);
  const outs = bind(
    "scan",
    [...body.consts, ...consts, ...(pick(constT, constNz) as Tracer[]), ...carry, ...carryT.filter((_, i) => carryNz[i]).map((t) => instantiate(t)), ...xs, ...(pick(xsT, xsNz) as Tracer[])],
    {
      jaxpr: body.jaxpr,
      numConsts: body.consts.length + nC + nCT,
      numCarry: nK + nKT,
      length,
      reverse,
      linear: [...falses(body.consts.length), ...lc, ...new globalThis.Array<boolean>(nCT).fill(true), ...lk, ...new globalThis.Array<boolean>(nKT).fill(true), ...lx, ...new globalThis.Array<boolean>(nXT).fill(true)],
    },
  );
  const carryOut = outs.slice(0, nK);
  const ys = outs.slice(nK + nKT, nK + nKT + nY);
  return [
    [...carryOut, ...ys],
    [...spreadTangents(carryOut, carryNz, outs.slice(nK, nK + nKT)), ...spreadTangents(ys, ysNz, outs.slice(nK + nKT + nY))],
  ];
};

const scanVmap: VmapRule<"scan"> = (axisSize, args, dims, params) => {
  const { jaxpr, length, reverse, linear } = params;
  const [consts, carry, xs] = splitScan(args, params);
  const [constD, carryD, xsD] = splitScan(dims, params);
  const nK = carry.length;
  const nY = jaxpr.outAvals.length - nK;
  const constB = constD.map((d) => d !== null);
  const xsB = xsD.map((d) => d !== null);
  let carryB = carryD.map((d) => d !== null);
  for (;;) {
    const { outBatched } = vmapJaxpr(jaxpr, axisSize, [...constB, ...carryB, ...xsB], [...carryB, ...falses(nY)]);
    const next = orFlags(carryB, outBatched.slice(0, nK));
    if (sameFlags(next, carryB)) break;
    carryB = next;
  }
  const { jaxpr: vb, outBatched } = vmapJaxpr(jaxpr, axisSize, [...constB, ...carryB, ...xsB], [...carryB, ...falses(nY)]);
  const body = hoist(vb);
  // Per step the body sees a slice of xs with its batch axis first, so batched
  // xs carry it at axis 1 (after the scanned axis); stacked ys come out the same way.
  const constM = consts.map((x, i) => (constD[i] === null ? x : moveAxis(x, constD[i]!, 0)));
  const carryM = carry.map((x, i) => (carryB[i] ? matchBatchDim(x, carryD[i], axisSize, 0) : x));
  const xsM = xs.map((x, i) => (xsD[i] === null ? x : moveAxis(x, xsD[i]!, 1)));
  const outs = bind("scan", [...body.consts, ...constM, ...carryM, ...xsM], {
    jaxpr: body.jaxpr,
    numConsts: body.consts.length + consts.length,
    numCarry: nK,
    length,
    reverse,
    linear: [...falses(body.consts.length), ...linear],
  });
  return [outs, [...carryB.map((b) => (b ? 0 : null)), ...outBatched.slice(nK).map((b) => (b ? 1 : null))]];
};

const scanPartialEval: PartialEvalRule<"scan"> = (trace, tracers, params) => {
  const { jaxpr, length, reverse } = params;
  const [consts, carry, xs] = splitScan(tracers, params);
  const nK = carry.length;
  const nY = jaxpr.outAvals.length - nK;
  const constUk = consts.map((t) => !t.pval.isKnown);
  const xsUk = xs.map((t) => !t.pval.isKnown);
  let carryUk = carry.map((t) => !t.pval.isKnown);
  // Fixed point: a carry is unknown if it starts unknown or the body makes it so.
  for (;;) {
    const { outUnknowns } = partialEvalJaxpr(jaxpr, [...constUk, ...carryUk, ...xsUk], [...carryUk, ...falses(nY)]);
    const next = orFlags(carryUk, outUnknowns.slice(0, nK));
    if (sameFlags(next, carryUk)) break;
    carryUk = next;
  }
  const pe = partialEvalJaxpr(jaxpr, [...constUk, ...carryUk, ...xsUk], [...carryUk, ...falses(nY)]);
  const ysUk = pe.outUnknowns.slice(nK);
  const [nKC, nKK, nKX, nKY] = [count(constUk, false), count(carryUk, false), count(xsUk, false), count(ysUk, false)];
  const numRes = pe.numRes;
  const kj = pe.known.jaxpr;
  const nKO = nKK + nKY;
  // Residuals that depend on no carry or xs are loop invariant: computed once, passed as consts.
  const variant = dependsOn(kj, kj.invars.map((_, i) => i >= nKC)).slice(nKO);
  // Residuals that are a known xs passed through unchanged: reuse that xs as the stacked residual.
  const xsInvars = kj.invars.slice(nKC + nKK);
  const fwdXs = kj.outvars.slice(nKO).map((a, r) => (variant[r] && a instanceof Var ? xsInvars.indexOf(a) : -1));
  const knownVals = (ts: PartialEvalTracer[], uk: boolean[]) => pick(ts, uk, false).map((t) => t.knownValue());
  const kConsts = knownVals(consts, constUk);
  const kCarry = knownVals(carry, carryUk);
  const kXs = knownVals(xs, xsUk);
  let invVals: Tracer[] = [];
  if (variant.some((v) => !v)) {
    const { jaxpr: dj } = dce(kj, kj.outvars.map((_, o) => o >= nKO && !variant[o - nKO]));
    invVals = evalJaxpr(new Jaxpr(dj.constvars, dj.invars.slice(0, nKC), dj.eqns, dj.outvars), pe.known.consts, kConsts);
  }
  const stack = variant.map((v, r) => v && fwdXs[r] < 0);
  const { jaxpr: kjd } = dce(kj, kj.outvars.map((_, o) => o < nKO || stack[o - nKO]));
  const kBody = hoist(new ClosedJaxpr(kjd, pe.known.consts));
  const kOuts = bind("scan", [...kBody.consts, ...kConsts, ...kCarry, ...kXs], {
    jaxpr: kBody.jaxpr,
    numConsts: kBody.consts.length + nKC,
    numCarry: nKK,
    length,
    reverse,
    linear: falses(kBody.consts.length + nKC + nKK + nKX),
  });
  const lift = (x: Tracer) => trace.lift(x) as PartialEvalTracer;
  const kCarryOut = kOuts.slice(0, nKK);
  const kYs = kOuts.slice(nKK, nKO);
  const assemble = (staged: Tracer[]) => {
    let k = 0;
    let u = 0;
    const carryOut = carryUk.map((uk) => (uk ? staged[u++] : lift(kCarryOut[k++])));
    k = 0;
    const ys = ysUk.map((uk) => (uk ? staged[u++] : lift(kYs[k++])));
    return [...carryOut, ...ys];
  };
  if (!any(carryUk) && !any(ysUk)) return assemble([]);
  // Residual values, in the unknown jaxpr's order.
  const stacked = kOuts.slice(nKO);
  let s = 0;
  let iv = 0;
  const resVals = variant.map((v, r) => (!v ? invVals[iv++] : fwdXs[r] >= 0 ? kXs[fwdXs[r]] : stacked[s++]));
  const invIdx = variant.flatMap((v, r) => (v ? [] : [r]));
  const varIdx = variant.flatMap((v, r) => (v ? [r] : []));
  const [nUC, nUK, nUX] = [count(constUk), count(carryUk), count(xsUk)];
  // unknown jaxpr invars [res, ukConsts, ukCarry, ukXs] -> [invariant res, ukConsts, ukCarry, variant res, ukXs]
  const unknown = permuteInvars(pe.unknown, [...invIdx, ...ranges([numRes, nUC], [numRes + nUC, nUK]), ...varIdx, ...ranges([numRes + nUC + nUK, nUX])]);
  const operands = [
    ...invIdx.map((r) => lift(resVals[r])),
    ...pick(consts, constUk),
    ...pick(carry, carryUk),
    ...varIdx.map((r) => lift(resVals[r])),
    ...pick(xs, xsUk),
  ];
  const staged = trace.stage("scan", operands, {
    jaxpr: unknown,
    numConsts: invIdx.length + nUC,
    numCarry: nUK,
    length,
    reverse,
    linear: falses(operands.length),
  });
  return assemble(staged);
};

const scanTranspose: TransposeRule<"scan"> = (cts, args, params) => {
  const { jaxpr, length, reverse } = params;
  const [consts, carry, xs] = splitScan(args, params);
  const nC = consts.length;
  const nK = carry.length;
  const nY = jaxpr.outAvals.length - nK;
  const constLin = consts.map(isUndefined);
  const xsLin = xs.map(isUndefined);
  const resConsts = consts.filter((c): c is Tracer => !isUndefined(c));
  const resXs = xs.filter((x): x is Tracer => !isUndefined(x));
  const inAvals = jaxpr.inAvals;
  const [constAvals, carryAvals, xAvals] = splitScan(inAvals, params);
  const linConstAvals = pick(constAvals, constLin);
  const yAvals = jaxpr.outAvals.slice(nK);
  const outAvalsAll = [...carryAvals, ...yAvals.map((a) => a.withShape([length, ...a.shape]))];
  const ctsIn = cts.map((c, i) => (isZero(c) ? zerosOfAval(outAvalsAll[i]) : c));
  const nRC = resConsts.length;
  const nLC = linConstAvals.length;
  const nRX = resXs.length;
  // One step backwards: [resConsts, ctConstsAcc, ctCarry, resX, ctY] -> [ctConstsAcc', ctCarryIn, ctX].
  const { jaxpr: bodyT } = traceFlatToJaxpr(
    (...a: Tracer[]) => {
      const rc = a.slice(0, nRC);
      const acc = a.slice(nRC, nRC + nLC);
      const ctCarry = a.slice(nRC + nLC, nRC + nLC + nK);
      const rx = a.slice(nRC + nLC + nK, nRC + nLC + nK + nRX);
      const ctY = a.slice(nRC + nLC + nK + nRX);
      let i = 0;
      let j = 0;
      const lin: LinearArg[] = [
        ...constAvals.map((av, c) => (constLin[c] ? new UndefinedPrimal(av) : rc[i++])),
        ...carryAvals.map((av) => new UndefinedPrimal(av)),
        ...xAvals.map((av, x) => (xsLin[x] ? new UndefinedPrimal(av) : rx[j++])),
      ];
      const out = backwardPass(jaxpr.jaxpr, jaxpr.consts, lin, [...ctCarry, ...ctY]);
      const ctOf = (k: number): Tangent => out[k] ?? new Zero(inAvals[k]);
      let l = 0;
      const newAcc = constAvals.flatMap((_, c) => {
        if (!constLin[c]) return [];
        const prev = acc[l++];
        const ct = ctOf(c);
        return [isZero(ct) ? prev : bind1("add", [prev, ct], {})];
      });
      const ctCarryIn = carryAvals.map((_, k) => instantiate(ctOf(nC + k)));
      const ctX = xAvals.flatMap((_, x) => (xsLin[x] ? [instantiate(ctOf(nC + nK + x))] : []));
      return [...newAcc, ...ctCarryIn, ...ctX];
    },
    [...resConsts.map((c) => c.aval), ...linConstAvals, ...carryAvals, ...pick(xAvals, xsLin, false), ...yAvals],
  );
  const body = hoist(bodyT);
  const outs = bind(
    "scan",
    [...body.consts, ...resConsts, ...linConstAvals.map(zerosOfAval), ...ctsIn.slice(0, nK), ...resXs, ...ctsIn.slice(nK)],
    {
      jaxpr: body.jaxpr,
      numConsts: body.consts.length + nRC,
      numCarry: nLC + nK,
      length,
      reverse: !reverse,
      linear: [...falses(body.consts.length + nRC), ...new globalThis.Array<boolean>(nLC + nK).fill(true), ...falses(nRX), ...new globalThis.Array<boolean>(nY).fill(true)],
    },
  );
  const ctConsts = outs.slice(0, nLC);
  const ctCarry = outs.slice(nLC, nLC + nK);
  const ctXs = outs.slice(nLC + nK);
  let a = 0;
  let b = 0;
  return [...constLin.map((l) => (l ? ctConsts[a++] : null)), ...ctCarry, ...xsLin.map((l) => (l ? ctXs[b++] : null))];
};

// =============================================================================
// the tables
// =============================================================================

export const controlFlowJvpRules: { [P in CF]: JvpRule<P> } = {
  cond: condJvp,
  while: whileJvp,
  scan: scanJvp,
};

export const controlFlowVmapRules: { [P in CF]: VmapRule<P> } = {
  cond: condVmap,
  while: whileVmap,
  scan: scanVmap,
};

/** while has no transpose: reverse mode through it raises a TransformError pointing to scan / foriLoop. */
export const controlFlowTransposeRules: { [P in CF]: TransposeRule<P> | null } = {
  cond: condTranspose,
  while: null,
  scan: scanTranspose,
};

export const controlFlowPartialEvalRules: { [P in CF]: PartialEvalRule<P> } = {
  cond: condPartialEval,
  while: whilePartialEval,
  scan: scanPartialEval,
};
