// A training progress bar for the examples: `cli-progress` on a terminal; when
// stderr is not a TTY (CI, a pipe, a test) the same bar is printed as plain
// lines every few seconds (`noTTYOutput`), so logs stay readable.

import cliProgress from "cli-progress";

export interface Progress {
  /** Advance by one step, updating the named values shown after the bar (e.g. { loss: "0.123" }). */
  tick(values?: Record<string, string | number>): void;
  stop(): void;
}

/** A bar of `total` steps titled `label`; `fields` are the names of the values tick() shows. */
export function progressBar(label: string, total: number, fields: string[] = ["loss"]): Progress {
  const shown = fields.map((f) => `${f} {${f}}`).join(" | ");
  const bar = new cliProgress.SingleBar(
    {
      format: `${label} [{bar}] {value}/{total} | {eta_formatted} left | ${shown}`,
      noTTYOutput: true,
      notTTYSchedule: 3000,
      hideCursor: true,
      etaBuffer: 50,
      stream: process.stderr,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0, Object.fromEntries(fields.map((f) => [f, "-"])));
  let count = 0;
  return {
    tick(values = {}) {
      count++;
      bar.update(count, values);
    },
    stop() {
      bar.stop();
    },
  };
}
