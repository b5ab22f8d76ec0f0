// Pictures the examples draw that vega-lite does not: grids of greyscale
// images (digits) with captions, as SVG (the notebook rasterises it to PNG),
// and small chart-spec builders shared by several examples.

import { escapeHtml } from "./markdown";
import type { VegaLiteSpec } from "./report";

/** A grid of `side`x`side` greyscale images (values in [0, 1], row-major), `perRow` to a row, each with a caption below. */
export function imageGridSvg(images: ArrayLike<number>[], captions: string[], side = 28, perRow = 8, scale = 3): string {
  const cellW = side * scale + 12;
  const cellH = side * scale + 30;
  const rows = Math.ceil(images.length / perRow);
  const parts: string[] = [];
  images.forEach((img, k) => {
    const ox = (k % perRow) * cellW + 6;
    const oy = Math.floor(k / perRow) * cellH + 6;
    parts.push(`<rect x="${ox}" y="${oy}" width="${side * scale}" height="${side * scale}" fill="#fff" stroke="#bbb"/>`);
    for (let r = 0; r < side; r++) {
      for (let c = 0; c < side; c++) {
        const v = img[r * side + c];
        if (v <= 0.02) continue;
        const g = Math.round(255 * (1 - Math.min(1, v)));
        parts.push(`<rect x="${ox + c * scale}" y="${oy + r * scale}" width="${scale}" height="${scale}" fill="rgb(${g},${g},${g})"/>`);
      }
    }
    parts.push(`<text x="${ox + (side * scale) / 2}" y="${oy + side * scale + 17}" font-family="sans-serif" font-size="13" text-anchor="middle">${escapeHtml(captions[k] ?? "")}</text>`);
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${perRow * cellW}" height="${rows * cellH}"><rect width="100%" height="100%" fill="white"/>${parts.join("")}</svg>`;
}

/** Line chart of named series over steps: `points` are { step, value, series }. */
export function lineChart(title: string, points: { step: number; value: number; series: string }[], yTitle = "loss"): VegaLiteSpec {
  return {
    title,
    width: 560,
    height: 260,
    data: { values: points },
    mark: { type: "line", point: points.length < 60 },
    encoding: {
      x: { field: "step", type: "quantitative", title: "step" },
      y: { field: "value", type: "quantitative", title: yTitle, scale: { zero: false } },
      color: { field: "series", type: "nominal", title: null },
    },
  };
}

/** Heatmap of a square matrix (e.g. a confusion matrix) with counts written in the cells. */
export function matrixChart(title: string, matrix: number[][], rowTitle: string, columnTitle: string, labels?: string[]): VegaLiteSpec {
  const name = (i: number) => labels?.[i] ?? String(i);
  const values = matrix.flatMap((row, i) => row.map((count, j) => ({ row: name(i), column: name(j), count })));
  const order = matrix.map((_, i) => name(i));
  return {
    title,
    width: 380,
    height: 380,
    data: { values },
    encoding: {
      x: { field: "column", type: "ordinal", title: columnTitle, sort: order },
      y: { field: "row", type: "ordinal", title: rowTitle, sort: order },
    },
    layer: [
      { mark: "rect", encoding: { color: { field: "count", type: "quantitative", scale: { type: "symlog", scheme: "blues" }, legend: null } } },
      {
        mark: { type: "text", fontSize: 10 },
        encoding: {
          text: { field: "count", type: "quantitative" },
          color: { condition: { test: `datum.count > ${Math.max(...matrix.flat()) / 2}`, value: "white" }, value: "black" },
        },
      },
    ],
  };
}
