// Global settings that change what a function traces to (JAX's "trace
// context" config, e.g. jax_threefry_partitionable). jit's cache key includes
// every registered setting's current value, so toggling one retraces instead
// of reusing a program built under the other value. A setting lives in the
// module that owns it and registers a reader here, which keeps core free of
// imports from the libraries above it.

const readers = new Map<string, () => string>();

/** Register a setting by a unique name; `read` returns its current value as a short string. */
export function registerTraceSetting(name: string, read: () => string): void {
  readers.set(name, read);
}

/** The current values of all registered settings, as one cache-key fragment. */
export function traceSettingsKey(): string {
  let key = "";
  for (const [name, read] of readers) key += `${name}=${read()};`;
  return key;
}
