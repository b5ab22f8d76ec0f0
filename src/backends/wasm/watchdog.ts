// The wasm thread pool's watchdog: a thread whose event loop is never blocked,
// so it can notice a worker that ended without settling its part of a job
// while the calling thread waits for that job (blocked in Atomics.wait, or a
// browser's main thread spinning, neither of which runs events). When a worker
// ends, the watchdog marks its slot dead (READY = -2) and, if the worker had
// claimed a part (BUSY = 2), settles the part as DIED and wakes the waiting
// thread, which then throws at once instead of at the stall limit.
//
// How a worker's end is seen. Node: each worker keeps one end of a
// MessageChannel whose other end the watchdog holds; the port closes when the
// worker's thread ends, however it ends (terminate(), out of memory,
// process.exit). Browsers: each worker takes a Web Lock of its own name before
// it says it is ready and holds it for its whole life; the browser releases it
// when the worker ends (terminate(), the browser killing it, the worker
// closing itself), and the watchdog, queued on the same name once the worker
// is ready, is granted it then. Where navigator.locks is missing there is no
// watchdog: the pool notices an idle worker's end by its heartbeat word
// (pool.ts checkHeartbeats), one that ends mid-part at the stall limit only.
//
// Both watchdogs are source text run as workers (like worker.ts's workerMain)
// and share settleVanishedWorker, which must stay self-contained.

import type { CTL } from "./worker";

/** What a watchdog is started with. */
export interface WatchdogInit {
  memory: WebAssembly.Memory;
  ctlPtr: number;
  ctl: typeof CTL;
  /** The error code of a part whose worker died (WORKER_ERRORS.DIED). */
  died: number;
}

/** Marks the worker of `slot` dead and settles the part it had claimed, if any (its STATUS -1: no exit code). */
export function settleVanishedWorker(init: WatchdogInit, slot: number): void {
  const { ctl: C } = init;
  const i32 = new Int32Array(init.memory.buffer);
  const base = (init.ctlPtr >> 2) + C.HEADER + slot * C.SLOT;
  const hdr = init.ctlPtr >> 2;
  Atomics.compareExchange(i32, base + C.READY, 1, -2);
  Atomics.notify(i32, base + C.READY);
  if (Atomics.compareExchange(i32, base + C.BUSY, 2, 0) === 2) {
    Atomics.store(i32, base + C.STATUS, -1);
    Atomics.compareExchange(i32, hdr + C.ERROR, 0, init.died);
    if (Atomics.sub(i32, hdr + C.PENDING, 1) === 1) Atomics.notify(i32, hdr + C.PENDING);
  }
}

const prelude = (): string => `"use strict";\nvar __name = (f, _n) => f;\nconst settleVanishedWorker = ${settleVanishedWorker.toString()};\n`;

/**
 * Node: a worker_threads eval script with the WatchdogInit as workerData. The pool posts it
 * `{ slot, port }` per worker it starts.
 */
export function nodeWatchdogSource(): string {
  return (
    prelude() +
    `const { parentPort, workerData } = require("node:worker_threads");
const current = new Map();
parentPort.on("message", ({ slot, port }) => {
  current.set(slot, port);
  port.on("message", () => {});
  port.on("close", () => {
    if (current.get(slot) !== port) return; // a replaced worker's port
    current.delete(slot);
    settleVanishedWorker(workerData, slot);
  });
});
`
  );
}

/**
 * Browsers: a classic Web Worker script. Its first message is the WatchdogInit; then the pool
 * posts `{ slot, lock }` per worker it starts. Once that worker is ready (it holds `lock` from
 * before), the watchdog asks for the lock, which it gets when the worker ends.
 */
export function browserWatchdogSource(): string {
  return (
    prelude() +
    `let init;
const current = new Map();
self.onmessage = (ev) => {
  if (!init) { init = ev.data; return; }
  const { slot, lock } = ev.data;
  current.set(slot, lock);
  const i32 = new Int32Array(init.memory.buffer);
  const ready = (init.ctlPtr >> 2) + init.ctl.HEADER + slot * init.ctl.SLOT + init.ctl.READY;
  const watch = () => {
    if (current.get(slot) !== lock) return; // replaced
    const r = Atomics.load(i32, ready);
    if (r === 0) { setTimeout(watch, 5); return; }
    if (r !== 1) return; // it never started
    navigator.locks.request(lock, () => {
      if (current.get(slot) !== lock) return;
      current.delete(slot);
      settleVanishedWorker(init, slot);
    });
  };
  watch();
};
`
  );
}
