// Options validation for the rest of the public API (issue 8 item 5): the
// data sets, the tinyflow/testing helpers, the TF1 front end (snake_case
// options as TF1 spells them) and the np reductions' `{ axis, keepdims }`
// form. Table-driven as test/options.test.ts: an unknown key throws
// OptionsError naming the function and the accepted keys, a wrong type names
// the option and what it accepts, and valid calls still work. The reductions
// give identical results with the axis positional or in the options, and an
// axis given both ways is an error.

import { describe, expect, it } from "vitest";
import { get_mnist, getMnist } from "../src/datasets";
import * as tf from "../src/frontends/tf1";
import { ArgumentError, DTypeError, OptionsError, np, type Tracer } from "../src/index";
import { arrays, checkGrads, expectAllclose, shapes } from "../src/testing";

const x = np.array([0.5, 1, 2], { dtype: "float32" });
const bad = { bogusOption: 1 } as any;

// One small TF1 graph the TF1 rows share.
tf.reset_default_graph();
const W = tf.Variable(tf.zeros([2, 2]), { name: "W" });
const c = tf.constant([[1, 2], [3, 4]]);
const loss = tf.reduce_sum(tf.matmul(c, W));
const sess = new tf.Session();
const xent = (o: object) => tf.nn.softmax_cross_entropy_with_logits({ labels: c, logits: c, ...o } as any);

/** [function name as the message gives it, a call passing `o` as its options]. */
const calls: [string, (o: any) => unknown][] = [
  ["getMnist", (o) => getMnist(o)],
  ["get_mnist", (o) => get_mnist(o)],
  ["checkGrads", (o) => checkGrads(np.sin, [x], o)],
  ["expectAllclose", (o) => expectAllclose(x, x, o)],
  ["arrays", (o) => arrays(o)],
  ["shapes", (o) => shapes(o)],
  ["tf.Variable", (o) => tf.Variable(tf.zeros([2]), o)],
  ["tf.placeholder", (o) => tf.placeholder(tf.float32, o)],
  ["tf.assign", (o) => tf.assign(W, [[1, 1], [1, 1]], o)],
  ["tf.assign_add", (o) => tf.assign_add(W, [[1, 1], [1, 1]], o)],
  ["tf.gradients", (o) => tf.gradients(loss, [W], o)],
  ["tf.matmul", (o) => tf.matmul(c, W, o)],
  ["tf.reduce_sum", (o) => tf.reduce_sum(c, o)],
  ["tf.reduce_mean", (o) => tf.reduce_mean(c, o)],
  ["tf.reduce_max", (o) => tf.reduce_max(c, o)],
  ["tf.argmax", (o) => tf.argmax(c, o)],
  ["tf.one_hot", (o) => tf.one_hot(tf.constant(new Int32Array([0, 1])), 3, o)],
  ["tf.random_normal", (o) => tf.random_normal([2], o)],
  ["tf.truncated_normal", (o) => tf.truncated_normal([2], o)],
  ["tf.random_uniform", (o) => tf.random_uniform([2], o)],
  ["tf.nn.softmax", (o) => tf.nn.softmax(c, o)],
  ["tf.nn.log_softmax", (o) => tf.nn.log_softmax(c, o)],
  ["tf.nn.softmax_cross_entropy_with_logits", xent],
  ["tf.nn.dropout", (o) => tf.nn.dropout(c, 0.5, o)],
  ["tf.Session", (o) => new tf.Session(o)],
  ["Session.run", (o) => sess.run(c, o)],
  ["tf.train.AdamOptimizer", (o) => tf.train.AdamOptimizer(0.1, o)],
  ["GradientDescentOptimizer.minimize", (o) => tf.train.GradientDescentOptimizer(0.1).minimize(loss, o)],
  ["MomentumOptimizer.compute_gradients", (o) => tf.train.MomentumOptimizer(0.1, 0.9).compute_gradients(loss, o)],
  ["GradientDescentOptimizer.apply_gradients", (o) => tf.train.GradientDescentOptimizer(0.1).apply_gradients([[c, W]], o)],
  // the np reductions' options form (the second argument)
  ["np.sum", (o) => np.sum(x, o)],
  ["np.mean", (o) => np.mean(x, o)],
  ["np.max", (o) => np.max(x, o)],
  ["np.min", (o) => np.min(x, o)],
  ["np.prod", (o) => np.prod(x, o)],
  ["np.all", (o) => np.all(x, o)],
  ["np.any", (o) => np.any(x, o)],
  ["np.argmax", (o) => np.argmax(x, o)],
  ["np.argmin", (o) => np.argmin(x, o)],
  ["np.variance", (o) => np.var(x, o)],
  ["np.std", (o) => np.std(x, o)],
  ["np.logsumexp", (o) => np.logsumexp(x, o)],
  ["np.countNonzero", (o) => np.countNonzero(x, o)],
  ["np.average", (o) => np.average(x, o)],
  ["np.ptp", (o) => np.ptp(x, o)],
  ["np.cumsum", (o) => np.cumsum(x, o)],
  ["np.cumprod", (o) => np.cumprod(x, o)],
  ["np.cummax", (o) => np.cummax(x, o)],
  ["np.sort", (o) => np.sort(x, o)],
  ["np.argsort", (o) => np.argsort(x, o)],
];

/** [function, a call, a wrongly typed options object, what the message must say after "function: "]. */
const wrongTypes: [string, (o: any) => unknown, object, RegExp][] = [
  ["getMnist", (o) => getMnist(o), { flatten: "yes" }, /option flatten must be a boolean, got "yes"/],
  ["getMnist", (o) => getMnist(o), { seed: 1.5 }, /option seed must be an integer, got 1\.5 \(not an integer\)/],
  ["get_mnist", (o) => get_mnist(o), { dir: 3 }, /option dir must be a string, got 3/],
  ["checkGrads", (o) => checkGrads(np.sin, [x], o), { modes: ["fwd", "backward"] }, /option modes must be a non-empty list of "fwd" and "rev", got \["fwd", "backward"\]/],
  ["checkGrads", (o) => checkGrads(np.sin, [x], o), { order: 0 }, /option order must be a positive integer, got 0/],
  ["checkGrads", (o) => checkGrads(np.sin, [x], o), { eps: 0 }, /option eps must be a positive number, got 0/],
  ["expectAllclose", (o) => expectAllclose(x, x, o), { atol: "1e-3" }, /option atol must be a non-negative number, got "1e-3"/],
  ["arrays", (o) => arrays(o), { shape: [2, -1] }, /option shape must be a list of non-negative integers or a fast-check arbitrary of them/],
  ["arrays", (o) => arrays(o), { min: "0" }, /option min must be a finite number/],
  ["shapes", (o) => shapes(o), { maxRank: 1.5 }, /option maxRank must be a non-negative integer/],
  ["tf.Variable", (o) => tf.Variable(1, o), { trainable: "no" }, /option trainable must be a boolean, got "no"/],
  ["tf.placeholder", (o) => tf.placeholder(tf.float32, o), { shape: [null, "784"] }, /option shape must be null or a list of non-negative integers and nulls/],
  ["tf.assign", (o) => tf.assign(W, [[0, 0], [0, 0]], o), { name: 7 }, /option name must be a string, got 7/],
  ["tf.matmul", (o) => tf.matmul(c, W, o), { transpose_a: 1 }, /option transpose_a must be a boolean, got 1/],
  ["tf.reduce_sum", (o) => tf.reduce_sum(c, o), { reduction_indices: "1" }, /option reduction_indices must be null, an integer or a list of integers, got "1"/],
  ["tf.reduce_mean", (o) => tf.reduce_mean(c, o), { keep_dims: 1 }, /option keep_dims must be a boolean, got 1/],
  ["tf.argmax", (o) => tf.argmax(c, o), { dimension: 0.5 }, /option dimension must be an integer/],
  ["tf.random_normal", (o) => tf.random_normal([2], o), { stddev: -1 }, /option stddev must be a non-negative number, got -1/],
  ["tf.nn.softmax", (o) => tf.nn.softmax(c, o), { dim: "1" }, /option dim must be an integer/],
  ["tf.nn.dropout", (o) => tf.nn.dropout(c, 0.5, o), { seed: "1" }, /option seed must be an integer/],
  ["tf.Session", (o) => new tf.Session(o), { graph: {} }, /option graph must be a tf\.Graph/],
  ["Session.run", (o) => sess.run(c, o), { feed_dict: {} }, /option feed_dict must be a Map from placeholders to values or a list of \[placeholder, value\] pairs/],
  ["tf.train.AdamOptimizer", (o) => tf.train.AdamOptimizer(0.1, o), { beta1: 1 }, /option beta1 must be a number in \[0, 1\), got 1/],
  ["GradientDescentOptimizer.minimize", (o) => tf.train.GradientDescentOptimizer(0.1).minimize(loss, o), { var_list: [c] }, /option var_list must be a list of Variables/],
  ["np.sum", (o) => np.sum(x, o), { axis: 0.5 }, /option axis must be null, an integer or a list of integers, got 0\.5/],
  ["np.argmax", (o) => np.argmax(x, o), { axis: [0] }, /option axis must be null or an integer, got \[0\]/],
  ["np.cumsum", (o) => np.cumsum(x, o), { reverse: 1 }, /option reverse must be a boolean, got 1/],
];

const escape = (s: string) => s.replace(/[.[\]()]/g, "\\$&");

describe("unknown options", () => {
  for (const [name, call] of calls) {
    it(`${name} rejects an unknown option and lists the accepted ones`, () => {
      let err: unknown = null;
      try {
        call(bad);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(OptionsError);
      expect(err).toBeInstanceOf(ArgumentError);
      const msg = (err as Error).message;
      expect(msg.startsWith(`${name}: unknown option "bogusOption"`)).toBe(true);
      expect(msg).toMatch(/accepts "/);
    });
    it(`${name} accepts an empty options object`, () => {
      expect(() => call({})).not.toThrow();
    });
  }
});

describe("wrongly typed options", () => {
  for (const [name, call, o, msg] of wrongTypes) {
    it(`${name} { ${Object.keys(o).join(", ")} }`, () => {
      expect(() => call(o)).toThrow(OptionsError);
      expect(() => call(o)).toThrow(new RegExp(`^${escape(name)}: ${msg.source}`));
    });
  }
  it("a dtype option stays a DTypeError naming the function", () => {
    expect(() => arrays({ dtype: "float64" as never })).toThrow(DTypeError);
    expect(() => arrays({ dtype: "float64" as never })).toThrow(/^arrays: dtype float64 is not supported/);
    expect(() => tf.Variable(1, { dtype: "f32" as never })).toThrow(DTypeError);
    expect(() => tf.one_hot(tf.constant(new Int32Array([0])), 2, { dtype: "int64" as never })).toThrow(/^tf\.one_hot: .*int64/);
  });
  it("a non-object options argument is rejected", () => {
    expect(() => getMnist(5 as any)).toThrow(/^getMnist: the options must be a plain object \{ flatten, onehot, dir, seed, full \}, got 5/);
    expect(() => checkGrads(np.sin, [x], "fwd" as any)).toThrow(OptionsError);
    expect(() => sess.run(c, 3 as any)).toThrow(/^Session\.run: the second argument must be \{ feed_dict \}/);
    expect(() => tf.reduce_sum(c, "1" as any)).toThrow(/^tf\.reduce_sum: expected an axis or an options object/);
    expect(() => np.sum(x, "0" as any)).toThrow(/^np\.sum: axis must be null, an integer or a list of integers or an options object \{ axis, keepdims, dtype \}, got "0"/);
  });
  it("a near miss in spelling is pointed out, TF1's snake_case included", () => {
    expect(() => tf.reduce_sum(c, { keepDims: true } as any)).toThrow(/unknown option "keepDims" \(did you mean "keepdims"\?\)/);
    expect(() => tf.matmul(c, W, { transposeA: true } as any)).toThrow(/did you mean "transpose_a"/);
    expect(() => getMnist({ one_hot: true } as any)).toThrow(/did you mean "onehot"/);
  });
  it("the testing helpers' other argument errors name the function", () => {
    expect(() => checkGrads(np.sin, x as any)).toThrow(/^checkGrads: args must be a list of the function's arguments.*wrap a single argument as \[x\]/);
    expect(() => arrays({ min: 2, max: 1 })).toThrow(/^arrays: min 2 is greater than max 1/);
  });
});

describe("TF1 options, valid forms", () => {
  it("placeholder takes { shape, name } as TF1's keywords, or them positionally", () => {
    const p = tf.placeholder(tf.float32, { shape: [null, 2], name: "inputs" });
    expect(p.shape).toEqual([null, 2]);
    expect(p.name).toMatch(/^inputs(_\d+)?:0$/);
    const q = tf.placeholder(tf.float32, [null, 2], "inputs2");
    expect(q.shape).toEqual(p.shape);
    expect(() => tf.placeholder(tf.float32, { shape: [2] }, "n")).toThrow(/^tf\.placeholder: name given twice/);
    const y = tf.reduce_sum(p, { axis: 1 });
    expect(Array.from(sess.run(y, { feed_dict: [[p, [[1, 2], [3, 4]]]] }).dataSync())).toEqual([3, 7]);
    expect(Array.from(sess.run(y, { feed_dict: new Map([[p, [[1, 1]]]]) }).dataSync())).toEqual([2]);
  });
  it("reduce_* take keepdims or TF1's keep_dims, not both", () => {
    const r = sess.run([tf.reduce_sum(c, { axis: 0, keep_dims: true }), tf.reduce_sum(c, { reduction_indices: [0], keepdims: true }), tf.reduce_sum(c, 0, true)]);
    for (const a of r) {
      expect(a.shape).toEqual([1, 2]);
      expect(Array.from(a.dataSync())).toEqual([4, 6]);
    }
    expect(() => tf.reduce_sum(c, { keepdims: true, keep_dims: true })).toThrow(/^tf\.reduce_sum: give keepdims or keep_dims, not both/);
    expect(() => tf.argmax(c, { axis: 0, dimension: 0 })).toThrow(/^tf\.argmax: give axis or dimension, not both/);
    expect(Array.from(sess.run(tf.argmax(c, { dimension: 1 })).dataSync())).toEqual([1, 1]);
  });
  it("the loss functions' object form checks its keys, and the sparse/sigmoid losses take no axis", () => {
    expect(() => xent({ axis: 0, dim: 0 })).toThrow(/give axis or dim, not both/);
    expect(() => tf.nn.sigmoid_cross_entropy_with_logits({ labels: c, logits: c, axis: 0 } as any)).toThrow(
      /^tf\.nn\.sigmoid_cross_entropy_with_logits: unknown option "axis"; .* accepts "labels", "logits", "name"/,
    );
    expect(() => tf.nn.softmax_cross_entropy_with_logits({ labels: c } as any)).toThrow(/^tf\.nn\.softmax_cross_entropy_with_logits: the options need both labels and logits/);
    const v = sess.run(xent({ name: "xent" }));
    expect(v.shape).toEqual([2]);
  });
  it("the optimizers train with validated options", () => {
    const w = tf.Variable([1, 2], { name: "w" });
    const step = tf.Variable(new Int32Array([0]), { trainable: false });
    const l = tf.reduce_sum(tf.square(w));
    const train = tf.train.AdamOptimizer(0.1, { beta1: 0.5, epsilon: 1e-7 }).minimize(l, { var_list: [w], global_step: step });
    const s = new tf.Session();
    s.run(tf.global_variables_initializer());
    s.run(train);
    s.run(train);
    expect(Array.from(s.run(step).dataSync())).toEqual([2]);
    const after = Array.from(s.run(w).dataSync());
    expect(after[0]).toBeLessThan(1);
    expect(after[1]).toBeLessThan(2);
  });
});

describe("np reductions: axis positional or in the options", () => {
  const a = np.reshape(np.array([3, -1, 4, 1, -5, 9, 2, 6, -5, 3, 5, 8, 9, -7, 9, 3, 2, 3, 8, 4, -6, 2, 6, 4]), [2, 3, 4]);
  const b = np.greater(a, 0);
  type F = (t: Tracer, axis: any, opts?: any) => Tracer;
  const same = (p: Tracer, q: Tracer) => {
    expect(q.shape).toEqual(p.shape);
    expect(q.dtype).toBe(p.dtype);
    expect(Array.from(q.dataSync() as ArrayLike<number>)).toEqual(Array.from(p.dataSync() as ArrayLike<number>));
  };
  const multiAxis: [string, F, Tracer][] = [
    ["sum", np.sum, a], ["mean", np.mean, a], ["max", np.max, a], ["min", np.min, a], ["prod", np.prod, a],
    ["all", np.all, b], ["any", np.any, b], ["var", np.var, a], ["std", np.std, a], ["logsumexp", np.logsumexp, a],
    ["countNonzero", np.countNonzero, a], ["average", (t, axis, o) => np.average(t, axis, undefined, o), a], ["ptp", np.ptp, a],
  ];
  for (const [name, f, t] of multiAxis) {
    it(`np.${name}: f(x, axis, { keepdims }) is f(x, { axis, keepdims })`, () => {
      for (const axis of [0, -1, [0, 2], null]) {
        for (const keepdims of [false, true]) same(f(t, axis, { keepdims }), f(t, { axis, keepdims }));
      }
      same(f(t, undefined), f(t, {}));
    });
  }
  const oneAxis: [string, F][] = [["argmax", np.argmax], ["argmin", np.argmin], ["cumsum", np.cumsum], ["cumprod", np.cumprod], ["cummax", np.cummax], ["cummin", np.cummin], ["sort", np.sort], ["argsort", np.argsort]];
  for (const [name, f] of oneAxis) {
    it(`np.${name}: f(x, axis) is f(x, { axis })`, () => {
      for (const axis of [0, 1, -1, null]) same(f(a, axis), f(a, { axis }));
      same(f(a, undefined), f(a, {}));
    });
  }
  it("the other options travel with the axis", () => {
    same(np.argmax(a, 1, { keepdims: true }), np.argmax(a, { axis: 1, keepdims: true }));
    same(np.cumsum(a, 1, { reverse: true, dtype: "int32" }), np.cumsum(a, { axis: 1, reverse: true, dtype: "int32" }));
    same(np.var(a, [0, 1], { ddof: 1 }), np.var(a, { axis: [0, 1], ddof: 1 }));
    same(np.sum(b, 2, { dtype: "float32" }), np.sum(b, { axis: 2, dtype: "float32" }));
    const w = np.array([1, 2, 3, 4]);
    same(np.average(a, -1, w), np.average(a, { axis: -1, weights: w }));
    same(np.average(a, { axis: -1 }, w), np.average(a, -1, w));
    expect(Array.from(np.sum(a, { axis: [0, 1, 2] }).dataSync())).toEqual([Array.from(a.dataSync()).reduce((s, v) => s + v, 0)]);
  });
  it("an axis given both ways, or two options objects, is an error naming the function", () => {
    expect(() => np.sum(a, 1, { axis: 1 })).toThrow(OptionsError);
    expect(() => np.sum(a, 1, { axis: 1 })).toThrow(/^np\.sum: axis given twice, positionally \(1\) and as the option axis \(1\); give it one way/);
    expect(() => np.argmax(a, 0, { axis: 1 })).toThrow(/^np\.argmax: axis given twice/);
    expect(() => np.cumsum(a, null, { axis: 0 })).toThrow(/^np\.cumsum: axis given twice, positionally \(null\)/);
    expect(() => np.mean(a, { axis: 1 }, { keepdims: true } as any)).toThrow(/^np\.mean: options given twice/);
    expect(() => np.average(a, 0, np.ones([2]), { weights: np.ones([2]) })).toThrow(/^np\.average: weights given twice/);
    // undefined means "not given", as everywhere in the options
    same(np.sum(a, undefined, { axis: 1 }), np.sum(a, 1));
    same(np.sum(a, 1, { axis: undefined }), np.sum(a, 1));
  });
});
