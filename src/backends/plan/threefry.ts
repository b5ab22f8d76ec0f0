// Threefry-2x32 (20 rounds, JAX's threefry2x32_p) written as a DAG of u32
// kernel ops — wrapping add, constant shifts, or, xor — so the planner fuses
// it into one elementwise kernel with both output words instead of running it
// on the host. It computes exactly what the interpreter's threefry2x32Block
// (interpreter/math.ts) computes; the node type is the caller's, so this file
// knows nothing of the planner's expression representation.

import type { ScalarOp } from "./kernel_graph";

/** Builds the caller's expression nodes: a uint32 constant, or a uint32 op over nodes. */
export interface U32Builder<N> {
  constant(value: number): N;
  op(op: Extract<ScalarOp, "add" | "or" | "xor" | "shift_left" | "shift_right_logical">, a: N, b: N): N;
}

/** The rotation distances of Threefry-2x32, round r uses ROTATIONS[r % 8]. */
const ROTATIONS = [13, 15, 26, 6, 17, 29, 16, 24];
/** Threefry's key-schedule parity constant. */
const KEY_PARITY = 0x1bd11bda;

/** The two output words of Threefry-2x32 over key (k0, k1) and counter (x0, x1). */
export function threefry2x32Expr<N>(b: U32Builder<N>, k0: N, k1: N, x0: N, x1: N): [N, N] {
  const rotl = (v: N, r: number): N => b.op("or", b.op("shift_left", v, b.constant(r)), b.op("shift_right_logical", v, b.constant(32 - r)));
  const ks = [k0, k1, b.op("xor", b.op("xor", b.constant(KEY_PARITY), k0), k1)];
  let a = b.op("add", x0, ks[0]);
  let c = b.op("add", x1, ks[1]);
  for (let round = 0; round < 20; round++) {
    a = b.op("add", a, c);
    c = b.op("xor", rotl(c, ROTATIONS[round % 8]), a);
    if (round % 4 === 3) {
      // Key injection s after every fourth round: a += ks[s % 3], c += ks[(s + 1) % 3] + s.
      const s = (round + 1) / 4;
      a = b.op("add", a, ks[s % 3]);
      c = b.op("add", b.op("add", c, ks[(s + 1) % 3]), b.constant(s));
    }
  }
  return [a, c];
}
