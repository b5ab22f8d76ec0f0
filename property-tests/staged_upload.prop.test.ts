// Property: staged uploads (src/core/residency.ts, "Staged uploads") never
// change what an array holds. Random sequences of np.array uploads (the source
// overwritten right after), reshapes, eager and jitted operations (some
// donating their first argument), disposals, reads and memory-limit changes
// that force spilling run on wasm, and every operation also runs on the
// interpreter (the oracle) on the same values; every read and, at the end,
// every live array must equal the interpreter's bit for bit. In particular a
// device block freed when a staged copy is dropped is never handed out while
// a live array still reads it. NUM_RUNS (default 20) sets the runs.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ArrayImpl, jit, memoryStats, np, setMemoryLimit, type Tracer } from "../src/index";

const NUM_RUNS = Number(process.env.NUM_RUNS ?? 20);
const N = 64;

type Pair = { wasm: Tracer; ref: Tracer };
type Cmd =
  | { op: "upload"; seed: number; shape: number[] }
  | { op: "reshape"; i: number; shape: number[] }
  | { op: "eager"; i: number; j: number }
  | { op: "jit"; i: number; j: number; donate: boolean }
  | { op: "dispose"; i: number }
  | { op: "read"; i: number }
  | { op: "limit"; batches: number };

const shapes: fc.Arbitrary<number[]> = fc.constantFrom<number[]>([N], [8, 8], [4, 16], [2, 4, 8]);
const idx = fc.nat(1000);
const cmd: fc.Arbitrary<Cmd> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ op: fc.constant("upload" as const), seed: fc.integer({ min: -50, max: 50 }), shape: shapes }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant("reshape" as const), i: idx, shape: shapes }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant("eager" as const), i: idx, j: idx }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant("jit" as const), i: idx, j: idx, donate: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("dispose" as const), i: idx }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant("read" as const), i: idx }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("limit" as const), batches: fc.integer({ min: 2, max: 12 }) }) },
);

const onInterpreter = (data: Float32Array, shape: number[]): Tracer => ArrayImpl.fromTyped(data, shape, "float32", { backend: "interpreter" });
const combine = (x: Tracer, y: Tracer): Tracer => x.mul(y.reshape(x.shape)).add(x);
const jitted = jit((x: Tracer, y: Tracer) => combine(x, y));
const jittedDonating = jit((x: Tracer, y: Tracer) => combine(x, y), { donateArgnums: [0] });

function expectSame(p: Pair, what: string): void {
  expect(p.wasm.shape, what).toEqual(p.ref.shape);
  expect(Array.from(p.wasm.dataSync()), what).toEqual(Array.from(p.ref.dataSync()));
}

describe("staged uploads: wasm equals the interpreter whatever happens to the staged copies", () => {
  it("random upload / reshape / operate / donate / dispose / spill sequences", () => {
    const limit = memoryStats().limitBytes;
    try {
      fc.assert(
        fc.property(fc.array(cmd, { minLength: 1, maxLength: 40 }), (cmds) => {
          setMemoryLimit(limit);
          const live: Pair[] = [];
          const pick = (i: number): Pair | undefined => (live.length === 0 ? undefined : live[i % live.length]);
          for (const c of cmds) {
            if (c.op === "upload") {
              const src = Float32Array.from({ length: N }, (_, k) => ((k * 7 + c.seed) % 13) / 4);
              const pair = { wasm: np.array(src).reshape(c.shape), ref: onInterpreter(src.slice(), c.shape) };
              src.fill(-1); // np.array copied it
              live.push(pair);
            } else if (c.op === "limit") {
              // Room for what is resident now plus one operation's two inputs and output (below that the
              // library rightly refuses the operation), and a few arrays more: older buffers spill.
              setMemoryLimit(memoryStats().residentBytes + (3 + c.batches) * N * 4);
            } else {
              const p = pick(c.i);
              if (p === undefined) continue;
              if (c.op === "reshape") live.push({ wasm: p.wasm.reshape(c.shape), ref: p.ref.reshape(c.shape) });
              else if (c.op === "read") expectSame(p, "read");
              else if (c.op === "dispose") {
                // A reshape to the same shape returns the array itself: every entry holding it goes.
                p.wasm.dispose();
                for (let k = live.length - 1; k >= 0; k--) if (live[k]!.wasm.isDisposed) live.splice(k, 1);
              } else {
                const q = pick(c.j)!;
                if (c.op === "eager") live.push({ wasm: combine(p.wasm, q.wasm), ref: combine(p.ref, q.ref) });
                else if (!c.donate || p === q) live.push({ wasm: jitted(p.wasm, q.wasm), ref: combine(p.ref, q.ref) });
                else {
                  // Donating p: every live array sharing p's wasm value is invalid afterwards.
                  const out = { wasm: jittedDonating(p.wasm, q.wasm), ref: combine(p.ref, q.ref) };
                  for (let k = live.length - 1; k >= 0; k--) if (live[k]!.wasm.isDisposed) live.splice(k, 1);
                  live.push(out);
                }
              }
            }
          }
          for (const p of live) expectSame(p, "at the end");
        }),
        { numRuns: NUM_RUNS },
      );
    } finally {
      setMemoryLimit(limit);
    }
  });
});
