// Pressure signals (src/core/residency.ts, "1.") are for garbage V8 has not
// looked at: a loop whose dead arrays V8 already collects on its own gets
// none, while the same loop left alone gets them every few MiB. Each loop runs
// in a child process (test/pressure_signal_loop.ts) that can force collections.

import { execFileSync } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const here = path.dirname(fileURLToPath(import.meta.url));

function runLoop(mode: "collect" | "none", steps: number): { signals: number; residentBytes: number; last: number } {
  const out = execFileSync(process.execPath, ["--expose-gc", "--import", "tsx", path.join(here, "pressure_signal_loop.ts"), mode, String(steps)], {
    encoding: "utf8",
    env: { ...process.env, TINYFLOW_THREADS: "1" },
  });
  return JSON.parse(out.trim().split("\n").pop()!);
}

describe("pressure signals", () => {
  it("are sent while V8 does not collect: 64 MiB of dead 1 MiB arrays", () => {
    const r = runLoop("none", 64);
    expect(r.last).toBe(1);
    expect(r.signals, JSON.stringify(r)).toBeGreaterThan(0);
  }, 60_000);

  it("are not sent when V8 collected on its own since: the same loop, collected every 2 MiB", () => {
    const r = runLoop("collect", 64);
    expect(r.last).toBe(1);
    expect(r.signals, JSON.stringify(r)).toBe(0);
    expect(r.residentBytes, JSON.stringify(r)).toBeLessThanOrEqual(2 * 2 ** 20);
  }, 60_000);
});
