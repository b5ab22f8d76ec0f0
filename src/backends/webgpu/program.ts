// A planned program (plan/planner.ts) made runnable on WebGPU: each fused
// kernel, GEMM and conv step becomes a cached compute pipeline, constants are
// uploaded once, intermediate slots share workspace buffers by the common
// buffer plan, and a run records its dispatches into the runtime's open
// command encoder. Window steps (gather, scatter, pads, concatenations,
// dynamic slices) and library steps (argmax, scans, sort, top_k, pooling and
// its gradients) are WGSL passes too (wgsl/window.ts, wgsl/library.ts), as are
// cholesky, lu and triangular_solve (wgsl/decomposition.ts). Steps the WebGPU
// target has no kernel for (qr, eigh, svd, float16 decompositions) run on
// the host (labelled HOST FALLBACK in the listing): the run then continues
// asynchronously behind the readback of their operands (runtime.ts). Every GPU
// step reads its sizes from a parameter uniform unless the runtime specialises
// shapes, so a new shape of a known structure compiles no pipeline. The device
// buffers a program holds between runs are counted in
// memoryStats().programBytes until it is disposed (clearCache, eviction), and
// the cached pipelines it runs are held until then (runtime.ts).

import { BackendError } from "../../core/errors";
import { noteProgramBytes } from "../../core/residency";
import type { FirstOrderPrimitive, ParamsOf } from "../../core/primitives";
import { sizeOf, stridesOf } from "../../core/shape";
import { HostArray, interpret } from "../interpreter";
import { planWorkspace, timeline } from "../plan/buffer_plan";
import type { KernelSpec, LibraryCall } from "../plan/kernel_graph";
import type { LoweredProgram, PlanTarget, SlotInfo, Step, View } from "../plan/lowered_program";
import { NARROW_HALVES_WGSL, WIDEN_HALVES_WGSL } from "./half";
import { deviceWords, fromWords, GpuRuntime, toWords, type GpuBuffer, type PipelineLease } from "./runtime";
import { generateKernel, WORKGROUP, type BoundView } from "./wgsl/kernel";
import { generateLibrary, type LibraryBinding } from "./wgsl/library";
import { WGSL_DECOMPOSITIONS } from "./wgsl/decomposition";
import { generateConv, generateGemm } from "./wgsl/matmul";
import { generateWindow, type WindowBinding } from "./wgsl/window";

/**
 * What the WGSL code generators cover: fused kernels, GEMM with epilogues, conv, window and library
 * steps, and the decompositions of WGSL_DECOMPOSITIONS (cholesky, lu, triangular_solve); conv gradients
 * run as transposed forward convs; the other decompositions run on the host.
 */
export const WEBGPU_TARGET: PlanTarget = {
  windowKernels: true, libraryKernels: true, gemmEpilogues: true, transposeNarrowGemm: false, convGradientKernels: false, convEpilogues: false,
  decompositionKernels: WGSL_DECOMPOSITIONS,
};

/** One step ready to run: a recorded dispatch, or host work on the slots' buffers. */
type Prepared =
  | { kind: "gpu"; record(bufs: GpuBuffer[]): void; code: string }
  | { kind: "host"; run(bufs: GpuBuffer[]): Promise<void> };

/** Words a slot occupies on the device. */
const slotWords = (s: SlotInfo): number => Math.max(1, deviceWords(s.data ? s.data.length : sizeOf(s.shape), s.dtype));

/**
 * Whether element i of one slot sits where element i of the other does: as many words, both
 * float16 (packed) or neither. (A float16 array of 2n elements has the words of a float32 one of n.)
 */
const sameLayout = (a: SlotInfo, b: SlotInfo): boolean => slotWords(a) === slotWords(b) && (a.dtype === "float16") === (b.dtype === "float16");

/** A kernel restricted to some of its outputs: the nodes they need, and only the inputs those read. */
function restrict(spec: KernelSpec, views: readonly View[], outputs: readonly number[]): { spec: KernelSpec; views: View[] } {
  const needed = new Set<number>();
  const visit = (i: number) => {
    if (needed.has(i)) return;
    needed.add(i);
    const n = spec.nodes[i];
    if (n.op !== "input" && n.op !== "const") n.args.forEach(visit);
  };
  outputs.forEach((o) => visit(spec.outputs[o].node));
  const nodeMap = new Map<number, number>();
  const inputMap = new Map<number, number>();
  const nodes: KernelSpec["nodes"][number][] = [];
  const inputs: KernelSpec["inputs"][number][] = [];
  const outViews: View[] = [];
  spec.nodes.forEach((n, i) => {
    if (!needed.has(i)) return;
    if (n.op === "input") {
      if (!inputMap.has(n.input)) {
        inputMap.set(n.input, inputs.length);
        inputs.push(spec.inputs[n.input]);
        outViews.push(views[n.input]);
      }
      nodes.push({ op: "input", input: inputMap.get(n.input)! });
    } else if (n.op === "const") nodes.push(n);
    else if (n.op === "integer_pow") nodes.push({ ...n, args: [nodeMap.get(n.args[0])!] });
    else nodes.push({ ...n, args: n.args.map((a) => nodeMap.get(a)!) });
    nodeMap.set(i, nodes.length - 1);
  });
  return {
    spec: { ...spec, inputs, nodes, outputs: outputs.map((o) => ({ ...spec.outputs[o], node: nodeMap.get(spec.outputs[o].node)! })) },
    views: outViews,
  };
}

export class WebGpuProgram {
  private readonly prepared: Prepared[];
  private readonly constBufs = new Map<number, GpuBuffer>();
  /** Buffers only one step uses (sort permutations, last-writer tables) and the uniform buffers of parameterised passes. */
  private readonly privateBufs: GpuBuffer[] = [];
  private readonly uniformBufs: GPUBuffer[] = [];
  /** The cached pipelines this program's steps run, given back to the cache on dispose. */
  private readonly pipelines: PipelineLease[] = [];
  private workspace: GpuBuffer[] | null = null;
  private readonly group: number[];
  private readonly groupWords: number[];
  readonly hostSteps: number;
  /** Device bytes this program holds between runs (constants, workspace, private and uniform buffers): memoryStats().programBytes. */
  private heldBytes = 0;

  constructor(
    private readonly lowered: LoweredProgram,
    private readonly rt: GpuRuntime,
  ) {
    const { slots, steps } = lowered;
    slots.forEach((s, i) => {
      if (s.kind === "const" && s.data) {
        const buf = rt.alloc(slotWords(s), "a constant");
        rt.write(buf, toWords(typedConst(s), s.dtype));
        this.constBufs.set(i, buf);
        this.hold(buf.buffer.size);
      }
    });
    const ws = planWorkspace(lowered, (slot) => slotWords(slots[slot]));
    this.group = ws.group;
    this.groupWords = ws.groupBytes;
    this.prepared = steps.flatMap((st) => this.prepare(st));
    this.hostSteps = steps.filter((s) => s.kind === "fallback").length;
  }

  /** A kernel over more buffers than a shader may bind runs as one kernel per output. */
  private splitsPerOutput(views: readonly View[], outSlots: readonly number[]): boolean {
    return new Set(views.map((v) => v.slot)).size + outSlots.length > this.rt.ctx.maxStorageBuffersPerShaderStage && outSlots.length > 1;
  }

  private kernelSteps(spec: KernelSpec, views: readonly View[], outSlots: readonly number[]): Prepared[] {
    const reduced = new Set(spec.reduction?.axes ?? []);
    if (spec.shape.some((n, d) => n === 0 && !reduced.has(d))) return []; // no output element to write
    const limit = this.rt.ctx.maxStorageBuffersPerShaderStage;
    const distinct = new Set(views.map((v) => v.slot)).size;
    if (this.splitsPerOutput(views, outSlots)) {
      // Over the device's bindings per shader: one kernel per output, each binding only what it reads.
      return outSlots.flatMap((slot, k) => {
        const r = restrict(spec, views, [k]);
        return this.kernelSteps(r.spec, r.views, [slot]);
      });
    }
    if (distinct + outSlots.length > limit) {
      throw new BackendError(
        `webgpu: a fused kernel reads ${distinct} buffers and writes ${outSlots.length}, over this device's maxStorageBuffersPerShaderStage of ${limit}; ` +
          `run this function on the wasm backend (jit(f, { backend: "wasm" }))`,
      );
    }
    const inputSlots = [...new Set(views.map((v) => v.slot))];
    // Inputs an output may be written over (a donated input, see donationCandidates): read densely at
    // the index each invocation writes. Such a step gets a variant binding the input through the output.
    const inPlace = spec.reduction
      ? []
      : inputSlots.flatMap((slot) => {
          const dense = views.every((v) => v.slot !== slot || (v.offset === 0 && v.strides.every((x, d) => spec.shape[d] === 1 || x === stridesOf(spec.shape)[d])));
          return dense && this.lowered.slots[slot].kind === "input" ? outSlots.map((o, k) => ({ slot, output: k, o })).filter((p) => sameLayout(this.lowered.slots[p.o], this.lowered.slots[slot])) : [];
        });
    /** The pipeline reading the inputs `aliased` (slot -> output index) through their outputs' bindings. */
    const variant = (aliased: ReadonlyMap<number, number>) => {
      const bindingOf = new Map<number, number>();
      for (const slot of inputSlots) if (!aliased.has(slot)) bindingOf.set(slot, bindingOf.size);
      const isHalf = (slot: number) => this.lowered.slots[slot].dtype === "float16";
      const bound: BoundView[] = views.map((v) => ({ binding: bindingOf.get(v.slot) ?? -1, offset: v.offset, strides: v.strides, output: aliased.get(v.slot), packed: isHalf(v.slot) }));
      const kernel = generateKernel(spec, bound, bindingOf.size, { specialize: this.rt.specializeShapes, packedOutputs: outSlots.map(isHalf) });
      const grid = GpuRuntime.grid("threads" in kernel.dispatch ? Math.ceil(kernel.dispatch.threads / WORKGROUP) : kernel.dispatch.workgroups);
      const params = kernel.params ? this.uniformBuffer(kernel.params) : null;
      return { code: kernel.code, pipeline: this.pipeline(kernel.code), slots: [...bindingOf.keys(), ...outSlots], params, grid };
    };
    const plain = variant(new Map());
    const variants = new Map<string, ReturnType<typeof variant>>();
    const record = (bufs: GpuBuffer[]) => {
      let v = plain;
      const aliased = inPlace.filter((p) => bufs[p.slot] === bufs[p.o]);
      if (aliased.length > 0) {
        const key = aliased.map((p) => `${p.slot}:${p.output}`).join(",");
        if (!variants.has(key)) variants.set(key, variant(new Map(aliased.map((p) => [p.slot, p.output]))));
        v = variants.get(key)!;
      }
      const buffers = v.slots.map((s) => bufs[s].buffer);
      this.rt.dispatch(v.pipeline, v.params ? [...buffers, v.params] : buffers, v.grid);
    };
    return [{ kind: "gpu", code: plain.code, record }];
  }

  /**
   * A step's passes. Fused kernels and host steps read and write packed float16 themselves; the
   * GEMM, conv, window and library shaders work on one word per element, so their float16
   * operands are widened into private f32 buffers before them, and their float16 results are
   * written there and narrowed (rounded to nearest even) after them.
   */
  private prepare(st: Step): Prepared[] {
    const steps = this.prepareStep(st);
    const io = wordOperands(st);
    const isHalf = (slot: number) => this.lowered.slots[slot].dtype === "float16";
    const reads = [...new Set(io.reads.filter(isHalf))];
    const writes = [...new Set(io.writes.filter(isHalf))];
    if (reads.length + writes.length === 0) return steps;
    // A window step may write only part of its destination: it is widened too, so the rest survives.
    const widened = [...new Set([...reads, ...(st.kind === "window" ? writes : [])])];
    const temps = new Map([...reads, ...writes].map((slot) => [slot, this.privateBuffer(this.elements(slot), "a float16 operand widened to float32")]));
    const convert = (code: string, slot: number, toHalf: boolean): Prepared => {
      const pipeline = this.pipeline(code);
      const n = this.elements(slot);
      const uniform = this.uniformBuffer(new Uint32Array([n, 0, 0, 0]));
      const grid = GpuRuntime.grid(Math.ceil((toHalf ? Math.ceil(n / 2) : n) / WORKGROUP));
      const temp = temps.get(slot)!.buffer;
      return { kind: "gpu", code, record: (bufs) => this.rt.dispatch(pipeline, toHalf ? [temp, bufs[slot].buffer, uniform] : [bufs[slot].buffer, temp, uniform], grid) };
    };
    const onTemps = (bufs: GpuBuffer[]) => {
      const mapped = bufs.slice();
      for (const [slot, temp] of temps) mapped[slot] = temp;
      return mapped;
    };
    return [
      ...widened.map((slot) => convert(WIDEN_HALVES_WGSL, slot, false)),
      ...steps.map((p): Prepared => (p.kind === "gpu" ? { kind: "gpu", code: p.code, record: (bufs) => p.record(onTemps(bufs)) } : p)),
      ...writes.map((slot) => convert(NARROW_HALVES_WGSL, slot, true)),
    ];
  }

  /** Elements of a slot's array. */
  private elements(slot: number): number {
    const s = this.lowered.slots[slot];
    return Math.max(1, s.data ? s.data.length : sizeOf(s.shape));
  }

  private prepareStep(st: Step): Prepared[] {
    switch (st.kind) {
      case "kernel":
        return this.kernelSteps(st.spec, st.inputs, st.outputs);
      case "gemm": {
        if (st.batch > 65535) throw new BackendError(`webgpu: a batched matmul of ${st.batch} products is over the 65535 workgroups of one dispatch dimension; use the wasm backend`);
        const { code, workgroups, params } = generateGemm(st, st.epilogue?.ops ?? [], { specialize: this.rt.specializeShapes });
        const pipeline = this.pipeline(code);
        const slots = [st.a, st.b, st.c, ...(st.epilogue?.operands ?? [])];
        const uniform = params ? [this.uniformBuffer(params)] : [];
        const grid: [number, number, number] = [workgroups[0], workgroups[1], st.batch];
        return [{ kind: "gpu", code, record: (bufs) => this.rt.dispatch(pipeline, [...slots.map((s) => bufs[s].buffer), ...uniform], grid) }];
      }
      case "conv": {
        const { code, outputs, params } = generateConv(st.layout, st.params, { specialize: this.rt.specializeShapes });
        if (outputs === 0) return [];
        const pipeline = this.pipeline(code);
        const uniform = params ? [this.uniformBuffer(params)] : [];
        const grid = GpuRuntime.grid(Math.ceil(outputs / WORKGROUP));
        return [{ kind: "gpu", code, record: (bufs) => this.rt.dispatch(pipeline, [...[st.x, st.w, st.y].map((s) => bufs[s].buffer), ...uniform], grid) }];
      }
      case "window":
        return this.windowSteps(st);
      case "library":
        return this.librarySteps(st);
      case "fallback":
        return [{ kind: "host", run: (bufs) => this.hostStep(st, bufs) }];
      case "conv_gradient":
      case "dynamic_view":
        // The WebGPU target plans none (WEBGPU_TARGET): conv gradients arrive as forward convs, dynamic slices as copies.
        throw new BackendError(`webgpu: the planner emitted a ${st.kind} step, which the WebGPU target does not run`);
    }
  }

  /** The cached pipeline of `code`, held until the program is disposed. */
  private pipeline(code: string): GPUComputePipeline {
    const lease = this.rt.acquirePipeline(code);
    this.pipelines.push(lease);
    return lease.pipeline;
  }

  /** A uniform buffer of a pass's parameters, destroyed with the program. */
  private uniformBuffer(words: Uint32Array): GPUBuffer {
    const buf = this.rt.uniform(words);
    this.uniformBufs.push(buf);
    this.hold(buf.size);
    return buf;
  }

  /** A private device buffer of `words` for one step, released with the program. */
  private privateBuffer(words: number, what: string): GpuBuffer {
    const buf = this.rt.alloc(words, what);
    this.privateBufs.push(buf);
    this.hold(buf.buffer.size);
    return buf;
  }

  private windowSteps(st: Extract<Step, { kind: "window" }>): Prepared[] {
    // One word per element: a float16 destination is a widened private copy here (prepare).
    const dstWords = this.elements(st.dst.slot);
    const passes = generateWindow(st.spec, { src: st.src.offset, dst: st.dst.offset, starts: st.indices.map((i) => i.offset) }, st.indices.map((i) => i.slot), dstWords, {
      specialize: this.rt.specializeShapes,
    });
    const scratch = passes.some((p) => p.bindings.some((b) => b.kind === "scratch")) ? this.privateBuffer(dstWords, `the last-writer table of a ${st.label}`) : null;
    const bufferOf = (b: WindowBinding, bufs: GpuBuffer[]): GPUBuffer => {
      switch (b.kind) {
        case "src":
          return bufs[st.src.slot].buffer;
        case "dst":
          return bufs[st.dst.slot].buffer;
        case "index":
          return bufs[b.buffer].buffer;
        case "scratch":
          return scratch!.buffer;
      }
    };
    return passes.map((p) => {
      const pipeline = this.pipeline(p.code);
      const uniform = p.params ? [this.uniformBuffer(p.params)] : [];
      const grid = GpuRuntime.grid(Math.ceil(p.threads / WORKGROUP));
      return { kind: "gpu", code: p.code, record: (bufs) => this.rt.dispatch(pipeline, [...p.bindings.map((b) => bufferOf(b, bufs)), ...uniform], grid) };
    });
  }

  private librarySteps(st: Extract<Step, { kind: "library" }>): Prepared[] {
    const kernel = generateLibrary(st.call, { specialize: this.rt.specializeShapes });
    const keys = kernel.keysWords > 0 ? this.privateBuffer(kernel.keysWords, `the sort keys of ${st.call.op}`) : null;
    const perm = kernel.permWords > 0 ? this.privateBuffer(kernel.permWords, `the sort permutation of ${st.call.op}`) : null;
    return kernel.passes.map((p) => {
      const pipeline = this.pipeline(p.code);
      const uniform = p.params ? [this.uniformBuffer(p.params)] : [];
      const bufferOf = (b: LibraryBinding, bufs: GpuBuffer[]): GPUBuffer => {
        switch (b.kind) {
          case "input":
            return bufs[st.inputs[b.index]].buffer;
          case "output":
            return bufs[st.outputs[b.index]].buffer;
          case "keys":
            return keys!.buffer;
          case "perm":
            return perm!.buffer;
        }
      };
      const grid = GpuRuntime.grid("threads" in p.dispatch ? Math.ceil(p.dispatch.threads / WORKGROUP) : p.dispatch.workgroups);
      return { kind: "gpu", code: p.code, record: (bufs) => this.rt.dispatch(pipeline, [...p.bindings.map((b) => bufferOf(b, bufs)), ...uniform], grid) };
    });
  }

  /** Reads the step's operands, runs the interpreter's rule, writes the results back. */
  private async hostStep(st: Extract<Step, { kind: "fallback" }>, bufs: GpuBuffer[]): Promise<void> {
    this.rt.flush();
    const words = await this.rt.readWords(st.inputs.map((s) => bufs[s]));
    const ins = st.inputs.map((_, i) => new HostArray(fromWords(words[i], st.inAvals[i].dtype, st.inAvals[i].size), st.inAvals[i].shape, st.inAvals[i].dtype));
    const outs = interpret(st.prim, st.params, ins, st.outAvals);
    outs.forEach((o, i) => this.rt.write(bufs[st.outputs[i]], toWords(o.data, o.dtype)));
  }

  /**
   * For each fresh output slot, the inputs whose buffer it may take over when they are donated:
   * as many words, and no step reads the input once the output is first written — or the writing
   * step is an elementwise kernel reading the input at the index it writes (it then runs a variant
   * reading the input through the output's binding: WebGPU refuses one buffer bound both read-only
   * and writable in one dispatch).
   */
  private donationCandidates(): Map<number, number[]> {
    const { slots, steps, freshOutputs, outputs } = this.lowered;
    const { lastRead, firstWrite } = timeline(steps);
    // An input the program also returns (as it is, or as a view) keeps its contents: never a donor.
    const returned = new Set(outputs);
    const out = new Map<number, number[]>();
    for (const o of freshOutputs) {
      const written = firstWrite.get(o);
      if (written === undefined) continue;
      const st = steps[written];
      // (A kernel split per output may read the input after the first part wrote over it.)
      const inPlace = (i: number) =>
        st.kind === "kernel" &&
        !st.spec.reduction &&
        !this.splitsPerOutput(st.inputs, st.outputs) &&
        sameLayout(slots[i], slots[o]) &&
        st.inputs.every((v) => v.slot !== i || (v.offset === 0 && v.strides.every((x, d) => st.spec.shape[d] === 1 || x === stridesOf(st.spec.shape)[d])));
      const candidates = slots.flatMap((info, i) => {
        if (info.kind !== "input" || slotWords(info) !== slotWords(slots[o]) || returned.has(i)) return [];
        const last = lastRead.get(i) ?? -1;
        return last < written || (last === written && inPlace(i)) ? [info.index!] : [];
      });
      if (candidates.length > 0) out.set(o, candidates);
    }
    return out;
  }
  private donationPlan: Map<number, number[]> | null = null;

  /** Lets fresh outputs take over donated inputs' buffers (see donationCandidates); returns the slots so served. */
  private takeDonated(bufs: GpuBuffer[], inputs: GpuBuffer[], donated: readonly boolean[]): Set<number> {
    this.donationPlan ??= this.donationCandidates();
    const served = new Set<number>();
    const taken = new Set<number>();
    const occurrences = new Map<GpuBuffer, number>();
    for (const b of inputs) occurrences.set(b, (occurrences.get(b) ?? 0) + 1);
    for (const [o, candidates] of this.donationPlan) {
      // Only a buffer no other array shares (one reference, passed once) can be written over.
      const i = candidates.find((c) => donated[c] && !taken.has(c) && inputs[c].refs === 1 && occurrences.get(inputs[c]) === 1);
      if (i === undefined) continue;
      taken.add(i);
      // The donor's host copy no longer describes the buffer.
      inputs[i].shadow = undefined;
      bufs[o] = this.rt.retain(inputs[i]);
      served.add(o);
    }
    return served;
  }

  /** Records (or, past a host step, queues) the program on `inputs`; where `donated[i]`, input i's buffer may become an output's. Returns the output buffers at once. */
  run(inputs: GpuBuffer[], consts: GpuBuffer[], donated?: readonly boolean[]): GpuBuffer[] {
    const { slots, outputs, freshOutputs } = this.lowered;
    if (!this.workspace) {
      this.workspace = this.groupWords.map((w) => this.rt.alloc(w, "a program's workspace"));
      this.hold(this.workspace.reduce((sum, b) => sum + b.buffer.size, 0));
    }
    const bufs: GpuBuffer[] = new Array(slots.length);
    slots.forEach((s, i) => {
      if (s.kind === "input") bufs[i] = inputs[s.index!];
      else if (s.kind === "const") bufs[i] = s.data ? this.constBufs.get(i)! : consts[s.index!];
      else if (this.group[i] >= 0) bufs[i] = this.workspace![this.group[i]];
    });
    const served = donated?.some(Boolean) ? this.takeDonated(bufs, inputs, donated) : new Set<number>();
    for (const s of freshOutputs) {
      if (!served.has(s)) bufs[s] = this.rt.alloc(slotWords(slots[s]), `an output of ${slots[s].dtype}[${slots[s].shape.join(",")}]`);
    }
    // The inputs must outlive queued work: held until the run has finished.
    const held = inputs.map((b) => this.rt.retain(b));
    this.rt.after(() => {
      const done = this.execute(bufs, 0);
      const releaseInputs = () => held.forEach((b) => this.rt.release(b));
      if (done) return done.finally(releaseInputs);
      releaseInputs();
    });
    const handedOut = new Set<number>();
    return outputs.map((s) => {
      const b = bufs[s];
      if (!b) throw new BackendError("webgpu program: an output was never computed");
      if (!freshOutputs.has(s) || handedOut.has(s)) this.rt.retain(b);
      handedOut.add(s);
      return b;
    });
  }

  private execute(bufs: GpuBuffer[], from: number): Promise<void> | void {
    for (let i = from; i < this.prepared.length; i++) {
      const p = this.prepared[i];
      if (p.kind === "host") return p.run(bufs).then(() => this.execute(bufs, i + 1));
      p.record(bufs);
    }
  }

  describe(): string {
    const { steps, slots } = this.lowered;
    const kernels = steps.filter((s) => s.kind === "kernel").length;
    return [
      `webgpu program: ${steps.length} steps (${kernels} fused WGSL kernels, ${this.hostSteps} on the host), workspace ${this.groupWords.reduce((a, b) => a + b, 0) * 4} bytes in ${this.groupWords.length} reusable buffers`,
      ...steps.map((st, i) => describeStep(i, st, slots)),
    ].join("\n");
  }

  /** The WGSL of every GPU step, for jit(f).lower(...).text(). */
  kernelCode(): string {
    return this.prepared
      .flatMap((p, i) => (p.kind === "gpu" ? [`// step ${i}\n${p.code.slice(p.code.indexOf("@group"))}`] : []))
      .join("\n\n");
  }

  dispose(): void {
    for (const b of this.constBufs.values()) this.rt.release(b);
    for (const b of this.workspace ?? []) this.rt.release(b);
    for (const b of this.privateBufs) this.rt.release(b);
    for (const b of this.uniformBufs) this.rt.destroy(b);
    for (const p of this.pipelines) this.rt.releasePipeline(p);
    this.pipelines.length = 0;
    this.privateBufs.length = 0;
    this.uniformBufs.length = 0;
    this.constBufs.clear();
    this.workspace = null;
    this.hold(-this.heldBytes);
  }

  private hold(bytes: number): void {
    this.heldBytes += bytes;
    noteProgramBytes(bytes);
  }
}

/** The slots a step that works on one word per element reads and writes (none for fused kernels and host steps, which read float16 packed). */
function wordOperands(st: Step): { reads: number[]; writes: number[] } {
  switch (st.kind) {
    case "gemm":
      return { reads: [st.a, st.b, ...(st.epilogue?.operands ?? [])], writes: [st.c] };
    case "conv":
      return { reads: [st.x, st.w], writes: [st.y] };
    case "window":
      return { reads: [st.src.slot], writes: [st.dst.slot] };
    case "library":
      return { reads: st.inputs, writes: st.outputs };
    case "kernel":
    case "fallback":
    case "conv_gradient":
    case "dynamic_view":
      return { reads: [], writes: [] };
  }
}

/** A constant slot's host data in its dtype's typed array. */
function typedConst(s: SlotInfo): Float32Array | Int32Array | Uint32Array | Uint8Array {
  const d = s.data!;
  switch (s.dtype) {
    case "int32":
      return Int32Array.from(d);
    case "uint32":
      return Uint32Array.from(d);
    case "bool":
      return Uint8Array.from(d);
    default:
      return Float32Array.from(d);
  }
}

/** What a library step computes, for the listing. */
function libraryLabel(call: LibraryCall): string {
  switch (call.op) {
    case "argreduce":
      return `${call.isMin ? "argmin" : "argmax"} ${call.dtype} [${call.outer}, ${call.n}, ${call.inner}]`;
    case "cumulative":
      return `cumulative ${call.fold}${call.reverse ? " reversed" : ""} ${call.dtype} [${call.outer}, ${call.n}, ${call.inner}]`;
    case "sort":
      return `bitonic sort of ${call.dtypes.length} operand(s) by ${call.numKeys} key(s), ${call.rows} rows of ${call.n}`;
    case "top_k":
      return `bitonic top_k k=${call.k} ${call.dtype}, ${call.rows} rows of ${call.n}`;
    case "reduce_window":
      return `reduce_window ${call.fold} ${call.dtype}`;
    case "select_and_scatter_add":
    case "select_and_gather_add":
      return `${call.op} ${call.ge ? "ge" : "le"} ${call.dtype}`;
    case "decomposition": {
      const s = call.solve;
      if (!s) return `${call.prim} float32, ${call.batch} × ${call.m}×${call.n}`;
      const form = `${s.leftSide ? "op(a)·x = b" : "x·op(a) = b"}, ${s.lower ? "lower" : "upper"}${s.transposeA ? ", op = transpose" : ""}${s.unitDiagonal ? ", unit diagonal" : ""}`;
      return `${call.prim} float32 (${form}), ${call.batch} × ${call.rows}×${call.cols}`;
    }
  }
}

/** Why a step runs on the host: a dtype the step's kernels lack, or a primitive without a WGSL kernel. */
function hostReason(st: Extract<Step, { kind: "fallback" }>): string {
  const dtypes = [...st.inAvals, ...st.outAvals].map((a) => a.dtype).filter((d) => d !== "float32" && d !== "int32" && d !== "uint32" && d !== "bool");
  return dtypes.length > 0 ? ` for ${st.prim} on ${[...new Set(dtypes)].join(", ")}` : ` for ${st.prim}`;
}

function describeStep(i: number, st: Step, slots: SlotInfo[]): string {
  const sl = (s: number) => `%${s}:${slots[s].dtype}[${slots[s].shape.join(",")}]`;
  switch (st.kind) {
    case "kernel": {
      const ops = st.spec.nodes.filter((n) => n.op !== "input" && n.op !== "const").map((n) => n.op);
      const red = st.spec.reduction ? ` reduce_${st.spec.reduction.op}(axes=${st.spec.reduction.axes})` : "";
      return `  ${i}: WGSL kernel over [${st.spec.shape}]${red}: ${ops.join(" ") || "copy"} (${st.inputs.map((v) => `%${v.slot}`).join(", ")}) -> ${st.outputs.map(sl).join(", ")}`;
    }
    case "gemm": {
      const ep = st.epilogue ? `, fused epilogue ${st.epilogue.ops.map((o) => o.op).join(" ")}` : "";
      return `  ${i}: WGSL tiled matmul${st.transA ? " A^T" : ""}${st.transB ? " B^T" : ""} ${st.batch}x[${st.m}x${st.k}]·[${st.k}x${st.n}] (%${st.a}, %${st.b}) -> ${sl(st.c)}${ep}`;
    }
    case "conv":
      return `  ${i}: WGSL conv2d ${st.layout} (%${st.x}, %${st.w}) -> ${sl(st.y)}`;
    case "fallback":
      return `  ${i}: HOST FALLBACK ${st.prim} on the host (no WebGPU kernel${hostReason(st)}; the program waits for a readback here) (${st.inputs.map((s) => `%${s}`).join(", ")}) -> ${st.outputs.map(sl).join(", ")}`;
    case "window":
      return `  ${i}: WGSL ${st.label} window [${st.spec.dims.map((d) => d.size).join(",")}] (%${st.src.slot}${st.indices.map((x) => `, %${x.slot}`).join("")}) -> ${sl(st.dst.slot)}`;
    case "library":
      return `  ${i}: WGSL ${libraryLabel(st.call)} (${st.inputs.map((s) => `%${s}`).join(", ")}) -> ${st.outputs.map(sl).join(", ")}`;
    case "conv_gradient":
    case "dynamic_view":
      return `  ${i}: ${st.kind} step`;
  }
}
