#!/usr/bin/env bash
# Builds wasm/tinyflow_kernels.wasm (the hand-written SIMD kernels read by
# src/backends/wasm/kernel_binary.ts) from the Rust crate in wasm/.
#
# Needs Debian's toolchain (rustup's, if present, may come first on PATH, so
# every tool is called by full path):
#   apt-get install -y rustc cargo libstd-rust-dev-wasm32 lld binaryen
# Compiler flags (simd128, atomics, shared imported memory) live in
# wasm/.cargo/config.toml. The output is deterministic: rebuilding from the
# same sources gives a byte-identical file (checked with --check).
#
# Usage: bash scripts/build-wasm.sh           build and write the .wasm
#        bash scripts/build-wasm.sh --check   build and compare with the committed file
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CRATE="$ROOT/wasm"
OUT="$CRATE/tinyflow_kernels.wasm"
RUSTC_BIN=/usr/bin/rustc
CARGO_BIN=/usr/bin/cargo
WASM_OPT_BIN=/usr/bin/wasm-opt

for tool in "$RUSTC_BIN" "$CARGO_BIN" "$WASM_OPT_BIN"; do
  if [ ! -x "$tool" ]; then
    echo "build-wasm: missing $tool; run: apt-get install -y rustc cargo libstd-rust-dev-wasm32 lld binaryen" >&2
    exit 1
  fi
done
if [ ! -d /usr/lib/rustlib/wasm32-unknown-unknown ]; then
  echo "build-wasm: missing the wasm32 std; run: apt-get install -y libstd-rust-dev-wasm32" >&2
  exit 1
fi

cd "$CRATE"
# Keep the environment from leaking into the build (RUSTFLAGS would replace
# the flags in .cargo/config.toml).
unset RUSTFLAGS CARGO_ENCODED_RUSTFLAGS CARGO_BUILD_RUSTFLAGS CARGO_TARGET_DIR
export SOURCE_DATE_EPOCH=0
RUSTC="$RUSTC_BIN" "$CARGO_BIN" build --offline --release --target wasm32-unknown-unknown --locked

RAW="$CRATE/target/wasm32-unknown-unknown/release/tinyflow_kernels.wasm"
TMP="$(mktemp "${TMPDIR:-/tmp}/tinyflow_kernels.XXXXXX.wasm")"
trap 'rm -f "$TMP"' EXIT
"$WASM_OPT_BIN" -O3 \
  --enable-simd --enable-threads --enable-bulk-memory --enable-mutable-globals \
  --strip-debug --strip-producers \
  "$RAW" -o "$TMP"

if [ "${1:-}" = "--check" ]; then
  if cmp -s "$TMP" "$OUT"; then
    echo "build-wasm: $OUT is up to date ($(sha256sum "$OUT" | cut -d' ' -f1))"
  else
    echo "build-wasm: rebuilt wasm differs from committed $OUT" >&2
    echo "  committed: $(sha256sum "$OUT" 2>/dev/null | cut -d' ' -f1)" >&2
    echo "  rebuilt:   $(sha256sum "$TMP" | cut -d' ' -f1)" >&2
    exit 1
  fi
else
  cp "$TMP" "$OUT"
  echo "build-wasm: wrote $OUT ($(wc -c < "$OUT") bytes, sha256 $(sha256sum "$OUT" | cut -d' ' -f1))"
fi
