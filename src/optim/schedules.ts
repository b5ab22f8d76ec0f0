// Learning-rate schedules (optax semantics): functions of the step count
// (a JS number or an int32 array, possibly traced under jit) returning the
// value as a float32 array. Built with numpy ops and `where`, so they stage
// under jit without retracing per step.

import * as np from "../numpy";
import { ArgumentError, asCalledFrom } from "../core/errors";
import { isTracer, type Tracer } from "../core/trace";
import { checkOptions, opt } from "../core/options";

/** A schedule maps the step count to a value (a float32 scalar array). */
export type Schedule = (count: number | Tracer) => Tracer;
/** A learning rate: a constant or a schedule of the step count. */
export type ScalarOrSchedule = number | Schedule;

function countArg(where: string, count: number | Tracer): Tracer {
  if (typeof count === "number") return np.asarray(count, { dtype: "float32" });
  if (!isTracer(count)) throw new ArgumentError(`optim.${where}: the step count must be a number or an int32 array, got ${typeof count}`);
  return np.astype(count, "float32");
}

function num(where: string, name: string, x: unknown, opts: { positive?: boolean; nonNegative?: boolean; integer?: boolean } = {}): number {
  if (typeof x !== "number" || !Number.isFinite(x)) throw new ArgumentError(`optim.${where}: ${name} must be a finite number, got ${String(x)}`);
  if (opts.positive && !(x > 0)) throw new ArgumentError(`optim.${where}: ${name} must be positive, got ${x}`);
  if (opts.nonNegative && !(x >= 0)) throw new ArgumentError(`optim.${where}: ${name} must be non-negative, got ${x}`);
  if (opts.integer && !Number.isInteger(x)) throw new ArgumentError(`optim.${where}: ${name} must be an integer, got ${x}`);
  return x;
}

const f32 = (v: number): Tracer => np.asarray(v, { dtype: "float32" });

/** Always `value`. */
export function constantSchedule(value: number): Schedule {
  num("constantSchedule", "value", value);
  return () => f32(value);
}

/** (init - end)·(1 - t/steps)^power + end for t = clip(count - begin, 0, steps). */
export function polynomialSchedule(initValue: number, endValue: number, power: number, transitionSteps: number, transitionBegin = 0): Schedule {
  const w = "polynomialSchedule";
  num(w, "initValue", initValue);
  num(w, "endValue", endValue);
  num(w, "power", power);
  num(w, "transitionSteps", transitionSteps, { integer: true });
  num(w, "transitionBegin", transitionBegin, { integer: true, nonNegative: true });
  if (transitionSteps <= 0) return () => f32(initValue); // optax: a constant schedule
  return (count) => {
    const t = np.clip(np.subtract(countArg(w, count), transitionBegin), 0, transitionSteps);
    const frac = np.subtract(1, np.divide(t, transitionSteps));
    const p = power === 1 ? frac : np.power(frac, power);
    return np.add(np.multiply(initValue - endValue, p), endValue);
  };
}

/** Linear interpolation from initValue to endValue over transitionSteps. */
export function linearSchedule(initValue: number, endValue: number, transitionSteps: number, transitionBegin = 0): Schedule {
  return asCalledFrom("linearSchedule", () => {
    return polynomialSchedule(initValue, endValue, 1, transitionSteps, transitionBegin);
  });
}

export interface ExponentialDecayOptions {
  transitionBegin?: number;
  staircase?: boolean;
  /** A floor (decayRate < 1) or ceiling (decayRate > 1) of the value. */
  endValue?: number;
}

/** init · decayRate^((count - begin) / transitionSteps), floored per step with staircase. */
export function exponentialDecay(initValue: number, transitionSteps: number, decayRate: number, opts: ExponentialDecayOptions = {}): Schedule {
  checkOptions("optim.exponentialDecay", opts, { transitionBegin: opt.nonNegative, staircase: opt.boolean, endValue: opt.number });
  const w = "exponentialDecay";
  num(w, "initValue", initValue);
  num(w, "transitionSteps", transitionSteps);
  num(w, "decayRate", decayRate, { positive: true });
  const begin = num(w, "transitionBegin", opts.transitionBegin ?? 0, { nonNegative: true });
  if (transitionSteps <= 0) return () => f32(initValue);
  const logRate = Math.log(decayRate);
  return (count) => {
    const c = np.subtract(countArg(w, count), begin);
    let p = np.divide(c, transitionSteps);
    if (opts.staircase) p = np.floor(p);
    let v = np.where(np.lessEqual(c, 0), f32(initValue), np.multiply(initValue, np.exp(np.multiply(p, logRate))));
    if (opts.endValue !== undefined) v = decayRate < 1 ? np.maximum(v, opts.endValue) : np.minimum(v, opts.endValue);
    return v;
  };
}

/** init · ((1 - alpha)·(½(1 + cos(π·min(count, decaySteps)/decaySteps)))^exponent + alpha). */
export function cosineDecaySchedule(initValue: number, decaySteps: number, alpha = 0, exponent = 1): Schedule {
  const w = "cosineDecaySchedule";
  num(w, "initValue", initValue);
  num(w, "decaySteps", decaySteps, { positive: true, integer: true });
  num(w, "alpha", alpha);
  num(w, "exponent", exponent);
  return (count) => {
    const c = np.minimum(countArg(w, count), decaySteps);
    const cosine = np.multiply(0.5, np.add(1, np.cos(np.multiply(Math.PI / decaySteps, c))));
    const shaped = exponent === 1 ? cosine : np.power(cosine, exponent);
    return np.multiply(initValue, np.add(np.multiply(1 - alpha, shaped), alpha));
  };
}

/** Schedules joined at boundaries: schedules[i+1] runs on (count - boundaries[i]) once count >= boundaries[i]. */
export function joinSchedules(schedules: readonly Schedule[], boundaries: readonly number[]): Schedule {
  if (!Array.isArray(schedules) || !Array.isArray(boundaries)) {
    throw new ArgumentError(`optim.joinSchedules: expected an array of schedules and an array of boundaries, got ${typeof schedules} and ${typeof boundaries}`);
  }
  if (schedules.length === 0 || boundaries.length !== schedules.length - 1) {
    throw new ArgumentError(`optim.joinSchedules: needs n schedules and n-1 boundaries, got ${schedules.length} and ${boundaries.length}`);
  }
  return (count) => {
    const c = countArg("joinSchedules", count);
    let out = schedules[0](count);
    boundaries.forEach((b, i) => {
      out = np.where(np.less(c, b), out, schedules[i + 1](np.subtract(c, b)));
    });
    return out;
  };
}

/** Linear warmup from initValue to peakValue over warmupSteps, then cosine decay to endValue at decaySteps (total). */
export function warmupCosineDecaySchedule(initValue: number, peakValue: number, warmupSteps: number, decaySteps: number, endValue = 0, exponent = 1): Schedule {
  const w = "warmupCosineDecaySchedule";
  num(w, "peakValue", peakValue);
  num(w, "warmupSteps", warmupSteps, { integer: true, nonNegative: true });
  num(w, "decaySteps", decaySteps, { integer: true });
  if (decaySteps <= warmupSteps) {
    throw new ArgumentError(`optim.${w}: decaySteps (${decaySteps}) counts the warmup too and must exceed warmupSteps (${warmupSteps})`);
  }
  const alpha = peakValue === 0 ? 0 : endValue / peakValue;
  return joinSchedules(
    [linearSchedule(initValue, peakValue, warmupSteps), cosineDecaySchedule(peakValue, decaySteps - warmupSteps, alpha, exponent)],
    [warmupSteps],
  );
}

/** Piecewise constant: init multiplied by scales[b] once count passes each boundary b. */
export function piecewiseConstantSchedule(initValue: number, boundariesAndScales: Record<number, number> = {}): Schedule {
  const w = "piecewiseConstantSchedule";
  num(w, "initValue", initValue);
  const entries = Object.entries(boundariesAndScales)
    .map(([b, s]) => [Number(b), num(w, `scale at ${b}`, s)] as const)
    .sort((a, b) => a[0] - b[0]);
  return (count) => {
    const c = countArg(w, count);
    let v = f32(initValue);
    let acc = initValue;
    for (const [b, s] of entries) {
      acc *= s;
      v = np.where(np.less(c, b), v, f32(acc));
    }
    return v;
  };
}

/** A constant or schedule as a schedule. */
export function asSchedule(lr: ScalarOrSchedule, where: string): Schedule {
  if (typeof lr === "function") return lr;
  num(where, "learning rate", lr);
  return constantSchedule(lr);
}
