// tinyflow.scipy: the parts of jax.scipy tinyflow has (special functions).

export * as special from "./special";
