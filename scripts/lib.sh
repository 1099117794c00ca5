# shellcheck shell=bash
# Shared helpers for strowger's shell scripts (scripts/test, .ci/run, ...).
# Source it; it defines functions and a few variables and runs nothing.

# Repo root, whatever the caller's cwd.
STROWGER_ROOT="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"

# Prefer the system interpreter: a pyenv shim earlier in PATH may point at a
# Python without the stdlib pieces we rely on, or need a .python-version.
if [ -x /usr/bin/python3 ]; then PY=/usr/bin/python3; else PY=python3; fi

# The release build every benchmark and measurement uses: optimised, and
# linked with link-time optimisation, so the hot path's small functions in
# other files (matcher, trie, rewrite) inline into the decision.
RELEASE_ARGS=(--buildtype=release -Db_lto=true)

log()  { printf '==> %s\n' "$*"; }
warn() { printf 'WARNING: %s\n' "$*" >&2; }
hr()   { printf '%s\n' "------------------------------------------------------------------------"; }

# is_true VALUE: true for 1/true/yes/on (any case).
is_true() {
  case "${1,,}" in 1|true|yes|on) return 0 ;; *) return 1 ;; esac
}

# in_list WORD LIST: LIST is space- or comma-separated.
in_list() {
  local w="$1" x
  for x in ${2//,/ }; do [ "$x" = "$w" ] && return 0; done
  return 1
}

# meson_setup DIR [meson setup args...]
# Configures DIR with the given options and the current CC. Reuses DIR when
# it exists: a stamp file records CC + options of the last successful setup;
# if they are unchanged (or there is no stamp and CC is unset), `meson setup --reconfigure` (falling back to --wipe),
# otherwise `--wipe` (which re-detects the compiler, so a CC change sticks),
# and as a last resort the directory is deleted and set up from scratch.
meson_setup() {
  local dir="$1"; shift
  local sig stamp="$dir/.strowger-setup"
  sig="CC=${CC:-<default>} $*"
  if [ -f "$dir/meson-private/coredata.dat" ]; then
    # No stamp (a dir set up by hand): keep it unless a specific CC is
    # wanted, since a reconfigure cannot change the compiler.
    if { [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$sig" ]; } ||
       { [ ! -f "$stamp" ] && [ -z "${CC:-}" ]; }; then
      log "meson setup --reconfigure $dir $*"
      if meson setup --reconfigure "$dir" "$@"; then
        printf '%s\n' "$sig" > "$stamp"; return 0
      fi
      warn "reconfigure of $dir failed; trying --wipe"
    else
      log "setup of $dir changed (was: $(cat "$stamp" 2>/dev/null || echo unknown)); wiping"
    fi
    if meson setup --wipe "$dir" "$@"; then
      printf '%s\n' "$sig" > "$stamp"; return 0
    fi
    warn "meson setup --wipe $dir failed; deleting $dir and starting over"
  fi
  rm -rf "$dir"
  log "meson setup $dir $*"
  if meson setup "$dir" "$@"; then
    printf '%s\n' "$sig" > "$stamp"; return 0
  fi
  return 1
}

# count_testlog FILE: prints "PASSED FAILED SKIPPED" on the first line, then
# one line per non-passing test ("RESULT name"). Reads meson's testlog.json
# (one JSON object per line). OK and EXPECTEDFAIL pass, SKIP is skipped,
# anything else (FAIL, TIMEOUT, ERROR, UNEXPECTEDPASS, INTERRUPT, ...) fails.
# A missing file counts as nothing run.
count_testlog() {
  "$PY" - "$1" <<'EOF'
import json, sys
p = f = s = 0
bad = []
try:
    fh = open(sys.argv[1], encoding="utf-8", errors="replace")
except OSError:
    fh = []
for line in fh:
    line = line.strip()
    if not line:
        continue
    try:
        t = json.loads(line)
    except ValueError:
        continue
    r = str(t.get("result", "")).upper()
    name = t.get("name", "?")
    if r in ("OK", "EXPECTEDFAIL"):
        p += 1
    elif r == "SKIP":
        s += 1
    else:
        f += 1
        bad.append("%s %s" % (r or "UNKNOWN", name))
print(p, f, s)
for b in bad:
    print(b)
EOF
}

# fmt_secs N -> "1m23s"
fmt_secs() { printf '%dm%02ds' $(( $1 / 60 )) $(( $1 % 60 )); }

# build_rev REV TARGET...: check REV out once in build-ab/REV-src (a git
# worktree) and build TARGETs of it in build-ab/REV (release, -Dbench=true),
# for comparisons with this tree (scripts/bench-ab, scripts/bench-instr).
# Sets BUILD_REV_DIR and BUILD_REV_SRC; REV must be a commit.
build_rev() {
  local rev
  rev=$(git -C "$STROWGER_ROOT" rev-parse --short "$1^{commit}") || return 1
  shift
  BUILD_REV_SRC="$STROWGER_ROOT/build-ab/$rev-src"
  BUILD_REV_DIR="$STROWGER_ROOT/build-ab/$rev"
  if [ ! -d "$BUILD_REV_SRC" ]; then
    log "checking out $rev in build-ab/$rev-src"
    git -C "$STROWGER_ROOT" worktree add --detach -f "$BUILD_REV_SRC" "$rev" >/dev/null
  fi
  meson_setup "$BUILD_REV_DIR" "$BUILD_REV_SRC" -Dbench=true -Dtests=false "${RELEASE_ARGS[@]}" >/dev/null
  ninja -C "$BUILD_REV_DIR" -j"${STROWGER_JOBS:-2}" "$@" >/dev/null
}
