// # The TF1 softmax-regression tutorial, on tinyflow
//
// TensorFlow 1's first tutorial ("MNIST for ML Beginners") as written for
// TF1, with only the changes TypeScript forces: a placeholder for the
// images, one weight Variable, softmax(x·W), a hand-written cross entropy,
// its symbolic gradient from `tf.gradients`, and a gradient-descent step as
// a `tf.assign`. `Session.run` traces each fetch/feed signature once into a
// tinyflow jaxpr and runs it compiled (`jit`), with W donated so the loop
// updates it in place.

import * as tf from "../src/frontends/tf1";
import { get_mnist } from "../src/datasets";

// ## The model: y = softmax(x W)
const x = tf.placeholder(tf.float32, [null, 784]);
const W = tf.Variable(tf.zeros([784, 10]));
const y = tf.nn.softmax(tf.matmul(x, W));

// ## The loss and one training step
const y_ = tf.placeholder(tf.float32, [null, 10]);
const cross_entropy = tf.reduce_mean(
  tf.negative(tf.reduce_sum(tf.multiply(y_, tf.log(y)), { reduction_indices: [1] })));
const learning_rate = 0.5;
const W_grad = tf.gradients(cross_entropy, [W])[0];
const train_step = tf.assign(W, tf.subtract(W, tf.multiply(learning_rate, W_grad)));

// ## Training: 1000 steps of 100 examples
const sess = new tf.Session();
sess.run(tf.initialize_all_variables());
const mnist = get_mnist({ flatten: true, onehot: true });
const started = performance.now();
for (let i = 0; i < 1000; i++) {
  const [batch_xs, batch_ys] = mnist.train.next_batch(100);
  sess.run(train_step, { feed_dict: new Map([[x, batch_xs], [y_, batch_ys]]) });
}
const trainSeconds = (performance.now() - started) / 1000;

// ## Evaluation, as the tutorial does it
const correct_prediction = tf.equal(tf.argmax(y, 1), tf.argmax(y_, 1));
const accuracy = tf.reduce_mean(tf.cast(correct_prediction, tf.float32));
console.log(sess.run(accuracy, { feed_dict: new Map([[x, mnist.test.images], [y_, mnist.test.labels]]) }).item());

// ## What it learned
const loss = sess.run(cross_entropy, { feed_dict: [[x, mnist.test.images], [y_, mnist.test.labels]] }).item();
console.log(`test cross entropy ${Number(loss).toFixed(4)}; 1000 steps in ${trainSeconds.toFixed(2)} s; the session traced ${sess.traceCount} programs`);
// Each column of W is a template of one digit: print where the "0" template is most positive.
const w = sess.run(W).tolist() as number[][];
const shades = " .:-=+*#%@";
const column = w.map((row) => row[0]);
const hi = Math.max(...column);
const rows: string[] = [];
for (let r = 0; r < 28; r += 2) {
  let line = "";
  for (let c = 0; c < 28; c++) line += shades[Math.max(0, Math.min(9, Math.floor((column[r * 28 + c] / hi) * 10)))];
  rows.push(line);
}
console.log(`the weights voting for "0" (positive part):\n${rows.join("\n")}`);
sess.close();
