// # Regression with the eager (PyTorch-style) front end
//
// Tensors record the ops applied to them; `loss.backward()` walks that tape
// and fills `.grad` on the parameters, and an optimizer's `step()` updates
// them. Every gradient comes from tinyflow's own `vjp` of each op. Part 1
// recovers the slope and intercept of a noisy line with hand-written SGD;
// part 2 fits a small MLP to a sine wave with Adam.

import * as torch from "../src/frontends/eager";
import { tensor, noGrad } from "../src/frontends/eager";

// ## Data: y = 3x - 1 plus noise
torch.manualSeed(0);
const n = 200;
const x = torch.rand(n, 1).mul(4).sub(2); // uniform on [-2, 2)
const y = x.mul(3).sub(1).add(torch.randn(n, 1).mul(0.1));

// ## Part 1: a line, trained by hand
const w = tensor([[0]], { requiresGrad: true });
const b = tensor([0], { requiresGrad: true });
for (let step = 0; step < 200; step++) {
  const loss = x.matmul(w).add(b).sub(y).square().mean();
  loss.backward();
  // The update itself must not be recorded: PyTorch's `with torch.no_grad():`.
  noGrad(() => {
    w.sub_(w.grad!.mul(0.1));
    b.sub_(b.grad!.mul(0.1));
  });
  w.zeroGrad();
  b.zeroGrad();
  if (step % 50 === 0) console.log(`step ${step}: mse ${loss.item().toFixed(4)}`);
}
const bias = b.item();
console.log(`learned y = ${w.item().toFixed(3)}·x ${bias < 0 ? "-" : "+"} ${Math.abs(bias).toFixed(3)}   (true: 3·x - 1)`);

// ## Part 2: an MLP fits sin(x) on [-3, 3], trained with Adam
const xs = Array.from({ length: 128 }, (_, i) => -3 + (6 * i) / 127);
const X = tensor(xs.map((v) => [v]));
const Y = tensor(xs.map((v) => [Math.sin(v)]));
const model = new torch.Sequential(new torch.Linear(1, 32), new torch.Tanh(), new torch.Linear(32, 32), new torch.Tanh(), new torch.Linear(32, 1));
const opt = new torch.Adam(model.parameters(), { lr: 0.01 });
const started = performance.now();
for (let epoch = 0; epoch <= 500; epoch++) {
  opt.zeroGrad();
  const loss = torch.functional.mseLoss(model.forward(X), Y);
  loss.backward();
  opt.step();
  if (epoch % 100 === 0) console.log(`epoch ${epoch}: mse ${loss.item().toExponential(2)}`);
}
console.log(`500 Adam steps in ${((performance.now() - started) / 1000).toFixed(1)} s`);

// ## What it learned: the model next to sin(x)
const probe = [-3, -2, -1, 0, 1, 2, 3];
const pred = noGrad(() => model.forward(tensor(probe.map((v) => [v])))).tolist() as number[][];
for (let i = 0; i < probe.length; i++) {
  console.log(`x = ${String(probe[i]).padStart(2)}: model ${pred[i][0].toFixed(3).padStart(6)}   sin ${Math.sin(probe[i]).toFixed(3).padStart(6)}`);
}
