// TF1's error classes, as subclasses of tinyflow's typed errors so either
// name catches them: a bad feed is an InvalidArgumentError (an
// ArgumentError), reading a variable no initializer has run is a
// FailedPreconditionError, and a closed Session raises ClosedSessionError.

import { ArgumentError, TinyflowError } from "../../core/errors";

/** A bad feed: not a placeholder, or a placeholder that the fetches need but was not fed. */
export class InvalidArgumentError extends ArgumentError {}

/** A variable read before any initializer ran in this Session. */
export class FailedPreconditionError extends TinyflowError {}

/** `run` on a Session after `close()`. */
export class ClosedSessionError extends TinyflowError {}
