// Keeping device memory bounded without the user's help. Arrays are freed by
// a FinalizationRegistry, but its callbacks only run between event-loop
// tasks, so a training loop written as one synchronous `for` would never free
// anything. Buffers of backends that opt in (`spillable`) are therefore kept
// in least-recently-used order; when they add up to more than the limit, the
// oldest are copied to the JS heap and their device memory released. A dead
// array's copy is then reclaimed by ordinary garbage collection, which does
// run inside synchronous code; a live one is uploaded again when next used.

import type { ShapedArray } from "./aval";
import type { Backend } from "./backend";
import { byteWidth, type TypedArray } from "./dtype";
import { ArgumentError } from "./errors";

/** Where one array's data is: in a device buffer, or spilled to the host. */
export interface Storage {
  readonly backend: Backend;
  readonly aval: ShapedArray;
  buf: unknown | null;
  host: TypedArray | null;
  readonly bytes: number;
  /** The operation that last used the buffer (see beginOperation). */
  epoch: number;
}

const resident = new Set<Storage>(); // insertion order = least recently used first
/** Arrays may share a buffer (a reshape of an input): memory is counted, and spilled, per buffer. */
const holders = new Map<unknown, Set<Storage>>();
let residentBytes = 0;
let limitBytes = 512 * 2 ** 20;
let spilledCount = 0;
let currentEpoch = 0;

/**
 * Called before an operation reads its inputs' buffers: buffers used by the
 * running operation are never spilled, even when uploading another of its
 * inputs pushes memory over the limit.
 */
export function beginOperation(): void {
  currentEpoch++;
}

/** Device bytes held by spillable arrays before the least recently used are spilled (default 512 MiB). */
export function setMemoryLimit(bytes: number): void {
  if (!(bytes > 0)) throw new ArgumentError(`setMemoryLimit: expected a positive number of bytes, got ${bytes}`);
  limitBytes = bytes;
  spill(null);
}

export function memoryStats(): { residentBytes: number; limitBytes: number; spilled: number } {
  return { residentBytes, limitBytes, spilled: spilledCount };
}

export function newStorage(backend: Backend, aval: ShapedArray, buf: unknown): Storage {
  const s: Storage = { backend, aval, buf, host: null, bytes: aval.size * Math.max(byteWidth(aval.dtype), aval.dtype === "bool" ? 1 : 4), epoch: currentEpoch };
  admit(s);
  return s;
}

function admit(s: Storage): void {
  if (!s.backend.spillable) return;
  resident.add(s);
  let group = holders.get(s.buf);
  if (!group) {
    holders.set(s.buf, (group = new Set()));
    residentBytes += s.bytes;
  }
  group.add(s);
  if (residentBytes > limitBytes) spill(s);
}

/** Forget `s` as a holder of its buffer; true when it was the last one. */
function unhold(s: Storage): boolean {
  resident.delete(s);
  const group = holders.get(s.buf);
  if (!group || !group.delete(s)) return false;
  if (group.size > 0) return false;
  holders.delete(s.buf);
  residentBytes -= s.bytes;
  return true;
}

/** Spill the least recently used buffers (never `keep`'s) until a quarter below the limit. */
function spill(keep: Storage | null): void {
  const target = limitBytes * 0.75;
  for (const s of resident) {
    if (residentBytes <= target) break;
    if ((keep !== null && s.buf === keep.buf) || [...(holders.get(s.buf) ?? [s])].some((h) => h.epoch === currentEpoch)) continue;
    // Every array holding this buffer gets the same host copy (arrays are immutable).
    const host = s.backend.readSync(s.buf, s.aval);
    for (const h of [...(holders.get(s.buf) ?? [s])]) {
      const buf = h.buf;
      unhold(h);
      h.backend.free(buf);
      h.buf = null;
      h.host = host;
    }
    spilledCount++;
  }
}

/** The device buffer, uploaded again if it was spilled; marks it recently used. */
export function deviceBuffer(s: Storage): unknown {
  s.epoch = currentEpoch;
  if (s.buf === null) {
    s.buf = s.backend.fromHost(s.host!, s.aval);
    s.host = null;
    admit(s);
  } else if (resident.delete(s)) {
    resident.add(s);
  }
  return s.buf;
}

/** Read the data without uploading a spilled array again. */
export function readStorage(s: Storage): TypedArray {
  return s.host !== null ? s.host.slice() : s.backend.readSync(s.buf, s.aval);
}

/** Release the device buffer (if any) for good. */
export function releaseStorage(s: Storage): void {
  if (s.buf !== null) {
    unhold(s);
    s.backend.free(s.buf);
  }
  s.buf = null;
  s.host = null;
}
