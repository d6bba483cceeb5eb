#!/bin/bash
# The layers, checked on every #include (Bazel's visibility checks the deps):
#   sim/            only sim/; the engine never includes a strategy
#   fakes/          sim/ engine and fakes/; never driver_core/, harness/, a
#                   strategy; only the harness-side fakes see the backend;
#                   the hypervisor's (page frames, grant table, event
#                   channels) see no other fake than each other
#   driver_core/    sim/ engine, the guest's fakes, driver_core/; never the
#                   backend, the leak oracle, harness/ or a strategy
# and the unit tests, which mirror the tree (tests/<layer>/<unit>_test.cc):
#   tests/sim/      sim/ (strategies too), tests/sim/ and tests/commutation.h
#   tests/fakes/    sim/, fakes/, tests/sim/, tests/fakes/; never
#                   driver_core/ or harness/
# First it proves it can fail: a tree with one violation of each rule must be
# refused, rule by rule. Then it checks the real tree.
set -u
layers="sim fakes driver_core tests/sim tests/fakes"

# check ROOT: prints every violation, exits 1 if any.
check() {
  local root=$1 bad=0
  while IFS= read -r line; do
    local file=${line%%:*} rest=${line#*:}
    local target=${rest#*\"}; target=${target%%\"*}
    local why=""
    case $file in
      sim/*_strategy.*|sim/strategy.h)
        [[ $target == sim/* ]] || why="a strategy includes $target (outside sim/)";;
      sim/*)
        if [[ $target != sim/* ]]; then why="the engine includes $target (outside sim/)";
        elif [[ $target == sim/*_strategy.h ]]; then why="the engine includes a strategy ($target)"; fi;;
      fakes/*)
        if [[ $target == driver_core/* || $target == harness/* ]]; then why="a fake includes $target";
        elif [[ $target == sim/*_strategy.h ]]; then why="a fake includes a strategy ($target)";
        elif [[ $target == fakes/backend.h && $file != fakes/backend.* ]]; then why="a guest fake includes the backend";
        elif [[ $file =~ ^fakes/(page_frames|grant_table|events)\. && $target == fakes/* &&
                ! $target =~ ^fakes/(page_frames|grant_table|events|memory_errors)\.h$ ]]; then why="the hypervisor includes $target";
        elif [[ $target != sim/* && $target != fakes/* ]]; then why="a fake includes $target"; fi;;
      driver_core/*)
        if [[ $target == harness/* ]]; then why="the driver includes $target";
        elif [[ $target == sim/*_strategy.h ]]; then why="the driver includes a strategy ($target)";
        elif [[ $target == fakes/backend.h || $target == fakes/leak_check.h ]]; then why="the driver includes $target";
        elif [[ $target != sim/* && $target != fakes/* && $target != driver_core/* ]]; then why="the driver includes $target"; fi;;
      tests/sim/*)
        [[ $target == sim/* || $target == tests/sim/* || $target == tests/commutation.h ]] ||
          why="an engine test includes $target";;
      tests/fakes/*)
        [[ $target == sim/* || $target == fakes/* || $target == tests/sim/* || $target == tests/fakes/* ]] ||
          why="a fakes test includes $target";;
    esac
    if [[ -n $why ]]; then echo "layering: $file: $why"; bad=1; fi
  done < <(cd "$root" && grep -RH '^#include "' $layers 2>/dev/null | sed 's/:#include /:/')
  return $bad
}

# 1. It can fail: one violation per rule, each refused.
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
for violation in 'sim/engine.cc:fakes/kmem.h' 'sim/scheduler.cc:sim/dfs_strategy.h' 'fakes/drm.cc:driver_core/variant.h' \
                 'fakes/kmem.cc:sim/pct_strategy.h' 'fakes/drm.cc:fakes/backend.h' 'fakes/grant_table.cc:fakes/drm.h' \
                 'driver_core/x.cc:harness/world.h' \
                 'driver_core/x.cc:fakes/backend.h' 'driver_core/x.cc:sim/replay_strategy.h' \
                 'tests/sim/x_test.cc:fakes/kmem.h' 'tests/sim/x_test.cc:tests/fakes/testing.h' \
                 'tests/fakes/x_test.cc:driver_core/variant.h' 'tests/fakes/x_test.cc:harness/world.h'; do
  rm -rf "$scratch"/*
  file=${violation%%:*}; target=${violation#*:}
  mkdir -p "$scratch/sim" "$scratch/fakes" "$scratch/driver_core" "$scratch/$(dirname "$file")"
  echo "#include \"$target\"" > "$scratch/$file"
  if check "$scratch" > /dev/null; then
    echo "layering_test: the check let through $file including $target"
    exit 1
  fi
done
rm -rf "$scratch"/*
mkdir -p "$scratch/sim" "$scratch/fakes" "$scratch/driver_core"
printf '#include "sim/scheduler.h"\n' > "$scratch/fakes/ok.cc"
printf '#include "fakes/page_frames.h"\n' > "$scratch/fakes/grant_table.cc"
printf '#include "fakes/drm.h"\n#include "sim/lock.h"\n' > "$scratch/driver_core/ok.cc"
mkdir -p "$scratch/tests/sim" "$scratch/tests/fakes"
printf '#include "sim/dfs_strategy.h"\n#include "tests/sim/testing.h"\n#include "tests/commutation.h"\n' > "$scratch/tests/sim/ok_test.cc"
printf '#include "fakes/backend.h"\n#include "sim/pct_strategy.h"\n#include "tests/sim/testing.h"\n#include "tests/fakes/testing.h"\n' \
  > "$scratch/tests/fakes/ok_test.cc"
check "$scratch" || { echo "layering_test: the check refused a legal tree"; exit 1; }

# 2. The real tree.
root=${TEST_SRCDIR:-.}/${TEST_WORKSPACE:-}
[[ -d $root/sim ]] || root=.
# Every directory checked is there, with sources (a missing one passes vacuously).
for layer in $layers; do
  compgen -G "$root/$layer/*.cc" > /dev/null || { echo "layering_test: no sources in $root/$layer"; exit 1; }
done
check "$root" || exit 1
echo "1 passed, 0 failed"
