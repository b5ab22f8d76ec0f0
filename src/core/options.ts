// Validation of the options objects that public functions take
// (`vmap(f, { inAxes })`, `np.sum(x, axis, { keepdims })`, `adam(lr, { b1 })`).
// One call at the top of each function checks every key against a rule table
// typed over the options interface — so a new option does not compile until
// it has a rule — and throws OptionsError naming the function, the option and
// what it accepts. Unknown keys are errors (a typo would otherwise be
// silently ignored); `undefined` values mean "not given".

import { checkDType, isDType, ALL_DTYPES } from "./dtype";
import { DTypeError, OptionsError } from "./errors";
import { Tracer } from "./trace";

/** How one option's value is checked: `accepts` says whether it is valid, `expected` how to describe valid values. */
export interface OptionRule {
  readonly expected: string;
  readonly accepts: (v: unknown) => boolean;
  /** Throws the error for a rejected value where a more specific one than OptionsError is the contract (a bad dtype is checkDType's DTypeError everywhere). */
  readonly reject?: (where: string, value: unknown) => never;
}

/** A rule table with one entry per key of the options type T. */
export type OptionRules<T> = { readonly [K in keyof Required<T>]: OptionRule };

function rule(expected: string, accepts: (v: unknown) => boolean, reject?: (where: string, value: unknown) => never): OptionRule {
  return { expected, accepts, reject };
}

const isInt = (v: unknown): v is number => typeof v === "number" && Number.isInteger(v);
const isIntTree = (v: unknown): boolean =>
  v === null || isInt(v) || (Array.isArray(v) && v.every(isIntTree)) || (isPlainObject(v) && Object.values(v).every(isIntTree));

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== "object" || v === null) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** The rules the options tables are built from. */
export const opt = {
  boolean: rule("a boolean", (v) => typeof v === "boolean"),
  number: rule("a finite number", (v) => typeof v === "number" && Number.isFinite(v)),
  nonNegative: rule("a non-negative number", (v) => typeof v === "number" && v >= 0 && Number.isFinite(v)),
  integer: rule("an integer", isInt),
  positiveInteger: rule("a positive integer", (v) => isInt(v) && v > 0),
  nonNegativeInteger: rule("a non-negative integer", (v) => isInt(v) && v >= 0),
  string: rule("a string", (v) => typeof v === "string"),
  function: rule("a function", (v) => typeof v === "function"),
  dtype: rule(`a dtype (${ALL_DTYPES.map((d) => JSON.stringify(d)).join(", ")})`, isDType, (where, v) => {
    checkDType(v, where);
    throw new DTypeError(`${where}: unknown dtype ${describeValue(v)}`); // unreachable: v is not a dtype
  }),
  /** An integer or a list of integers (argnums, staticArgnums, axes). */
  integers: rule("an integer or a list of integers", (v) => isInt(v) || (Array.isArray(v) && v.every(isInt))),
  /** An axis argument: null (all axes), an integer or a list of integers. */
  axis: rule("null, an integer or a list of integers", (v) => v === null || isInt(v) || (Array.isArray(v) && v.every(isInt))),
  /** vmap's axis specs: an integer or null, or a list/object tree of them. */
  axisTree: rule("an integer, null, or a list/object of them (one entry per argument)", isIntTree),
  /** A number or an array (a value that enters the computation). */
  arrayLike: rule("a number, a boolean or an array", (v) => typeof v === "number" || typeof v === "boolean" || v instanceof Tracer),
  oneOf(...values: readonly unknown[]): OptionRule {
    return rule(`one of ${values.map((v) => JSON.stringify(v)).join(", ")}`, (v) => values.includes(v));
  },
  nullable(r: OptionRule): OptionRule {
    return rule(`null or ${r.expected}`, (v) => v === null || r.accepts(v), r.reject);
  },
  either(a: OptionRule, b: OptionRule): OptionRule {
    return rule(`${a.expected} or ${b.expected}`, (v) => a.accepts(v) || b.accepts(v));
  },
  /** Anything: for options whose value is checked where it is used (e.g. against the call's arguments). */
  any: rule("any value", () => true),
};

/** A short, safe description of a value for an error message. */
export function describeValue(v: unknown): string {
  if (v instanceof Tracer) return `an array ${v.aval.str()}`;
  if (typeof v === "number") {
    if (Number.isFinite(v) && !Number.isInteger(v)) return `${v} (not an integer)`;
    return String(v);
  }
  if (typeof v === "string") return JSON.stringify(v);
  if (typeof v === "function") return "a function";
  if (Array.isArray(v)) return `[${v.slice(0, 6).map(describeValue).join(", ")}${v.length > 6 ? ", …" : ""}]`;
  if (typeof v === "object" && v !== null) return isPlainObject(v) ? `{ ${Object.keys(v).slice(0, 6).join(", ")} }` : `a ${v.constructor?.name ?? "object"}`;
  return String(v);
}

function closestKey(key: string, keys: readonly string[]): string | null {
  const norm = (s: string) => s.replace(/[_-]/g, "").toLowerCase();
  return keys.find((k) => norm(k) === norm(key)) ?? null;
}

/**
 * Check `opts` against `rules` and return it (or `{}` when undefined).
 * `where` names the public function, e.g. "vmap" or "np.sum".
 */
export function checkOptions<T extends object>(where: string, opts: T | undefined, rules: OptionRules<T>): T {
  if (opts === undefined) return {} as T;
  const known = Object.keys(rules);
  if (!isPlainObject(opts)) {
    throw new OptionsError(`${where}: the options must be a plain object { ${known.join(", ")} }, got ${describeValue(opts)}`);
  }
  for (const key of Object.keys(opts)) {
    const r = (rules as Record<string, OptionRule>)[key];
    if (r === undefined) {
      const near = closestKey(key, known);
      throw new OptionsError(
        `${where}: unknown option "${key}"${near ? ` (did you mean "${near}"?)` : ""}; ${where} accepts ${known.length ? known.map((k) => `"${k}"`).join(", ") : "no options"}`,
      );
    }
    const v = (opts as Record<string, unknown>)[key];
    if (v !== undefined && !r.accepts(v)) {
      r.reject?.(where, v);
      throw new OptionsError(`${where}: option ${key} must be ${r.expected}, got ${describeValue(v)}`);
    }
  }
  return opts;
}
