// Recurrent layers: the cells RNNCell (tanh), GRUCell and LSTMCell (PyTorch's
// gate equations and orders) that advance one time step, and the sequence
// layers RNN/GRU/LSTM that drive a cell over [batch, time, features] with
// lax.scan, so a whole sequence traces to one loop and backpropagation
// through time is the scan's transpose. Each cell's step is split into the
// input projection x·W_ih + b_ih, which does not depend on the carry, and the
// recurrent rest; the sequence layers project the whole sequence with one
// [time·batch, in]·[in, gates·hidden] matmul before the scan (as cuDNN and
// PyTorch's fused path do) and scan only the recurrent rest over its rows.

import * as lax from "../../lax";
import * as np from "../../numpy";
import * as random from "../../random";
import { scan } from "../../../transforms";
import { isTracer, type Tracer } from "../../core/trace";
import { ArgumentError } from "../../core/errors";
import { checkOptions, describeValue, opt, type OptionRule } from "../../core/options";
import { tanh, sigmoid } from "../functions";
import { lecunNormal, orthogonal, zeros, type Initializer } from "../initializers";
import { arrow } from "./dense";
import { defineLayer, expectShape, positiveInt, type Layer } from "./layer";

/** The carry of an LSTM: hidden state h and cell state c, each [..., hidden]. */
export interface LSTMCarry {
  h: Tracer;
  c: Tracer;
}

export interface RecurrentCellOptions {
  /** Initializer of the input kernel [in, gates·hidden] (default lecunNormal()). */
  kernelInit?: Initializer;
  /** Initializer of each gate's [hidden, hidden] recurrent kernel (default orthogonal(), as flax). */
  recurrentInit?: Initializer;
  /** Initializer of the biases (default zeros). */
  biasInit?: Initializer;
}

/** A cell: `applyStep(params, x_t, { carry })` → [carry, h]; `apply` returns h alone. x_t is [..., inputSize]. */
export interface RecurrentCell<P, C> extends Layer<P, {}, { carry?: C }> {
  readonly inputSize: number;
  readonly hiddenSize: number;
  /** Zeros of the carry for inputs with leading axes `batchShape` ([] unbatched). */
  initialCarry(batchShape: readonly number[]): C;
  /** One time step: [new carry, output h]. Without a carry it starts from zeros. */
  applyStep(params: P, x: Tracer, opts?: { carry?: C }): [C, Tracer];
}

export interface RNNCellParams {
  inputWeight: Tracer;
  hiddenWeight: Tracer;
  bias: Tracer;
}
export interface GRUCellParams {
  inputWeight: Tracer;
  hiddenWeight: Tracer;
  inputBias: Tracer;
  hiddenBias: Tracer;
}
export type LSTMCellParams = RNNCellParams;

const cellRules = { kernelInit: opt.function, recurrentInit: opt.function, biasInit: opt.function };
const carryRule: OptionRule = { expected: "an array, or { h, c } for an LSTM", accepts: (v) => isTracer(v) || (typeof v === "object" && v !== null) };

/** x·Wx + h·Wh (+ bias): the affine map every gate starts from. */
const affine = (x: Tracer, w: Tracer): Tracer => lax.dotGeneral(x, w, [[[x.ndim - 1], [0]], [[], []]]);

interface CellDef<P, C> {
  name: "RNNCell" | "GRUCell" | "LSTMCell";
  gates: number;
  inputSize: number;
  hiddenSize: number;
  opts: RecurrentCellOptions;
  biases: readonly (keyof P & string)[];
  zeroCarry(batchShape: readonly number[]): C;
  /** The carry's arrays, for shape checks. */
  carryParts(c: C): [string, Tracer][];
  /** The part of a step that does not read the carry: x [..., in] → [..., gates·hidden]. */
  projectInput(params: P, x: Tracer): Tracer;
  /** The rest of a step, from the carry and the projected input. */
  stepProjected(params: P, carry: C, projected: Tracer): [C, Tracer];
}

/** A cell and the two halves of its step, for the sequence layers to hoist the input projection out of the scan. */
interface CellParts<P, C> {
  cell: RecurrentCell<P, C>;
  projectInput(params: P, x: Tracer): Tracer;
  stepProjected(params: P, carry: C, projected: Tracer): [C, Tracer];
  /** Checks the carry's arrays against inputs with leading axes `batchShape`. */
  checkCarry(batchShape: readonly number[], carry: C): void;
}

function defineCell<P, C>(def: CellDef<P, C>): CellParts<P, C> {
  const where = `nn.${def.name}`;
  checkOptions(where, def.opts, cellRules);
  positiveInt(where, "inputSize", def.inputSize);
  positiveInt(where, "hiddenSize", def.hiddenSize);
  const { inputSize: F, hiddenSize: H, gates } = def;
  const kernelInit = def.opts.kernelInit ?? lecunNormal();
  const recurrentInit = def.opts.recurrentInit ?? orthogonal();
  const biasInit = def.opts.biasInit ?? zeros;
  const header = `${def.name}(${arrow(F, H)})`;
  const checkCarry = (batch: readonly number[], carry: C): void => {
    for (const [name, part] of def.carryParts(carry)) {
      if (!isTracer(part)) throw new ArgumentError(`${header}: carry ${name} must be an array, got ${describeValue(part)}`);
      expectShape(header, part.ndim === batch.length + 1 && part.shape.every((d, i) => d === (i < batch.length ? batch[i] : H)), `[${[...batch, H].join(", ")}]`, part, `carry ${name}`);
    }
  };
  const stepChecked = (params: P, x: Tracer, carry: C | undefined): [C, Tracer] => {
    expectShape(header, x.ndim >= 1 && x.shape[x.ndim - 1] === F, `[..., ${F}]`, x);
    const c = carry ?? def.zeroCarry(x.shape.slice(0, -1));
    checkCarry(x.shape.slice(0, -1), c);
    return def.stepProjected(params, c, def.projectInput(params, x));
  };
  const layer = defineLayer<P, {}, { carry?: C }>({
    name: def.name,
    header,
    optionRules: { carry: carryRule },
    init(key) {
      const [kx, kh, kb] = random.split(key, 3);
      const hk = random.split(kh, gates);
      const recurrent = np.concatenate([...Array(gates).keys()].map((g) => recurrentInit(hk.slice(g), [H, H])), 1);
      const params: Record<string, Tracer> = { inputWeight: kernelInit(kx, [F, gates * H]), hiddenWeight: recurrent };
      const bk = random.split(kb, def.biases.length);
      def.biases.forEach((b, i) => (params[b] = biasInit(bk.slice(i), [gates * H])));
      return { params: params as P, state: {} };
    },
    forward(params, state, x, { carry }) {
      return [stepChecked(params, x, carry)[1], state];
    },
  });
  const cell = Object.assign(layer, {
    inputSize: F,
    hiddenSize: H,
    initialCarry: (batchShape: readonly number[]) => def.zeroCarry(batchShape),
    applyStep(params: P, x: Tracer, opts?: { carry?: C }): [C, Tracer] {
      const o = checkOptions(`${header}.applyStep`, opts, { carry: carryRule });
      if (!isTracer(x)) throw new ArgumentError(`${header}.applyStep: x must be an array, got ${describeValue(x)}`);
      return stepChecked(params, x, o.carry);
    },
  });
  return { cell, projectInput: def.projectInput, stepProjected: def.stepProjected, checkCarry };
}

/** Split the last axis into `n` equal gate blocks. */
const gateBlocks = (t: Tracer, n: number): Tracer[] => np.split(t, n, t.ndim - 1);

/** Elman RNN cell: h' = tanh(x·Wx + h·Wh + b). The carry is h. */
export function RNNCell(inputSize: number, hiddenSize: number, opts: RecurrentCellOptions = {}): RecurrentCell<RNNCellParams, Tracer> {
  return rnnCellParts(inputSize, hiddenSize, opts).cell;
}

function rnnCellParts(inputSize: number, hiddenSize: number, opts: RecurrentCellOptions): CellParts<RNNCellParams, Tracer> {
  return defineCell<RNNCellParams, Tracer>({
    name: "RNNCell", gates: 1, inputSize, hiddenSize, opts, biases: ["bias"],
    zeroCarry: (b) => np.zeros([...b, hiddenSize]),
    carryParts: (h) => [["h", h]],
    projectInput: (p, x) => np.add(affine(x, p.inputWeight), p.bias),
    stepProjected(p, h, xProjected) {
      const next = tanh(np.add(xProjected, affine(h, p.hiddenWeight)));
      return [next, next];
    },
  });
}

/**
 * GRU cell with PyTorch's equations (gate blocks r, z, n):
 * r = σ(x·Wxr + bxr + h·Whr + bhr), z likewise, n = tanh(x·Wxn + bxn + r ⊙ (h·Whn + bhn)),
 * h' = (1 − z) ⊙ n + z ⊙ h. The carry is h.
 */
export function GRUCell(inputSize: number, hiddenSize: number, opts: RecurrentCellOptions = {}): RecurrentCell<GRUCellParams, Tracer> {
  return gruCellParts(inputSize, hiddenSize, opts).cell;
}

function gruCellParts(inputSize: number, hiddenSize: number, opts: RecurrentCellOptions): CellParts<GRUCellParams, Tracer> {
  return defineCell<GRUCellParams, Tracer>({
    name: "GRUCell", gates: 3, inputSize, hiddenSize, opts, biases: ["inputBias", "hiddenBias"],
    zeroCarry: (b) => np.zeros([...b, hiddenSize]),
    carryParts: (h) => [["h", h]],
    projectInput: (p, x) => np.add(affine(x, p.inputWeight), p.inputBias),
    stepProjected(p, h, xProjected) {
      const [xr, xz, xn] = gateBlocks(xProjected, 3);
      const [hr, hz, hn] = gateBlocks(np.add(affine(h, p.hiddenWeight), p.hiddenBias), 3);
      const r = sigmoid(np.add(xr, hr));
      const z = sigmoid(np.add(xz, hz));
      const n = tanh(np.add(xn, np.multiply(r, hn)));
      const next = np.add(np.multiply(np.subtract(1, z), n), np.multiply(z, h));
      return [next, next];
    },
  });
}

/**
 * LSTM cell with PyTorch's gate order (i, f, g, o):
 * c' = σ(f) ⊙ c + σ(i) ⊙ tanh(g), h' = σ(o) ⊙ tanh(c'). The carry is { h, c }.
 */
export function LSTMCell(inputSize: number, hiddenSize: number, opts: RecurrentCellOptions = {}): RecurrentCell<LSTMCellParams, LSTMCarry> {
  return lstmCellParts(inputSize, hiddenSize, opts).cell;
}

function lstmCellParts(inputSize: number, hiddenSize: number, opts: RecurrentCellOptions): CellParts<LSTMCellParams, LSTMCarry> {
  return defineCell<LSTMCellParams, LSTMCarry>({
    name: "LSTMCell", gates: 4, inputSize, hiddenSize, opts, biases: ["bias"],
    zeroCarry: (b) => ({ h: np.zeros([...b, hiddenSize]), c: np.zeros([...b, hiddenSize]) }),
    carryParts: (carry) => {
      if (typeof carry !== "object" || carry === null || isTracer(carry)) throw new ArgumentError(`LSTMCell: the carry must be { h, c }, got ${describeValue(carry)}`);
      return [["h", carry.h], ["c", carry.c]];
    },
    projectInput: (p, x) => np.add(affine(x, p.inputWeight), p.bias),
    stepProjected(p, { h, c }, xProjected) {
      const [i, f, g, o] = gateBlocks(np.add(xProjected, affine(h, p.hiddenWeight)), 4);
      const c2 = np.add(np.multiply(sigmoid(f), c), np.multiply(sigmoid(i), tanh(g)));
      const h2 = np.multiply(sigmoid(o), tanh(c2));
      return [{ h: h2, c: c2 }, h2];
    },
  });
}

// --- sequence layers -------------------------------------------------------------------

export interface RecurrentOptions extends RecurrentCellOptions {
  /** Return the outputs of every step [batch, time, hidden] (default true) or only the last [batch, hidden]. */
  returnSequences?: boolean;
}

/** A cell scanned over time: x [batch, time, features] (or [time, features]). */
export interface RecurrentLayer<P, C> extends Layer<P, {}, { initialCarry?: C }> {
  readonly cell: RecurrentCell<P, C>;
  /** The final carry and the outputs of every step [batch, time, hidden], e.g. to continue a sequence (sampling). */
  applyWithCarry(params: P, x: Tracer, opts?: { initialCarry?: C }): [C, Tracer];
}

function scanLayer<P, C>(name: "RNN" | "GRU" | "LSTM", parts: CellParts<P, C>, returnSequences: boolean): RecurrentLayer<P, C> {
  const { cell } = parts;
  const header = `${name}(${arrow(cell.inputSize, cell.hiddenSize)}${returnSequences ? "" : ", returnSequences=false"})`;
  const run = (params: P, x: Tracer, initialCarry: C | undefined): [C, Tracer] => {
    expectShape(header, (x.ndim === 3 || x.ndim === 2) && x.shape[x.ndim - 1] === cell.inputSize, `[batch, time, ${cell.inputSize}]`, x);
    const timeAxis = x.ndim - 2;
    const batchShape = x.shape.slice(0, timeAxis);
    const carry0 = initialCarry ?? cell.initialCarry(batchShape);
    if (x.shape[timeAxis] === 0) throw new ArgumentError(`${header}: the sequence has no time steps (x ${x.aval.str()})`);
    parts.checkCarry(batchShape, carry0);
    // Time-major before projecting: x is narrower than its projection (in < gates·hidden in the usual sizes),
    // so the transpose moves less data, and the scan reads contiguous [batch, gates·hidden] rows.
    const projected = parts.projectInput(params, np.moveaxis(x, timeAxis, 0));
    const [carry, ys] = scan((c, xt) => parts.stepProjected(params, c as C, xt), carry0, projected);
    return [carry as C, np.moveaxis(ys as Tracer, 0, timeAxis)];
  };
  const layer = defineLayer<P, {}, { initialCarry?: C }>({
    name,
    header,
    optionRules: { initialCarry: carryRule },
    init: (key) => ({ params: cell.init(key).params, state: {} }),
    forward(params, state, x, { initialCarry }) {
      const [, ys] = run(params, x, initialCarry);
      return [returnSequences ? ys : np.squeeze(lax.sliceInDim(ys, ys.shape[ys.ndim - 2] - 1, ys.shape[ys.ndim - 2], 1, ys.ndim - 2), ys.ndim - 2), state];
    },
  });
  return Object.assign(layer, {
    cell,
    applyWithCarry(params: P, x: Tracer, opts?: { initialCarry?: C }): [C, Tracer] {
      const o = checkOptions(`${header}.applyWithCarry`, opts, { initialCarry: carryRule });
      if (!isTracer(x)) throw new ArgumentError(`${header}.applyWithCarry: x must be an array, got ${describeValue(x)}`);
      return run(params, x, o.initialCarry);
    },
  });
}

const seqRules = { ...cellRules, returnSequences: opt.boolean };

function splitOptions(where: string, opts: RecurrentOptions): [RecurrentCellOptions, boolean] {
  checkOptions(where, opts, seqRules);
  const { returnSequences = true, ...cellOpts } = opts;
  return [cellOpts, returnSequences];
}

/** An Elman RNN over a sequence (RNNCell driven by lax.scan). Params are the cell's. */
export function RNN(inputSize: number, hiddenSize: number, opts: RecurrentOptions = {}): RecurrentLayer<RNNCellParams, Tracer> {
  const [cellOpts, seq] = splitOptions("nn.RNN", opts);
  return scanLayer("RNN", rnnCellParts(inputSize, hiddenSize, cellOpts), seq);
}

/** A GRU over a sequence (GRUCell driven by lax.scan). Params are the cell's. */
export function GRU(inputSize: number, hiddenSize: number, opts: RecurrentOptions = {}): RecurrentLayer<GRUCellParams, Tracer> {
  const [cellOpts, seq] = splitOptions("nn.GRU", opts);
  return scanLayer("GRU", gruCellParts(inputSize, hiddenSize, cellOpts), seq);
}

/** An LSTM over a sequence (LSTMCell driven by lax.scan); the carry is { h, c }. Params are the cell's. */
export function LSTM(inputSize: number, hiddenSize: number, opts: RecurrentOptions = {}): RecurrentLayer<LSTMCellParams, LSTMCarry> {
  const [cellOpts, seq] = splitOptions("nn.LSTM", opts);
  return scanLayer("LSTM", lstmCellParts(inputSize, hiddenSize, cellOpts), seq);
}
