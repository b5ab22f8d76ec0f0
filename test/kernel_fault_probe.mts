// Child-process probe for test/kernel_faults.test.ts: imports tinyflow (with
// whatever TINYFLOW_KERNELS / TINYFLOW_BACKEND the parent set), runs one
// operation and `await ready()`, and prints what happened as one JSON line.
import { defaultBackendName, np, ready } from "../src/index";

const report: Record<string, unknown> = { backend: defaultBackendName() };
try {
  report.sum = np.sum(np.ones([3])).item();
} catch (e) {
  report.opError = { name: (e as Error).name, message: (e as Error).message };
}
try {
  await ready();
  report.ready = "ok";
} catch (e) {
  report.ready = (e as Error).name;
}
console.log(JSON.stringify(report));
