// The errors audit as a sweep: every public function of np, lax, nn, random,
// optim, tinyflow/tf1 and tinyflow/eager is called with each family of bad
// arguments (a string, an object or undefined where an array goes; an array
// followed by a string, an out-of-range integer, NaN or a negative fraction
// where an axis, size or option goes). Whatever a call does with such input, it
// must not be a raw JS error from deep inside (TypeError "x.map is not a
// function", RangeError "Invalid array length"): a bad argument is a
// TinyflowError. Calls that return are allowed here (`np.add(x, 99)` is fine);
// the unit tests check what each returns. No function is exempt: the last ones
// that raised raw errors (np.index, np.dstack, np.fromfunction,
// lax.convDimensionNumbers, lax.padtypeToPads, nn.defineLayer, eager.apply)
// are checked by name below, and the library's internal helpers are no longer
// exported from the namespaces.

import { describe, expect, it } from "vitest";
import * as tinyflow from "../src/index";
import * as tf1 from "../src/frontends/tf1/index";
import * as eager from "../src/frontends/eager/index";

const { np, lax, nn, random, optim, TinyflowError, ArgumentError } = tinyflow;

/** Helpers of the library's own modules that the namespaces exported until issue 11; not user API. */
const INTERNAL_HELPERS = [
  "np.resultTypeOf", "np.promoteArgs", "lax.requireInt", "lax.requireFloat", "lax.laxOperands",
  "nn.expectShape", "nn.isWeight", "eager.tapeOrder",
];

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
    .map((name) => ({ id: `${ns}.${name}`, fn: obj[name] as (...args: unknown[]) => unknown })),
);

describe("errors audit: bad arguments never surface as raw JS errors", () => {
  it("covers the public namespaces", () => {
    expect(functions.length).toBeGreaterThan(500);
  });

  it("every public function, every family of bad arguments", () => {
    const raw: string[] = [];
    let typed = 0;
    for (const { id, fn } of functions) {
      for (const [family, args] of FAMILIES) {
        try {
          fn(...args());
        } catch (e) {
          if (e instanceof TinyflowError) typed++;
          else raw.push(`${id}(${family}): ${(e as Error)?.constructor?.name}: ${String((e as Error)?.message).slice(0, 120)}`);
        }
      }
    }
    expect(raw, raw.join("\n")).toEqual([]);
    expect(typed).toBeGreaterThan(2000);
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
});
