// Type-level tests of option types, checked by `npx tsc --noEmit -p .` and never
// run: vmap's inAxes/outAxes are a recursive axis-spec type that inline literals
// and ordinary variables satisfy, the np reductions take their axis inside the
// options, and wrong option types are compile errors (each `@ts-expect-error`
// line must fail to type-check, or tsc reports the directive as unused).

import { np, vmap, grad, type Array, type VmapOptions } from "../../src/index";

const loss = (w: Array, x: Array, y: Array) => np.mean(np.square(np.dot(x, w).sub(y)));

// --- vmap's axis specs ----------------------------------------------------------------------
vmap(grad(loss), { inAxes: [null, 0, 0] });
vmap(loss, { inAxes: 1, outAxes: null });
vmap((p: { w: Array; b: Array }) => p.w, { inAxes: [{ w: 0, b: null }] });
vmap((ps: Array[]) => ps[0], { inAxes: [[0, null, 1]], outAxes: 0 });
const axes = [null, 0, 0]; // inferred (number | null)[]
vmap(loss, { inAxes: axes });
const frozen = [null, 0, 0] as const;
vmap(loss, { inAxes: frozen });
const nested: VmapOptions["inAxes"] = { a: [0, { b: null }] };
vmap(loss, { inAxes: nested });
// @ts-expect-error -- an axis is a number, not a string
vmap(loss, { inAxes: "0" });
// @ts-expect-error -- no booleans inside a spec
vmap(loss, { inAxes: [null, true, 0] });
// @ts-expect-error -- nor strings inside an object spec
vmap(loss, { outAxes: { w: "1" } });

// --- np reductions: positional axis or { axis } ---------------------------------------------
const a: Array = np.ones([2, 3]);
const s1: Array = np.sum(a, 1, { keepdims: true });
const s2: Array = np.sum(a, { axis: 1, keepdims: true });
const s3: Array = np.mean(a, { axis: [0, 1] });
const s4: Array = np.argmax(a, { axis: -1, keepdims: false });
const s5: Array = np.cumsum(a, { axis: 0, reverse: true });
const s6: Array = np.std(a, { axis: null, ddof: 1 });
const s7: Array = np.sort(a, { axis: 0 });
// @ts-expect-error -- axis is an integer, a list of them or null
np.sum(a, { axis: "1" });
// @ts-expect-error -- argmax takes one axis, not a list
np.argmax(a, { axis: [0, 1] });
// @ts-expect-error -- unknown option
np.max(a, { axes: 1 });

export { s1, s2, s3, s4, s5, s6, s7 };
