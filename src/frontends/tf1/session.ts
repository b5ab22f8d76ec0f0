// The TF1 Session: holds the variables' values and runs subgraphs. `run`
// finds the nodes its fetches need, checks the feeds, and calls a function
// compiled with tinyflow's `jit` once per fetch/feed signature (jit itself
// retraces only for new feed shapes). Variables enter that function as
// arguments and leave it as outputs; those the run both reads and assigns
// are donated, so a training loop reuses their buffers. Every read in a run
// sees the value from before the run; assignments are stored after it.
// Gradients nodes evaluate the subgraph between xs and ys as a pure function
// of xs under tinyflow's `vjp`.

import "../../setup";
import { Array as TfArray, isArray } from "../../core/array";
import { ArgumentError, ShapeError } from "../../core/errors";
import { checkOptions, isPlainObject, type OptionRule, type OptionRules } from "../../core/options";
import type { Tracer } from "../../core/trace";
import { jit, vjp, type Jitted } from "../../../transforms";
import * as np from "../../numpy";
import * as random from "../../random";
import { ClosedSessionError, FailedPreconditionError, InvalidArgumentError } from "./errors";
import { Operation, RefVariable, Tensor, describe, formatShape, get_default_graph, topoSort, type Data, type EvalContext, Graph, type Value } from "./graph";

export type Fetch = Tensor | Operation;
/** A fetch, or a (nested) array or object of fetches: `run` returns the same structure. */
export type Fetches = Fetch | readonly Fetches[] | { readonly [key: string]: Fetches };
/** What `run` returns for fetches F: an Array per Tensor, null per Operation. */
export type FetchResult<F> = F extends Operation
  ? null
  : F extends Tensor
    ? TfArray
    : F extends readonly unknown[]
      ? { -readonly [K in keyof F]: FetchResult<F[K]> }
      : { -readonly [K in keyof F]: FetchResult<F[K]> };

export type FeedValue = Data;
/** Feeds: a Map from placeholders to values, or an array of [placeholder, value] pairs. */
export type FeedDict = ReadonlyMap<Tensor, FeedValue> | readonly (readonly [Tensor, FeedValue])[];

export interface RunOptions {
  feed_dict?: FeedDict;
}
// The pairs themselves are checked where the feeds are read; null is TF1's feed_dict=None.
const feedDictRule: OptionRule = {
  expected: "a Map from placeholders to values or a list of [placeholder, value] pairs",
  accepts: (v) => v === null || v instanceof Map || Array.isArray(v),
};
const runRules: OptionRules<RunOptions> = { feed_dict: feedDictRule };

// --- evaluation inside the traced function -----------------------------------------

interface GradInfo {
  ys: Tensor[];
  xs: Tensor[];
  gradYs: (Tensor | null)[];
  /** Nodes between xs and ys (those that depend on some x), in topological order. */
  dependent: Set<Tensor>;
  order: Tensor[];
}

const gradInfos = new WeakMap<Tensor, GradInfo>();

function gradInfo(node: Tensor): GradInfo {
  let info = gradInfos.get(node);
  if (info) return info;
  const ys = node.attrs.ys as Tensor[];
  const xs = node.attrs.xs as Tensor[];
  const gradYs = node.attrs.grad_ys as (Tensor | null)[];
  const xset = new Set(xs);
  const dependent = new Set<Tensor>();
  const order: Tensor[] = [];
  for (const n of topoSort(ys)) {
    if (!(n instanceof Tensor)) continue;
    if (xset.has(n) || n.inputs.some((i) => dependent.has(i))) {
      dependent.add(n);
      if (!xset.has(n)) order.push(n);
    }
  }
  info = { ys, xs, gradYs, dependent, order };
  gradInfos.set(node, info);
  return info;
}

/**
 * Values of graph nodes in one traced run. A child evaluator (inside a
 * gradient) recomputes the nodes that depend on the xs it overrides and asks
 * its parent for everything else.
 */
class Evaluator {
  readonly memo = new Map<Tensor, Value | Tracer[]>();
  constructor(
    readonly ctx: EvalContext,
    readonly parent: Evaluator | null,
    readonly dependent: ReadonlySet<Tensor> | null,
  ) {}

  get(t: Tensor): Value {
    const v = this.getAny(t);
    if (Array.isArray(v)) throw new ArgumentError(`tf1: internal: ${t} has several outputs`);
    return v;
  }

  getAny(t: Tensor): Value | Tracer[] {
    const m = this.memo.get(t);
    if (m !== undefined) return m;
    if (this.parent !== null && !this.dependent!.has(t)) return this.parent.getAny(t);
    let out: Value | Tracer[];
    switch (t.opType) {
      case "Placeholder":
      case "VariableV2":
        throw new ArgumentError(`tf1: internal: no value for ${t}`);
      case "Gradients":
        out = this.gradients(t);
        break;
      case "GradientsOutput":
        out = (this.getAny(t.inputs[0]) as Tracer[])[t.attrs.index as number];
        break;
      default:
        out = t.kernel!(t.inputs.map((i) => this.get(i)), this.ctx);
    }
    this.memo.set(t, out);
    return out;
  }

  /** d(sum of ys · grad_ys)/d xs through tinyflow's vjp of the subgraph as a function of xs. */
  private gradients(node: Tensor): Tracer[] {
    const { ys, xs, gradYs, dependent, order } = gradInfo(node);
    const xVals = xs.map((x) => np.asarray(this.get(x)));
    const f = (...xv: Tracer[]): Tracer[] => {
      const child = new Evaluator(this.ctx, this, dependent);
      xs.forEach((x, i) => child.memo.set(x, xv[i]));
      for (const n of order) child.getAny(n);
      return ys.map((y) => np.asarray(child.get(y)));
    };
    const [outs, pull] = vjp(f, ...xVals);
    const cts = outs.map((o, i) => {
      const gy = gradYs[i];
      if (gy === null) return np.onesLike(o);
      return np.broadcastTo(np.astype(np.asarray(this.get(gy)), o.dtype), o.shape);
    });
    return pull(cts) as Tracer[];
  }
}

// --- plans ------------------------------------------------------------------------------

type RunFn = (donated: Tracer[], readOnly: Tracer[], feeds: Tracer[], key: Tracer | null) => [Tracer[], Tracer[]];

interface Plan {
  /** Distinct fetched Tensors, in the order the function returns them. */
  fetchTensors: Tensor[];
  placeholders: Tensor[];
  donatedVars: RefVariable[];
  readVars: RefVariable[];
  assigns: { variable: RefVariable; node: Tensor }[];
  usesRandom: boolean;
  fn: Jitted<RunFn>;
}

function buildPlan(fetchLeaves: Fetch[], fed: ReadonlySet<Tensor>): Plan {
  const fetchTensors = [...new Set(fetchLeaves.filter((f): f is Tensor => f instanceof Tensor))];
  const order = topoSort(fetchLeaves);
  const tensors = order.filter((n): n is Tensor => n instanceof Tensor);
  const placeholders = tensors.filter((t) => t.opType === "Placeholder");
  for (const p of placeholders) {
    if (!fed.has(p)) {
      throw new InvalidArgumentError(
        `Session.run: you must feed a value for placeholder tensor '${p.opName}' with dtype ${p.dtype} and shape ${formatShape(p.shape)} ` +
          `(the fetches need it; give it in feed_dict)`,
      );
    }
  }
  const assigns: { variable: RefVariable; node: Tensor }[] = [];
  const assigned = new Map<RefVariable, Tensor>();
  for (const t of tensors) {
    if (t.opType !== "Assign" && t.opType !== "AssignAdd" && t.opType !== "AssignSub") continue;
    const v = t.attrs.variable as RefVariable;
    const other = assigned.get(v);
    if (other !== undefined) {
      throw new ArgumentError(
        `Session.run: the variable '${v.opName}' is assigned twice in one run (by '${other.opName}' and '${t.opName}'); ` +
          `every read in a run sees the value from before it, so run the assignments separately or combine them`,
      );
    }
    assigned.set(v, t);
    assigns.push({ variable: v, node: t });
  }
  const readVars = tensors.filter((t): t is RefVariable => t instanceof RefVariable);
  const donatedVars = readVars.filter((v) => assigned.has(v));
  const readOnlyVars = readVars.filter((v) => !assigned.has(v));
  const usesRandom = tensors.some((t) => t.attrs.random === true);

  const body: RunFn = (donated, readOnly, feeds, key) => {
    const ctx: EvalContext = {
      randomKey: (stream) => {
        if (key === null) throw new ArgumentError("tf1: internal: a random op ran without a key");
        return random.foldIn(key, stream);
      },
    };
    const ev = new Evaluator(ctx, null, null);
    donatedVars.forEach((v, i) => ev.memo.set(v, donated[i]));
    readOnlyVars.forEach((v, i) => ev.memo.set(v, readOnly[i]));
    placeholders.forEach((p, i) => ev.memo.set(p, feeds[i]));
    for (const t of tensors) ev.getAny(t);
    const outs = fetchTensors.map((t) => {
      const v = ev.get(t);
      return typeof v === "number" || typeof v === "boolean" ? np.array(v, { dtype: t.dtype }) : v;
    });
    return [outs, assigns.map((a) => np.asarray(ev.get(a.node)))];
  };
  Object.defineProperty(body, "name", { value: "session_run" });
  return { fetchTensors, placeholders, donatedVars, readVars: readOnlyVars, assigns, usesRandom, fn: jit(body, { donateArgnums: [0] }) };
}

// --- fetch structures -------------------------------------------------------------------

function collectFetches(f: unknown, out: Fetch[], path: string): void {
  if (f instanceof Tensor || f instanceof Operation) out.push(f);
  else if (Array.isArray(f)) f.forEach((x, i) => collectFetches(x, out, `${path}[${i}]`));
  else if (f !== null && typeof f === "object" && Object.getPrototypeOf(f) === Object.prototype) {
    for (const [k, v] of Object.entries(f)) collectFetches(v, out, `${path}.${k}`);
  } else {
    throw new ArgumentError(`Session.run: fetch argument ${path} is ${describe(f)}; fetches must be Tensors, Operations, or arrays/objects of them`);
  }
}

function rebuildFetches(f: unknown, value: (x: Fetch) => TfArray | null): unknown {
  if (f instanceof Tensor || f instanceof Operation) return value(f);
  if (Array.isArray(f)) return f.map((x) => rebuildFetches(x, value));
  return Object.fromEntries(Object.entries(f as object).map(([k, v]) => [k, rebuildFetches(v, value)]));
}

function feedPairs(feeds: FeedDict | undefined): [unknown, FeedValue][] {
  if (feeds === undefined || feeds === null) return [];
  if (feeds instanceof Map) return [...feeds.entries()];
  if (Array.isArray(feeds)) {
    return feeds.map((p, i) => {
      if (!Array.isArray(p) || p.length !== 2) throw new InvalidArgumentError(`Session.run: feed_dict entry ${i} must be a [placeholder, value] pair`);
      return [p[0], p[1]] as [unknown, FeedValue];
    });
  }
  throw new InvalidArgumentError(`Session.run: feed_dict must be a Map or an array of [placeholder, value] pairs, got ${describe(feeds)}`);
}

function feedArray(p: Tensor, value: FeedValue): TfArray {
  let a: TfArray;
  try {
    a = isArray(value) ? value : (np.array(value as never, { dtype: p.dtype }) as TfArray);
    if (!isArray(a)) throw new InvalidArgumentError("a traced value has no data");
  } catch (e) {
    throw new InvalidArgumentError(`Session.run: cannot convert the value fed to '${p.name}' to ${p.dtype}: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (a.dtype !== p.dtype) a = np.astype(a, p.dtype) as TfArray;
  const s = p.shape;
  if (s !== null && (s.length !== a.ndim || s.some((d, i) => d !== null && d !== a.shape[i]))) {
    throw new ShapeError(`Session.run: cannot feed a value of shape ${formatShape([...a.shape])} for tensor '${p.name}', which has shape ${formatShape(s)}`);
  }
  return a;
}

// --- the session --------------------------------------------------------------------------

export interface SessionOptions {
  graph?: Graph;
}
const sessionRules: OptionRules<SessionOptions> = { graph: { expected: "a tf.Graph", accepts: (v) => v instanceof Graph } };

/** `new tf.Session()`: runs fetches of the default graph and owns its variables' values. */
export class Session {
  readonly graph: Graph;
  readonly #values = new Map<RefVariable, TfArray>();
  readonly #plans = new Map<string, Plan>();
  #closed = false;
  #runs = 0;

  constructor(options?: SessionOptions) {
    const opts = checkOptions("tf.Session", options, sessionRules);
    this.graph = opts.graph ?? get_default_graph();
  }

  /** How many times this session traced a subgraph (once per new fetch/feed signature or feed shapes). */
  get traceCount(): number {
    let n = 0;
    for (const p of this.#plans.values()) n += p.fn.traceCount;
    return n;
  }

  /** Number of distinct fetch/feed signatures compiled so far. */
  get cacheSize(): number {
    return this.#plans.size;
  }

  /** Whether an initializer (or assignment) has given `v` a value in this session. */
  isInitialized(v: RefVariable): boolean {
    return this.#values.has(v);
  }

  /**
   * Evaluate `fetches` (a Tensor, an Operation, or arrays/objects of them).
   * Returns the same structure with an Array per Tensor and null per Operation.
   * The second argument is `{ feed_dict }` or the feeds themselves.
   */
  run<const F extends Fetches>(fetches: F, opts: RunOptions | FeedDict = {}): FetchResult<F> {
    if (this.#closed) throw new ClosedSessionError("Session.run: attempted to use a closed Session");
    let feedDict: FeedDict | undefined;
    if (opts instanceof Map || Array.isArray(opts)) feedDict = opts as FeedDict;
    else if (isPlainObject(opts)) feedDict = checkOptions("Session.run", opts as RunOptions, runRules).feed_dict;
    else throw new ArgumentError(`Session.run: the second argument must be { feed_dict }, a Map of feeds or a list of [placeholder, value] pairs, got ${describe(opts)}`);
    const leaves: Fetch[] = [];
    collectFetches(fetches, leaves, "fetches");
    for (const l of leaves) {
      if (l.graph !== this.graph) throw new ArgumentError(`Session.run: ${l} is not an element of this session's graph`);
    }

    const feeds = new Map<Tensor, FeedValue>();
    for (const [k, v] of feedPairs(feedDict)) {
      if (!(k instanceof Tensor)) throw new InvalidArgumentError(`Session.run: feed_dict keys must be placeholder Tensors, got ${describe(k)}`);
      if (k.opType !== "Placeholder") {
        throw new InvalidArgumentError(`Session.run: ${k} is not a placeholder (its op is ${k.opType}); only tensors made by tf.placeholder can be fed`);
      }
      if (k.graph !== this.graph) throw new InvalidArgumentError(`Session.run: the fed placeholder '${k.name}' is not an element of this session's graph`);
      feeds.set(k, v);
    }

    const key = `${leaves.map((l) => l.id).join(",")}|${[...feeds.keys()].map((t) => t.id).sort((a, b) => a - b).join(",")}`;
    let plan = this.#plans.get(key);
    if (!plan) {
      plan = buildPlan(leaves, new Set(feeds.keys()));
      this.#plans.set(key, plan);
    }

    const varValue = (v: RefVariable): TfArray => {
      const a = this.#values.get(v);
      if (a === undefined) {
        throw new FailedPreconditionError(
          `Session.run: attempting to use uninitialized value '${v.opName}' (${formatShape(v.shape)} ${v.dtype}); ` +
            `run tf.global_variables_initializer() (or the variable's initializer) first`,
        );
      }
      return a;
    };
    const donated = plan.donatedVars.map(varValue);
    const readOnly = plan.readVars.map(varValue);
    const fed = plan.placeholders.map((p) => feedArray(p, feeds.get(p)!));
    let runKey: TfArray | null = null;
    if (plan.usesRandom) runKey = random.foldIn(random.key(this.graph.seed ?? 0), this.#runs) as TfArray;
    this.#runs++;

    const inputs = new Set<TfArray>([...donated, ...readOnly]);
    const [outs, updates] = plan.fn(donated, readOnly, fed, runKey) as [TfArray[], TfArray[]];
    plan.assigns.forEach((a, i) => this.#values.set(a.variable, updates[i]));
    const stored = new Set(this.#values.values());
    const byTensor = new Map<Tensor, TfArray>();
    plan.fetchTensors.forEach((t, i) => {
      let o = outs[i];
      // A backend that runs the jaxpr op by op may hand back a variable's own Array;
      // the caller gets a copy, since the session may donate that Array later.
      if (inputs.has(o) || stored.has(o)) o = TfArray.fromTyped(o.dataSync(), o.shape, o.dtype);
      byTensor.set(t, o);
    });
    return rebuildFetches(fetches, (f) => (f instanceof Tensor ? byTensor.get(f)! : null)) as FetchResult<F>;
  }

  /** Release the variables' values; later runs throw. */
  close(): void {
    this.#closed = true;
    this.#values.clear();
    this.#plans.clear();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
