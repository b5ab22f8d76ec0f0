// The errors audit as a sweep: every public function of np, lax, nn, random,
// optim, tinyflow/tf1 and tinyflow/eager is called with each family of bad
// arguments (a string, an object or undefined where an array goes; an array
// followed by a string, an out-of-range integer, NaN or a negative fraction
// where an axis, size or option goes). Whatever a call does with such input, it
// must not be a raw JS error from deep inside (TypeError "x.map is not a
// function", RangeError "Invalid array length"): a bad argument is a
// TinyflowError. Calls that return are allowed here (`np.add(x, 99)` is fine);
// the unit tests check what each returns. Internal helpers that the namespaces
// happen to export are skipped (listed below), and the functions that still
// raise raw errors are listed as known gaps, so the list can only shrink.

import { describe, expect, it } from "vitest";
import * as tinyflow from "../src/index";
import * as tf1 from "../src/frontends/tf1/index";
import * as eager from "../src/frontends/eager/index";

const { np, lax, nn, random, optim, TinyflowError } = tinyflow;

/** Helpers for the library's own modules that the public namespaces re-export; not user API. */
const INTERNAL_HELPERS = new Set([
  "np.resultTypeOf", "np.promoteArgs", "lax.requireInt", "lax.requireFloat", "lax.laxOperands",
  "nn.expectShape", "nn.isWeight", "eager.tapeOrder",
]);

/** Public functions that still raise a raw JS error for some family (RELIABILITY.md, known gaps). */
const KNOWN_RAW = new Set(["eager.apply", "lax.convDimensionNumbers", "np.index", "nn.defineLayer", "lax.padtypeToPads"]);

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
      if (INTERNAL_HELPERS.has(id)) continue;
      for (const [family, args] of FAMILIES) {
        try {
          fn(...args());
        } catch (e) {
          if (e instanceof TinyflowError) typed++;
          else if (!KNOWN_RAW.has(id)) raw.push(`${id}(${family}): ${(e as Error)?.constructor?.name}: ${String((e as Error)?.message).slice(0, 120)}`);
        }
      }
    }
    expect(raw, raw.join("\n")).toEqual([]);
    expect(typed).toBeGreaterThan(2000);
  });
});
