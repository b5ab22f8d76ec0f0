// Numerical debugging switches, JAX's `jax.config.update("jax_debug_nans", True)`:
// with `config.update("debugNans", true)` (or "debugInfs") every primitive's
// float outputs are checked as they are computed, and the first one holding a
// NaN (an Inf) throws a FloatingPointError naming the primitive, its operand
// and result types and the user's line that made it. A jitted call runs
// compiled; when its outputs hold a NaN it is run again equation by equation
// to find the first culprit (as JAX re-runs a jit de-optimized). Off by
// default: a check reads every result back to the host.

import type { ShapedArray } from "./aval";
import { isFloat, type TypedArray } from "./dtype";
import { ArgumentError, isLibraryFrame, TinyflowError } from "./errors";

/** A primitive produced a NaN or an Inf while `debugNans`/`debugInfs` was on (JAX's FloatingPointError). */
export class FloatingPointError extends TinyflowError {}

/** The switches `config.update` accepts. */
export interface ConfigFlags {
  /** Check every primitive's float outputs for NaN; throw at the first one that has one. */
  debugNans: boolean;
  /** The same for +Inf and -Inf. */
  debugInfs: boolean;
}

const flags: ConfigFlags = { debugNans: false, debugInfs: false };

/** Library settings, read and changed by name (JAX's `jax.config`). */
export const config = {
  /** `config.update("debugNans", true)`: change one setting. */
  update<K extends keyof ConfigFlags>(name: K, value: ConfigFlags[K]): void {
    if (!Object.prototype.hasOwnProperty.call(flags, name)) {
      throw new ArgumentError(`config.update: unknown setting ${JSON.stringify(name)}; the settings are ${Object.keys(flags).join(", ")}`);
    }
    if (typeof value !== "boolean") throw new ArgumentError(`config.update: ${name} takes true or false, got ${String(value)}`);
    flags[name] = value;
  },
  /** The current value of a setting. */
  read<K extends keyof ConfigFlags>(name: K): ConfigFlags[K] {
    return flags[name];
  },
};

/** Whether any float check is on (one load on the hot path when off). */
export function floatChecksOn(): boolean {
  return flags.debugNans || flags.debugInfs;
}

/** The first stack frame outside tinyflow (and outside Node's internals): where the user's code called in. */
export function userCallSite(): string {
  const lines = (new Error().stack ?? "").split("\n").slice(1);
  for (const line of lines) {
    if (isLibraryFrame(line) || line.includes("node:") || line.includes("/node_modules/")) continue;
    return line.trim().replace(/^at /, "");
  }
  return "(no frame outside tinyflow)";
}

/** The user's line for an operation now running: the traced equation's line during a re-run, else the stack's. */
let siteOverride: string | null = null;
export function currentSite(): string {
  return siteOverride ?? userCallSite();
}
/** Runs `fn` with `site` as the user's line of the operations it runs (undefined: keep the current one). */
export function withSite<T>(site: string | undefined, fn: () => T): T {
  if (site === undefined) return fn();
  const prev = siteOverride;
  siteOverride = site;
  try {
    return fn();
  } finally {
    siteOverride = prev;
  }
}

/** Source lines of the equations traced while checks were on (a jitted call's re-run reports them). */
const eqnSites = new WeakMap<object, string>();
export function recordSite(eqn: object): void {
  if (floatChecksOn()) eqnSites.set(eqn, userCallSite());
}
export function siteOf(eqn: object): string | undefined {
  return eqnSites.get(eqn);
}

/** The first non-finite value the switches look for in `data`, if any. */
function firstBad(data: TypedArray): { index: number; value: number } | null {
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (v !== v ? flags.debugNans : (v === Infinity || v === -Infinity) && flags.debugInfs) return { index: i, value: v };
  }
  return null;
}

/**
 * Throws a FloatingPointError when a float output holds a value the switches look for.
 * `what` is the equation as text, `site` the user's line.
 */
export function checkOutputs(what: string, outs: readonly { aval: ShapedArray; dataSync(): TypedArray }[], site: string): void {
  outs.forEach((o, i) => {
    if (!isFloat(o.aval.dtype)) return;
    const bad = firstBad(o.dataSync());
    if (bad === null) return;
    throw new FloatingPointError(
      `${Number.isNaN(bad.value) ? "NaN" : String(bad.value)} produced by ${what} (output ${i}, ${o.aval.str()}, flat index ${bad.index}), ` +
        `called at ${site}. Debug by checking this operation's inputs there; config.update("${Number.isNaN(bad.value) ? "debugNans" : "debugInfs"}", false) turns the check off`,
    );
  });
}
