#!/usr/bin/env bash
# The whole test suite, from a fresh Debian machine: installs what the tests need, makes sure a Redis
# answers, then runs formatting, lints, the configuration check and every test.
#
#   scripts/test.sh            # everything
#   scripts/test.sh -- NAME    # only the tests whose name contains NAME (after the checks)
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\n== %s\n' "$*"; }

# --- Debian packages the build and the tests need ------------------------------------------------
packages=(redis-server pkg-config python3-yaml systemd)
missing=()
for pkg in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if ((${#missing[@]})); then
  log "installing ${missing[*]}"
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}"
fi

# --- Redis: the one on 6379 if it answers, otherwise our own on a free port -----------------------
redis_answers() { # port
  timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1 && printf 'PING\r\n' >&3 && head -c 5 <&3" 2>/dev/null | grep -q PONG
}
if [ -z "${PASSERELLE_TEST_REDIS:-}" ]; then
  if redis_answers 6379; then
    export PASSERELLE_TEST_REDIS="redis://127.0.0.1:6379/"
  else
    port=6399
    while redis_answers "$port" || (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do port=$((port + 1)); done
    log "starting redis-server on 127.0.0.1:$port"
    redis_dir=$(mktemp -d)
    redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --dir "$redis_dir" --daemonize yes \
      --pidfile "$redis_dir/redis.pid" >/dev/null
    trap 'kill "$(cat "$redis_dir/redis.pid")" 2>/dev/null || true' EXIT
    for _ in $(seq 50); do redis_answers "$port" && break; sleep 0.1; done
    redis_answers "$port" || { echo "redis-server did not start on $port" >&2; exit 1; }
    export PASSERELLE_TEST_REDIS="redis://127.0.0.1:$port/"
  fi
fi
echo "Redis for the tests: $PASSERELLE_TEST_REDIS"

# --- Identity-provider peers and other tools: each tests/peers/*.sh installs (if missing) what its
# tests need and prints `export NAME=value` lines for the tests to find it. A failing installer
# fails the run: a test never skips because a tool is missing.
mkdir -p target/peers
for peer in tests/peers/*.sh; do
  [ -e "$peer" ] || continue
  log "peer $(basename "$peer")"
  exports=$(bash "$peer")
  eval "$exports"
done

# --- Checks and tests ------------------------------------------------------------------------------
log "cargo fmt --check"
cargo fmt --all -- --check

log "cargo clippy"
cargo clippy --all-targets --locked -- -D warnings

log "fuzz targets compile (cargo check; running them needs nightly: see fuzz/Cargo.toml)"
cargo check --quiet --manifest-path fuzz/Cargo.toml --target-dir target

log "passerelle check on the demo configuration"
cargo run --quiet --locked -- check --config examples/demo/passerelle.toml

log "deployment files (deploy/validate.py)"
cargo build --quiet --locked
/usr/bin/python3 deploy/validate.py target/debug/passerelle

log "cargo test"
filter=()
if [ "${1:-}" = "--" ]; then shift; filter=("$@"); fi
cargo test --locked --all-features -- "${filter[@]}"
