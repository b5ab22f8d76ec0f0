// Tests of tinyflow/tf1, the define-then-run front end: the softmax
// regression tutorial (fewer steps), static shape inference, tf.gradients
// against tinyflow's grad (including gradients of gradients and with respect
// to intermediate tensors), fetch structures and feed forms, retracing only
// on new signatures, assignment semantics, the optimizers, random ops, and
// the typed errors for bad feeds and uninitialized variables.

import { describe, expect, it } from "vitest";
import * as tf from "../src/frontends/tf1";
import { get_mnist } from "../src/datasets";
import { np, grad, nn, ShapeError, ArgumentError, type Array as TfArray } from "../src/index";

const vals = (x: TfArray): number[] => Array.from(x.dataSync() as ArrayLike<number>);
const close = (a: number[], b: number[], tol = 1e-5) => {
  expect(a.length).toBe(b.length);
  a.forEach((v, i) => expect(Math.abs(v - b[i])).toBeLessThanOrEqual(tol * Math.max(1, Math.abs(b[i]))));
};

describe("tf1 tutorial", () => {
  it("softmax regression on MNIST, written as in TF1, learns to ≥ 85% in 300 steps", () => {
    tf.reset_default_graph();
    const x = tf.placeholder(tf.float32, [null, 784]);
    const W = tf.Variable(tf.zeros([784, 10]));
    const y = tf.nn.softmax(tf.matmul(x, W));
    const y_ = tf.placeholder(tf.float32, [null, 10]);
    const cross_entropy = tf.reduce_mean(tf.negative(tf.reduce_sum(tf.multiply(y_, tf.log(y)), { reduction_indices: [1] })));
    const learning_rate = 0.5;
    const W_grad = tf.gradients(cross_entropy, [W])[0];
    const train_step = tf.assign(W, tf.subtract(W, tf.multiply(learning_rate, W_grad)));
    const sess = new tf.Session();
    sess.run(tf.initialize_all_variables());
    const mnist = get_mnist({ flatten: true, onehot: true });
    for (let i = 0; i < 300; i++) {
      const [batch_xs, batch_ys] = mnist.train.next_batch(100);
      sess.run(train_step, { feed_dict: new Map([[x, batch_xs], [y_, batch_ys]]) });
    }
    const correct_prediction = tf.equal(tf.argmax(y, 1), tf.argmax(y_, 1));
    const accuracy = tf.reduce_mean(tf.cast(correct_prediction, tf.float32));
    const acc = Number(sess.run(accuracy, { feed_dict: new Map([[x, mnist.test.images], [y_, mnist.test.labels]]) }).item());
    expect(acc).toBeGreaterThanOrEqual(0.85);
    // init, the step, and the accuracy: one trace each.
    expect(sess.traceCount).toBe(3);
    sess.close();
  });
});

describe("tf1 graph building", () => {
  it("infers static shapes with unknown dims and dtypes", () => {
    tf.reset_default_graph();
    const x = tf.placeholder(tf.float32, [null, 784]);
    const W = tf.Variable(tf.zeros([784, 10]));
    const y = tf.matmul(x, W);
    expect(y.shape).toEqual([null, 10]);
    expect(tf.reduce_sum(y, { reduction_indices: [1] }).shape).toEqual([null]);
    expect(tf.reduce_sum(y, { axis: 1, keep_dims: true }).shape).toEqual([null, 1]);
    expect(tf.reduce_mean(y).shape).toEqual([]);
    expect(tf.argmax(y, 1).dtype).toBe("int32");
    expect(tf.equal(tf.argmax(y, 1), 3).dtype).toBe("bool");
    expect(tf.reshape(x, [-1, 28, 28, 1]).shape).toEqual([null, 28, 28, 1]);
    expect(tf.transpose(y).shape).toEqual([10, null]);
    expect(tf.concat([y, y], 1).shape).toEqual([null, 20]);
    expect(y.name).toMatch(/^MatMul(_\d+)?:0$/);
    expect(x.name).toBe("Placeholder:0");
    expect(tf.placeholder(tf.float32).shape).toBeNull();
  });

  it("rejects statically incompatible shapes when the graph is built", () => {
    tf.reset_default_graph();
    const a = tf.placeholder(tf.float32, [null, 3]);
    const b = tf.placeholder(tf.float32, [4, 5]);
    expect(() => tf.matmul(a, b)).toThrow(ShapeError);
  });

  it("has method forms", () => {
    tf.reset_default_graph();
    const a = tf.constant([1, 2, 3], tf.float32);
    const b = tf.placeholder(tf.float32, [3]);
    const c = a.mul(b).add(1).sub(a.div(2)).neg();
    const sess = new tf.Session();
    const out = sess.run(c, [[b, [4, 5, 6]]]);
    close(vals(out), [1, 2, 3].map((v, i) => -(v * [4, 5, 6][i] + 1 - v / 2)));
  });
});

describe("tf1 gradients", () => {
  it("match tinyflow's grad on a small network", () => {
    tf.reset_default_graph();
    const xv = np.array([[0.5, -1, 2], [1.5, 0.3, -0.7]], { dtype: "float32" });
    const wv = np.array([[0.1, -0.2], [0.4, 0.3], [-0.5, 0.2]], { dtype: "float32" });
    const bv = np.array([0.05, -0.1], { dtype: "float32" });
    const x = tf.placeholder(tf.float32, [null, 3]);
    const W = tf.Variable(wv);
    const b = tf.Variable(bv);
    const loss = tf.reduce_sum(tf.square(tf.tanh(tf.add(tf.matmul(x, W), b))));
    const [gW, gb] = tf.gradients(loss, [W, b]);
    expect(gW.shape).toEqual([3, 2]);
    const sess = new tf.Session();
    sess.run(tf.global_variables_initializer());
    const [aW, ab] = sess.run([gW, gb], { feed_dict: [[x, xv]] });
    const f = (w: any, bb: any) => np.sum(np.square(np.tanh(np.add(np.matmul(xv, w), bb))));
    const [eW, eb] = grad(f, { argnums: [0, 1] })(wv, bv);
    close(vals(aW), vals(eW));
    close(vals(ab), vals(eb));
  });

  it("differentiate with respect to placeholders and intermediate tensors, holding other paths fixed", () => {
    tf.reset_default_graph();
    const x = tf.placeholder(tf.float32, [3]);
    const h = tf.multiply(x, x); // h = x²
    const y = tf.reduce_sum(tf.multiply(h, x)); // y = Σ h·x
    const [dh] = tf.gradients(y, [h]); // ∂y/∂h = x
    const [dx] = tf.gradients(y, x); // dy/dx = 3x²
    const sess = new tf.Session();
    const [a, b] = sess.run([dh, dx], [[x, [1, 2, 3]]]);
    close(vals(a), [1, 2, 3]);
    close(vals(b), [3, 12, 27]);
  });

  it("nest: the gradient of a gradient", () => {
    tf.reset_default_graph();
    const x = tf.placeholder(tf.float32, [2]);
    const y = tf.reduce_sum(tf.pow(x, 3));
    const [g] = tf.gradients(y, [x]);
    const [h] = tf.gradients(g, [x]); // Σ_i d(3x_i²)/dx = 6x
    const sess = new tf.Session();
    close(vals(sess.run(h, [[x, [1, -2]]])), [6, -12]);
  });

  it("sum several ys, accept grad_ys, and give zeros for unconnected xs", () => {
    tf.reset_default_graph();
    const x = tf.placeholder(tf.float32, [2]);
    const z = tf.placeholder(tf.float32, [2]);
    const y1 = tf.multiply(x, 2);
    const y2 = tf.square(x);
    const [g] = tf.gradients([y1, y2], [x]);
    const [gw] = tf.gradients(y2, [x], { grad_ys: tf.constant([10, 100], tf.float32) });
    const [gz] = tf.gradients(y1, [z]);
    const sess = new tf.Session();
    const r = sess.run({ g, gw, gz }, [
      [x, [1, 3]],
      [z, [0, 0]],
    ]);
    close(vals(r.g), [4, 8]);
    close(vals(r.gw), [20, 600]);
    close(vals(r.gz), [0, 0]);
  });
});

describe("tf1 sessions", () => {
  it("fetch lists, nested structures and objects; feeds as a Map or pairs", () => {
    tf.reset_default_graph();
    const a = tf.placeholder(tf.float32, [2]);
    const b = tf.placeholder(tf.float32, [2]);
    const s = tf.add(a, b);
    const p = tf.multiply(a, b);
    const sess = new tf.Session();
    const [r1, r2] = sess.run([s, p], { feed_dict: new Map([[a, [1, 2]], [b, [3, 4]]]) });
    close(vals(r1), [4, 6]);
    close(vals(r2), [3, 8]);
    const out = sess.run({ sum: s, both: [s, { prod: p }], same: s }, [
      [a, np.array([1, 1], { dtype: "float32" })],
      [b, [2, 5]],
    ]);
    close(vals(out.sum), [3, 6]);
    close(vals(out.both[1].prod), [2, 5]);
    close(vals(out.same), [3, 6]);
    // The feeds may also come as the second argument directly; operations fetch as null.
    const [v, none] = sess.run([s, tf.no_op()], new Map([[a, [0, 0]], [b, [1, 1]]]));
    close(vals(v), [1, 1]);
    expect(none).toBeNull();
    expect(Number(sess.run(tf.reduce_sum(s), [[a, [1, 1]], [b, [1, 1]]]).item())).toBe(4);
  });

  it("traces once per fetch/feed signature and feed shapes", () => {
    tf.reset_default_graph();
    const x = tf.placeholder(tf.float32, [null, 2]);
    const y = tf.reduce_sum(tf.multiply(x, 3), { axis: 1 });
    const z = tf.reduce_mean(x);
    const sess = new tf.Session();
    for (let i = 0; i < 5; i++) close(vals(sess.run(y, [[x, [[i, 1]]]])), [3 * (i + 1)]);
    expect(sess.traceCount).toBe(1);
    sess.run(y, [[x, [[1, 1], [2, 2]]]]); // a new batch size: a new trace
    expect(sess.traceCount).toBe(2);
    sess.run(y, [[x, [[1, 1], [2, 2]]]]);
    expect(sess.traceCount).toBe(2);
    sess.run(z, [[x, [[1, 1]]]]); // a new fetch
    sess.run([y, z], [[x, [[1, 1]]]]);
    expect(sess.traceCount).toBe(4);
    expect(sess.cacheSize).toBe(3);
  });

  it("assignments: the node gives the new value, reads in the run see the old one, values persist per session", () => {
    tf.reset_default_graph();
    const v = tf.Variable(tf.constant([1, 2], tf.float32));
    const c = tf.Variable(0, { dtype: tf.int32 });
    const inc = tf.assign_add(v, 10);
    const dec = tf.assign_sub(v, [1, 1]);
    const set = tf.assign(v, tf.multiply(v, 2));
    const bump = c.assign_add(1);
    const s1 = new tf.Session();
    const s2 = new tf.Session();
    s1.run(tf.global_variables_initializer());
    s2.run(tf.global_variables_initializer());
    const [newV, oldV] = s1.run([inc, v]);
    close(vals(newV), [11, 12]);
    close(vals(oldV), [1, 2]);
    close(vals(s1.run(v)), [11, 12]);
    close(vals(s1.run(dec)), [10, 11]);
    close(vals(s1.run(set)), [20, 22]);
    s1.run(tf.group(bump));
    s1.run(bump);
    expect(Number(s1.run(c).item())).toBe(2);
    // The other session's state is its own.
    close(vals(s2.run(v)), [1, 2]);
    expect(Number(s2.run(c).item())).toBe(0);
    // A value fetched earlier stays valid after the variable is updated (and its buffer donated).
    const before = s1.run(v);
    for (let i = 0; i < 3; i++) s1.run(inc);
    close(vals(before), [20, 22]);
    close(vals(s1.run(v)), [50, 52]);
    // Two assignments to one variable in one run are ambiguous.
    expect(() => s1.run([inc, set])).toThrow(ArgumentError);
    expect(() => tf.assign(v, [1, 2, 3])).toThrow(ShapeError);
  });

  it("random ops draw fresh values each run; initializers use them", () => {
    tf.reset_default_graph();
    tf.set_random_seed(1);
    const r = tf.random_normal([1000], { mean: 2, stddev: 0.5 });
    const u = tf.random_uniform([3, 4], { minval: -1, maxval: 1 });
    const tn = tf.truncated_normal([500], { stddev: 0.1 });
    const W = tf.Variable(tf.random_normal([50, 50], { stddev: 0.01 }));
    const sess = new tf.Session();
    sess.run(tf.global_variables_initializer());
    const a = vals(sess.run(r));
    const b = vals(sess.run(r));
    expect(a).not.toEqual(b);
    const mean = a.reduce((s, x) => s + x, 0) / a.length;
    expect(Math.abs(mean - 2)).toBeLessThan(0.1);
    expect(sess.run(u).shape).toEqual([3, 4]);
    expect(vals(sess.run(u)).every((x) => x >= -1 && x < 1)).toBe(true);
    expect(vals(sess.run(tn)).every((x) => Math.abs(x) <= 0.2 + 1e-6)).toBe(true);
    const w = vals(sess.run(W));
    expect(new Set(w).size).toBeGreaterThan(2000);
    expect(vals(sess.run(W))).toEqual(w);
  });
});

describe("tf1 optimizers", () => {
  // Least squares with a known solution: y = X·[2, -3] + 0.5.
  const X = [
    [1, 2],
    [2, 0.5],
    [-1, 1],
    [0.5, -2],
    [3, 1],
    [-2, -1],
  ];
  const Y = X.map(([a, b]) => [2 * a - 3 * b + 0.5]);

  for (const [name, make, steps] of [
    ["GradientDescentOptimizer", () => new tf.train.GradientDescentOptimizer(0.05), 500],
    ["MomentumOptimizer", () => tf.train.MomentumOptimizer(0.02, 0.9), 300],
    ["AdamOptimizer", () => tf.train.AdamOptimizer(0.1), 600],
  ] as const) {
    it(`${name}.minimize solves least squares`, () => {
      tf.reset_default_graph();
      const x = tf.placeholder(tf.float32, [null, 2]);
      const y = tf.placeholder(tf.float32, [null, 1]);
      const w = tf.Variable(tf.zeros([2, 1]));
      const b = tf.Variable(tf.zeros([1]));
      const loss = tf.reduce_mean(tf.square(tf.subtract(tf.add(tf.matmul(x, w), b), y)));
      const step = make().minimize(loss);
      const sess = new tf.Session();
      sess.run(tf.global_variables_initializer());
      const feeds = new Map([
        [x, X],
        [y, Y],
      ]);
      const first = Number(sess.run(loss, { feed_dict: feeds }).item());
      for (let i = 0; i < steps; i++) sess.run(step, { feed_dict: feeds });
      const last = Number(sess.run(loss, { feed_dict: feeds }).item());
      expect(sess.traceCount).toBe(3); // init, the loss, the step
      expect(last).toBeLessThan(first * 1e-3);
      close(vals(sess.run(w)), [2, -3], 2e-2);
      close(vals(sess.run(b)), [0.5], 2e-2);
    });
  }

  it("softmax_cross_entropy_with_logits equals the hand-written cross entropy", () => {
    tf.reset_default_graph();
    const logits = tf.placeholder(tf.float32, [null, 3]);
    const labels = tf.placeholder(tf.float32, [null, 3]);
    const a = tf.nn.softmax_cross_entropy_with_logits(labels, logits);
    const b = tf.nn.softmax_cross_entropy_with_logits({ labels, logits });
    const c = tf.negative(tf.reduce_sum(tf.multiply(labels, tf.log(tf.nn.softmax(logits))), 1));
    const sess = new tf.Session();
    const feeds: [tf.Tensor, number[][]][] = [
      [logits, [[1, 2, 3], [0, -1, 4]]],
      [labels, [[0, 0, 1], [0.5, 0.5, 0]]],
    ];
    const [ra, rb, rc] = sess.run([a, b, c], feeds);
    close(vals(ra), vals(rc), 1e-5);
    close(vals(rb), vals(rc), 1e-5);
    const ref = nn.softmaxCrossEntropy(np.array(feeds[0][1]), np.array(feeds[1][1]));
    close(vals(ra), vals(ref as TfArray), 1e-5);
  });
});

describe("tf1 errors", () => {
  it("name the placeholder that is missing, and reject feeds of non-placeholders", () => {
    tf.reset_default_graph();
    const x = tf.placeholder(tf.float32, [null, 2], "inputs");
    const y = tf.multiply(x, 2);
    const sess = new tf.Session();
    expect(() => sess.run(y)).toThrow(tf.InvalidArgumentError);
    expect(() => sess.run(y)).toThrow(/placeholder tensor 'inputs'/);
    expect(() => sess.run(y, [[y, [[1, 2]]]])).toThrow(tf.InvalidArgumentError);
    expect(() => sess.run(y, [[y, [[1, 2]]]])).toThrow(/not a placeholder/);
    // A placeholder that the fetches do not need may go unfed.
    const z = tf.placeholder(tf.float32, [2]);
    close(vals(sess.run(z, [[z, [1, 2]]])), [1, 2]);
  });

  it("check fed shapes against the placeholder's static shape", () => {
    tf.reset_default_graph();
    const x = tf.placeholder(tf.float32, [null, 3]);
    const y = tf.reduce_sum(x);
    const sess = new tf.Session();
    expect(() => sess.run(y, [[x, [[1, 2]]]])).toThrow(ShapeError);
    expect(() => sess.run(y, [[x, [1, 2, 3]]])).toThrow(/shape \(\?, 3\)/);
    expect(Number(sess.run(y, [[x, [[1, 2, 3], [4, 5, 6]]]]).item())).toBe(21);
  });

  it("refuse to read uninitialized variables, and closed sessions", () => {
    tf.reset_default_graph();
    const v = tf.Variable(tf.ones([2]), { name: "weights" });
    const y = tf.multiply(v, 3);
    const sess = new tf.Session();
    expect(() => sess.run(y)).toThrow(tf.FailedPreconditionError);
    expect(() => sess.run(y)).toThrow(/uninitialized value 'weights'/);
    sess.run(v.initializer);
    close(vals(sess.run(y)), [3, 3]);
    sess.close();
    expect(() => sess.run(y)).toThrow(tf.ClosedSessionError);
    expect(() => sess.run(42 as never)).toThrow();
  });
});
