#!/usr/bin/env bash
# Type-checks the Rust crate (cargo check, check --tests, clippy) for every
# prebuilt target, and for the platforms mio supports that have no prebuilt
# binary (NetBSD, OpenBSD, DragonFly BSD, illumos, Android arm64), on a Linux
# x64 machine that has no other Rust targets.
# Not part of CI: it needs Debian's Rust 1.96 with std's sources
# (apt-get install rustc-web cargo-web rust-web-src rust-web-clippy, from
# bookworm-security) and builds std itself (-Zbuild-std). The crate's own
# dependencies are vendored together with std's, so it runs offline after the
# first `cargo vendor`.
#
# Usage: [STEPS=clippy] scripts/cross-check.sh [target[+backend] ...]
# (logs in $WORK/logs; STEPS picks among lib, tests and clippy, which alone
# covers the other two: check --all-targets with clippy's lints)
# A `+backend` suffix (poll, waker-pipe, poll+waker-pipe, as NODE_MIO_BACKEND
# in scripts/build.mjs) checks the target with mio's cfg flags for that
# backend, e.g. x86_64-unknown-freebsd+poll (kqueue platforms then get the
# pipe waker too). With no arguments: the list below, each with the default
# backend, plus the poll(2) selector on a kqueue and an epoll target.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
WORK=${WORK:-/tmp/node-mio-cross-check}
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(x86_64-pc-windows-msvc aarch64-pc-windows-msvc x86_64-apple-darwin
  aarch64-apple-darwin x86_64-unknown-freebsd aarch64-unknown-linux-gnu x86_64-unknown-linux-musl
  aarch64-linux-android x86_64-unknown-netbsd x86_64-unknown-openbsd x86_64-unknown-dragonfly
  x86_64-unknown-illumos x86_64-unknown-freebsd+poll aarch64-linux-android+poll+waker-pipe)

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
for spec in "${targets[@]}"; do
  target=${spec%%+*}
  backend=
  [ "$spec" = "$target" ] || backend=${spec#*+}
  cfgs=()
  case $backend in
    '') ;;
    poll) cfgs=(mio_unsupported_force_poll_poll) ;;
    waker-pipe) cfgs=(mio_unsupported_force_waker_pipe) ;;
    poll+waker-pipe | waker-pipe+poll) cfgs=(mio_unsupported_force_poll_poll mio_unsupported_force_waker_pipe) ;;
    *) echo "unknown backend $backend in $spec (poll, waker-pipe, poll+waker-pipe)" >&2; exit 2 ;;
  esac
  rustflags=${RUSTFLAGS:-}
  for cfg in "${cfgs[@]}"; do rustflags="$rustflags --cfg $cfg"; done
  # RUSTFLAGS, even empty, replaces .cargo/config.toml's target rustflags
  # (musl's -crt-static, without which there is no cdylib): it is set below
  # only with something to add, and then carries musl's flag over.
  if [ -n "$rustflags" ] && [[ $target == *-musl ]]; then rustflags="$rustflags -C target-feature=-crt-static"; fi
  # Each backend in its own target folder (other cfgs rebuild everything),
  # outside the copied sources, so a second run reuses the built std.
  dir=$WORK/target${backend:+-${backend//+/-}}
  for step in ${STEPS:-lib tests clippy}; do
    case $step in
      lib) args=(check -Zbuild-std=std,panic_abort --target-dir "$dir") ;;
      tests) args=(check --tests -Zbuild-std=std,test,panic_abort --target-dir "$dir") ;;
      # clippy-driver wraps only this crate, so std is shared with the steps above.
      clippy) args=(check --all-targets -Zbuild-std=std,test,panic_abort --target-dir "$dir") ;;
    esac
    log="$WORK/logs/$spec.$step.log"
    wrapper=(env)
    [ -z "$rustflags" ] || wrapper+=(RUSTFLAGS="$rustflags")
    [ $step = clippy ] && wrapper+=(RUSTC_WORKSPACE_WRAPPER=/usr/bin/clippy-driver)
    if "${wrapper[@]}" /usr/bin/cargo "${args[@]}" --target "$target" > "$log" 2>&1 \
      && ! grep -qE '^(warning|error)' "$log"; then
      status=ok
    else
      status=FAILED
    fi
    echo "$spec $step: $status"
    [ $status = ok ] || failed=1
  done
done
exit $failed
