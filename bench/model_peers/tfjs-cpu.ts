// bench/model_peers/tfjs-cpu.ts — the tfjs adapter on tfjs's plain-JavaScript
// "cpu" backend: a tfjs number for W7, which tfjs-backend-wasm cannot train
// (it has no Conv2DBackpropFilter kernel).

import { tfjsPeer } from "./tfjs.js";

export default tfjsPeer("cpu");
