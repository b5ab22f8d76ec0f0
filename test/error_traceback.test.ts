// Errors point at the user's line (JAX's traceback filtering): a TinyflowError's
// stack lists only frames outside tinyflow, so its first frame is the user's call
// into the library -- inside the traced function when the error is raised while
// tracing under jit, grad or vmap. The full stack stays in `unfilteredStack`.

import { describe, expect, it } from "vitest";
import { ShapeError, TinyflowError, grad, jit, np, vmap, type Array } from "../src/index";

const thisFile = "error_traceback.test.ts";

/** The error `fn` throws (it must throw). */
function thrown(fn: () => unknown): TinyflowError {
  try {
    fn();
  } catch (e) {
    return e as TinyflowError;
  }
  throw new Error("expected an error");
}

/** The line of this file named by the first frame of the error's stack. */
function firstFrameLine(e: Error): number {
  const frame = e.stack!.split("\n").find((l) => /^\s+at /.test(l))!;
  expect(frame).toContain(thisFile);
  return Number(/error_traceback\.test\.ts:(\d+):\d+/.exec(frame)![1]);
}

/** The line in this file where `marker` occurs (so the tests do not hard-code line numbers). */
function lineOf(marker: string, source: string): number {
  return source.split("\n").findIndex((l) => l.includes(marker)) + 1;
}

const badAdd = (x: Array) => np.add(x, np.ones([4])); // <bad-add>
const badMatmul = (x: Array) => np.sum(np.matmul(x, np.ones([5, 2]))); // <bad-matmul>

describe("errors point at the user's line", async () => {
  const { readFileSync } = await import("node:fs");
  const source = readFileSync(new URL(import.meta.url).pathname, "utf8");

  it("under jit: the frame of the traced function's bad call comes first", () => {
    const e = thrown(() => jit(badAdd)(np.ones([3])));
    expect(e).toBeInstanceOf(ShapeError);
    expect(firstFrameLine(e)).toBe(lineOf("<bad-add>", source));
    expect(e.stack).not.toMatch(/\/src\/|\/transforms\//);
    expect(e.stack).toMatch(/tinyflow frame\(s\) hidden/);
  });

  it("under grad and vmap too", () => {
    const g = thrown(() => grad(badMatmul)(np.ones([3, 4])));
    expect(g).toBeInstanceOf(ShapeError);
    expect(firstFrameLine(g)).toBe(lineOf("<bad-matmul>", source));
    const v = thrown(() => vmap(badAdd)(np.ones([2, 3])));
    expect(v).toBeInstanceOf(ShapeError);
    expect(firstFrameLine(v)).toBe(lineOf("<bad-add>", source));
  });

  it("nested transformations keep the user's frames in order: the traced line, then the call site", () => {
    const e = thrown(() => jit(vmap(grad(badMatmul)))(np.ones([2, 3, 4]))); // <call-site>
    const frames = e.stack!.split("\n").filter((l) => /^\s+at /.test(l) && l.includes(thisFile));
    expect(frames.length).toBeGreaterThanOrEqual(2);
    expect(frames[0]).toContain(`${thisFile}:${lineOf("<bad-matmul>", source)}:`);
    expect(frames.some((l) => l.includes(`${thisFile}:${lineOf("<call-site>", source)}:`))).toBe(true);
  });

  it("eager calls: the user's line comes first as well", () => {
    const e = thrown(() => np.reshape(np.ones([6]), [4, 2])); // <eager>
    expect(e).toBeInstanceOf(ShapeError);
    expect(firstFrameLine(e)).toBe(lineOf("<eager>", source));
  });

  it("the unfiltered stack keeps tinyflow's frames, and the message is unchanged", () => {
    const e = thrown(() => jit(badAdd)(np.ones([3])));
    expect(e.unfilteredStack).toMatch(/\/src\/(core|lax|numpy)\//);
    expect(e.stack!.split("\n")[0]).toBe(`ShapeError: ${e.message}`);
    expect(e.message).not.toMatch(/\bat /);
  });

  it("a stack assigned by the user is kept", () => {
    const e = new ShapeError("custom");
    e.stack = "ShapeError: custom\n    at somewhere";
    expect(e.stack).toBe("ShapeError: custom\n    at somewhere");
  });
});
