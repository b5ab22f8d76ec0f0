// Steps of a lowered wasm program that call the hand-written Rust kernels
// along an axis or over windows (wasm/src/ordering.rs, window.rs): argmax/
// argmin, cumulative scans, sort, top_k, reduce_window and max-pool's
// gradient (select_and_scatter_add / select_and_gather_add), and the matrix
// decompositions (wasm/src/linalg.rs). This file holds
// what such a step is and how it runs; plan/library.ts decides when an
// equation becomes one.

import type { DType } from "../../core/dtype";
import { BackendError } from "../../core/errors";
import type { Fold, LibraryCall, LibraryStep } from "../plan/kernel_graph";
import { WASM_ERROR_CODES } from "./kernel_args";
import type { WasmKernels } from "./kernels";

const FOLD_CODE: Record<Fold, number> = { add: 0, mul: 1, max: 2, min: 3 };

/** dtype codes of wasm/src/elem.rs (float16 is held as float32, rounded on store). */
const DTYPE_CODE: Record<DType, number> = { float32: 0, int32: 1, uint32: 2, bool: 3, float16: 4 };

/** Element bytes in wasm memory. */
const elemBytes = (d: DType): number => (d === "bool" ? 1 : 4);

/** A library step bound to the kernels: run it on slot pointers; dispose frees its parameter block. */
export interface PreparedLibraryStep {
  run(ptr: (slot: number) => number): void;
  dispose(): void;
  /** Bytes of wasm memory the prepared step holds until disposed (its parameter block). */
  readonly heldBytes: number;
}

function check(code: number, what: string): void {
  if (code !== 0) throw new BackendError(`wasm ${what} kernel failed: ${WASM_ERROR_CODES[code] ?? "unknown error"} (code ${code})`);
}

export function prepareLibraryStep(step: LibraryStep, kernels: WasmKernels): PreparedLibraryStep {
  const raw = kernels.raw;
  const call = step.call;
  const [inA, inB] = step.inputs;
  const [out] = step.outputs;
  let block = 0;
  let blockBytes = 0;
  if ("window" in call) {
    blockBytes = call.window.length * 4;
    block = kernels.alloc(blockBytes);
    new Int32Array(kernels.memory.buffer, block, call.window.length).set(call.window);
  }
  const dispose = () => {
    if (block !== 0) kernels.free(block, blockBytes);
    block = 0;
  };
  const run = (() => {
    switch (call.op) {
      case "argreduce": {
        const { outer, n, inner } = call;
        const dt = DTYPE_CODE[call.dtype];
        return (ptr: (s: number) => number) => check(raw.argreduce(dt, call.isMin ? 1 : 0, ptr(inA), ptr(out), outer, n, inner), "argreduce");
      }
      case "cumulative": {
        const { outer, n, inner } = call;
        const dt = DTYPE_CODE[call.dtype];
        const fold = FOLD_CODE[call.fold];
        return (ptr: (s: number) => number) => check(raw.cumulative(dt, fold, call.reverse ? 1 : 0, ptr(inA), ptr(out), outer, n, inner), "cumulative");
      }
      case "sort": {
        const { rows, n, numKeys, dtypes } = call;
        const [keys, perm] = step.scratch;
        const count = rows * n;
        return (ptr: (s: number) => number) => {
          if (count === 0) return;
          for (let k = 0; k < numKeys; k++) {
            check(raw.sort_keys(DTYPE_CODE[dtypes[k]], ptr(step.inputs[k]), ptr(keys) + k * count * 4, count), "sort");
          }
          check(raw.sort_permutation(ptr(keys), numKeys, rows, n, ptr(perm)), "sort");
          step.inputs.forEach((s, t) => check(raw.permute_rows(elemBytes(dtypes[t]), ptr(s), ptr(perm), ptr(step.outputs[t]), rows, n), "sort"));
        };
      }
      case "top_k": {
        const { rows, n, k } = call;
        const dt = DTYPE_CODE[call.dtype];
        return (ptr: (s: number) => number) => check(raw.top_k(dt, ptr(inA), rows, n, k, ptr(out), ptr(step.outputs[1])), "top_k");
      }
      case "reduce_window": {
        const dt = DTYPE_CODE[call.dtype];
        const fold = FOLD_CODE[call.fold];
        return (ptr: (s: number) => number) => check(raw.reduce_window(dt, fold, block, ptr(inA), ptr(out)), "reduce_window");
      }
      case "select_and_scatter_add": {
        const dt = DTYPE_CODE[call.dtype];
        return (ptr: (s: number) => number) =>
          check(raw.select_and_scatter_add(dt, call.ge ? 1 : 0, block, ptr(inA), ptr(inB), ptr(out), call.operandSize), "select_and_scatter_add");
      }
      case "select_and_gather_add": {
        const dt = DTYPE_CODE[call.dtype];
        return (ptr: (s: number) => number) => check(raw.select_and_gather_add(dt, call.ge ? 1 : 0, block, ptr(inA), ptr(inB), ptr(out)), "select_and_gather_add");
      }
      case "decomposition":
        return decompositionRunner(call, step, raw);
    }
  })();
  return { run, dispose, heldBytes: blockBytes };
}

/** The linalg.rs call of a decomposition step (outputs in the primitive's order). */
function decompositionRunner(call: Extract<LibraryCall, { op: "decomposition" }>, step: LibraryStep, raw: WasmKernels["raw"]): (ptr: (s: number) => number) => void {
  const { batch, m, n, rows, cols } = call;
  const [a, b] = step.inputs;
  const [o0, o1, o2] = step.outputs;
  const full = call.full ? 1 : 0;
  const what = `linalg ${call.prim}`;
  switch (call.prim) {
    case "cholesky":
      return (ptr) => check(raw.linalg_cholesky(ptr(a), ptr(o0), batch, n), what);
    case "lu":
      return (ptr) => check(raw.linalg_lu(ptr(a), ptr(o0), ptr(o1), ptr(o2), batch, m, n), what);
    case "qr":
      return (ptr) => check(raw.linalg_qr(ptr(a), ptr(o0), ptr(o1), batch, m, n, full), what);
    case "eigh":
      return (ptr) => check(raw.linalg_eigh(ptr(a), ptr(o0), ptr(o1), batch, n), what);
    case "svd":
      return (ptr) => check(raw.linalg_svd(ptr(a), ptr(o0), ptr(o1), ptr(o2), batch, m, n, full), what);
    case "triangular_solve": {
      const p = call.solve!;
      const flags = (p.leftSide ? 1 : 0) | (p.lower ? 2 : 0) | (p.transposeA ? 4 : 0) | (p.unitDiagonal ? 8 : 0);
      return (ptr) => check(raw.linalg_triangular_solve(ptr(a), ptr(b), ptr(o0), batch, n, rows, cols, flags), what);
    }
  }
}

/** One line of a program listing: which kernel, on which shape. */
export function describeLibraryCall(call: LibraryCall): string {
  switch (call.op) {
    case "argreduce":
      return `${call.isMin ? "argmin" : "argmax"} ${call.dtype} [${call.outer}, ${call.n}, ${call.inner}]`;
    case "cumulative":
      return `cumulative ${call.fold}${call.reverse ? " reversed" : ""} ${call.dtype} [${call.outer}, ${call.n}, ${call.inner}]`;
    case "sort":
      return `sort ${call.dtypes.length} operand(s) by ${call.numKeys} key(s), ${call.rows} rows of ${call.n}`;
    case "top_k":
      return `top_k k=${call.k} ${call.dtype}, ${call.rows} rows of ${call.n}`;
    case "reduce_window":
      return `reduce_window ${call.fold} ${call.dtype}`;
    case "select_and_scatter_add":
    case "select_and_gather_add":
      return `${call.op} ${call.ge ? "ge" : "le"} ${call.dtype}`;
    case "decomposition":
      return `${call.prim}${call.full ? " full" : ""} float32, ${call.batch} × ${call.m}×${call.n}${call.solve ? ` \\ ${call.rows}×${call.cols}` : ""}`;
  }
}
