// Keeping device memory bounded without the user's help, and fast.
//
// Arrays are freed by a FinalizationRegistry (`watch`), but JavaScript gives
// that three handicaps, and each has its answer here:
//
// 1. V8 does not count wasm memory as garbage-collection pressure: a loop that
//    drops a 4 MB array per step allocates almost nothing V8 can see, so it may
//    never collect. Answer: `notePressure` shows V8 the device bytes that only
//    the collector can release: each time they reach `pressureStep`, a
//    throwaway 64 MiB host allocation (never touched, so never committed: the
//    OS sees nothing), which is what V8 needs to see to start a collection.
//    V8 then collects, and the dead arrays' finalizers are queued.
//    Measured (DESIGN.md, "Arrays and memory"): the live set stays small at
//    ~0.1 ms a step, RSS flat. Explicitly released bytes (dispose, donation)
//    are not counted, so hand-managed code never pays for it. How often to
//    signal is a trade between two costs, both measured here (2-core VM,
//    Node 20): a full collection costs ~5-15 ms whatever the garbage, and
//    device memory that was never used before costs ~15-40 µs per 4 KiB page
//    the first time it is written (the wasm memory grows; once grown it is
//    kept, and reused blocks cost nothing extra). A fixed 64 MiB step made a
//    training loop that leaves a 400 KB batch behind per step write every
//    one of its first ~160 steps into fresh pages (W3: 7-8 ms a step instead
//    of 4.5). So the step starts at 4 MiB, and doubles (up to a quarter of
//    the limit, at most 64 MiB) only while signals come less than
//    PRESSURE_INTERVAL_MS apart, or before the last collection freed
//    anything: a loop that makes garbage slowly reuses a small footprint, one
//    that makes it fast (W2: 4 MB a call) collects at most every 64 MiB, as
//    before. Inside a loop that never yields, collections free nothing until
//    the next turn of the event loop (their finalizers wait for it), so there
//    the step grows to its largest at once; the signals still matter, since at
//    that turn everything the last collection found is freed and the next
//    stretch of synchronous work reuses it instead of growing.
//    A signal is sent only for garbage V8 has not looked at: a finalizer
//    callback means a full collection ran (scavenges finalize nothing), so it
//    restarts the count. This matters because V8 often collects on its own,
//    and then a signal only adds a collection. Why it does (V8 11.3, Node 20,
//    W5 as taught: a 3.2 MB conv output read with `await y.data()` per call,
//    never disposed; --trace-gc-verbose, --trace-incremental-marking): V8
//    counts external memory allocated since the last full collection -- every
//    readback's ArrayBuffer -- against the old generation's limit, and sets
//    that limit after each full collection from the old generation's
//    allocation rate. In a steady loop that rate is low (1.5-2 KB/ms against
//    marking at ~300 KB/ms), so within five collections the growing factor
//    falls from 4.0 to its floor (1.1-1.3) and the limit lands ~24 MB above
//    the 13 MB live heap, 16 MB of it the young generation's reserve: about
//    8 MB of readbacks, three calls, then start the next marking, over and
//    over. The same loop without readbacks ran 18 full collections in 500
//    calls (the signals), with them 55-60. Hand-disposed code escapes only
//    because it never collects after warm-up, when the factor was 4.0 (a 70
//    MB limit): one forced gc() at its call 300 put it in the same state (33
//    collections in the next 300 calls). Tinyflow cannot widen that limit nor
//    hide readbacks from it; restarting the count cut W5's collections per
//    500 calls from 47-56 to 28-30 (with the turn below; load ~2; 57-61 to
//    37-42 at load ~9), the median call 0.94-1.03 -> 0.82-0.85 ms, at the
//    price of ~55 MB more RSS (305-310 -> 359-371 MB after 600 calls: dead
//    outputs wait longer for a collection, and the wasm memory grows once).
//    Tried and dropped: holding the 64 MiB marker (or a 96/160 MiB one) until
//    its collection finished, so that the collection would count it and the
//    readbacks would fit under the room its release leaves -- as many
//    collections (47-69) and slower; no signals at all -- still 47 collections
//    (V8's own), and the arrays of the calls before its first one spilled.
// 2. Finalizer callbacks run only as event-loop tasks, never inside one
//    synchronous job, and `await` of a settled promise is not a task. Answer:
//    `await x.data()` ends with a turn of the event loop (`yieldToEventLoop`),
//    so a loop that reads a result each step (a loss, a frame) lets the queued
//    finalizers release device memory soon after a collection. The turn costs
//    0.08-0.10 ms (bench/w5_phases.ts), a tenth of a W5 call, and nothing can
//    tell inside a chain of awaits whether V8 collected (a WeakRef's target
//    stays alive until the chain ends), so outside the settling after a
//    signal it is taken at most every TURN_INTERVAL_MS: finalizers wait at
//    most 10 ms longer, a bound on memory of 10 ms of garbage. W5 as taught:
//    the readback part of a call 0.27-0.29 -> 0.20 ms (median, load ~2).
// 3. Inside one synchronous job nothing is ever finalized. Answer: buffers of
//    backends that opt in (`spillable`) are kept in least-recently-used order;
//    past the limit the oldest are copied to the JS heap (spilled) and their
//    device memory released, one buffer at a time, never in bursts. The host
//    copy of a spilled array is reachable only from its Array, never from the
//    finalizer's held value (a `Lease`), so a dead array's copy is reclaimed by
//    ordinary garbage collection, which does run inside synchronous code. (A
//    held value stays alive until its callback runs: had it held the copy, a
//    synchronous loop would keep every copy it ever spilled.) A spill also
//    unregisters the array from the finalizer: a registration's bookkeeping
//    lives until its callback runs, so a synchronous loop of millions of
//    spilled arrays would otherwise grow the heap by a few hundred bytes per
//    array without bound (a bounded number of registrations are made without
//    the token that unregistering needs: "Registering without a token"). A
//    live spilled array is uploaded again when next used, and registered
//    again then.
//
// What W5 as taught paid before results were taken (a 3.2 MB conv output per call, read with
// `await y.data()`, never disposed; 2-core VM, Node 20, load 6-13 from other
// work; traces of residentBytes, wasm memory, finalizer batches and turns per
// call). Its dead outputs are freed in batches, one per full collection, and
// every batch is finalized inside one of data()'s turns: V8 finishes its
// incremental marking in a task, which runs in that turn, and the finalizers
// run in the same turn. A collection frees only the outputs that were dead
// when its marking began (those made during the marking survive it: black
// allocation, and scavenges keep a registry's targets alive), so 2-10 stay
// after each batch; collections come every 10-40 calls, at V8's pace (the
// readbacks' external memory). So the loop cycles its outputs through 20-30
// blocks, and the wasm memory grows to the longest stretch between
// collections seen so far (70-105 MB after 200 calls, 136 MB after 800;
// the allocator reuses every freed block first: the memory tracks the peak
// of residentBytes within ~7 MB). The costs, per call:
//  - the output lands in a block last written 20-30 calls ago (reuse ages
//    p10/p50/p90 9/23/33 calls over 30 distinct blocks), out of cache, where
//    the tuned loop reuses the block it just read back. No reuse order helps:
//    a batch freed at call t holds the outputs of calls t-s-g .. t-s-1 (s
//    survivors, g calls since the last batch), and whatever order the next
//    g calls take them in, their mean age is s+g+1 (and the cost grows
//    about linearly with the age over that range: k = 8 and 24 below).
//    bench/w5_output_cycle.ts (tuned calls with k results kept alive, no
//    collections) gives p10 and median +0.12-0.15 ms from k = 1 to k = 24,
//    about what separates taught from tuned calls interleaved in one process
//    (p10 0.79-0.81 vs 0.64 ms). That is the steady-state gap.
//  - each call that grows the memory faults ~800 pages (6-15 ms); ~25 of the
//    first 200 calls do, which slows the first quarter (median 1.2-1.9 ms)
//    but moves the median of all 200 by only ~0.02-0.03 ms. The host side
//    adds some: glibc's heap grows by one 3.2 MB readback (784 faults) ~18
//    times in 200 calls, ~8 more than the tuned loop's (strace of brk; more
//    readbacks outlive a scavenge while a marking runs), and was trimmed by
//    67 MB once, past the 64 MiB threshold that host_heap.ts sets.
// Tried and dropped, each against this tree in alternating fresh processes:
// a WeakRef sentinel to take the turn as soon as a collection has finished
// (never fired: no collection finished outside a turn, in W5 nor in eager
// and jitted 256x256 loops, 0 of 887 turns); a signal whenever residentBytes
// reached a new peak (wasm memory 86-92 -> 58-64 MB, but 23-27 full
// collections per 200 calls instead of 15-17 and the median 0.98-1.01 ->
// 1.03-1.10 ms; signalling at 75% or 50% of the peak: 27-52 MB, 33-54
// collections, median 1.24-2.27); turns every 5 or 2 ms (finished markings
// are finalized sooner: 61-71 MB instead of 71-77, median no better, 0.93-1.19
// and 0.99-1.06 vs 0.91-1.03 over 6 processes each); fewer signals (a first
// step of 16 or 64 MiB, or none: 12-15 collections instead of 19-20, median
// unchanged). A cycle short enough to stay in cache (2-3 blocks) would take a
// collection every 2-3 calls, which costs far more (a full collection is
// ~1.5-6 ms of pause on this heap). No collection policy gets out of it;
// not waiting for the collector does: a read result's block is taken by the
// next output of its size (see "Taking read results" at the end of this
// file), so the taught loop writes each output into the block it just read
// back, as the tuned loop does. A jitted matmul returning a fresh 4 MB
// array per call ([2048, 512]) behaved the same: the memory grew to 68-72
// MB, 340-420 faults per call over its first 50 calls, 20-100 later.
//
// One operation's inputs and outputs must fit under the limit together; an
// operation that cannot is refused before it runs (MemoryLimitError).

import type { ShapedArray } from "./aval";
import type { Backend } from "./backend";
import { byteWidth, type TypedArray } from "./dtype";
import { ArgumentError, MemoryLimitError } from "./errors";
import { copyOut, primeHostHeapFor } from "./host_heap";

/** Where one array's data is: in a device buffer, or spilled to the host. */
export interface Storage {
  readonly backend: Backend;
  readonly aval: ShapedArray;
  buf: unknown | null;
  host: TypedArray | null;
  readonly bytes: number;
  /** Its device buffer's entry in the residency list, while it holds one of a spillable backend. */
  entry: ResidentBuffer | null;
  /** What the finalizer holds; it reaches this storage only while the data is on the device. */
  readonly lease: Lease;
  /**
   * Its place in the queue of arrays waiting to be registered with the
   * finalizer (see watch); else NOT_QUEUED, or REGISTERED_WITHOUT_TOKEN
   * (see "Registering without a token").
   */
  watchSlot: number;
  /**
   * The operation whose input made this staged array's device copy (see
   * "Staged uploads" below), or -1: while it is >= 0 the device buffer is a
   * copy of `host` that the next operation's upload may drop.
   */
  stagedEpoch: number;
  /** Whether the data was already uploaded from `host` once (a second upload keeps it on the device). */
  uploadedOnce: boolean;
  /** How many compiled programs keep its device buffer as a constant (released by releaseProgramHold): while any does, it neither spills nor moves to the host. */
  programHolds: number;
  /**
   * How a compiled call made this array, while it may be taken (see "Taking
   * read results" below): kept from the call until the next operation
   * starts, longer only if the array was read by then; once taken, the recipe
   * that computes it again.
   */
  producer: Producer | null;
  /** Which output of `producer` this array is. */
  producerIndex: number;
  /** Read (data(), dataSync()...) and not used by an operation since: its block may be taken. */
  readSinceUse: boolean;
  /** Its device buffer was taken by a later operation's output: `producer` computes it again when used. */
  taken: boolean;
  /** It was taken and computed again once: never taken again (a bound on recomputation). */
  recomputed: boolean;
  /** How many recipes of taken arrays read this array (they need its data until they are dropped). */
  recipeHolds: number;
  /** Disposed while recipes held it: the buffer is released when the last one is dropped (or when its Array is collected). */
  disposePending: boolean;
}

/**
 * The FinalizationRegistry's held value for one Array (and its unregister
 * token, when it has one): it points at the storage while that holds a device
 * buffer, and at nothing once the data was spilled or released, so the
 * registry never keeps a host copy alive, and a registration that outlives a
 * dispose() releases nothing.
 */
export interface Lease {
  storage: Storage | null;
}

const finalizer = new FinalizationRegistry<Lease>(releaseLease);

// Registration is deferred. Registering costs more than the rest of an eager
// operation (about 1 µs, and a registered object survives V8's young-generation
// collections), while hand-managed code disposes most results right after use.
// So `watch` queues the array, holding it, and registers the queue at the end
// of the synchronous job (a microtask) or once it holds WATCH_QUEUE_ARRAYS
// arrays or WATCH_QUEUE_BYTES device bytes; an array disposed (or spilled)
// while queued leaves the queue and is never registered. Holding queued arrays
// cannot lose memory: they are freed, as any other, once registered and dead;
// the caps bound what the queue keeps alive meanwhile.
const WATCH_QUEUE_ARRAYS = 64;
const WATCH_QUEUE_BYTES = 1 << 20;
const NOT_QUEUED = -1;
const REGISTERED_WITHOUT_TOKEN = -2;
const queuedOwners: (object | null)[] = [];
const queuedStorages: (Storage | null)[] = [];
let queuedBytes = 0;
let flushScheduled = false;

// Registering without a token. An unregister token makes V8 keep the
// registration in a hash table keyed by the token, and registering, an
// unregister() and the collection that finds the array dead each pay for
// it: measured (2-core VM, Node 20, a microbenchmark of registrations whose
// objects die, collections and callbacks included) 0.54 against 0.29 µs per
// registration; eager add of 10,000 elements, results never disposed (a
// loop of 2,000-op batches, median over 5 alternating processes per variant,
// CPU time, load 5.5-5.8) 9.9 -> 8.7 µs per op, and in bench/eager_dispatch.ts
// (the event-loop turns timed, load 2.5-4.5) add 5.97 -> 5.70, mul 5.58 ->
// 5.03. The token serves only to
// forget an array that is disposed or spilled after its registration;
// without one, its registration stays until the array dies and the
// registry's cleanup task has run, holding the small lease (not the data: a
// spill or a dispose() empties the lease, so the late callback releases
// nothing). That task never runs inside one synchronous job, so a
// synchronous loop that spills millions of registered arrays would keep a
// registration for each; hence only TOKENLESS_REGISTRATIONS registrations
// (~1 MB of them at most) go without a token until a finalizer callback shows
// the cleanup task ran, and later ones take one.
const TOKENLESS_REGISTRATIONS = 16384;
let tokenlessLeft = TOKENLESS_REGISTRATIONS;

// Small arrays leave for the host instead. An array still alive when its
// registration comes is, most often in eager code, a result the user dropped
// without disposing it, and registering it costs more than the op that made
// it: the registration itself, and a registered Array survives V8's
// young-generation collections, so it is found dead only by a full one, and
// its device block waits for that. A small one (HOST_ARRAY_MAX_BYTES) is
// instead copied to the host and its device block freed at once: ordinary JS
// memory that the next scavenge frees. An operation that reads it later
// uploads it again as a staged copy ("Staged uploads" below), and a second
// operation keeps it on the device, registered then. Arrays disposed before
// the queue is registered (hand-managed code, results used right away) pay
// nothing. Measured (2-core VM, Node 20, CPU time per op, results never
// disposed): eager add/mul/matmul of 100 elements 3.2-4.3 -> 1.8-2.3 µs
// (bench/eager_dispatch.ts, load 5 and 1; tfjs-wasm disposing: 4.5-5.9), add
// and mul of 1,000 elements 3.4-16.9 -> 2.0-3.2 µs (a probe, load ~5);
// disposed results unchanged (0.7 µs at 100). Why not larger: a 40 KB result
// copied out is an ArrayBuffer V8 counts as external memory, and at 10,000
// elements the copy was no faster than registering (14-16 µs either way).
const HOST_ARRAY_MAX_BYTES = 4096;

/**
 * Whether `s` is a small array on the device whose buffer no other array
 * holds, that was never uploaded from the host (one that was, np.array data
 * or a moved array used again, is data in use, kept on the device), and
 * whose buffer no compiled program keeps as a constant.
 */
function movableToHost(s: Storage): boolean {
  return s.bytes <= HOST_ARRAY_MAX_BYTES && !s.uploadedOnce && s.programHolds === 0 && s.entry !== null && s.entry.holders.length === 1 && s.stagedEpoch < 0;
}

function moveToHost(s: Storage): void {
  const buf = s.buf;
  s.host = s.backend.readSync(buf, s.aval);
  unhold(s);
  s.backend.free(buf);
  s.buf = null;
  s.lease.storage = null;
  unseenBytes = Math.max(0, unseenBytes - s.bytes);
}

/** Release `s`'s device buffer when `owner` (its Array) is garbage-collected (registered soon, see above). */
export function watch(owner: object, s: Storage): void {
  s.watchSlot = queuedOwners.length;
  queuedOwners.push(owner);
  queuedStorages.push(s);
  queuedBytes += s.bytes;
  if (queuedOwners.length >= WATCH_QUEUE_ARRAYS || queuedBytes >= WATCH_QUEUE_BYTES) flushQueue(true);
  else scheduleFlush();
}

function scheduleFlush(): void {
  if (flushScheduled) return;
  flushScheduled = true;
  queueMicrotask(registerQueued);
}

/** The end of the synchronous job: no operation runs. */
function registerQueued(): void {
  flushScheduled = false;
  flushQueue(false);
}

/**
 * Register the queue, or move its small arrays to the host. Inside an
 * operation (the queue filled up) the buffers the operation uses stay queued
 * for the next flush: a moved input's block would be freed under it.
 */
function flushQueue(insideOperation: boolean): void {
  let kept = 0;
  let keptBytes = 0;
  for (let i = 0; i < queuedOwners.length; i++) {
    const s = queuedStorages[i];
    if (s === null) continue;
    const owner = queuedOwners[i]!;
    if (insideOperation && movableToHost(s) && s.entry!.epoch === currentEpoch) {
      queuedOwners[kept] = owner;
      queuedStorages[kept] = s;
      s.watchSlot = kept++;
      keptBytes += s.bytes;
      continue;
    }
    if (movableToHost(s)) {
      s.watchSlot = NOT_QUEUED;
      moveToHost(s);
    } else if (tokenlessLeft > 0) {
      tokenlessLeft--;
      s.watchSlot = REGISTERED_WITHOUT_TOKEN;
      finalizer.register(owner, s.lease);
    } else {
      s.watchSlot = NOT_QUEUED;
      finalizer.register(owner, s.lease, s.lease);
    }
  }
  queuedOwners.length = kept;
  queuedStorages.length = kept;
  queuedBytes = keptBytes;
  if (kept > 0) scheduleFlush();
}

/**
 * Stop watching `s`: take it out of the queue, or unregister it. A
 * registration without a token stays; its callback finds the lease empty
 * (releaseStorage or a spill emptied it) and does nothing.
 */
function unwatch(s: Storage): void {
  const i = s.watchSlot;
  if (i === REGISTERED_WITHOUT_TOKEN) return;
  if (i === NOT_QUEUED) {
    finalizer.unregister(s.lease);
    return;
  }
  s.watchSlot = NOT_QUEUED;
  queuedBytes -= s.bytes;
  if (i === queuedOwners.length - 1) {
    // The newest entry (an eager result disposed right away): the queue shrinks back.
    queuedOwners.pop();
    queuedStorages.pop();
  } else {
    queuedOwners[i] = null;
    queuedStorages[i] = null;
  }
}

/** The Array was disposed by hand: release its buffer now, and forget it in the finalizer. */
export function disposeStorage(s: Storage): void {
  if (s.recipeHolds > 0) {
    // A taken array's recipe still reads it: released when the last such recipe is dropped (see "Taking read results").
    s.disposePending = true;
    s.readSinceUse = false;
    return;
  }
  unwatch(s);
  releaseStorage(s);
}

/**
 * One device buffer of a spillable backend, as residency counts it. Arrays
 * may share a buffer (a program that returns an input, as a reshape does), so
 * memory is counted, kept in order of use and spilled per buffer, not per
 * array. The entries form a doubly linked list, least recently used first:
 * marking a buffer used, which every eager operation does for each input,
 * and releasing one are a few pointer writes. It replaces an insertion-ordered
 * Set of arrays (delete + add to mark one used) and a Set of holders per
 * buffer, whose hashing, allocation and table churn cost more than the rest of
 * the bookkeeping: measured in alternating processes (2-core VM, Node 20,
 * load ~18, CPU time), eager add on 10,000 elements, disposed, 5.0 -> 2.6 µs;
 * on 100 elements, left to the collector, 3.0 -> 1.3 µs.
 */
interface ResidentBuffer {
  readonly buf: unknown;
  readonly bytes: number;
  /** The arrays holding it: almost always one. */
  readonly holders: Storage[];
  /** The operation that last used it (see beginOperation): never spilled while that one runs. */
  epoch: number;
  older: ResidentBuffer | null;
  newer: ResidentBuffer | null;
}

let oldest: ResidentBuffer | null = null;
let newest: ResidentBuffer | null = null;
/** The entry of each resident buffer, to find a buffer an array shares with another. */
const entries = new Map<unknown, ResidentBuffer>();
let residentBytes = 0;
let limitBytes = 512 * 2 ** 20;
let spilledCount = 0;
let currentEpoch = 0;
let currentName = "an operation";

/** Device bytes allocated for arrays since V8 was last shown them (see notePressure). */
let unseenBytes = 0;
const MIN_PRESSURE_STEP = 4 * 2 ** 20;
/**
 * The most unseen bytes between two signals: a quarter of the limit, between
 * 4 and 64 MiB, so that dead arrays are finalized well before the limit makes
 * spilling necessary. Under a limit of a few MiB spilling alone bounds memory,
 * which is cheaper than collecting that often.
 */
const maxPressureStep = (): number => Math.min(64 * 2 ** 20, Math.max(MIN_PRESSURE_STEP, limitBytes / 4));
/** Unseen bytes that make the next signal; grows while signals come too often (see the header, 1.). */
let pressureStep = MIN_PRESSURE_STEP;
/** Signals closer than this double the step: a full collection (~5-15 ms) then costs at most ~10% of the time. */
const PRESSURE_INTERVAL_MS = 100;
let lastPressureAt = -Infinity;
/** Whether a finalizer released an array since the last signal (see notePressure). */
let finalizedSinceSignal = true;
/**
 * V8 starts a collection for host memory once external allocations exceed
 * what it saw at its last full collection by 64 MiB (its soft limit), so a
 * smaller throwaway allocation would go unnoticed.
 */
const V8_EXTERNAL_SOFT_LIMIT = 64 * 2 ** 20;
let allocationsSinceYield = 0;

const bytesOf = (aval: ShapedArray): number => aval.size * Math.max(byteWidth(aval.dtype), aval.dtype === "bool" ? 1 : 4);
/** The device bytes residency counts for an array of this type. */
export const deviceBytesOf = bytesOf;

/**
 * Called before an operation reads its inputs' buffers: buffers used by the
 * running operation are never spilled, even when uploading another of its
 * inputs pushes memory over the limit. `name`, the inputs and the outputs
 * check that the operation can fit under the limit at all.
 */
export function beginOperation(name: string, backend: Backend, inAvals: readonly ShapedArray[], outAvals: readonly ShapedArray[]): void {
  let inBytes = 0;
  let outBytes = 0;
  for (const a of inAvals) inBytes += bytesOf(a);
  for (const a of outAvals) outBytes += bytesOf(a);
  beginOperationOfSize(name, backend, inBytes, outBytes);
}

/** beginOperation with the byte counts already known (the eager op cache keeps them per signature). */
export function beginOperationOfSize(name: string, backend: Backend, inBytes: number, outBytes: number): void {
  if (fresh.length > 0) settleFresh();
  currentEpoch++;
  currentName = name;
  checkBytesFitLimit(name, inBytes, outBytes);
}

/**
 * Refuses, before anything is allocated, an operation whose inputs and outputs
 * together exceed the memory limit -- on every backend: the interpreter's host
 * arrays would otherwise take many seconds to fill gigabytes before failing.
 */
export function checkFitsLimit(name: string, inAvals: readonly ShapedArray[], outAvals: readonly ShapedArray[]): void {
  let inBytes = 0;
  let outBytes = 0;
  for (const a of inAvals) inBytes += bytesOf(a);
  for (const a of outAvals) outBytes += bytesOf(a);
  checkBytesFitLimit(name, inBytes, outBytes);
}

function checkBytesFitLimit(name: string, inBytes: number, outBytes: number): void {
  if (inBytes + outBytes > limitBytes) {
    throw new MemoryLimitError(
      `${name}: needs ${inBytes + outBytes} bytes of device memory at once (inputs ${inBytes} + outputs ${outBytes}), ` +
        `more than the memory limit of ${limitBytes} bytes; raise it with setMemoryLimit(${nextPowerOfTwo(inBytes + outBytes)}) or split the operation`,
    );
  }
}

/** The name of the operation running or last run (for error messages about its inputs). */
export function currentOperation(): string {
  return currentName;
}

const nextPowerOfTwo = (n: number): number => 2 ** Math.ceil(Math.log2(n));

/** Device bytes held by spillable arrays before the least recently used are spilled (default 512 MiB). */
export function setMemoryLimit(bytes: number): void {
  if (typeof bytes !== "number" || !(bytes > 0) || !Number.isFinite(bytes)) {
    throw new ArgumentError(`setMemoryLimit: expected a positive, finite number of bytes, got ${String(bytes)}`);
  }
  limitBytes = bytes;
  spill(null);
}

/** What `memoryStats()` reports. */
export interface MemoryStats {
  /** Device bytes held by live arrays of spillable backends (what the limit bounds). */
  residentBytes: number;
  /** The limit past which the least recently used arrays are spilled to the host (`setMemoryLimit`). */
  limitBytes: number;
  /** Arrays spilled to the host so far. */
  spilled: number;
  /**
   * Device bytes held by compiled programs: workspaces for their temporaries,
   * constants copied in, scratch and parameter blocks. Held while the program is
   * cached (a jitted function keeps up to 64 signatures, eager one-op programs up
   * to 4096 per backend) and released by `clearCache()` or eviction. Not counted
   * against the limit: spilling arrays cannot release them. On WebGPU these are
   * the GPU buffers a program holds (their allocated sizes); compiled pipelines
   * are shared between programs by their WGSL, have no size the API reports,
   * and are counted by `pipelines` instead.
   */
  programBytes: number;
  /**
   * WebGPU compute pipelines in the pipeline cache: shared by the cached
   * programs that use them, dropped when no cached program uses them any more
   * (`clearCache()`, eviction) and bounded, least recently used first out, by
   * the kernel cache capacity (4096). A program keeps a pipeline evicted from
   * the cache working; the next program needing it compiles it again.
   */
  pipelines: number;
  /**
   * Read results of compiled calls whose device memory a later operation's
   * output took over, so far: arrays read (`data()`, `dataSync()`...) and not
   * used since, whose block was freed for a new output of the same size; such
   * an array keeps how it was computed and computes it again if used.
   */
  taken: number;
  /** Taken arrays computed again because they were used after all (each at most once). */
  recomputed: number;
}

let programBytes = 0;
let pipelines = 0;

/** A backend's compiled programs took (delta > 0) or released (delta < 0) device memory. */
export function noteProgramBytes(delta: number): void {
  programBytes += delta;
}

/** A backend's pipeline cache took (delta > 0) or dropped (delta < 0) compiled pipelines. */
export function notePipelines(delta: number): void {
  pipelines += delta;
}

export function memoryStats(): MemoryStats {
  return { residentBytes, limitBytes, spilled: spilledCount, programBytes, pipelines, taken: takenCount, recomputed: recomputedCount };
}

/** A storage of `buf` or, with `buf` null, of `host` only, in none of residency's lists yet. */
function makeStorage(backend: Backend, aval: ShapedArray, buf: unknown, host: TypedArray | null): Storage {
  const lease: Lease = { storage: null };
  return { backend, aval, buf, host, bytes: bytesOf(aval), entry: null, lease, watchSlot: NOT_QUEUED, stagedEpoch: -1, uploadedOnce: false, programHolds: 0, producer: null, producerIndex: 0, readSinceUse: false, taken: false, recomputed: false, recipeHolds: 0, disposePending: false };
}

export function newStorage(backend: Backend, aval: ShapedArray, buf: unknown): Storage {
  const s = makeStorage(backend, aval, buf, null);
  s.lease.storage = s;
  allocationsSinceYield++;
  if (admit(s)) notePressure(s.bytes);
  return s;
}

/** Track a device buffer; true when it is new memory (not a buffer another array already holds). */
function admit(s: Storage): boolean {
  if (!s.backend.spillable) return false;
  let e = entries.get(s.buf);
  const fresh = e === undefined;
  if (e === undefined) {
    e = { buf: s.buf, bytes: s.bytes, holders: [s], epoch: currentEpoch, older: newest, newer: null };
    if (newest !== null) newest.newer = e;
    else oldest = e;
    newest = e;
    entries.set(s.buf, e);
    residentBytes += s.bytes;
  } else {
    e.holders.push(s);
    markUsed(e);
  }
  s.entry = e;
  if (residentBytes > limitBytes) spill(e);
  return fresh;
}

/** The buffer is used by the running operation: it becomes the most recently used. */
function markUsed(e: ResidentBuffer): void {
  e.epoch = currentEpoch;
  if (e === newest) return;
  unlink(e);
  e.older = newest;
  e.newer = null;
  newest!.newer = e;
  newest = e;
}

function unlink(e: ResidentBuffer): void {
  if (e.older !== null) e.older.newer = e.newer;
  else oldest = e.newer;
  if (e.newer !== null) e.newer.older = e.older;
  else newest = e.older;
}

function notePressure(bytes: number): void {
  unseenBytes += bytes;
  const step = Math.min(pressureStep, maxPressureStep());
  if (unseenBytes < step) return;
  const now = performance.now();
  // Too soon, or the last collection has freed nothing yet (no event-loop turn since: its finalizers wait).
  if (now - lastPressureAt < PRESSURE_INTERVAL_MS || !finalizedSinceSignal) pressureStep = Math.min(2 * step, maxPressureStep());
  lastPressureAt = now;
  finalizedSinceSignal = false;
  // Never touched, so never committed: the operating system sees nothing of it.
  // Not kept either: a kept marker would survive the collection it starts
  // (and still count in process.memoryUsage().arrayBuffers) until the next.
  new ArrayBuffer(V8_EXTERNAL_SOFT_LIMIT);
  unseenBytes = 0;
  signalsSent++;
}

let signalsSent = 0;
/** How many pressure signals were sent so far (for tests of when they are). */
export function pressureSignalsSent(): number {
  return signalsSent;
}

/** Forget `s` as a holder of its buffer; true when it was the last one. */
function unhold(s: Storage): boolean {
  const e = s.entry;
  if (e === null) return false;
  s.entry = null;
  const hs = e.holders;
  const i = hs.indexOf(s);
  hs[i] = hs[hs.length - 1]!;
  hs.pop();
  if (hs.length > 0) return false;
  unlink(e);
  entries.delete(e.buf);
  residentBytes -= e.bytes;
  return true;
}

const heldByProgram = (s: Storage): boolean => s.programHolds > 0;

/** A compiled program that kept `s`'s buffer as a constant (deviceBuffer's `persistent`) was released: with the last one, `s` may spill or move to the host again. */
export function releaseProgramHold(s: Storage): void {
  if (s.programHolds > 0) s.programHolds--;
}

/** Spill the least recently used buffers (never `keep`, the running operation's, nor a compiled program's constant) until under the limit. */
function spill(keep: ResidentBuffer | null): void {
  let e = oldest;
  while (e !== null && residentBytes > limitBytes) {
    const next = e.newer;
    // A buffer a compiled program holds (its constant) is read by every run of it: never freed under it.
    if (e !== keep && e.epoch !== currentEpoch && !e.holders.some(heldByProgram)) {
      // Every array holding this buffer gets the same host copy (arrays are immutable).
      // A staged holder still has its host copy: nothing to read back.
      const first = e.holders[0]!;
      let host = e.holders.find((h) => h.host !== null)?.host ?? null;
      if (host === null) {
        primeHostHeapFor(e.bytes);
        host = first.backend.readSync(e.buf, first.aval);
      }
      for (const h of [...e.holders]) {
        const buf = h.buf;
        const wasStaged = h.stagedEpoch >= 0;
        unhold(h);
        h.backend.free(buf);
        h.buf = null;
        h.host = host;
        h.stagedEpoch = -1;
        h.lease.storage = null;
        h.producer = null;
        h.readSinceUse = false;
        if (!wasStaged) unwatch(h);
      }
      spilledCount++;
    }
    e = next;
  }
}

// Staged uploads. The data of `np.array(typedArray)` (or of nested lists)
// must be copied anyway, since the caller may change its own array later; it
// is copied to the host, not the device (`newStagedStorage`), and uploaded
// when an operation first reads it. That first device copy is *staged*: the
// host copy stays, so the next operation that uploads something may drop the
// device copy without reading it back, and the freed block is what that
// upload gets (the allocator reuses a freed block of the same size first). An
// array used by a second operation, or whose buffer is wanted for longer
// (`persistent`: a compiled program's constant), is kept on the device from
// then on and its host copy dropped, as any other array.
//
// Why: the README's training loop uploads each batch with
// `np.array(x).reshape(shape)` and never disposes it. Uploaded straight to the
// device, every batch held a fresh device block until the collector found its
// Array dead, so the loop wrote each batch into memory never used before: on
// this 2-core VM the first write to a wasm page costs far more than the copy
// (W3's 401 KB batch: fromHost 0.1 ms disposed vs 0.6 ms left to the
// collector, CPU profile over 350 steps), and a loop that never yields grew
// until the limit and spilled. Staged, the batch lands in the block the last
// batch used, as in hand-disposed code, at the price of one host copy per
// upload (~0.03 ms for 401 KB). The reshape of a staged array shares its host
// copy (`stagedHost`) instead of uploading the flat array.
const staged: Storage[] = [];

/** A storage whose data is only on the host, in `host` (which the storage owns): see "Staged uploads". */
export function newStagedStorage(backend: Backend, aval: ShapedArray, host: TypedArray): Storage {
  return makeStorage(backend, aval, null, host);
}

/** The host copy an array's data has besides (or instead of) a device buffer, or null: arrays are immutable, so it may be shared. */
export function stagedHost(s: Storage): TypedArray | null {
  return s.host;
}

/** Drop the device copies that earlier operations staged (their host copies stay). */
function dropStaged(): void {
  let kept = 0;
  for (const s of staged) {
    if (s.stagedEpoch < 0 || s.buf === null) continue;
    if (s.stagedEpoch === currentEpoch || (s.entry !== null && s.entry.epoch === currentEpoch)) {
      staged[kept++] = s;
      continue;
    }
    const buf = s.buf;
    unhold(s);
    s.backend.free(buf);
    s.buf = null;
    s.stagedEpoch = -1;
  }
  staged.length = kept;
}

/** A staged array is used again, or kept: it becomes an ordinary device array, freed by the collector or by hand. */
function keepOnDevice(owner: object, s: Storage): void {
  s.stagedEpoch = -1;
  s.host = null;
  s.lease.storage = s;
  watch(owner, s);
  notePressure(s.bytes);
}

/**
 * `owner`'s device buffer, uploaded (again) if its data is on the host; marks
 * it recently used. `persistent`: the caller keeps the buffer beyond the
 * running operation (a compiled program's constants), so a staged copy is
 * never made for it, nor dropped under it.
 */
export function deviceBuffer(owner: object, s: Storage, persistent = false): unknown {
  if (s.taken) rematerialize(owner, s);
  s.readSinceUse = false;
  if (persistent) s.programHolds++;
  if (s.buf === null) {
    const stage = !persistent && !s.uploadedOnce && s.backend.spillable === true;
    if (stage) dropStaged();
    s.buf = s.backend.fromHost(s.host!, s.aval);
    s.uploadedOnce = true;
    if (stage) {
      s.stagedEpoch = currentEpoch;
      staged.push(s);
      admit(s);
    } else {
      s.host = null;
      s.lease.storage = s;
      watch(owner, s);
      if (admit(s)) notePressure(s.bytes);
    }
  } else {
    if (s.stagedEpoch >= 0 && (persistent || s.stagedEpoch !== currentEpoch)) keepOnDevice(owner, s);
    if (s.entry !== null) markUsed(s.entry);
  }
  return s.buf;
}

/** The data, read through the backend's asynchronous path (the only one a GPU has), without uploading a spilled array again. */
export function readStorageAsync(owner: object, s: Storage): Promise<TypedArray> {
  if (s.taken) rematerialize(owner, s);
  primeHostHeapFor(s.bytes);
  if (s.host !== null) return Promise.resolve(copyOut(s.host));
  const out = s.backend.read(s.buf, s.aval);
  // Takeable once read: the spillable backends' read copies the data before it returns.
  if (s.producer !== null) noteRead(s);
  return out;
}

/** The data, read synchronously, without uploading a spilled array again. */
export function readStorage(owner: object, s: Storage): TypedArray {
  if (s.taken) rematerialize(owner, s);
  primeHostHeapFor(s.bytes);
  if (s.host !== null) return copyOut(s.host);
  const out = s.backend.readSync(s.buf, s.aval);
  if (s.producer !== null) noteRead(s);
  return out;
}

/** Release the device buffer (if any) for good: dispose(), or a donation. */
function releaseStorage(s: Storage): void {
  // Released by hand: the collector has nothing left to find for these bytes (a staged copy was never counted).
  if (s.buf !== null && unhold(s) && s.stagedEpoch < 0) unseenBytes = Math.max(0, unseenBytes - s.bytes);
  s.stagedEpoch = -1;
  dropStorage(s);
}

/** The finalizer's callback: the Array was garbage-collected. */
function releaseLease(lease: Lease): void {
  finalizedSinceSignal = true;
  // The registry's cleanup task runs: the registrations whose arrays had died are gone (see "Registering without a token").
  tokenlessLeft = TOKENLESS_REGISTRATIONS;
  // A full collection ran (only those finalize): it examined the garbage counted so far, so the next signal waits for a new step (see the header, 1.).
  unseenBytes = 0;
  const s = lease.storage;
  if (s === null) return;
  if (s.buf !== null) unhold(s);
  dropStorage(s);
}

function dropStorage(s: Storage): void {
  if (s.taken) dropRecipe(s);
  s.producer = null;
  s.readSinceUse = false;
  if (s.buf !== null) s.backend.free(s.buf);
  s.buf = null;
  s.host = null;
  s.lease.storage = null;
}

/**
 * A turn of the event loop, so that queued FinalizationRegistry callbacks
 * run (an `await` of a settled promise is a microtask and runs none). Skipped
 * when no array was made since the last turn (nothing new can have died), and
 * within TURN_INTERVAL_MS of the last turn unless a signal is settling.
 * Right after a pressure signal it takes up to SETTLE_TURNS turns, until a
 * finalizer has run: a collection that was still marking at the first turn
 * finishes in a task of its own and queues its finalizers for the next one
 * (measured after the 1000 synchronous steps of W4: 303 MB still resident
 * after one turn, 46 MB after two more), and what they free is what the
 * next stretch of work should reuse instead of growing memory.
 */
export async function yieldToEventLoop(): Promise<void> {
  if (allocationsSinceYield === 0) return;
  const now = performance.now();
  if (finalizedSinceSignal && now - lastTurnAt < TURN_INTERVAL_MS) return;
  allocationsSinceYield = 0;
  lastTurnAt = now;
  for (let turn = 0; turn === 0 || (!finalizedSinceSignal && turn < SETTLE_TURNS); turn++) {
    await new Promise<void>((resolve) => nextTask(resolve));
  }
}
const SETTLE_TURNS = 3;
/**
 * The longest a collection's finalizers wait for `data()` to take a turn,
 * outside the settling after a signal. A loop that only awaits `data()` is one
 * chain of microtasks, in which nothing can tell whether V8 collected (a
 * WeakRef's target, once dereferenced, stays alive until the chain ends:
 * measured, not cleared by 20 forced collections inside one chain, cleared by
 * the first after a turn), so the turn is taken by time: in W5 (a call every
 * ~1 ms) one call in ten pays it instead of every one.
 */
const TURN_INTERVAL_MS = 10;
let lastTurnAt = -Infinity;

const nextTask: (fn: () => void) => void =
  typeof globalThis.setImmediate === "function"
    ? (fn) => globalThis.setImmediate(fn)
    : (() => {
        // Browsers: a MessageChannel message is a task, and unlike setTimeout(0) it is not clamped to 4 ms.
        const channel = new MessageChannel();
        const queue: (() => void)[] = [];
        channel.port1.onmessage = () => queue.shift()?.();
        return (fn: () => void) => {
          queue.push(fn);
          channel.port2.postMessage(null);
        };
      })();

// Taking read results (rematerialization, as in DTR: Kirisame et al.,
// "Dynamic Tensor Rematerialization", 2021). A result that was read
// (`data()`, `dataSync()`, ...) and not used by an operation since is, in the
// loops users write (`y = f(x); await y.data()`, nothing disposed), garbage
// the collector has not found yet; its block is the one the tuned loop would
// reuse, still in cache. So the next operation whose output has the same
// byte size takes it: the block is freed just before the operation's program
// runs (its operands already fetched), and the allocator, which hands back
// the most recently freed block of a size first (wasm/src/alloc.rs, the
// quick lists), gives it to the new output. The taken array keeps a recipe
// instead of its data: the call that made it (its compiled program, its
// input arrays, held, and its output index). Used again after all (read, an
// operand, moved, printed), it runs the recipe and holds a device buffer
// again, with the same bits: the programs' kernels give the same result on
// any thread count and split (parallel_kernel.ts, gemm_job.ts, conv_job.ts,
// parallel_window.ts; tested in test/remat.test.ts). What takes part:
//  - Producers: outputs of compiled calls (runCompiled: jit, the eager
//    composites) of at least TAKE_MIN_BYTES (smaller blocks hardly matter for
//    the cache), on a spillable backend, when no input was donated in place,
//    the buffer is the call's own (not an input's, not repeated), and the
//    call's inputs are no larger than the output (a taken array never keeps
//    alive more than it gave up; jit's hoisted constants, which its cache
//    holds anyway, do not count). The recipe is kept from the call until the
//    next operation starts, and beyond only if the array was read by then,
//    among the last MAX_TAKEABLE read ones: so a result holds its inputs at
//    most that long unless it is taken.
//  - Takers: every operation, compiled or eager, just before its program runs.
//  - Takeable: read since its last use; the only holder of its buffer; not a
//    compiled program's constant (programHolds), not staged, not an
//    operand of the running operation; not read by a live recipe and none of
//    its inputs taken (no chains); never recomputed before (so two results
//    read alternately are recomputed at most once each).
//  - Recipe inputs stay readable: a donation does not overwrite one in place
//    (runCompiled asks heldByRecipe), and dispose() of one waits (the Array
//    is disposed at once; its buffer is released when the last recipe reading
//    it is dropped, by recomputing or disposing the taken array; a recipe
//    dropped with its garbage-collected array leaves the release to the
//    input's own finalizer, which the recipe no longer delays). Such a
//    recipe cannot tell its inputs that it died (that would need a
//    finalizer registration per take, whose bookkeeping a synchronous loop
//    never frees), so their count of recipes stays up: they are never taken
//    themselves nor donated in place afterwards -- conservative, and rare
//    (only arrays that were inputs of a taken result). Spilling an input is
//    fine: the recompute uploads it again.
//  - Accounting: a taken array holds no device bytes (residentBytes and the
//    collector's unseen bytes drop by its size); its inputs are counted as
//    any live array. A recompute runs inside the operation that needs it
//    (during its operand fetch): it starts no operation (the epoch that keeps
//    the running operation's operands from spilling stays), checks that the
//    producing call fits the limit, and may spill others as any allocation.
//  - Not producers: eager first-order ops (a recipe per op would cost more
//    than most ops; their outputs are freed by the collector as before) and
//    uploads. Not takers: uploads (np.array's staged uploads already reuse
//    the last batch's block).
// Measured (2-core VM, Node 20; bench/run.ts --procs 3, medians, the tree
// before and after in alternating runs). At load 1-2: W5 as taught 0.885 ->
// 0.652 ms (CPU time 1.18 -> 0.655), the tuned loop 0.649 and 0.678,
// tfjs-wasm 1.09 and 1.10: taught/tuned 1.36x -> 0.96x, taught/tfjs 0.81x ->
// 0.59x; W2 1e6 jit as taught 1.90 -> 1.40 ms (CPU 2.68 -> 2.44), tuned 1.39
// and 1.41: 1.36x -> 0.99x. At load 6.5-12 from other work: W5 0.925 ->
// 0.659 and 0.948 -> 0.698 ms (tuned 0.64-0.76, tfjs 1.10-1.19), W2 2.53 ->
// 2.42 and 2.50 -> 1.46 ms (tuned 1.49-2.48); W3 and W4 CPU time unchanged
// (245 vs 243 steps/s, 0.350 vs 0.354 s). A 10,000-step loop of a jitted 1
// MiB result read each step,
// synchronous or awaiting (test/memory_loop.ts): 9,999 taken, nothing
// spilled (9,937 spilled before, synchronous), 2 MiB resident instead of the
// 64 MiB limit (synchronous) or 19 MB (awaiting), 12.3-12.9 s instead of
// 15.2-16.6 s for the whole process. Its RSS grows 36-58 MB past the
// warm-up instead of 17-18 (not traced; most likely the readbacks' garbage,
// which waits for V8's own collections now that taken blocks send no
// pressure signals, where before the wasm memory had grown to its peak
// during the warm-up).

/** Outputs smaller than this are never taken: their blocks matter little for the cache, and recipes cost bookkeeping. */
const TAKE_MIN_BYTES = 64 * 1024;
/** The most read results kept takeable at once (each holds its inputs): the most recently read ones. */
const MAX_TAKEABLE = 4;
/** Outputs offered by the last compiled call: takeable if read before the next operation starts. */
const fresh: Storage[] = [];
/** Read results that may be taken, most recently read last. */
const takeable: Storage[] = [];
let takenCount = 0;
let recomputedCount = 0;

/** How a compiled call made its outputs, and how to make one again (see "Taking read results"). */
export interface Producer {
  /** The call, for messages. */
  readonly name: string;
  /** Its input arrays, and their storages in the same order. */
  readonly owners: readonly object[];
  readonly storages: readonly Storage[];
  /** Device bytes of all its inputs and all its outputs (the memory limit must hold them at once). */
  readonly inBytes: number;
  readonly outBytes: number;
  /** Runs the call again on the inputs' `buffers`: output `index`'s buffer, the others released. */
  recompute(buffers: unknown[], index: number): unknown;
}

/** Whether an output of this type is large enough to be taken. */
export function worthTaking(aval: ShapedArray): boolean {
  return bytesOf(aval) >= TAKE_MIN_BYTES;
}

/** Output `index` of `producer` is `s`: it may be taken if it is read before the next operation. */
export function offerForTaking(s: Storage, producer: Producer, index: number): void {
  if (s.entry === null || s.entry.holders.length !== 1 || s.bytes < TAKE_MIN_BYTES) return;
  s.producer = producer;
  s.producerIndex = index;
  fresh.push(s);
}

/** Whether a recipe reads this array: a donation must not overwrite it in place. */
export function heldByRecipe(s: Storage): boolean {
  return s.recipeHolds > 0;
}

/** An operation starts: the last call's outputs not read by now keep no recipe. */
function settleFresh(): void {
  for (const s of fresh) if (!s.readSinceUse && !s.taken) s.producer = null;
  fresh.length = 0;
}

function noteRead(s: Storage): void {
  if (s.recomputed || s.buf === null) return;
  s.readSinceUse = true;
  const i = takeable.indexOf(s);
  if (i >= 0) takeable.splice(i, 1);
  takeable.push(s);
  if (takeable.length > MAX_TAKEABLE) {
    const old = takeable.shift()!;
    old.producer = null;
    old.readSinceUse = false;
  }
}

function takeableNow(s: Storage): boolean {
  const e = s.entry;
  if (!s.readSinceUse || s.buf === null || e === null || e.holders.length !== 1 || e.epoch === currentEpoch) return false;
  if (s.programHolds > 0 || s.stagedEpoch >= 0 || s.recipeHolds > 0 || s.disposePending || s.recomputed) return false;
  // Every input still has its data (a disposed one has none) and is no taken array itself.
  for (const x of s.producer!.storages) if (x.taken || (x.buf === null && x.host === null)) return false;
  return true;
}

/**
 * The running operation is about to allocate outputs of these types on
 * `backend` (its operands fetched): free, for each large one, the block of a
 * takeable read result of the same size there, most recently read first.
 */
export function takeBlocksFor(backend: Backend, outAvals: readonly ShapedArray[]): void {
  if (takeable.length === 0) return;
  for (const a of outAvals) {
    const bytes = bytesOf(a);
    if (bytes < TAKE_MIN_BYTES) continue;
    for (let i = takeable.length - 1; i >= 0; i--) {
      const s = takeable[i]!;
      if (s.bytes !== bytes || s.backend !== backend || !takeableNow(s)) continue;
      takeable.splice(i, 1);
      take(s);
      break;
    }
  }
}

function take(s: Storage): void {
  for (const x of s.producer!.storages) x.recipeHolds++;
  const buf = s.buf;
  unhold(s);
  s.backend.free(buf);
  s.buf = null;
  s.taken = true;
  s.readSinceUse = false;
  // Nothing left for the finalizer (the recipe is garbage with the Array) nor for the collector's count.
  unwatch(s);
  s.lease.storage = null;
  unseenBytes = Math.max(0, unseenBytes - s.bytes);
  takenCount++;
}

/** A taken array is used after all: compute it again (inside the running operation, which it must not end). */
function rematerialize(owner: object, s: Storage): void {
  const p = s.producer!;
  checkBytesFitLimit(`recomputing an output of ${p.name} (read, then its memory taken over by a later output, then used again)`, p.inBytes, p.outBytes);
  const buffers = p.storages.map((x, i) => deviceBuffer(p.owners[i]!, x));
  s.buf = p.recompute(buffers, s.producerIndex);
  s.recomputed = true;
  dropRecipe(s);
  s.lease.storage = s;
  watch(owner, s);
  allocationsSinceYield++;
  if (admit(s)) notePressure(s.bytes);
  recomputedCount++;
}

/** Forget `s`'s recipe: its inputs are no longer read by it (a disposed one is released with its last recipe). */
function dropRecipe(s: Storage): void {
  const p = s.producer!;
  s.producer = null;
  s.taken = false;
  for (const x of p.storages) {
    if (--x.recipeHolds === 0 && x.disposePending) {
      x.disposePending = false;
      disposeStorage(x);
    }
  }
}
