# Sourced by every build step (runs inside the build root, the build folder at /work).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8
step() { printf '== %s\n' "$*"; }
die() { printf 'lustrekit build: %s\n' "$*" >&2; exit 1; }
: "${KVER:?KVER (the guest kernel release) must be set}"
