// The typed errors of the eager front end's autograd (compile()'s own error
// lives with its tracing state in compile_state.ts).

import { TinyflowError } from "../../core/errors";

/** Misuse of autograd: backward without a needed gradient, through a freed tape, on a tensor without grad. */
export class AutogradError extends TinyflowError {}
