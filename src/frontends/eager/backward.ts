// The backward pass of the eager front end: the tape's order (inputs before
// users) and the walk that pulls a cotangent from a root down to every tensor
// that keeps its gradient, freeing the tape unless asked to retain it.

import type { Array as TfArray } from "../../core/array";
import * as np from "../../numpy";
import { AutogradError } from "./errors";

/**
 * What the walk reads of a tensor (structurally, so this file does not import
 * the Tensor class that calls it): the op that made it, and whether it keeps
 * its gradient.
 */
export interface TapeNode<N extends TapeNode<N>> {
  readonly gradFn: { readonly name: string; readonly inputs: readonly N[]; pull: ((ct: TfArray) => TfArray[]) | null } | null;
  readonly retainsGrad: boolean;
}

/**
 * Pull the cotangent `ct` of `root` back through the tape and return the
 * cotangent reaching each tensor that retains its gradient (leaves that
 * require grad, and tensors after retainGrad()), in the order reached.
 */
export function backwardPass<N extends TapeNode<N>>(root: N, ct: TfArray, retainGraph: boolean): Map<N, TfArray> {
  const order = tapeOrder([root]);
  for (const t of order) {
    if (t.gradFn !== null && t.gradFn.pull === null) {
      throw new AutogradError(
        `backward(): trying to backward through the graph a second time (the tape of ${t.gradFn.name} was freed by the first backward); ` +
          "pass { retainGraph: true } to the first backward if you need to call it again",
      );
    }
  }
  const cts = new Map<N, TfArray>([[root, ct]]);
  const reached = new Map<N, TfArray>();
  for (let k = order.length - 1; k >= 0; k--) {
    const t = order[k];
    const g = cts.get(t);
    if (g === undefined) continue;
    cts.delete(t);
    if (t.retainsGrad) reached.set(t, g);
    if (t.gradFn === null) continue;
    const ins = t.gradFn.pull!(g);
    t.gradFn.inputs.forEach((inp, i) => {
      const prev = cts.get(inp);
      cts.set(inp, prev === undefined ? ins[i] : (np.add(prev, ins[i]) as TfArray));
    });
  }
  if (!retainGraph) for (const t of order) if (t.gradFn !== null) t.gradFn.pull = null;
  return reached;
}

/**
 * The tensors of the tape below `roots`, inputs before users (an iterative DFS
 * over the recorded ops, so a long chain cannot overflow the stack): the order
 * backward() pulls gradients in reverse, and the order tinyflow/viz draws.
 * @internal
 */
export function tapeOrder<N extends TapeNode<N>>(roots: readonly N[]): N[] {
  const order: N[] = [];
  const seen = new Set<N>();
  for (const root of roots) {
    if (seen.has(root)) continue;
    seen.add(root);
    const stack: [N, number][] = [[root, 0]];
    while (stack.length > 0) {
      const top = stack[stack.length - 1];
      const ins = top[0].gradFn?.inputs ?? [];
      if (top[1] < ins.length) {
        const next = ins[top[1]++];
        if (!seen.has(next)) {
          seen.add(next);
          stack.push([next, 0]);
        }
      } else {
        stack.pop();
        order.push(top[0]);
      }
    }
  }
  return order;
}
