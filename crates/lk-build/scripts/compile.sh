#!/bin/bash
# Step `compile`: make -jJOBS in the configured source copy.
# shellcheck source=common.sh
. /work/steps/common.sh
cd /work/src
step "make -j${JOBS:-2}"
make -j"${JOBS:-2}" >/work/compile.out 2>&1 || { tail -n 60 /work/compile.out >&2; die "make failed (full output: compile.log)"; }
step "compiled"
