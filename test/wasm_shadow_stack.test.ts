// Guards that the allocator's `alloc` and `free` exports in the committed
// kernels binary never touch the shadow stack (the `__stack_pointer` global).
//
// Why it matters: every instance of the module on the shared memory starts
// with the same `__stack_pointer`, the top of the main thread's 1 MiB shadow
// stack. A worker (src/backends/wasm/worker.ts) calls `alloc` for a stack of
// its own before it can set its pointer, and `free`s that stack after its
// last kernel; the main thread may be inside a kernel on that very stack
// meanwhile (a replacement worker starts while jobs run). An `alloc` that
// pushed a frame there would overwrite the main thread's live frames — a
// silent wrong result, not a crash. The Rust source keeps alloc/free in wasm
// locals (wasm/src/alloc.rs: no tuples returned, no bounds-check panics), but
// the compiler decides; a refactor or a new rustc could put a frame back. So
// the built module is read here: the code section is decoded and every
// function reachable from the two exports is searched for
// `global.get`/`global.set` of the global that the module exports as
// `__stack_pointer`. A second test runs them with that pointer set to 0,
// where any frame would trap.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { instantiateWasmKernels } from "../src/backends/wasm/kernels";

const KERNELS = new URL("../wasm/tinyflow_kernels.wasm", import.meta.url);

/** What one function body does that matters here. */
interface BodyFacts {
  calls: number[];
  callsIndirect: boolean;
  globalsRead: number[];
  globalsWritten: number[];
}

interface ModuleFacts {
  /** Function index (imports first) by export name. */
  funcExports: Map<string, number>;
  globalExports: Map<string, number>;
  importedFuncs: number;
  /** Indexed by function index minus importedFuncs. */
  bodies: BodyFacts[];
}

/** A cursor over the binary with the LEB128 readers of the wasm format. */
class Reader {
  constructor(
    readonly bytes: Uint8Array,
    public p = 0,
  ) {}

  byte(): number {
    if (this.p >= this.bytes.length) throw new Error("truncated wasm module");
    return this.bytes[this.p++]!;
  }

  u32(): number {
    let result = 0;
    let shift = 0;
    for (;;) {
      const b = this.byte();
      result += (b & 0x7f) * 2 ** shift;
      shift += 7;
      if ((b & 0x80) === 0) return result;
    }
  }

  /** A signed LEB128 (i32/i64 constants, block types): only skipped. */
  skipSigned(): void {
    while (this.byte() & 0x80);
  }

  skip(n: number): void {
    this.p += n;
  }

  name(): string {
    const n = this.u32();
    const s = new TextDecoder().decode(this.bytes.subarray(this.p, this.p + n));
    this.p += n;
    return s;
  }
}

/** Decodes one function body's instructions (MVP, sign-extension, bulk memory, atomics, SIMD). */
function readBody(r: Reader, end: number): BodyFacts {
  const facts: BodyFacts = { calls: [], callsIndirect: false, globalsRead: [], globalsWritten: [] };
  for (let groups = r.u32(); groups > 0; groups--) {
    r.u32(); // count
    r.byte(); // value type
  }
  const memarg = (): void => {
    r.u32(); // alignment
    r.u32(); // offset
  };
  let depth = 1; // the body's own block, closed by its last `end`
  while (depth > 0) {
    const op = r.byte();
    if (op === 0x02 || op === 0x03 || op === 0x04) {
      depth++;
      r.skipSigned(); // block type: 0x40, a value type or a type index (s33)
    } else if (op === 0x0b) depth--;
    else if (op === 0x0c || op === 0x0d) r.u32();
    else if (op === 0x0e) {
      for (let n = r.u32() + 1; n > 0; n--) r.u32();
    } else if (op === 0x10) facts.calls.push(r.u32());
    else if (op === 0x11) {
      facts.callsIndirect = true;
      r.u32();
      r.u32();
    } else if (op === 0x1c) r.skip(r.u32());
    else if (op >= 0x20 && op <= 0x22) r.u32();
    else if (op === 0x23) facts.globalsRead.push(r.u32());
    else if (op === 0x24) facts.globalsWritten.push(r.u32());
    else if (op === 0x25 || op === 0x26) r.u32();
    else if (op >= 0x28 && op <= 0x3e) memarg();
    else if (op === 0x3f || op === 0x40) r.byte();
    else if (op === 0x41 || op === 0x42) r.skipSigned();
    else if (op === 0x43) r.skip(4);
    else if (op === 0x44) r.skip(8);
    else if (op === 0xd0) r.byte();
    else if (op === 0xd2) r.u32();
    else if (op === 0xfc) readMiscOp(r);
    else if (op === 0xfd) readSimdOp(r, memarg);
    else if (op === 0xfe) {
      if (r.u32() === 0x03) r.byte(); // atomic.fence
      else memarg();
    } else if (op > 0xd2 || (op >= 0x06 && op <= 0x0a) || (op >= 0x12 && op <= 0x19) || op === 0x27) {
      throw new Error(`unknown opcode 0x${op.toString(16)} at byte ${r.p - 1}`);
    }
  }
  if (r.p !== end) throw new Error(`function body decoded to byte ${r.p}, expected its end at ${end}`);
  return facts;
}

/** The 0xFC prefix: saturating truncations, bulk memory and table ops. */
function readMiscOp(r: Reader): void {
  const sub = r.u32();
  if (sub <= 7) return;
  if (sub === 8) {
    r.u32();
    r.byte();
  } else if (sub === 10) r.skip(2);
  else if (sub === 11) r.byte();
  else if (sub === 12 || sub === 14) {
    r.u32();
    r.u32();
  } else if (sub === 9 || sub === 13 || (sub >= 15 && sub <= 17)) r.u32();
  else throw new Error(`unknown 0xfc opcode ${sub}`);
}

/** The 0xFD prefix (SIMD): memory operands, 16-byte immediates and lane indices. */
function readSimdOp(r: Reader, memarg: () => void): void {
  const sub = r.u32();
  if (sub <= 11 || sub === 92 || sub === 93) memarg();
  else if (sub === 12 || sub === 13) r.skip(16);
  else if (sub >= 21 && sub <= 34) r.byte();
  else if (sub >= 84 && sub <= 91) {
    memarg();
    r.byte();
  }
}

function readModule(bytes: Uint8Array): ModuleFacts {
  const r = new Reader(bytes, 8);
  const facts: ModuleFacts = { funcExports: new Map(), globalExports: new Map(), importedFuncs: 0, bodies: [] };
  while (r.p < bytes.length) {
    const id = r.byte();
    const size = r.u32();
    const end = r.p + size;
    if (id === 2) {
      for (let n = r.u32(); n > 0; n--) {
        r.name();
        r.name();
        const kind = r.byte();
        if (kind === 0) {
          facts.importedFuncs++;
          r.u32();
        } else if (kind === 1) {
          r.byte();
          const flags = r.byte();
          r.u32();
          if (flags & 1) r.u32();
        } else if (kind === 2) {
          const flags = r.byte();
          r.u32();
          if (flags & 1) r.u32();
        } else if (kind === 3) {
          throw new Error("the kernels module imports a global: the stack pointer's index would shift");
        }
      }
    } else if (id === 7) {
      for (let n = r.u32(); n > 0; n--) {
        const name = r.name();
        const kind = r.byte();
        const index = r.u32();
        if (kind === 0) facts.funcExports.set(name, index);
        if (kind === 3) facts.globalExports.set(name, index);
      }
    } else if (id === 10) {
      for (let n = r.u32(); n > 0; n--) {
        const bodySize = r.u32();
        facts.bodies.push(readBody(r, r.p + bodySize));
      }
    }
    r.p = end;
  }
  return facts;
}

/** Every function reachable by direct calls from `roots` (function indices). */
function reachable(m: ModuleFacts, roots: number[]): number[] {
  const seen = new Set<number>();
  const todo = [...roots];
  while (todo.length) {
    const f = todo.pop()!;
    if (seen.has(f)) continue;
    seen.add(f);
    if (f >= m.importedFuncs) todo.push(...m.bodies[f - m.importedFuncs]!.calls);
  }
  return [...seen];
}

describe("wasm allocator and the shadow stack", () => {
  const m = readModule(new Uint8Array(readFileSync(KERNELS)));
  const stackPointer = m.globalExports.get("__stack_pointer");

  it("finds the stack pointer and the scanner sees its uses", () => {
    expect(stackPointer).toBeDefined();
    // The kernels do use the shadow stack: a scanner that saw no use anywhere would prove nothing.
    const users = m.bodies.filter((b) => b.globalsRead.includes(stackPointer!) || b.globalsWritten.includes(stackPointer!));
    expect(users.length).toBeGreaterThan(0);
  });

  it("alloc and free, and everything they call, never read or write __stack_pointer", () => {
    const roots = ["alloc", "free"].map((name) => {
      const f = m.funcExports.get(name);
      if (f === undefined) throw new Error(`no ${name} export`);
      return f;
    });
    for (const f of reachable(m, roots)) {
      expect(f, "an imported function is reachable from alloc/free").toBeGreaterThanOrEqual(m.importedFuncs);
      const body = m.bodies[f - m.importedFuncs]!;
      expect(body.callsIndirect, `function ${f} calls indirectly: its callees cannot be checked`).toBe(false);
      expect(body.globalsRead, `function ${f} reads __stack_pointer`).not.toContain(stackPointer);
      expect(body.globalsWritten, `function ${f} writes __stack_pointer`).not.toContain(stackPointer);
    }
  });

  it("alloc and free run with the stack pointer at 0, where any frame would trap", () => {
    const K = instantiateWasmKernels({ shared: false });
    const raw = K.raw as unknown as { alloc(n: number): number; free(p: number, n: number): void; __stack_pointer: WebAssembly.Global };
    const saved = raw.__stack_pointer.value as number;
    raw.__stack_pointer.value = 0; // a frame below it would wrap to 4 GiB - 16: out of bounds
    const blocks: Array<[number, number]> = [];
    try {
      // Every path: bump, same-size reuse, splitting, coalescing when nothing else fits, a new bitmap leaf.
      let s = 12345;
      for (let i = 0; i < 4000; i++) {
        s = (s * 1103515245 + 12345) >>> 0;
        const size = i % 7 === 0 ? 4096 : 1 + (s % (i % 50 === 0 ? 3 << 20 : 70_000));
        blocks.push([raw.alloc(size) >>> 0, size]);
        if (s % 3 !== 0 && blocks.length > 8) {
          const [p, n] = blocks.splice((s >>> 8) % blocks.length, 1)[0]!;
          raw.free(p, n);
        }
      }
      for (const [p, n] of blocks) raw.free(p, n);
    } finally {
      raw.__stack_pointer.value = saved;
    }
    expect(blocks.every(([p]) => p !== 0)).toBe(true);
    expect(K.heapFreeBytes(true)).toBeGreaterThanOrEqual(0); // the heap's invariants still hold
  });
});
