// tinyflow/viz without its optional packages: toSvg and toPng reject with a
// MissingDependencyError naming the package and the install command, while
// toDot (pure TypeScript) keeps working. The packages are mocked as
// unloadable here, so this file is apart from test/viz.test.ts.

import { describe, expect, it, vi } from "vitest";
import { makeJaxpr, np, MissingDependencyError, type Array } from "../src/index";
import { toDot, toPng, toSvg } from "../src/viz";

vi.mock("@viz-js/viz", () => {
  throw new Error("Cannot find package '@viz-js/viz'");
});
vi.mock("@resvg/resvg-js", () => {
  throw new Error("Cannot find package '@resvg/resvg-js'");
});

describe("viz without @viz-js/viz and @resvg/resvg-js", () => {
  const j = makeJaxpr((a: Array, b: Array) => a.mul(b).add(3))(np.array(2), np.array(5));
  it("toDot still works", () => {
    expect(toDot(j)).toContain('label="add\\nf32[]"');
  });
  it("toSvg and toPng say which package to install", async () => {
    await expect(toSvg(j)).rejects.toThrow(MissingDependencyError);
    await expect(toSvg(j)).rejects.toThrow(/toSvg needs the optional package @viz-js\/viz.*npm install @viz-js\/viz/);
    await expect(toPng(j)).rejects.toThrow(/toPng needs the optional package @viz-js\/viz/);
  });
});
