// Type-level tests, checked by `npx tsc --noEmit -p .` (strict) and never run:
// the README's "A taste" snippet compiles as written there, `Array` is the one
// type every function returns and accepts, grad keeps the argument's pytree
// type, and misuse is rejected (each `@ts-expect-error` line must fail to
// type-check, or tsc reports the directive as unused).

import { np, grad, vmap, jit, makeJaxpr, vjp, jvp, lax, optim, Array, ArrayImpl, type ArrayJSON } from "../../src/index";

// --- the README's "A taste", verbatim ---------------------------------------------------
const loss = (w: Array, x: Array, y: Array) => np.mean(np.square(np.dot(x, w).sub(y)));
const x = np.array([[1, 2], [3, 4], [5, 6]]);
const y = np.array([1, 2, 3]);
const w = np.zeros([2]);

grad(loss)(w, x, y);                                     // dloss/dw
vmap(grad(loss), { inAxes: [null, 0, 0] })(w, x, y);     // per-example gradients
jit(grad(loss))(w, x, y);                                // traced once per signature

console.log(String(makeJaxpr((x: Array) => np.sin(x).mul(2))(np.ones([3]))));
console.log(jit(grad((w: Array) => loss(w, x, y))).lower(w).text());

// --- one array type -----------------------------------------------------------------------
const a: Array = np.ones([3]);
const b: Array = jit((t: Array) => t.mul(2))(a);
const c: Array = grad((t: Array) => t.sum())(a);
const d: Array = lax.stopGradient(b).add(c);
const concrete: ArrayImpl = Array.fromTyped(new Float32Array(3), [3], "float32");
const widened: Array = concrete; // a concrete array is an Array
if (d instanceof Array) d.to("interpreter"); // instanceof narrows to the concrete class
d.dispose(); // dispose is on every array (a no-op for tracers)
// @ts-expect-error -- `to` (backend moves) is concrete-only: narrow with instanceof first
d.to("interpreter");
// @ts-expect-error -- a JS number is not an Array
const notArray: Array = 3;

// --- grad keeps the argument's pytree type -------------------------------------------------
interface Params {
  w: Array;
  b: Array;
}
const params: Params = { w: np.ones([2]), b: np.zeros([]) };
const gp: Params = grad((p: Params, t: Array) => np.sum(np.dot(t, p.w).add(p.b)))(params, x);
const gw: Array = gp.w;
// @ts-expect-error -- the gradient of Params has no key "c"
gp.c;
const gl: [Array, Array] = grad((ps: [Array, Array]) => ps[0].mul(ps[1]).sum())([a, a]);
// @ts-expect-error -- grad(f) takes f's arguments
grad(loss)(w, x);

// --- options are typed ---------------------------------------------------------------------
// @ts-expect-error -- unknown option
grad(loss, { hasaux: true });
// @ts-expect-error -- axisSize is a number
vmap(loss, { axisSize: "2" });
jit(loss, { staticArgnums: 1 }); // one integer is accepted, as in JAX
// @ts-expect-error -- staticArgnums are integers
jit(loss, { staticArgnums: ["1"] });
// @ts-expect-error -- keepdims is a boolean
np.sum(a, 0, { keepdims: 1 });
// @ts-expect-error -- unknown optimizer option
optim.adam(1e-3, { beta1: 0.9 });

// --- vjp / jvp with hasAux give [out, fn, aux] ---------------------------------------------
const [vo, vf, vaux] = vjp((t: Array): [Array, Array] => [t.sum(), t], a, { hasAux: true });
const cot: Array[] = vf(vo);
const vauxA: Array = vaux;
const [jo, jt] = jvp((t: Array) => t.sum(), [a], [a]);
const jsum: Array = jo.add(jt);

// --- JSON ----------------------------------------------------------------------------------
const j: ArrayJSON = a.toJSON();
const back: Array = np.fromJSON(j);

export { widened, gw, gl, cot, vauxA, jsum, back, notArray };
