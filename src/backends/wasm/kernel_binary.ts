// Where the kernels binary (wasm/tinyflow_kernels.wasm) comes from and what
// it asks of its host: locating and reading it in Node, fetching it in
// browsers and workers, and finding its memory import (whose shared flag the
// instantiation patches where shared memory is not available).

import { BackendError } from "../../core/errors";
import { fail } from "./kernel_args";

/**
 * Where the kernels are looked for: next to this module. `npm run build` puts
 * the binary beside the emitted kernels.js, and bundlers that understand the
 * literal `new URL("./file", import.meta.url)` pattern (Vite, webpack) ship it
 * with the bundle; after a bundler that does not (esbuild), the URL is
 * relative to the bundle, so the .wasm has to be copied next to it.
 */
export const KERNELS_URL = new URL("./tinyflow_kernels.wasm", import.meta.url);
// Run from the sources (tests, tsx), the binary is wasm/tinyflow_kernels.wasm,
// where scripts/build-wasm.sh writes it. Resolved against KERNELS_URL rather
// than import.meta.url so that bundlers do not take it for an asset to ship
// (it does not exist in dist/; webpack would warn of a dynamic dependency).
const SOURCE_TREE_KERNELS = "../../../wasm/tinyflow_kernels.wasm";

export interface ImportedMemoryInfo {
  /** Byte offset of the limits flag byte in the module. */
  flagsOffset: number;
  flags: number;
  minimum: number;
  maximum: number | undefined;
}

/** Finds the memory import in the import section (wasm binary format). */
export function findMemoryImport(bytes: Uint8Array): ImportedMemoryInfo {
  let p = 8;
  const leb = (): number => {
    let result = 0;
    let shift = 0;
    for (;;) {
      if (p >= bytes.length) fail("truncated wasm module");
      const b = bytes[p++]!;
      result += (b & 0x7f) * 2 ** shift;
      shift += 7;
      if ((b & 0x80) === 0) return result;
    }
  };
  if (bytes.length < 8 || bytes[0] !== 0 || bytes[1] !== 0x61 || bytes[2] !== 0x73 || bytes[3] !== 0x6d) {
    fail("not a wasm module");
  }
  while (p < bytes.length) {
    const id = bytes[p++]!;
    const size = leb();
    const end = p + size;
    if (id !== 2) {
      p = end;
      continue;
    }
    const count = leb();
    for (let i = 0; i < count; i++) {
      const moduleLen = leb(); // (read before adding: `p += leb()` would use the old p)
      p += moduleLen;
      const fieldLen = leb();
      p += fieldLen;
      const kind = bytes[p++]!;
      if (kind === 0) leb();
      else if (kind === 1) {
        p++; // reftype
        const f = bytes[p++]!;
        leb();
        if (f & 1) leb();
      } else if (kind === 3) p += 2;
      else if (kind === 2) {
        const flagsOffset = p;
        const flags = bytes[p++]!;
        const minimum = leb();
        const maximum = flags & 1 ? leb() : undefined;
        return { flagsOffset, flags, minimum, maximum };
      } else fail(`unknown import kind ${kind}`);
    }
    break;
  }
  return fail("wasm module has no memory import");
}

export function sharedMemorySupported(): boolean {
  if (typeof SharedArrayBuffer === "undefined") return false;
  try {
    new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true } as WebAssembly.MemoryDescriptor);
    return true;
  } catch {
    return false;
  }
}

// Node's fs without a top-level await (which would make this module async for
// every importer); process.getBuiltinModule exists from Node 20.16.
type NodeFs = { readFileSync(url: URL): Uint8Array; existsSync(url: URL): boolean };
const nodeFs = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process?.getBuiltinModule?.("node:fs") as NodeFs | undefined;

/** Whether the kernels can be read synchronously here (Node, Deno, Bun: a file system). */
export function canReadKernelsSync(): boolean {
  return nodeFs !== undefined;
}

/**
 * The environment variable that points the Node loader at another kernels
 * file (a path or a `file:` URL), e.g. a locally rebuilt one; tests use it to
 * load a missing or corrupt file.
 */
export const KERNELS_PATH_ENV = "TINYFLOW_KERNELS";

function kernelsPathOverride(): URL | undefined {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env?.[KERNELS_PATH_ENV];
  if (env === undefined || env.trim() === "") return undefined;
  if (env.startsWith("file:")) return new URL(env);
  const path = env.startsWith("/") ? env : `${(globalThis as { process?: { cwd?: () => string } }).process?.cwd?.() ?? ""}/${env}`;
  return new URL(`file://${path.split("/").map(encodeURIComponent).join("/")}`);
}

/** Where the Node loader reads the kernels: $TINYFLOW_KERNELS, else KERNELS_URL, else the source tree's wasm/ folder. Node only. */
export function locateKernelFile(): URL {
  if (!nodeFs) fail("no file system here: pass `bytes` (e.g. from fetchKernelBytes) to instantiateWasmKernels");
  const override = kernelsPathOverride();
  if (override) {
    if (!nodeFs.existsSync(override)) throw new BackendError(`the wasm kernels are missing: ${KERNELS_PATH_ENV} names ${override.pathname}, which does not exist; fix or unset ${KERNELS_PATH_ENV}`);
    return override;
  }
  const candidates = [KERNELS_URL, new URL(SOURCE_TREE_KERNELS, KERNELS_URL)];
  const found = candidates.find((url) => nodeFs.existsSync(url));
  if (!found) {
    throw new BackendError(`the wasm kernels are missing: looked for ${candidates.map((u) => u.pathname).join(" and ")}; reinstall tinyflow (or run \`npm run build\` in its repository)`);
  }
  return found;
}

/** Bytes of the kernels .wasm from disk (see locateKernelFile), checked to be a wasm module. Node only. */
export function readKernelBytes(): Uint8Array {
  const file = locateKernelFile();
  let bytes: Uint8Array;
  try {
    bytes = nodeFs!.readFileSync(file);
  } catch (e) {
    throw new BackendError(`the wasm kernels at ${file.pathname} could not be read: ${(e as Error).message}`);
  }
  if (bytes.length < 8 || WASM_MAGIC.some((b, i) => bytes[i] !== b)) {
    throw new BackendError(`the wasm kernels at ${file.pathname} are corrupt: ${bytes.length} bytes that do not start with the wasm magic number; reinstall tinyflow (or run \`npm run build\` in its repository)`);
  }
  return bytes;
}

const WASM_MAGIC = [0x00, 0x61, 0x73, 0x6d];

/**
 * Fetches the kernels .wasm (browsers, workers; a `file:` URL is read from
 * disk). A failed request says so with its status, and a response that is not
 * a wasm module (e.g. a dev server's HTML page for a missing file) is
 * reported as such, so a misplaced file is never mistaken for a broken one.
 */
export async function fetchKernelBytes(url: URL | string = KERNELS_URL): Promise<Uint8Array> {
  const where = String(url);
  if (where.startsWith("file:") && nodeFs) return nodeFs.readFileSync(new URL(where));
  let response: Response;
  try {
    response = await fetch(url);
  } catch (e) {
    throw new BackendError(`could not fetch the kernels from ${where}: ${(e as Error).message}`);
  }
  if (!response.ok) {
    throw new BackendError(
      `could not fetch the kernels from ${where}: ${response.status} ${response.statusText}`.trimEnd() +
        ` — serve tinyflow_kernels.wasm (it ships in tinyflow's dist/) at that URL, next to your bundle, or pass its URL to loadWasmBackend(url)`,
    );
  }
  const bytes = new Uint8Array(await response.arrayBuffer());
  if (bytes.length < 4 || WASM_MAGIC.some((b, i) => bytes[i] !== b)) {
    const head = new TextDecoder().decode(bytes.subarray(0, 32)).replace(/\s+/g, " ");
    throw new BackendError(`the kernels fetched from ${where} are not a wasm module (${bytes.length} bytes starting "${head}", content-type ${response.headers.get("content-type") ?? "none"}): is the server answering a missing file with a page?`);
  }
  return bytes;
}
