#!/usr/bin/env bash
# Type-checks the Rust crate (cargo check, check --tests, clippy) for every
# prebuilt target, on a Linux x64 machine that has no other Rust targets.
# Not part of CI: it needs Debian's Rust 1.96 with std's sources
# (apt-get install rustc-web cargo-web rust-web-src rust-web-clippy, from
# bookworm-security) and builds std itself (-Zbuild-std). The crate's own
# dependencies are vendored together with std's, so it runs offline after the
# first `cargo vendor`.
#
# Usage: scripts/cross-check.sh [target ...]   (logs in $WORK/logs)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
WORK=${WORK:-/tmp/node-mio-cross-check}
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(x86_64-pc-windows-msvc aarch64-pc-windows-msvc x86_64-apple-darwin
  aarch64-apple-darwin x86_64-unknown-freebsd aarch64-unknown-linux-gnu x86_64-unknown-linux-musl)

for tool in /usr/bin/rustc /usr/bin/cargo /usr/bin/clippy-driver; do
  [ -x "$tool" ] || { echo "missing $tool: apt-get install rustc-web cargo-web rust-web-src rust-web-clippy" >&2; exit 2; }
done
std_vendor=/usr/lib/rustlib/src/rust/library/vendor
[ -d "$std_vendor" ] || { echo "missing $std_vendor (rust-web-src)" >&2; exit 2; }

mkdir -p "$WORK/logs"
rm -rf "$WORK/src" && mkdir -p "$WORK/src"
(cd "$root" && git ls-files -z | xargs -0 cp --parents -t "$WORK/src")
cd "$WORK/src"
# Vendor with the regular (rustup) cargo, then add std's vendored crates.
cargo vendor --locked --versioned-dirs "$WORK/vendor" > /dev/null
for crate in "$std_vendor"/*; do
  [ -e "$WORK/vendor/$(basename "$crate")" ] || cp -r "$crate" "$WORK/vendor/"
done
mkdir -p .cargo
cat >> .cargo/config.toml <<TOML

[source.crates-io]
replace-with = "vendored"

[source.vendored]
directory = "$WORK/vendor"
TOML

export RUSTC_BOOTSTRAP=1 RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc
failed=0
for target in "${targets[@]}"; do
  for step in lib tests clippy; do
    case $step in
      lib) args=(check -Zbuild-std=std,panic_abort) ;;
      tests) args=(check --tests -Zbuild-std=std,test,panic_abort) ;;
      clippy) args=(check --all-targets -Zbuild-std=std,test,panic_abort --target-dir target-clippy) ;;
    esac
    log="$WORK/logs/$target.$step.log"
    wrapper=()
    [ $step = clippy ] && wrapper=(env RUSTC_WORKSPACE_WRAPPER=/usr/bin/clippy-driver)
    if "${wrapper[@]}" /usr/bin/cargo "${args[@]}" --target "$target" > "$log" 2>&1 \
      && ! grep -qE '^(warning|error)' "$log"; then
      status=ok
    else
      status=FAILED
    fi
    echo "$target $step: $status"
    [ $status = ok ] || failed=1
  done
done
exit $failed
