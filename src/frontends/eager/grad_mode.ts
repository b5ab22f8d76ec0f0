// Grad mode of the eager front end (PyTorch's torch.no_grad / enable_grad /
// set_grad_enabled): one flag that op recording reads to decide whether a
// result joins the tape.

import { ArgumentError } from "../../core/errors";
import { describeValue } from "../../core/options";

let gradEnabled = true;

/** Run `fn` without recording: results do not require grad (PyTorch's `torch.no_grad()`). */
export function noGrad<T>(fn: () => T): T {
  if (typeof fn !== "function") throw new ArgumentError(`noGrad: expected a function to run, got ${typeof fn}`);
  const prev = gradEnabled;
  gradEnabled = false;
  try {
    return fn();
  } finally {
    gradEnabled = prev;
  }
}
export function enableGrad<T>(fn: () => T): T {
  if (typeof fn !== "function") throw new ArgumentError(`enableGrad: expected a function to run, got ${typeof fn}`);
  const prev = gradEnabled;
  gradEnabled = true;
  try {
    return fn();
  } finally {
    gradEnabled = prev;
  }
}
export function isGradEnabled(): boolean {
  return gradEnabled;
}
export function setGradEnabled(enabled: boolean): void {
  if (typeof enabled !== "boolean") throw new ArgumentError(`setGradEnabled: expected true or false, got ${describeValue(enabled)}`);
  gradEnabled = enabled;
}
