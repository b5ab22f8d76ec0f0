// A user's browser app: bundled with esbuild, the kernels .wasm copied next
// to the bundle, no loadWasmBackend call: `await ready()` and compute.
import { np, grad, jit, ready, defaultBackendName, type ArrayLike } from "tinyflow";

declare const window: { __result?: unknown; __error?: string };

try {
  await ready();
  const f32 = { dtype: "float32" } as const;
  const loss = (w: ArrayLike, x: ArrayLike, y: ArrayLike) => np.mean(np.square(np.dot(x, w).sub(y)));
  const g = jit(grad(loss))(np.zeros([2]), np.array([[1, 2], [3, 4], [5, 6]], f32), np.array([1, 2, 3], f32));
  // Large enough for the thread pool to split it over the workers.
  const big = np.matmul(np.ones([256, 256]), np.ones([256, 256]));
  window.__result = {
    backend: defaultBackendName(),
    crossOriginIsolated: globalThis.crossOriginIsolated === true,
    grad: g.tolist(),
    bigSum: Number(np.sum(big).item()),
  };
} catch (e) {
  window.__error = `${(e as Error).name}: ${(e as Error).message}`;
}
