# shellcheck shell=bash
# Sourced by scripts/upgrade, after common.sh. The releases recorded in RELEASES, and their
# binaries built from git (the work tree is not touched), kept in the target directory.

# release_commit [VERSION|COMMIT]: the full commit of a release named in RELEASES, or of a commit;
# without an argument, the newest release (the first line).
release_commit() {
  local wanted="${1:-}" commit
  if [ -z "$wanted" ]; then
    commit="$(awk '!/^#/ && NF { print $2; exit }' RELEASES)"
  else
    commit="$(awk -v v="$wanted" '!/^#/ && $1 == v { print $2; exit }' RELEASES)"
    [ -n "$commit" ] || commit="$wanted"
  fi
  [ -n "$commit" ] || { echo "RELEASES names no release" >&2; return 1; }
  git cat-file -e "$commit^{commit}" 2>/dev/null || {
    echo "commit $commit is not in this clone (a shallow clone? run: git fetch --unshallow)" >&2
    return 1
  }
  git rev-parse "$commit^{commit}"
}

# release_name COMMIT: "VERSION (abcdef1)" when RELEASES names it, else the short commit.
release_name() {
  local version
  version="$(awk -v c="$1" '!/^#/ && $2 == c { print $1; exit }' RELEASES)"
  if [ -n "$version" ]; then echo "$version (${1:0:7})"; else echo "${1:0:7}"; fi
}

# build_release COMMIT [PROFILE]: prints the path of that commit's depbadge binary (PROFILE dev,
# the default, or release), building it the first time. Sources come from `git archive`; every
# release shares one target directory of its own (dependencies are compiled once for all of
# them) apart from the current code's.
build_release() {
  local commit="$1" profile="${2:-dev}"
  local out="debug" flags=()
  [ "$profile" = release ] && { out="release"; flags=(--release); }
  local bin="$TARGET_DIR/releases/bin/$commit/$out/depbadge"
  if [ -x "$bin" ]; then
    log "release $(release_name "$commit") ($out): built before, $bin"
    echo "$bin"; return 0
  fi
  local src="$TARGET_DIR/releases/src/$commit"
  log "building release $(release_name "$commit") ($out) from git"
  if [ ! -f "$src/Cargo.toml" ]; then
    rm -rf "$src" && mkdir -p "$src"
    git archive "$commit" | tar -x -C "$src"
  fi
  (cd "$src" && cargo build --locked --quiet "${flags[@]}" --bin depbadge --target-dir "$TARGET_DIR/releases/target") >&2
  mkdir -p "$(dirname "$bin")"
  cp "$TARGET_DIR/releases/target/$out/depbadge" "$bin.partial" && mv "$bin.partial" "$bin"
  echo "$bin"
}
