// When tinyflow signals V8 to collect (src/core/residency.ts, "1."), run in a
// child process by test/pressure_signal.test.ts, which needs --expose-gc:
//
//   node --expose-gc --import tsx test/pressure_signal_loop.ts <collect|none> <steps>
//
// Each step makes a 1 MiB array and drops it unread, reading with `await
// data()` only a one-element slice of it made by the same call (a 1 MiB
// result that was read would not be garbage for V8 to find: the next step's
// output would take its block, residency.ts "Taking read results").
// With "collect", the loop stands in for V8 collecting on its own: every other
// step it runs a full collection and waits until the dead arrays' finalizers
// have released their memory. Prints one JSON line: the pressure signals sent
// during the steps, and the device bytes still resident at the end.

import { jit, lax, memoryStats, np } from "../src/index";
import { pressureSignalsSent } from "../src/core/residency";

const [mode, stepsArg] = process.argv.slice(2);
const steps = Number(stepsArg);
const collect = (globalThis as { gc?: () => void }).gc ?? ((): void => {
  throw new Error("pressure_signal_loop.ts needs node --expose-gc");
});
const nextTask = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** A full collection, then turns of the event loop until the dead arrays' finalizers (tasks of their own) released them. */
async function collectAndSettle(): Promise<void> {
  collect();
  for (let turn = 0; turn < 100 && memoryStats().residentBytes > 2 * 2 ** 20; turn++) await nextTask();
}

const f = jit((v: any) => {
  const y = v.mul(2).add(1);
  return [y, lax.slice(y, [0], [1])];
});
const x = np.zeros([262_144]);
await f(x)[1]!.data();
// Both loops start with nothing unseen: the warm-up's garbage was collected.
await collectAndSettle();
const before = pressureSignalsSent();
let last = 0;
for (let i = 0; i < steps; i++) {
  const [, head] = f(x);
  last = (await head!.data())[0]!;
  if (mode === "collect" && i % 2 === 1) await collectAndSettle();
}
console.log(JSON.stringify({ signals: pressureSignalsSent() - before, residentBytes: memoryStats().residentBytes, last }));
process.exit(0);
