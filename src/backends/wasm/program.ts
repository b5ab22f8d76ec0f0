// A lowered program made runnable on the wasm backend: kernels compiled,
// constants uploaded, and intermediate buffers planned — each intermediate
// slot gets a workspace buffer that is allocated once and reused by later
// slots after its last reader ran, so steady-state calls allocate only their
// outputs.

import { HostArray, interpret } from "../interpreter";
import type { DType, TypedArray } from "../../core/dtype";
import { stridesOf } from "../../core/shape";
import { BackendError } from "../../core/errors";
import { compileKernel, relaxedSimdAvailable, type CompiledKernel } from "./codegen/kernel";
import { compileGemm, describeEpilogue, isVectorOperand } from "./codegen/gemm";
import { compileWindow } from "./codegen/window";
import { encodeConvEpilogue } from "./conv_params";
import { SGEMM_SKINNY_M, type WasmKernels } from "./kernels";
import { describeLibraryCall, prepareLibraryStep } from "./library_steps";
import { prepareCallerGemm } from "./gemm_job";
import { getThreadPool } from "./threads";
import { ParallelKernel } from "./parallel_kernel";
import { ParallelWindow } from "./parallel_window";
import { storageBytes, type LoweredProgram, type SlotInfo, type Step } from "../plan/lowered_program";
import { planWorkspace, timeline } from "../plan/buffer_plan";
import type { WasmBuffer } from "./buffer";
import type { WasmMemory } from "./memory";
import { noteProgramBytes } from "../../core/residency";

type RunStep = (bufs: WasmBuffer[]) => void;

/** A typed view of a buffer (valid until the memory grows). */
export function viewOf(mem: WasmMemory, buf: WasmBuffer, dtype: DType, length: number): TypedArray {
  const b = mem.memory.buffer;
  switch (dtype) {
    case "float32":
    case "float16":
      return new Float32Array(b, buf.ptr, length);
    case "int32":
      return new Int32Array(b, buf.ptr, length);
    case "uint32":
      return new Uint32Array(b, buf.ptr, length);
    case "bool":
      return new Uint8Array(b, buf.ptr, length);
  }
}

function elemCount(slot: SlotInfo): number {
  return slot.bytes / storageBytes(slot.dtype);
}

export class WasmProgram {
  private readonly runSteps: RunStep[];
  private readonly describeSteps: string[];
  private readonly constBufs = new Map<number, WasmBuffer>();
  /** Workspace: physical buffer per planned group, allocated on first run. */
  private workspace: WasmBuffer[] | null = null;
  private readonly group: number[];
  private readonly groupBytes: number[];
  /** Releases what prepared steps hold outside the workspace (parameter blocks). */
  private readonly stepDisposers: (() => void)[] = [];
  /** Where run() finds each slot's buffer, and which outputs take another reference. */
  private readonly runLayout: RunLayout;
  /** Bytes this program holds between runs (constants, workspace, scratch, parameter blocks): memoryStats().programBytes. */
  private heldBytes = 0;

  constructor(
    private readonly lowered: LoweredProgram,
    private readonly mem: WasmMemory,
    private readonly kernels: WasmKernels,
  ) {
    const { slots, steps } = lowered;
    slots.forEach((s, i) => {
      if (s.kind === "const" && s.data) {
        const buf = mem.alloc(s.bytes);
        this.hold(s.bytes);
        viewOf(mem, buf, s.dtype, elemCount(s)).set(s.data);
        this.constBufs.set(i, buf);
      }
    });
    const workspace = planWorkspace(lowered, (slot) => slots[slot].bytes);
    this.group = workspace.group;
    this.groupBytes = workspace.groupBytes;
    this.runLayout = runLayoutOf(lowered, this.group, this.constBufs);
    this.stepTimes = typeof process !== "undefined" && process.env?.TINYFLOW_PROFILE ? new Array(steps.length).fill(0) : null;
    this.runSteps = steps.map((st) => this.prepare(st));
    this.describeSteps = steps.map((st, i) => describeStep(i, st, slots));
  }

  private prepare(st: Step): RunStep {
    const mem = this.mem;
    switch (st.kind) {
      case "kernel": {
        const kernel: CompiledKernel = compileKernel(st.spec, { memory: mem.memory });
        const inBytes = st.spec.inputs.map((i) => storageBytes(i.dtype));
        const views = st.inputs;
        // Scratch of wide outer reductions: one buffer per step, grown to what the split needs.
        let scratch: WasmBuffer | null = null;
        const scratchFor = (bytes: number): number => {
          if (scratch === null || scratch.bytes < bytes) {
            if (scratch) {
              mem.free(scratch);
              this.hold(-scratch.bytes);
            }
            scratch = mem.alloc(bytes);
            this.hold(bytes);
          }
          return scratch.ptr;
        };
        if (kernel.scratchBytes > 0) {
          this.stepDisposers.push(() => {
            if (scratch) mem.free(scratch);
            scratch = null;
          });
        }
        // Large kernels are split along their outer dimension across the thread pool.
        const par = new ParallelKernel(st.spec, kernel, mem.memory, scratchFor);
        // Pointer lists reused by every run (the kernel reads them before returning).
        const inPtrs = new Array<number>(views.length).fill(0);
        const outPtrs = new Array<number>(st.outputs.length).fill(0);
        // An operand copy onto its own buffer (the output took over the donated operand) is skipped.
        const skipsSelfCopy = st.operandCopy === true;
        return (bufs) => {
          for (let i = 0; i < views.length; i++) inPtrs[i] = bufs[views[i].slot].ptr + views[i].offset * inBytes[i];
          for (let o = 0; o < outPtrs.length; o++) outPtrs[o] = bufs[st.outputs[o]].ptr;
          if (skipsSelfCopy && inPtrs[0] === outPtrs[0]) return;
          par.run(getThreadPool(this.kernels), inPtrs, outPtrs);
        };
      }
      case "gemm": {
        const { transA, transB, batch, m, n, k, a: slotA, b: slotB } = gemvAsVectorMatrix(st);
        // Leading dims of at least 1, as BLAS requires (k = 0 makes them 0: C is then zeroed).
        const lda = Math.max(1, transA ? m : k);
        const ldb = Math.max(1, transB ? k : n);
        const gen = usesGeneratedGemm(st, m) ? compileGemm(st.epilogue?.ops ?? [], { memory: mem.memory, packers: this.kernels.raw }) : undefined;
        const vectorKinds = (st.epilogue?.ops ?? []).flatMap((o) => (isVectorOperand(o.operand) ? [o.operand.kind] : []));
        // Small products (an eager 10x10 matmul, the narrow GEMMs of a
        // training step) run on this thread through arguments prepared here,
        // without waking a worker or building argument objects per call.
        const work = batch * m * n * k;
        const onCaller = prepareCallerGemm(this.kernels, {
          transA, transB, batch, m, n, k, lda, ldb, ldc: Math.max(1, n),
          ...(gen ? { generated: gen, epilogueStrides: vectorKinds.map(() => 0) } : {}),
        });
        const operandSlots = st.epilogue?.operands ?? [];
        const operandPtrs = new Array<number>(operandSlots.length).fill(0);
        return (bufs) => {
          if (m === 0 || n === 0) return;
          const pool = getThreadPool(this.kernels);
          if (pool.runsOnCaller(batch * m, work)) {
            for (let i = 0; i < operandPtrs.length; i++) operandPtrs[i] = bufs[operandSlots[i]!].ptr;
            pool.sgemmOnCaller(onCaller, bufs[slotA].ptr, bufs[slotB].ptr, bufs[st.c].ptr, operandPtrs);
            return;
          }
          // Rows of C (all batch items' stacked) are split across the thread
          // pool when batch·m·n·k is large; otherwise one sgemm per item.
          // Each thread packs all of B for its rows, so when A is the smaller
          // operand (m < n) split C's columns instead, as a batch of column
          // blocks that share A.
          const blocks = batch === 1 && m < n ? columnBlocks(n, pool.maxThreads) : 1;
          const nb = n / blocks;
          // Epilogue vectors are shared by the batch items; a column block reads its own columns.
          const epilogue = (st.epilogue?.operands ?? []).map((slot, i) => ({
            ptr: bufs[slot].ptr,
            stride: blocks > 1 && vectorKinds[i] === "col" ? nb * 4 : 0,
          }));
          pool.sgemm({
            ...(gen ? { generated: gen, epilogue } : {}),
            transA, transB, batch: batch * blocks, m, n: nb, k, alpha: 1, beta: 0,
            a: bufs[slotA].ptr, lda, b: bufs[slotB].ptr, ldb, c: bufs[st.c].ptr, ldc: n,
            strideA: blocks > 1 ? 0 : m * k * 4,
            strideB: blocks > 1 ? (transB ? nb * ldb * 4 : nb * 4) : k * n * 4,
            strideC: blocks > 1 ? nb * 4 : m * n * 4,
          });
        };
      }
      case "conv": {
        const params = { layout: st.layout, ...st.params };
        const ops = st.epilogue?.ops ?? [];
        const vectorSlots = st.epilogue?.operands ?? [];
        // Split over output lines by the thread pool when large; the epilogue is applied as each chunk is written.
        return (bufs) => {
          const epilogue = ops.length > 0 ? encodeConvEpilogue(ops, vectorSlots.map((slot) => bufs[slot].ptr)) : undefined;
          getThreadPool(this.kernels).conv({ params, mode: "forward", a: bufs[st.x].ptr, b: bufs[st.w].ptr, out: bufs[st.y].ptr, ...(epilogue ? { epilogue } : {}) });
        };
      }
      case "conv_gradient": {
        const params = { layout: st.layout, ...st.params };
        const mode = st.gradient;
        // Split over images by the thread pool when large (conv.rs run_range).
        return (bufs) => getThreadPool(this.kernels).conv({ params, mode, a: bufs[st.a].ptr, b: bufs[st.b].ptr, out: bufs[st.out].ptr });
      }
      case "window": {
        // Large ones are split across the thread pool.
        const par = new ParallelWindow(st.spec, mem.memory);
        const es = storageBytes(st.spec.dtype);
        const idxPtrs = new Array<number>(st.indices.length).fill(0);
        return (bufs) => {
          for (let k = 0; k < idxPtrs.length; k++) idxPtrs[k] = bufs[st.indices[k].slot].ptr + st.indices[k].offset * 4;
          par.run(getThreadPool(this.kernels), bufs[st.src.slot].ptr + st.src.offset * es, bufs[st.dst.slot].ptr + st.dst.offset * es, idxPtrs);
        };
      }
      case "dynamic_view": {
        // The view's buffer: the source's pointer moved by the clamped starts, read from memory when the step runs.
        const es = storageBytes(this.lowered.slots[st.view].dtype);
        const bytes = this.lowered.slots[st.view].bytes;
        let words = new Int32Array(mem.memory.buffer);
        return (bufs) => {
          if (words.buffer !== mem.memory.buffer) words = new Int32Array(mem.memory.buffer);
          let offset = 0;
          for (const start of st.starts) {
            const raw = words[(bufs[start.at.slot].ptr >> 2) + start.at.offset];
            // uint32 starts read as int32 are negative past 2^31: they clamp to hi, as the unsigned value would.
            const index = start.dtype === "uint32" && raw < 0 ? start.hi : Math.min(Math.max(raw, 0), start.hi);
            offset += index * start.stride;
          }
          // Not a buffer of the allocator's: it is never freed, retained or donated (the planner never returns a view slot).
          bufs[st.view] = { ptr: bufs[st.src].ptr + offset * es, bytes, refs: 1 };
        };
      }
      case "library": {
        const prepared = prepareLibraryStep(st, this.kernels);
        this.hold(prepared.heldBytes);
        this.stepDisposers.push(prepared.dispose);
        return (bufs) => prepared.run((s) => bufs[s].ptr);
      }
      case "fallback": {
        const inSlots = st.inputs.map((s) => this.lowered.slots[s]);
        return (bufs) => {
          const hostIns = st.inputs.map((s, i) => {
            const info = inSlots[i];
            const data = viewOf(mem, bufs[s], info.dtype, elemCount(info)).slice();
            return new HostArray(data, st.inAvals[i].shape, st.inAvals[i].dtype);
          });
          const outs = interpret(st.prim, st.params, hostIns, st.outAvals);
          outs.forEach((o, i) => viewOf(mem, bufs[st.outputs[i]], o.dtype, o.data.length).set(o.data));
        };
      }
    }
  }

  /**
   * For each fresh output slot, the inputs whose buffer it may take over when they are
   * donated: same size, and no step reads the input after the output is written (or
   * the writing step is an elementwise kernel reading the input at the same index).
   */
  private donationCandidates(): Map<number, number[]> {
    const { slots, steps, freshOutputs, outputs } = this.lowered;
    const { lastRead, firstWrite: def } = timeline(steps);
    // An input the program also returns (as it is, or as a view) keeps its contents: never a donor.
    const returned = new Set(outputs);
    const out = new Map<number, number[]>();
    for (const o of freshOutputs) {
      const d = def.get(o);
      if (d === undefined) continue;
      const st = steps[d];
      const candidates: number[] = [];
      slots.forEach((info, i) => {
        if (info.kind !== "input" || info.bytes !== slots[o].bytes || info.bytes === 0 || returned.has(i)) return;
        const r = lastRead.get(i) ?? -1;
        const inPlace =
          r === d &&
          st.kind === "kernel" &&
          !st.spec.reduction &&
          st.inputs.every((v) => v.slot !== i || (v.offset === 0 && v.strides.every((x, k) => st.spec.shape[k] === 1 || x === stridesOf(st.spec.shape)[k])));
        if (r < d || inPlace) candidates.push(info.index!);
      });
      if (candidates.length > 0) out.set(o, candidates);
    }
    return out;
  }
  private donationPlan: Map<number, number[]> | null = null;

  /**
   * Run on `inputs`; where `donated[i]`, input i's buffer may become an output's; where
   * `destinations[k]` is given, output k is written there if the program computes it
   * (see Executable.run).
   */
  run(inputs: WasmBuffer[], consts: WasmBuffer[], donated?: readonly boolean[], destinations?: readonly (WasmBuffer | undefined)[]): WasmBuffer[] {
    const { slots, outputs } = this.lowered;
    const r = this.runLayout;
    if (this.workspace === null) {
      this.workspace = this.groupBytes.map((b) => this.mem.alloc(b));
      this.hold(this.groupBytes.reduce((a, b) => a + b, 0));
    }
    // Run once per eager operation: plain loops over layouts precomputed in the constructor.
    const bufs = new Array<WasmBuffer>(slots.length);
    for (let k = 0; k < r.inputSlots.length; k++) bufs[r.inputSlots[k]] = inputs[r.inputIndex[k]];
    for (let k = 0; k < r.argConstSlots.length; k++) bufs[r.argConstSlots[k]] = consts[r.argConstIndex[k]];
    for (const [slot, buf] of this.constBufs) bufs[slot] = buf;
    for (let k = 0; k < r.workspaceSlots.length; k++) bufs[r.workspaceSlots[k]] = this.workspace[this.group[r.workspaceSlots[k]]];
    // Slots written into a caller's destination: their outputs take no reference.
    let destinationSlots: Set<number> | null = null;
    if (destinations !== undefined) {
      // A fresh output (not an input or a constant) may live in the caller's memory: its
      // steps write there, and nothing else holds its slot. Where it is returned several
      // times (a scan carry that is also a y), every occurrence is that buffer.
      // Placed before donation, so that donated buffers go to the outputs without one.
      for (let k = 0; k < outputs.length; k++) {
        const dest = destinations[k];
        const slot = outputs[k];
        if (dest === undefined || !r.fresh[k] || bufs[slot] !== undefined || dest.bytes !== slots[slot].bytes) continue;
        bufs[slot] = dest;
        (destinationSlots ??= new Set()).add(slot);
      }
    }
    if (donated !== undefined && donated.some(Boolean)) this.takeDonated(bufs, inputs, donated);
    for (let k = 0; k < r.freshSlots.length; k++) bufs[r.freshSlots[k]] ??= this.mem.alloc(slots[r.freshSlots[k]].bytes);
    if (this.stepTimes) {
      this.runSteps.forEach((step, i) => {
        const t0 = performance.now();
        step(bufs);
        this.stepTimes![i] += performance.now() - t0;
      });
      this.runs++;
    } else {
      for (let k = 0; k < this.runSteps.length; k++) this.runSteps[k](bufs);
    }
    // Every returned buffer is one owned reference: fresh outputs come with theirs;
    // outputs that are inputs, constants or repeated take another.
    const out = new Array<WasmBuffer>(outputs.length);
    for (let k = 0; k < outputs.length; k++) {
      const b = bufs[outputs[k]];
      if (!b) throw new BackendError("wasm program: an output was never computed");
      if (r.retainOutput[k] && !(destinationSlots?.has(outputs[k]) ?? false)) this.mem.retain(b);
      out[k] = b;
    }
    return out;
  }

  /** Let fresh outputs take over donated inputs' buffers (see donationCandidates). */
  private takeDonated(bufs: WasmBuffer[], inputs: WasmBuffer[], donated: readonly boolean[]): void {
    this.donationPlan ??= this.donationCandidates();
    const taken = new Set<number>();
    const occurrences = new Map<WasmBuffer, number>();
    for (const b of inputs) occurrences.set(b, (occurrences.get(b) ?? 0) + 1);
    for (const [o, candidates] of this.donationPlan) {
      // Only a buffer no other array shares (one reference, passed once) can be written over.
      if (bufs[o] !== undefined) continue; // written into the caller's destination
      const i = candidates.find((c) => donated[c] && !taken.has(c) && inputs[c].refs === 1 && occurrences.get(inputs[c]) === 1);
      if (i === undefined) continue;
      taken.add(i);
      bufs[o] = this.mem.retain(inputs[i]);
    }
  }

  /** Per-step timing, on when TINYFLOW_PROFILE is set: see profile(). */
  private readonly stepTimes: number[] | null;
  private runs = 0;

  /** Mean time per run of each step (needs TINYFLOW_PROFILE=1), next to its description. */
  profile(): string {
    if (!this.stepTimes) return "profiling is off: set TINYFLOW_PROFILE=1";
    return this.describeSteps.map((d, i) => `${((this.stepTimes![i] / Math.max(1, this.runs)) * 1000).toFixed(1).padStart(8)} µs ${d}`).join("\n");
  }

  describe(): string {
    const kernels = this.lowered.steps.filter((s) => s.kind === "kernel").length;
    const ws = this.groupBytes.reduce((a, b) => a + b, 0);
    return [
      `wasm program: ${this.lowered.steps.length} steps (${kernels} fused kernels), workspace ${ws} bytes in ${this.groupBytes.length} reusable buffers`,
      ...this.describeSteps,
    ].join("\n");
  }

  /** The generated code of each fused kernel, for jit(f).lower(...).text(). */
  kernelCode(): string {
    return this.lowered.steps
      .map((st, i) =>
        st.kind === "kernel"
          ? `;; step ${i}\n${compileKernel(st.spec, { memory: this.mem.memory }).text()}`
          : st.kind === "window"
            ? `;; step ${i} (${st.label})\n${compileWindow(st.spec, this.mem.memory).text()}`
            : "",
      )
      .filter(Boolean)
      .join("\n\n");
  }

  dispose(): void {
    for (const b of this.constBufs.values()) this.mem.free(b);
    for (const b of this.workspace ?? []) this.mem.free(b);
    for (const d of this.stepDisposers) d();
    this.stepDisposers.length = 0;
    this.workspace = null;
    this.constBufs.clear();
    this.hold(-this.heldBytes);
  }

  private hold(bytes: number): void {
    this.heldBytes += bytes;
    noteProgramBytes(bytes);
  }
}

/** The slot bookkeeping of WasmProgram.run, fixed by the lowered program. */
interface RunLayout {
  /** Input slots and the program input each one takes. */
  inputSlots: number[];
  inputIndex: number[];
  /** Constant slots passed at run time (jit's uploaded constants) and their index among them. */
  argConstSlots: number[];
  argConstIndex: number[];
  /** Temporaries living in the reusable workspace. */
  workspaceSlots: number[];
  /** Output slots that get a new buffer per run (unless a donated input takes their place). */
  freshSlots: number[];
  /** Per output: whether it needs another reference (an input, a constant, or an output listed twice). */
  retainOutput: boolean[];
  /** Per output: a fresh slot (computed by the program), so it may be written into a caller's destination. */
  fresh: boolean[];
}

function runLayoutOf(lowered: LoweredProgram, group: number[], constBufs: Map<number, WasmBuffer>): RunLayout {
  const r: RunLayout = { inputSlots: [], inputIndex: [], argConstSlots: [], argConstIndex: [], workspaceSlots: [], freshSlots: [...lowered.freshOutputs], retainOutput: [], fresh: [] };
  lowered.slots.forEach((s, i) => {
    if (s.kind === "input") {
      r.inputSlots.push(i);
      r.inputIndex.push(s.index!);
    } else if (s.kind === "const") {
      if (!constBufs.has(i)) {
        r.argConstSlots.push(i);
        r.argConstIndex.push(s.index!);
      }
    } else if (group[i] >= 0) r.workspaceSlots.push(i);
  });
  const seen = new Set<number>();
  for (const s of lowered.outputs) {
    r.retainOutput.push(!lowered.freshOutputs.has(s) || seen.has(s));
    seen.add(s);
  }
  r.fresh = lowered.outputs.map((s) => lowered.freshOutputs.has(s));
  return r;
}

/**
 * Whether a gemm step runs the GEMM generated at run time rather than the Rust
 * sgemm: for a fused epilogue, or for relaxed SIMD — except skinny products
 * (op(A) of at most SGEMM_SKINNY_M rows), which are memory-bound and which the
 * Rust sgemm computes without packing B.
 */
function usesGeneratedGemm(st: Extract<Step, { kind: "gemm" }>, rows = gemvAsVectorMatrix(st).m): boolean {
  return st.epilogue !== undefined || (relaxedSimdAvailable() && rows > SGEMM_SKINNY_M);
}

type GemmStep = Extract<Step, { kind: "gemm" }>;

/**
 * The GEMV path: a matrix-vector product C = op(A)·x (n = 1, no epilogue) is
 * run as the vector-matrix product Cᵀ = xᵀ·op(A)ᵀ, which has the same memory
 * layout (an m x 1 C is a 1 x m row), so the Rust sgemm's skinny path reads
 * A in place once instead of packing it into 8-wide tiles of which 7 columns
 * are padding. Other steps are returned unchanged.
 */
function gemvAsVectorMatrix(st: GemmStep): Pick<GemmStep, "transA" | "transB" | "batch" | "m" | "n" | "k" | "a" | "b"> {
  if (st.n !== 1 || st.m <= 1 || st.epilogue !== undefined) return st;
  return { transA: !st.transB, transB: !st.transA, batch: st.batch, m: 1, n: st.m, k: st.k, a: st.b, b: st.a };
}

/** How many equal column blocks (multiples of 8 wide) to split n into for `threads` threads. */
function columnBlocks(n: number, threads: number): number {
  for (let t = threads; t > 1; t--) if (n % (8 * t) === 0) return t;
  return 1;
}

/** Why a step runs on the host: a dtype the wasm kernels lack, or a primitive without a wasm rule. */
function hostReason(st: Extract<Step, { kind: "fallback" }>): string {
  const dtypes = [...st.inAvals, ...st.outAvals].map((a) => a.dtype).filter((d) => !["float32", "int32", "uint32", "bool"].includes(d));
  return dtypes.length > 0 ? ` for ${[...new Set(dtypes)].join(", ")}` : ` for ${st.prim}`;
}

function describeStep(i: number, st: Step, slots: SlotInfo[]): string {
  const sl = (s: number) => `%${s}:${slots[s].dtype}[${slots[s].shape.join(",")}]`;
  switch (st.kind) {
    case "kernel": {
      const ops = st.spec.nodes.filter((n) => n.op !== "input" && n.op !== "const").map((n) => n.op);
      const red = st.spec.reduction ? ` reduce_${st.spec.reduction.op}(axes=${st.spec.reduction.axes})` : "";
      const inPlace = st.operandCopy ? " (skipped where the output takes over the donated operand)" : "";
      return `  ${i}: fused kernel over [${st.spec.shape}]${red}: ${ops.join(" ") || "copy"} (${st.inputs.map((v) => `%${v.slot}`).join(", ")}) -> ${st.outputs.map(sl).join(", ")}${inPlace}`;
    }
    case "gemm": {
      const engine = usesGeneratedGemm(st) ? `generated${relaxedSimdAvailable() ? " relaxed_madd" : ""}` : gemvAsVectorMatrix(st) !== st ? "rust, as the vector-matrix product xᵀ·op(A)ᵀ" : "rust";
      let operand = 0;
      const ep = st.epilogue
        ? `, fused epilogue ${describeEpilogue(st.epilogue.ops).replace(/(col\[j\]|row\[i\])/g, (v) => `%${st.epilogue!.operands[operand++]}${v.slice(3)}`)}`
        : "";
      return `  ${i}: sgemm${st.transA ? " A^T" : ""}${st.transB ? " B^T" : ""} ${st.batch}x[${st.m}x${st.k}]·[${st.k}x${st.n}] (%${st.a}, %${st.b}) -> ${sl(st.c)} (${engine}${ep})`;
    }
    case "conv": {
      let operand = 0;
      const ep = st.epilogue
        ? ` (fused epilogue ${describeEpilogue(st.epilogue.ops).replace(/(col\[j\]|row\[i\])/g, () => `%${st.epilogue!.operands[operand++]}[channel]`)})`
        : "";
      return `  ${i}: conv2d ${st.layout} (%${st.x}, %${st.w}) -> ${sl(st.y)}${ep}`;
    }
    case "conv_gradient":
      return `  ${i}: conv2d ${st.layout} backward ${st.gradient} (%${st.a}, %${st.b}) -> ${sl(st.out)}`;
    case "window": {
      const { dims, starts, combine, mode } = st.spec;
      const how = starts.length === 0 ? "" : ` with ${starts.length} start${starts.length > 1 ? "s" : ""} (${mode})`;
      return `  ${i}: ${st.label} kernel: ${combine} windows over [${dims.map((d) => d.size)}]${how} (${[st.src, ...st.indices].map((b) => `%${b.slot}`).join(", ")}) -> ${sl(st.dst.slot)}`;
    }
    case "dynamic_view": {
      const starts = st.starts.map((s) => `%${s.at.slot}`).join(", ");
      return `  ${i}: dynamic_slice as a view (no copy): %${st.view} points into %${st.src} at the offset of starts (${starts}), clamped -> ${sl(st.view)}`;
    }
    case "library":
      return `  ${i}: ${describeLibraryCall(st.call)} (wasm kernel) (${st.inputs.map((s) => `%${s}`).join(", ")}) -> ${st.outputs.map(sl).join(", ")}`;
    case "fallback":
      return `  ${i}: HOST FALLBACK ${st.prim} on the host (no wasm kernel${hostReason(st)}) (${st.inputs.map((s) => `%${s}`).join(", ")}) -> ${st.outputs.map(sl).join(", ")}`;
  }
}

