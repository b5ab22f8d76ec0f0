// A user's first program in TypeScript, strict, against the installed package's .d.ts.
import { np, grad, jit, vmap, ready, makeJaxpr, defaultBackendName, type ArrayLike } from "tinyflow";
import { relu } from "tinyflow/nn";
import { adam } from "tinyflow/optim";
import { getMnist } from "tinyflow/datasets";
import { expectAllclose } from "tinyflow/testing";
import * as tf from "tinyflow/tf1";
import { tensor } from "tinyflow/eager";

await ready();
const f32 = { dtype: "float32" } as const;
const loss = (w: ArrayLike, x: ArrayLike, y: ArrayLike) => np.mean(np.square(np.dot(x, w).sub(y)));
const x = np.array([[1, 2], [3, 4], [5, 6]], f32);
const y = np.array([1, 2, 3], f32);
const w = np.zeros([2]);

const g = jit(grad(loss))(w, x, y);
console.log("backend:", defaultBackendName());
console.log("jit(grad(loss))(w, x, y) =", g.tolist());
expectAllclose(g, np.array([-14.666667, -18.666667], f32), { atol: 1e-4 });
console.log("per-example grads shape:", vmap(grad(loss), { inAxes: [null, 0, 0] })(w, x, y).shape);
console.log("jaxpr:", String(makeJaxpr((v: ArrayLike) => relu(v))(x)).split("\n")[0]);
console.log("optim state ok:", adam(1e-3).init({ w }) !== undefined);
const t = tensor([3], { requiresGrad: true });
t.square().sum().backward();
console.log("eager grad ok:", t.grad !== null);
console.log("tf1 placeholder ok:", tf.placeholder(tf.float32, [null, 2]) !== undefined);
const load: typeof getMnist = getMnist;
console.log("datasets typed ok:", typeof load === "function");
console.log("ts consumer: ok");
