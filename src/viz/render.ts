// DOT text to pictures through optional packages, loaded on first use:
// @viz-js/viz (Graphviz compiled to WebAssembly, in Node and browsers) makes
// SVG, @resvg/resvg-js (Node) turns SVG into PNG. A missing package is a
// MissingDependencyError naming the install command, never a crash at import.

import { MissingDependencyError } from "../core/errors";

type GraphvizInstance = Awaited<ReturnType<(typeof import("@viz-js/viz"))["instance"]>>;

let graphviz: Promise<GraphvizInstance> | null = null;

async function loadOptional<T>(pkg: string, what: string, load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (e) {
    throw new MissingDependencyError(
      `${what} needs the optional package ${pkg}, which could not be loaded (${e instanceof Error ? e.message : String(e)}); install it with: npm install ${pkg}`,
    );
  }
}

/** Graphviz's SVG for DOT text (the wasm Graphviz instance is made once and reused). */
export async function dotToSvg(dot: string, where: string): Promise<string> {
  if (graphviz === null) {
    graphviz = loadOptional("@viz-js/viz", where, () => import("@viz-js/viz")).then((m) => m.instance());
    // A failed load is not cached: installing the package and calling again works.
    graphviz.catch(() => (graphviz = null));
  }
  const viz = await graphviz;
  return viz.renderString(dot, { format: "svg", engine: "dot" });
}

export interface PngRender {
  /** Output width in pixels (the height follows); default: the SVG's own size times `scale`. */
  width?: number;
  scale: number;
  /** Background colour (CSS), default white. */
  background: string;
}

/** A PNG of an SVG picture. */
export async function svgToPng(svg: string, where: string, opts: PngRender): Promise<Uint8Array> {
  const { Resvg } = await loadOptional("@resvg/resvg-js", where, () => import("@resvg/resvg-js"));
  const fitTo = opts.width === undefined ? ({ mode: "zoom", value: opts.scale } as const) : ({ mode: "width", value: opts.width } as const);
  const png = new Resvg(svg, { fitTo, background: opts.background, font: { loadSystemFonts: true } }).render().asPng();
  return new Uint8Array(png.buffer, png.byteOffset, png.byteLength);
}
