// The sizes, offsets and strides a WGSL shader works with, either baked into
// its text as literals ("specialised": one pipeline per shape, the compiler
// folds divisions by constants) or read from a small per-dispatch uniform
// buffer ("generic": one pipeline serves every shape of the same kernel
// structure, so a new shape compiles nothing). A code generator asks for each
// value through one ParamTable and emits the expression it returns, so both
// forms come from one template. Which one a generator uses is its choice:
// pipeline compilation costs 100-260 ms per shader on SwiftShader, while a
// uniform divisor costs a few instructions per index.

/** A shader's parameter words: the uniform binding's declaration and contents (null when every value was baked in). */
export interface ShaderParams {
  /** `var<uniform>` declaration to add to the shader, or "" when specialised. */
  readonly decl: string;
  /** Contents of the uniform buffer, or null when specialised. */
  readonly words: Uint32Array | null;
}

/** The WGSL name of the uniform array of parameter words. */
const UNIFORM = "tf_params";

export class ParamTable {
  private readonly words: number[] = [];

  /** `specialize`: bake values in as literals; otherwise each becomes a word of the uniform buffer. */
  constructor(readonly specialize: boolean) {}

  /** A u32 expression of `value` (a non-negative integer below 2^32). */
  u32(value: number): string {
    if (this.specialize) return `${value >>> 0}u`;
    return this.word(value >>> 0);
  }

  /** An i32 expression of `value` (strides may be negative). */
  i32(value: number): string {
    if (this.specialize) return value === -2147483648 ? "i32(-2147483647 - 1)" : `i32(${value | 0})`;
    return `bitcast<i32>(${this.word(value >>> 0)})`;
  }

  /**
   * A u32 word of the uniform even when specialising: a value that differs between dispatches of
   * one pipeline (a bitonic sort's pass number), never baked in.
   */
  perDispatch(value: number): string {
    return this.word(value >>> 0);
  }

  /** The uniform's declaration at `binding`, and its words. Uniform arrays have a 16-byte stride: the words are packed in vec4s. */
  finish(binding: number): ShaderParams {
    if (this.words.length === 0) return { decl: "", words: null };
    const vec4s = Math.ceil(this.words.length / 4);
    const words = new Uint32Array(vec4s * 4);
    words.set(this.words);
    return { decl: `@group(0) @binding(${binding}) var<uniform> ${UNIFORM}: array<vec4<u32>, ${vec4s}>;`, words };
  }

  private word(value: number): string {
    const k = this.words.length;
    this.words.push(value);
    return `${UNIFORM}[${k >> 2}].${"xyzw"[k & 3]}`;
  }
}
