# Sourced by the scripts: puts the project's tools on PATH and, when the wasm target comes from
# Debian's rustc-web (machines where `rustup target add` cannot download it), sets the
# environment that rebuilds std for wasm32 with that compiler. Native builds are unaffected.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PATH="$HOME/.cargo/bin:$ROOT/scripts/tools/node_modules/.bin:$PATH"

# Which route gives the wasm32 standard library: "rustup" or "debian".
wasm_route() {
  if rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
    echo rustup
  elif [ -d /usr/lib/rustlib/src/rust/library ] && [ -x /usr/bin/rustc ]; then
    echo debian
  else
    echo none
  fi
}

# Runs a command with the environment that builds for wasm32 on the chosen route.
with_wasm_env() {
  case "$(wasm_route)" in
    rustup) "$@" ;;
    debian)
      # trunk and the test runner call plain `cargo`: put Debian's first.
      PATH="/usr/bin:$PATH" RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1 \
        CARGO_UNSTABLE_BUILD_STD=std,panic_abort "$@" ;;
    *) echo "error: no wasm32 standard library; run scripts/setup" >&2; return 1 ;;
  esac
}
