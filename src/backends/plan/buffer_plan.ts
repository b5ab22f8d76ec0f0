// The buffer plan shared by the backends: which steps read and write which
// slots, and a liveness-based assignment of a program's intermediate (temp)
// slots to reusable workspace buffers, so steady-state calls allocate only
// their outputs. Each backend sizes the slots in its own storage (`bytesOf`).

import type { LoweredProgram, Step } from "./lowered_program";

/** Liveness-based assignment of temp slots to reusable workspace groups: `group[slot]` (-1: none), and each group's size. */
export function planWorkspace(lowered: LoweredProgram, bytesOf: (slot: number) => number): { group: number[]; groupBytes: number[] } {
  const { slots, steps, freshOutputs } = lowered;
  const { lastRead: lastUse } = timeline(steps);
  const group = new Array<number>(slots.length).fill(-1);
  const groupBytes: number[] = [];
  const free: number[] = [];
  const releaseAt = new Map<number, number[]>();
  steps.forEach((st, i) => {
    for (const s of stepWrites(st)) {
      if (slots[s].kind !== "temp" || freshOutputs.has(s) || group[s] >= 0) continue;
      const need = bytesOf(s);
      // best fit among free groups
      let best = -1;
      for (let k = 0; k < free.length; k++) {
        const g = free[k];
        if (groupBytes[g] >= need && (best < 0 || groupBytes[g] < groupBytes[free[best]])) best = k;
      }
      let g: number;
      if (best >= 0) g = free.splice(best, 1)[0];
      else {
        g = groupBytes.length;
        groupBytes.push(need);
      }
      group[s] = g;
      const end = Math.max(lastUse.get(s) ?? i, i);
      if (!releaseAt.has(end)) releaseAt.set(end, []);
      releaseAt.get(end)!.push(g);
    }
    for (const g of releaseAt.get(i) ?? []) free.push(g);
  });
  return { group, groupBytes };
}

/**
 * For each slot, the last step reading it and the first step writing it. A
 * dynamic view's readers read its source's buffer: the source counts as read
 * until the view's last reader (views of views included, latest first).
 */
export function timeline(steps: Step[]): { lastRead: Map<number, number>; firstWrite: Map<number, number> } {
  const lastRead = new Map<number, number>();
  const firstWrite = new Map<number, number>();
  steps.forEach((st, i) => {
    for (const s of stepReads(st)) lastRead.set(s, i);
    for (const s of stepWrites(st)) if (!firstWrite.has(s)) firstWrite.set(s, i);
  });
  for (let i = steps.length - 1; i >= 0; i--) {
    const st = steps[i];
    if (st.kind === "dynamic_view") lastRead.set(st.src, Math.max(lastRead.get(st.src) ?? i, lastRead.get(st.view) ?? i));
  }
  return { lastRead, firstWrite };
}

export function stepReads(st: Step): number[] {
  switch (st.kind) {
    case "kernel":
      return st.inputs.map((v) => v.slot);
    case "gemm":
      return [st.a, st.b, ...(st.epilogue?.operands ?? [])];
    case "conv":
      return [st.x, st.w];
    case "conv_gradient":
      return [st.a, st.b];
    case "window":
      // The destination too: a window step updates part of a buffer an earlier step wrote.
      return [st.src.slot, ...st.indices.map((i) => i.slot), st.dst.slot];
    case "dynamic_view":
      return [st.src, ...st.starts.map((s) => s.at.slot)];
    case "library":
    case "fallback":
      return st.inputs;
  }
}

export function stepWrites(st: Step): number[] {
  switch (st.kind) {
    case "kernel":
      return st.outputs;
    case "gemm":
      return [st.c];
    case "conv":
      return [st.y];
    case "conv_gradient":
      return [st.out];
    case "window":
      return [st.dst.slot];
    case "dynamic_view":
      return [st.view];
    case "library":
      return [...st.outputs, ...st.scratch];
    case "fallback":
      return st.outputs;
  }
}

