// Pytrees: nested JS arrays, plain objects, null/undefined and registered
// classes whose leaves are arrays or numbers. Transformations flatten their
// inputs to a list of leaves plus a TreeDef, and rebuild outputs of the same
// type — so grad of f(params: P) returns a P.

import { ArgumentError } from "./errors";
import { Tracer } from "./trace";

export type Leaf = Tracer | number | boolean;

interface CustomNode<T = unknown> {
  name: string;
  flatten(x: T): [children: unknown[], aux: unknown];
  unflatten(aux: unknown, children: unknown[]): T;
}

const customNodes = new Map<Function, CustomNode>();

/** Teach pytrees a class: how to take it apart into children and rebuild it. */
export function registerPytreeNode<T>(cls: new (...args: never[]) => T, flatten: (x: T) => [unknown[], unknown], unflatten: (aux: unknown, children: unknown[]) => T): void {
  customNodes.set(cls, { name: cls.name, flatten: flatten as CustomNode["flatten"], unflatten: unflatten as CustomNode["unflatten"] });
}

type NodeKind = "leaf" | "null" | "undefined" | "array" | "object" | "custom";

export class TreeDef {
  constructor(
    readonly kind: NodeKind,
    readonly children: TreeDef[] = [],
    /** object keys, or a custom node's aux data */
    readonly aux: unknown = null,
    readonly custom: CustomNode | null = null,
  ) {}

  get numLeaves(): number {
    return this.kind === "leaf" ? 1 : this.children.reduce((n, c) => n + c.numLeaves, 0);
  }

  unflatten(leaves: readonly unknown[]): any {
    if (leaves.length !== this.numLeaves) {
      throw new ArgumentError(`tree.unflatten: the tree ${this} has ${this.numLeaves} leaves, got ${leaves.length} values`);
    }
    let i = 0;
    const build = (t: TreeDef): unknown => {
      switch (t.kind) {
        case "leaf":
          return leaves[i++];
        case "null":
          return null;
        case "undefined":
          return undefined;
        case "array":
          return t.children.map(build);
        case "object": {
          const keys = t.aux as string[];
          const o: Record<string, unknown> = {};
          keys.forEach((k, j) => (o[k] = build(t.children[j])));
          return o;
        }
        case "custom":
          return t.custom!.unflatten(t.aux, t.children.map(build));
      }
    };
    return build(this);
  }

  equals(other: TreeDef): boolean {
    return this.toString() === other.toString();
  }

  toString(): string {
    switch (this.kind) {
      case "leaf":
        return "*";
      case "null":
        return "null";
      case "undefined":
        return "undefined";
      case "array":
        return `[${this.children.join(", ")}]`;
      case "object":
        return `{${(this.aux as string[]).map((k, i) => `${k}: ${this.children[i]}`).join(", ")}}`;
      case "custom":
        return `${this.custom!.name}(${JSON.stringify(this.aux)})[${this.children.join(", ")}]`;
    }
  }
}

function isPlainObject(x: object): boolean {
  const proto = Object.getPrototypeOf(x);
  return proto === Object.prototype || proto === null;
}

export function isLeaf(x: unknown): x is Leaf {
  return x instanceof Tracer || typeof x === "number" || typeof x === "boolean";
}

/** Flatten a pytree into its leaves (depth-first, object keys sorted as in JAX) and structure. */
export function flatten(tree: unknown, where = "tree.flatten"): [Leaf[], TreeDef] {
  const leaves: Leaf[] = [];
  /** The containers on the current path: one seen again is a cycle (JS recursion would overflow the stack). */
  const open = new Set<object>();
  const walk = (x: unknown, path: string): TreeDef => {
    if (isLeaf(x)) {
      leaves.push(x);
      return new TreeDef("leaf");
    }
    if (x === null) return new TreeDef("null");
    if (x === undefined) return new TreeDef("undefined");
    if (typeof x === "object") {
      if (open.has(x)) {
        throw new ArgumentError(`${where}: ${path || "the argument"} refers back to a container it is inside of; a pytree must be a tree (no cycles) -- pass the arrays it needs, not an object that contains itself`);
      }
      open.add(x);
      try {
        return walkContainer(x, path);
      } finally {
        open.delete(x);
      }
    }
    return walkContainer(x, path);
  };
  const walkContainer = (x: unknown, path: string): TreeDef => {
    if (Array.isArray(x)) return new TreeDef("array", x.map((c, i) => walk(c, `${path}[${i}]`)));
    if (typeof x === "object" && x !== null) {
      const custom = customNodes.get((x as object).constructor);
      if (custom) {
        const [children, aux] = custom.flatten(x);
        return new TreeDef("custom", children.map((c, i) => walk(c, `${path}.<${i}>`)), aux, custom);
      }
      if (isPlainObject(x)) {
        const keys = Object.keys(x).sort();
        return new TreeDef("object", keys.map((k) => walk((x as Record<string, unknown>)[k], `${path}.${k}`)), keys);
      }
    }
    const desc = typeof x === "object" ? `an instance of ${(x as object).constructor?.name ?? "an unknown class"}` : `a ${typeof x}`;
    throw new ArgumentError(
      `${where}: ${path || "the argument"} is ${desc}, which is not an array, a number, a boolean or a pytree node ` +
        `(JS arrays, plain objects, null; classes can be registered with tree.registerPytreeNode)`,
    );
  };
  const def = walk(tree, "");
  return [leaves, def];
}

export function leaves(tree: unknown): Leaf[] {
  return flatten(tree)[0];
}

export function structure(tree: unknown): TreeDef {
  return flatten(tree)[1];
}

export function unflatten<T = any>(def: TreeDef, leaves: readonly unknown[]): T {
  return def.unflatten(leaves) as T;
}

/** Apply `f` leafwise over trees of the same structure. */
export function map<T = any>(f: (...leaves: any[]) => unknown, tree: T, ...rest: unknown[]): T {
  const [ls, def] = flatten(tree, "tree.map");
  const others = rest.map((r, i) => {
    const [rl, rd] = flatten(r, "tree.map");
    if (!rd.equals(def)) throw new ArgumentError(`tree.map: tree ${i + 1} has structure ${rd} but the first tree has ${def}`);
    return rl;
  });
  return def.unflatten(ls.map((l, i) => f(l, ...others.map((o) => o[i]))));
}

/** Paths of the leaves (`.w`, `[0].b`), for error messages that name a leaf. */
export function leafPaths(tree: unknown): string[] {
  const out: string[] = [];
  const walk = (x: unknown, path: string): void => {
    if (isLeaf(x)) out.push(path || "<root>");
    else if (Array.isArray(x)) x.forEach((c, i) => walk(c, `${path}[${i}]`));
    else if (x !== null && typeof x === "object") {
      const custom = customNodes.get((x as object).constructor);
      if (custom) custom.flatten(x)[0].forEach((c, i) => walk(c, `${path}.<${i}>`));
      else Object.keys(x).sort().forEach((k) => walk((x as Record<string, unknown>)[k], `${path}.${k}`));
    }
  };
  walk(tree, "");
  return out;
}
