// Building the program of a jaxpr on a backend: the IR passes, the constants
// moved onto the backend, then the backend's own compiler, or, for a jaxpr
// with control flow (which backends do not compile), the program that runs
// compiled segments around it (segmented_program.ts), whose loop and branch
// bodies are built here too. compiled_call.ts caches the programs of jitted
// jaxprs; this file only builds and releases them.

import type { Array } from "../src/core/array";
import type { Backend, Executable } from "../src/core/backend";
import type { ClosedJaxpr } from "../src/core/ir";
import { optimize } from "./passes";
import { compileAroundControlFlow } from "./segmented_program";

export interface Program {
  optimized: ClosedJaxpr;
  /** null where the backend cannot compile the jaxpr (it then runs op by op). */
  executable: Executable<unknown> | null;
  constArrays: Array[];
}

/** The optimized jaxpr of `jaxpr` compiled on `backend`, with its constants uploaded there. */
export function buildProgram(jaxpr: ClosedJaxpr, backend: Backend): Program {
  const optimized = optimize(jaxpr);
  const constArrays = optimized.consts.map((c) => (c as Array).to(backend.name));
  const constBuffers = constArrays.map((c) => c.buffer);
  const executable = backend.compile(optimized, constBuffers) ?? compileAroundControlFlow(optimized, constBuffers, backend, compileBody);
  return { optimized, executable, constArrays };
}


/** Releases what `program` holds on the device: compiled code, workspaces, constants uploaded for it. */
export function releaseProgram(program: Program): void {
  program.executable?.dispose?.();
  // Constants copied onto this backend for the program belong to it alone; the others
  // (the caller's arrays, folded constants the optimized jaxpr keeps) may spill again.
  program.constArrays.forEach((c, i) => {
    if (c !== program.optimized.consts[i]) c.dispose();
    else c.releaseHeldBuffer();
  });
}

/** A loop or branch body as an executable that owns its whole program (its dispose releases the constants too). */
function compileBody(body: ClosedJaxpr, backend: Backend): Executable<unknown> | null {
  const program = buildProgram(body, backend);
  const ex = program.executable;
  if (ex === null) {
    releaseProgram(program);
    return null;
  }
  return {
    run: (inputs, donated, destinations) => ex.run(inputs, donated, destinations),
    describe: () => ex.describe(),
    profile: () => ex.profile?.() ?? "",
    fusionGroups: () => ex.fusionGroups?.() ?? [],
    dispose: () => releaseProgram(program),
  };
}
