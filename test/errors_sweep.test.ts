// The errors audit as a sweep: every public function of np, lax, nn, random,
// optim, tinyflow/tf1 and tinyflow/eager is called with each family of bad
// arguments (a string, an object or undefined where an array goes; an array
// followed by a string, an out-of-range integer, NaN or a negative fraction
// where an axis, size or option goes). Three things are required of each call:
// - it is not a raw JS error from deep inside (TypeError "x.map is not a
//   function", RangeError "Invalid array length"): a bad argument is a
//   TinyflowError;
// - that error names the function the user called (`np.average: ...`, not only
//   the `mean` it delegates to; an alias may say its canonical name, a lax
//   wrapper its primitive's, `expand_dims` for `lax.expandDims`);
// - a bad value where an array goes is not answered with a result (np.add("abc")
//   once returned NaN), except by the functions listed in ACCEPTS_ANY_FIRST_ARGUMENT,
//   each for a stated reason. A bad second argument may return (`np.add(x, 99)`
//   is fine); the unit tests check what each returns.
// No function is exempt from the first two. The library's internal helpers are
// not exported from the namespaces.

import { describe, expect, it } from "vitest";
import * as tinyflow from "../src/index";
import * as tf1 from "../src/frontends/tf1/index";
import * as eager from "../src/frontends/eager/index";

const { np, lax, nn, random, optim, TinyflowError, ArgumentError } = tinyflow;

/** Helpers of the library's own modules that the namespaces exported until issue 11; not user API. */
const INTERNAL_HELPERS = [
  "np.resultTypeOf", "np.promoteArgs", "lax.requireInt", "lax.requireFloat", "lax.laxOperands",
  "nn.expectShape", "nn.isWeight", "eager.tapeOrder",
  // issue 11, third round: argument parsers of the numpy modules, and two helpers no JAX user looks
  // for (jnp.asarray(x, dtype) and x.dtype / x.weakType / np.resultType cover them)
  "np.seqArg", "np.shapeArg", "np.dtypeArg", "np.toBool", "optim.asSchedule", "np.dtypeOf", "lax.scalarArray",
];

/**
 * Functions for which any first argument is legitimate, so a call that returns
 * is not a silent wrong: predicates and shape queries (numpy answers
 * np.ndim("abc") with 0), functions of pytrees (an object is an empty tree),
 * functions whose first argument is an options object ({} is all defaults),
 * and functions that take no arguments (a JS function ignores extra ones).
 */
const ACCEPTS_ANY_FIRST_ARGUMENT = new Set([
  // predicates and queries
  "np.isDType", "np.isscalar", "np.ndim", "np.shape", "np.size", "nn.isLayer", "random.isThreefryPartitionable", "eager.isGradEnabled",
  // pytrees: {} is an empty tree, undefined a tree of none
  "nn.l2Penalty", "nn.l2Regularization", "optim.globalNorm", "optim.applyUpdates",
  // an options object first: {} means the defaults
  "np.meshgrid", "optim.scaleByAdam", "optim.scaleByRms", "optim.scaleByStddev", "eager.rand", "eager.randn",
  // take no arguments, or only an optional name
  "optim.identity", "tf1.all_variables", "tf1.get_default_graph", "tf1.global_variables", "tf1.global_variables_initializer",
  "tf1.initialize_all_variables", "tf1.no_op", "tf1.reset_default_graph", "tf1.trainable_variables",
]);

const x = np.ones([2, 3]);
const FAMILIES: ReadonlyArray<[string, () => unknown[]]> = [
  ["a string", () => ["abc"]],
  ["an object", () => [{}]],
  ["undefined", () => [undefined]],
  ["an array, then a string", () => [x, "abc"]],
  ["an array, then 99", () => [x, 99]],
  ["an array, then NaN", () => [x, NaN]],
  ["an array, then -2.5", () => [x, -2.5]],
];
const SPACES: Record<string, Record<string, unknown>> = { np, lax, nn, random, optim, tf1, eager };

/** Every public function (classes, capitalised, are constructed differently and skipped). */
const functions = Object.entries(SPACES).flatMap(([ns, obj]) =>
  Object.keys(obj)
    .filter((name) => typeof obj[name] === "function" && !/^[A-Z]/.test(name))
    .map((name) => ({ id: `${ns}.${name}`, name, fn: obj[name] as (...args: unknown[]) => unknown })),
);

/** The names an error of `fn` may call it by: its own, an alias's (the same function exported twice), and their snake_case forms. */
function namesOf(fn: unknown, name: string): string[] {
  const aliases = functions.filter((f) => f.fn === fn).map((f) => f.name);
  const snake = (n: string) => n.replace(/([a-z0-9])([A-Z])/g, "$1_$2").toLowerCase();
  return [...new Set([name, ...aliases].flatMap((n) => [n, snake(n)]))];
}

const FIRST_ARGUMENT_FAMILIES = new Set(["a string", "an object", "undefined"]);

describe("errors audit: bad arguments never surface as raw JS errors", () => {
  it("covers the public namespaces", () => {
    expect(functions.length).toBeGreaterThan(500);
  });

  it("every public function, every family of bad arguments: a typed error naming the function, never a silent result", () => {
    const raw: string[] = [];
    const unnamed: string[] = [];
    const silent: string[] = [];
    let typed = 0;
    for (const { id, name, fn } of functions) {
      const names = namesOf(fn, name);
      for (const [family, args] of FAMILIES) {
        try {
          fn(...args());
          if (FIRST_ARGUMENT_FAMILIES.has(family) && !ACCEPTS_ANY_FIRST_ARGUMENT.has(id)) silent.push(`${id}(${family}) returned`);
        } catch (e) {
          if (!(e instanceof TinyflowError)) {
            raw.push(`${id}(${family}): ${(e as Error)?.constructor?.name}: ${String((e as Error)?.message).slice(0, 120)}`);
            continue;
          }
          typed++;
          if (!names.some((n) => new RegExp(`\\b${n}\\b`).test(e.message))) unnamed.push(`${id}(${family}): ${e.message.slice(0, 120)}`);
        }
      }
    }
    expect(raw, raw.join("\n")).toEqual([]);
    expect(unnamed, unnamed.join("\n")).toEqual([]);
    expect(silent, silent.join("\n")).toEqual([]);
    expect(typed).toBeGreaterThan(3000);
  });

  it("the exemptions from the silent-result check are public functions that still exist", () => {
    const ids = new Set(functions.map((f) => f.id));
    expect([...ACCEPTS_ANY_FIRST_ARGUMENT].filter((id) => !ids.has(id))).toEqual([]);
  });

  it("the internal helpers are not part of the public namespaces", () => {
    const exported = INTERNAL_HELPERS.filter((id) => {
      const [ns, name] = id.split(".");
      return name in SPACES[ns];
    });
    expect(exported).toEqual([]);
  });

  it("the last raw errors are typed errors naming the function and the expected value", () => {
    expect(() => np.index(x, 99 as never)).toThrow(ArgumentError);
    expect(() => np.index(x, 99 as never)).toThrow(/index: the index must be a list of entries.*got 99/);
    expect(() => np.dstack("abc" as never)).toThrow(/dstack: expected a list of arrays/);
    expect(() => np.fromfunction("abc" as never, [2])).toThrow(/fromfunction: expected a function/);
    expect(() => np.fromfunction((i) => i, 3 as never)).toThrow(/fromfunction: a shape must be an array/);
    expect(() => lax.convDimensionNumbers(2, "abc" as never)).toThrow(/convDimensionNumbers: expected layout strings/);
    expect(() => lax.convDimensionNumbers(x as never, undefined)).toThrow(/convDimensionNumbers: ndim must be a non-negative integer/);
    expect(() => lax.padtypeToPads(undefined as never, [2], [1], "SAME")).toThrow(/inShape must be a list of non-negative integers/);
    expect(() => nn.defineLayer(undefined as never)).toThrow(/defineLayer: expected a layer spec object/);
    expect(() => eager.apply("f", "abc" as never, (a) => a as never)).toThrow(/apply\(f\): operands must be a list/);
    expect(() => eager.apply(42 as never, [], (a) => a as never)).toThrow(/apply: the first argument is the operation's name/);
  });

  it("issue 11's third round: silent results and messages naming another function", () => {
    // were NaN, NaNs, undefined, a float32 answer, no error at all
    expect(() => np.add("abc" as never, undefined as never)).toThrow(/add: operand 0 must be an array/);
    expect(() => np.linspace("abc" as never, 1)).toThrow(/linspace: start and stop must be JS numbers/);
    expect(() => np.promoteTypes("abc" as never, "float32")).toThrow(/promoteTypes: unknown dtype "abc"/);
    expect(() => np.resultType("abc" as never)).toThrow(/resultType: unknown dtype "abc"/);
    expect(np.resultType("int32", "float32")).toBe("float32");
    expect(np.resultType(np.ones([2], { dtype: "int32" }), 2)).toBe("int32");
    expect(() => tf1.set_random_seed("abc" as never)).toThrow(/tf.set_random_seed: seed must be an integer/);
    expect(() => tf1.range({} as never)).toThrow(/tf.range: start must be a finite number/);
    expect(() => eager.setGradEnabled("abc" as never)).toThrow(/setGradEnabled: expected true or false/);
    expect(() => eager.lift("f", "abc" as never)).toThrow(/lift\(f\): expected a function/);
    expect(() => np.diagonal(x, "abc" as never)).toThrow(/diagonal: offset must be an integer, got abc/);
    expect(() => np.roll(x, NaN, 0)).toThrow(/roll: shifts must be integers/);
    // the function called comes first, then the one that found the fault
    expect(() => np.average("abc" as never)).toThrow(/^average: mean: argument must be an array/);
    expect(() => np.nanmean(x, "abc" as never)).toThrow(/^nanmean: np.sum: axis must be/);
    expect(() => tf1.reduce_sum("abc" as never)).toThrow(/^tf.reduce_sum: input 0 cannot become a tensor/);
    expect(() => tf1.reduce_sum(x, 99)).toThrow(/^tf.reduce_sum: sum: axis 99 is out of bounds/);
    expect(() => tf1.add(x, "abc" as never)).toThrow(/^tf.add: input 1/);
    expect(() => lax.square("abc" as never)).toThrow(/^square: integerPow: operand must be an array/);
    expect(() => optim.linearSchedule("abc" as never, 0, 10)).toThrow(/^linearSchedule: optim.polynomialSchedule: initValue must be a finite number/);
    // a TinyflowError raised inside keeps its class
    expect(() => tf1.reduce_sum(x, 99)).toThrow(tinyflow.AxisError);
  });
});
