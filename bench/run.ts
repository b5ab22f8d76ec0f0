// bench/run.ts — runs tinyflow's benchmarks against its peers and prints a table.
//
//   npx tsx bench/run.ts [--peers tinyflow,tinyflow-tuned,jaxjs,tfjs] [--workloads W1,...,W6]
//                        [--sizes 1e6,512] [--procs 3] [--quick] [--baseline tinyflow]
//                        [--json out.json] [--timeout 600]
//
// Every (peer, workload, size) is measured in --procs independent child
// processes (`node --import tsx bench/run.ts --child <peer> <workload> <size>`),
// run one at a time, the peers interleaved. A child loads bench/peers/<peer>.ts,
// measures with bench/harness.ts and prints one JSON line. The parent reports, per row,
// the median over processes of each process's median, and the min–max of those
// per-process values, plus the ratio against the baseline peer (tinyflow).
// "tinyflow" is the library used as its README teaches, "tinyflow-tuned" the
// same computations tuned by hand (disposed outputs, donated buffers); a
// second table prints how far the first is from the second.

import { spawn, spawnSync } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import {
  BENCH_DIR,
  ROOT_DIR,
  RESULT_PREFIX,
  WORKLOAD_IDS,
  caseDefs,
  loadLine,
  machineLines,
  median,
  runCase,
  runConfig,
  type CaseDef,
  type ChildResult,
  type Peer,
  type PeerInfo,
  type WorkloadId,
} from "./harness.js";

/** The hand-tuned tinyflow adapter: the ceiling the as-taught one ("tinyflow") is compared with. */
const TUNED = "tinyflow-tuned";
const peerFile = (name: string) => path.join(BENCH_DIR, "peers", `${name}.ts`);

// ───────────────────────────── child mode ─────────────────────────────

async function child(args: string[]): Promise<void> {
  const [peerName, workload, sizeStr] = args;
  const quick = args.includes("--quick");
  const mod = (await import(pathToFileURL(peerFile(peerName!)).href)) as { default: Peer };
  const result = await runCase(mod.default, workload as WorkloadId, Number(sizeStr), runConfig(quick));
  // Some backends keep handles (worker pools, timers) open: leave once the line is flushed.
  process.stdout.write(`\n${RESULT_PREFIX}${JSON.stringify(result)}\n`, () => process.exit(0));
}

// ───────────────────────────── parent mode ─────────────────────────────

interface Options {
  peers: string[];
  workloads: WorkloadId[];
  /** only these sizes of the workloads that have them (W1 n, W2 element count); the rest run their one case */
  sizes: number[];
  procs: number;
  quick: boolean;
  baseline: string;
  json?: string;
  timeoutS: number;
}

function parseArgs(argv: string[]): Options {
  const o: Options = { peers: ["tinyflow", TUNED, "jaxjs", "tfjs"], workloads: [...WORKLOAD_IDS], sizes: [], procs: 3, quick: false, baseline: "tinyflow", timeoutS: 600 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const val = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === "--peers") o.peers = val().split(",").filter(Boolean);
    else if (a === "--workloads") o.workloads = val().split(",").filter(Boolean).map((w) => w.toUpperCase()) as WorkloadId[];
    else if (a === "--sizes") o.sizes = val().split(",").filter(Boolean).map(Number);
    else if (a === "--procs") o.procs = Math.max(1, Number(val()));
    else if (a === "--quick") o.quick = true;
    else if (a === "--baseline") o.baseline = val();
    else if (a === "--json") o.json = val();
    else if (a === "--timeout") o.timeoutS = Number(val());
    else if (a === "--help" || a === "-h") {
      console.log("usage: tsx bench/run.ts [--peers tinyflow,tinyflow-tuned,jaxjs,tfjs] [--workloads W1,W2,W3,W4,W5,W6] [--sizes 1e6,512] [--procs 3] [--quick] [--baseline tinyflow] [--json out.json] [--timeout 600]");
      process.exit(0);
    } else throw new Error(`unknown argument ${a} (try --help)`);
  }
  for (const w of o.workloads) if (!WORKLOAD_IDS.includes(w)) throw new Error(`unknown workload ${w}; known: ${WORKLOAD_IDS.join(",")}`);
  return o;
}

interface ChildOutcome {
  ok: boolean;
  result?: ChildResult;
  error?: string;
  wallMs: number;
}

function spawnChild(peer: string, def: { workload: WorkloadId; size: number }, quick: boolean, timeoutS: number): Promise<ChildOutcome> {
  // `node --import tsx` rather than the tsx CLI: the CLI runs the script in a
  // grandchild process, which survives a timeout kill of the CLI.
  const args = ["--import", "tsx", path.join(BENCH_DIR, "run.ts"), "--child", peer, def.workload, String(def.size), ...(quick ? ["--quick"] : [])];
  const t0 = performance.now();
  return new Promise((resolve) => {
    const p = spawn(process.execPath, args, { cwd: ROOT_DIR, stdio: ["ignore", "pipe", "pipe"] });
    let out = "", err = "";
    p.stdout.on("data", (d) => (out += d));
    p.stderr.on("data", (d) => (err += d));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      p.kill("SIGKILL");
    }, timeoutS * 1000);
    p.on("close", (code, signal) => {
      clearTimeout(timer);
      const wallMs = performance.now() - t0;
      const line = out.split("\n").reverse().find((l) => l.startsWith(RESULT_PREFIX));
      if (code === 0 && line) {
        resolve({ ok: true, result: JSON.parse(line.slice(RESULT_PREFIX.length)) as ChildResult, wallMs });
      } else {
        const why = timedOut ? `timed out after ${timeoutS} s` : signal ? `killed by ${signal}` : `exit ${code}`;
        const tail = (err || out).trim().split("\n").filter((l) => l.trim()).slice(-3).join(" / ");
        resolve({ ok: false, error: `${why}: ${tail.slice(0, 300)}`, wallMs });
      }
    });
  });
}

/** One printed row: a (case, peer, key) with values from each process. */
interface Row {
  def: CaseDef;
  peer: string;
  key: string; // "main", a variant label, or "W6"
  values: number[];
  cpuValues: number[];
  checks: { ok: boolean; text: string }[];
  errors: string[];
  na?: string;
}

const fmt = (v: number): string => {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  return a >= 100 ? v.toFixed(0) : a >= 10 ? v.toFixed(1) : a >= 1 ? v.toFixed(2) : v.toFixed(3);
};

function markdownTable(header: string[], body: string[][]): string {
  const rows = body.map((r) => r.map((c) => c.replace(/\|/g, "/").replace(/\n/g, " ")));
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(" | ")} |`;
  return [line(header), `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`, ...rows.map(line)].join("\n");
}

async function parent(o: Options): Promise<void> {
  console.log(`# tinyflow benchmarks${o.quick ? " (--quick)" : ""}`);
  console.log();
  for (const l of machineLines()) console.log(`- ${l}`);
  console.log(`- command: tsx bench/run.ts ${process.argv.slice(2).join(" ")}`);
  console.log(`- ${o.procs} process(es) per (peer, workload); "median" is the median over processes of each process's median wall-clock time converted to the unit, "min–max" is over processes; "CPU-time median" is the same number from process CPU time (user+system), which stays close to idle-machine wall time for single-threaded peers when other processes compete for the cores`);

  const peers: string[] = [];
  for (const p of o.peers) {
    if (existsSync(peerFile(p))) peers.push(p);
    else console.log(`- skipping peer "${p}": ${path.relative(ROOT_DIR, peerFile(p))} does not exist${p === "tinyflow" ? " (the tinyflow adapter is added once the library exists)" : ""}`);
  }
  if (peers.length === 0) {
    console.log("no peers to run");
    process.exitCode = 1;
    return;
  }
  const hasBaseline = peers.includes(o.baseline);
  console.log(
    hasBaseline
      ? `- "${o.baseline} speedup" = how many times faster ${o.baseline} is than that peer (>1: ${o.baseline} faster, <1: ${o.baseline} slower), from the medians; "(CPU time)" is the same from the CPU-time medians`
      : `- ratio column empty: baseline "${o.baseline}" is not among the peers run (choose one with --baseline)`,
  );
  console.log();

  // The machine's WASM SIMD peak, so W1 can be read as a fraction of it.
  const peaks: number[] = [];
  if (o.workloads.includes("W1")) {
    for (let i = 0; i < o.procs; i++) {
      const r = spawnSync(process.execPath, ["--import", "tsx", path.join(BENCH_DIR, "peak.ts")], { cwd: ROOT_DIR, encoding: "utf8" });
      const line = r.stdout.trim().split("\n").pop() ?? "";
      if (r.status === 0 && line.startsWith("{")) peaks.push((JSON.parse(line) as { gflops: number }).gflops);
    }
  }
  const peak = peaks.length ? median(peaks) : NaN;
  if (Number.isFinite(peak)) {
    console.log(`- WASM SIMD peak of this machine, one thread (microkernel of 13 independent f32x4 mul+add chains, median of ${peaks.length} processes): ${fmt(peak)} GFLOPS`);
    console.log();
  }

  // Which child runs are needed: W6 comes from the W3 processes.
  const wanted = new Set(o.workloads);
  const runWorkloads = WORKLOAD_IDS.filter((w) => w !== "W6" && (wanted.has(w) || (w === "W3" && wanted.has("W6"))));
  const rows = new Map<string, Row>();
  const rowKey = (w: string, size: number, peer: string, key: string) => `${w}/${size}/${peer}/${key}`;
  const getRow = (def: CaseDef, peer: string, key: string): Row => {
    const k = rowKey(def.workload, def.size, peer, key);
    let r = rows.get(k);
    if (!r) rows.set(k, (r = { def, peer, key, values: [], cpuValues: [], checks: [], errors: [] }));
    return r;
  };
  const infos = new Map<string, PeerInfo>();
  const notes = new Map<string, string[]>();
  const raw: ChildResult[] = [];
  const peerJit = new Map<string, boolean>();

  // --sizes narrows the workloads that have one of those sizes; the others keep their one case.
  const selected = (w: WorkloadId): CaseDef[] => {
    const all = caseDefs(w);
    const some = all.filter((d) => o.sizes.includes(d.size));
    return some.length > 0 ? some : all;
  };
  const totalRuns = runWorkloads.reduce((n, w) => n + selected(w).length, 0) * o.procs * peers.length;
  let done = 0;
  const t0 = performance.now();
  for (const w of runWorkloads) {
    for (const def of selected(w)) {
      for (let proc = 0; proc < o.procs; proc++) {
        for (const peer of peers) {
          done++;
          process.stderr.write(`[${done}/${totalRuns}] ${def.label} · ${peer} · process ${proc + 1}/${o.procs} ... `);
          const res = await spawnChild(peer, def, o.quick, o.timeoutS);
          process.stderr.write(`${res.ok ? "ok" : "FAILED"} (${(res.wallMs / 1000).toFixed(1)} s)\n`);
          if (!res.ok || !res.result) {
            getRow(def, peer, "main").errors.push(res.error ?? "unknown error");
            if (w === "W3") getRow(caseDefs("W6")[0]!, peer, "main").errors.push(`W3 process failed: ${res.error ?? "unknown error"}`);
            continue;
          }
          const r = res.result;
          raw.push(r);
          if (!infos.has(peer)) infos.set(peer, r.info);
          peerJit.set(peer, peerJit.get(peer) || r.rows.some((m) => m.key === "W6"));
          for (const m of r.rows) {
            const d = m.key === "W6" ? caseDefs("W6")[0]! : def;
            const row = getRow(d, peer, m.key === "W6" ? "main" : m.key);
            row.values.push(m.value);
            row.cpuValues.push(m.cpuValue);
            row.checks.push(m.check);
          }
          const nk = `${def.label} · ${peer}`;
          for (const n of r.notes) notes.set(nk, [...(notes.get(nk) ?? []), `[process ${proc + 1}] ${n}`]);
        }
      }
    }
  }
  // W6 rows for peers without a jit.
  if (wanted.has("W6")) {
    for (const peer of peers) {
      const def = caseDefs("W6")[0]!;
      if (!rows.has(rowKey("W6", def.size, peer, "main"))) {
        const row = getRow(def, peer, "main");
        if (peerJit.get(peer) === false) row.na = "n/a (no jit)";
      }
    }
  }

  console.log("## peers");
  console.log();
  for (const p of peers) {
    const info = infos.get(p);
    console.log(info ? `- ${p}: ${info.version}, backend ${info.backend}; ${info.notes.join("; ")}` : `- ${p}: no successful run`);
  }
  console.log();
  console.log("## results");
  console.log();

  const orderedDefs = o.workloads.flatMap((w) => selected(w));
  const tableRows: string[][] = [];
  for (const def of orderedDefs) {
    const baseRow = rows.get(rowKey(def.workload, def.size, o.baseline, "main"));
    const base = baseRow && baseRow.values.length ? median(baseRow.values) : NaN;
    const baseCpu = baseRow && baseRow.cpuValues.length ? median(baseRow.cpuValues) : NaN;
    const forCase = [...rows.values()].filter((r) => r.def.workload === def.workload && r.def.size === def.size);
    forCase.sort((a, b) => peers.indexOf(a.peer) - peers.indexOf(b.peer) || (a.key === "main" ? -1 : b.key === "main" ? 1 : a.key.localeCompare(b.key)));
    for (const r of forCase) {
      const name = r.key === "main" ? r.peer : `${r.peer} (${r.key})`;
      if (r.na) {
        tableRows.push([def.label, name, r.na, "", "", def.unit, "", "", ""]);
        continue;
      }
      if (r.values.length === 0) {
        tableRows.push([def.label, name, "error", "", "", def.unit, "", "", r.errors[0] ?? ""]);
        continue;
      }
      const med = median(r.values);
      const lo = Math.min(...r.values), hi = Math.max(...r.values);
      const medCpu = median(r.cpuValues);
      const speedup = (b: number, v: number) =>
        Number.isFinite(b) && Number.isFinite(v) && r.peer !== o.baseline ? (def.higherIsBetter ? b / v : v / b).toFixed(2) + "×" : "";
      const ratio = speedup(base, med);
      const ratioCpu = speedup(baseCpu, medCpu);
      const allOk = r.checks.every((c) => c.ok);
      const check = `${allOk ? "ok" : "CHECK FAILED"}: ${r.checks[r.checks.length - 1]!.text}`;
      const errs = r.errors.length ? ` (${r.errors.length} process(es) failed: ${r.errors[0]})` : "";
      const ofPeak = def.workload === "W1" && Number.isFinite(peak) ? ` (${((100 * med) / peak).toFixed(0)}% of the 1-thread peak)` : "";
      tableRows.push([def.label, name, fmt(med) + ofPeak, `${fmt(lo)}–${fmt(hi)}`, fmt(medCpu), def.unit, ratio, ratioCpu, check + errs]);
    }
  }
  console.log(markdownTable(["workload", "peer", "median", "min–max", "CPU-time median", "unit", `${o.baseline} speedup`, `${o.baseline} speedup (CPU time)`, "check (last process)"], tableRows));
  console.log();
  if (peers.includes("tinyflow") && peers.includes(TUNED)) {
    console.log(`## tinyflow as taught vs tuned`);
    console.log();
    console.log(`"slowdown" = how many times slower the README's idiom (np.array uploads, no dispose, donated training params) is than the hand-tuned adapter, from the medians (1.00× = as fast; targets: ≤ 1.3×)`);
    console.log();
    const cmpRows: string[][] = [];
    for (const def of orderedDefs) {
      for (const r of rows.values()) {
        if (r.def.workload !== def.workload || r.def.size !== def.size || r.peer !== "tinyflow" || r.values.length === 0) continue;
        const tuned = rows.get(rowKey(def.workload, def.size, TUNED, r.key));
        if (!tuned || tuned.values.length === 0) continue;
        const slow = (a: number, b: number) => (def.higherIsBetter ? b / a : a / b);
        const name = r.key === "main" ? "" : r.key;
        cmpRows.push([def.label, name, fmt(median(r.values)), fmt(median(tuned.values)), def.unit, `${slow(median(r.values), median(tuned.values)).toFixed(2)}×`, `${slow(median(r.cpuValues), median(tuned.cpuValues)).toFixed(2)}×`]);
      }
    }
    console.log(markdownTable(["workload", "variant", "as taught", "tuned", "unit", "slowdown", "slowdown (CPU time)"], cmpRows));
    console.log();
  }
  if (notes.size) {
    console.log("## notes");
    console.log();
    for (const [k, ns] of notes) console.log(`- ${k}: ${ns.join("; ")}`);
    console.log();
  }
  console.log(`- ${loadLine("at end")}`);
  console.log(`- total wall time ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  if (o.json) {
    writeFileSync(o.json, JSON.stringify({ machine: machineLines(), options: o, results: raw }, null, 2));
    console.log(`- raw results written to ${o.json}`);
  }
}

const argv = process.argv.slice(2);
if (argv[0] === "--child") {
  await child(argv.slice(1));
} else {
  await parent(parseArgs(argv));
}
