// Whether a short job runs split across the thread pool or on the calling
// thread alone, chosen from how long each way has taken lately.
//
// Why: on a machine whose other cores are busy (another process, V8's
// concurrent marking), splitting a sub-millisecond kernel buys nothing and
// can cost: the woken worker may be scheduled on the caller's own core, and
// the caller then stalls in Atomics.notify until the worker is done
// (bench/pool_dispatch.ts: a median ~0.2 ms on W5's 0.4 ms conv), or the
// worker wakes too late and the caller does its part anyway. On an idle
// machine the same split is ~1.4x faster. Which one holds changes from
// second to second, so the pool measures instead of guessing.
//
// How: one SplitChoice per kind of job (a generated kernel, or a job family,
// conv mode and size class; threads.ts and parallel_kernel.ts key them). It
// keeps the last few wall times per unit of work of each way and takes the
// way whose median is lower -- splitting only when it is at least
// `minSplitGain` faster: within that the calling thread wins, as it spends
// less CPU, which a shared machine's other work (and V8's concurrent
// marking) can use. The other way is probed now and then so the choice follows the
// load: every `minProbeGap` jobs at first, the gap doubling after each probe
// that loses, up to `maxProbeGap`; a probe that beats the current way's
// median is repeated at once, so a way that became faster takes over within
// a few jobs. Until each way has `warmup` samples the two alternate, split
// first. Only short jobs are chosen for (threads.ts): large ones always split,
// where a probe on one thread would cost a whole job's time.
//
// Nothing here reads a clock: the pool times the jobs and calls record(),
// so the decisions can be tested with made-up timings.

import { BackendError } from "../../core/errors";

/** The knobs of a SplitChoice. */
export interface SplitChoiceConfig {
  /** Samples kept per way (the median is taken over them). */
  window: number;
  /** Samples each way gets before the medians decide. */
  warmup: number;
  /** Jobs between probes of the way not taken, at first and after a probe that won. */
  minProbeGap: number;
  /** Most jobs between probes (the gap doubles after each probe that loses). */
  maxProbeGap: number;
  /** Splitting is taken when its median is below the calling thread's by at least this fraction. */
  minSplitGain: number;
}

export const DEFAULT_SPLIT_CHOICE: SplitChoiceConfig = { window: 7, warmup: 3, minProbeGap: 8, maxProbeGap: 64, minSplitGain: 0.05 };

/** The two ways a job can run. */
export type SplitWay = "split" | "alone";

/** The recent wall times of one way, as a ring of the last `window` samples. */
class Samples {
  private readonly ring: Float64Array;
  private readonly sorted: Float64Array;
  count = 0;
  private next = 0;
  /** Jobs since this way last ran. */
  idle = 0;

  constructor(window: number) {
    this.ring = new Float64Array(window);
    this.sorted = new Float64Array(window);
  }

  add(value: number): void {
    this.ring[this.next] = value;
    this.next = (this.next + 1) % this.ring.length;
    if (this.count < this.ring.length) this.count++;
    this.idle = 0;
  }

  median(): number {
    const n = this.count;
    if (n === 0) return Infinity;
    const s = this.sorted.subarray(0, n);
    s.set(this.ring.subarray(0, n));
    s.sort();
    return n % 2 === 1 ? s[n >> 1]! : (s[(n >> 1) - 1]! + s[n >> 1]!) / 2;
  }
}

/** Chooses, job by job, between splitting a kind of short job and running it on the calling thread (see the header). */
export class SplitChoice {
  private readonly split: Samples;
  private readonly alone: Samples;
  /** Jobs to go before the way not taken is probed again. */
  private probeGap: number;
  /** Decisions taken, per way (for tests and benchmarks). */
  readonly taken = { split: 0, alone: 0 };

  constructor(private readonly cfg: SplitChoiceConfig = DEFAULT_SPLIT_CHOICE) {
    if (!(cfg.window >= 1 && cfg.warmup >= 1 && cfg.warmup <= cfg.window && cfg.minProbeGap >= 1 && cfg.maxProbeGap >= cfg.minProbeGap && cfg.minSplitGain >= 0 && cfg.minSplitGain < 1)) {
      throw new BackendError(`SplitChoice: inconsistent config ${JSON.stringify(cfg)} (need 1 <= warmup <= window, 1 <= minProbeGap <= maxProbeGap, 0 <= minSplitGain < 1)`);
    }
    this.split = new Samples(cfg.window);
    this.alone = new Samples(cfg.window);
    this.probeGap = cfg.minProbeGap;
  }

  /** The way that has been faster lately (see the header; no samples of either: "alone"). */
  best(): SplitWay {
    return this.splitWins(this.split.median(), this.alone.median()) ? "split" : "alone";
  }

  private splitWins(split: number, alone: number): boolean {
    return split < alone * (1 - this.cfg.minSplitGain);
  }

  /** The way to run the next job. */
  next(): SplitWay {
    const way = this.decide();
    this.taken[way]++;
    return way;
  }

  private decide(): SplitWay {
    const { warmup } = this.cfg;
    if (this.split.count < warmup || this.alone.count < warmup) {
      if (this.split.count >= warmup) return "alone";
      if (this.alone.count >= warmup) return "split";
      return this.split.count <= this.alone.count ? "split" : "alone";
    }
    const best = this.best();
    const other = best === "split" ? this.alone : this.split;
    if (other.idle >= this.probeGap) return best === "split" ? "alone" : "split";
    return best;
  }

  /** A job run `way` took `cost` (wall time per unit of work, in any fixed unit). */
  record(way: SplitWay, cost: number): void {
    if (!(cost >= 0) || cost === Infinity) return;
    const warm = this.split.count >= this.cfg.warmup && this.alone.count >= this.cfg.warmup;
    const best = warm ? this.best() : way;
    const mine = way === "split" ? this.split : this.alone;
    const other = way === "split" ? this.alone : this.split;
    if (way !== best) {
      // A probe: if it beat the way taken, look again at once; if not, wait longer next time.
      const won = way === "split" ? this.splitWins(cost, other.median()) : !this.splitWins(other.median(), cost);
      this.probeGap = won ? 0 : Math.min(this.cfg.maxProbeGap, Math.max(this.cfg.minProbeGap, this.probeGap * 2));
    }
    mine.add(cost);
    other.idle++;
    // Repeated probes made their way the faster one: probe the other at the shortest gap again.
    if (this.probeGap === 0 && this.best() === way) this.probeGap = this.cfg.minProbeGap;
  }
}
