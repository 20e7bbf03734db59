#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Stand-in for `lfs` in the recorded-changelog tests (the real one needs a Lustre client and
# an MDT). It replays recorded `lfs changelog` text and answers `lfs fid2path` from a table,
# so lk-sync reads it through the same code path as a live `lfs changelog --follow`.
# State lives in $FAKE_LFS_DIR:
#   MDT.records     the recorded output of `lfs changelog MDT`, printed whole every time
#                   (STARTREC ignored: the consumer must skip what it already applied)
#   fids            lines `[FID] PATH` (PATH relative to the mount point; one line per link)
#   clears          `MDT USER ENDREC` appended by each changelog_clear
#   crash-on-clear  if present, the next changelog_clear kills its caller (kill -9) instead
#                   of clearing, and removes this file
#   term-on-fid2path  if present, the next fid2path sends its caller SIGTERM before it
#                   answers (a stop while a batch is being applied), and removes this file
#   follow.pid      written by `changelog --follow`: its process id
#   calls           every command line received
set -u
d=${FAKE_LFS_DIR:?}
echo "$*" >>"$d/calls"
case "${1:-}" in
changelog)
    shift
    follow=0
    if [ "${1:-}" = --follow ]; then
        follow=1
        shift
    fi
    if [ "$follow" = 1 ]; then echo "$$" >"$d/follow.pid"; fi
    cat "$d/$1.records" 2>/dev/null
    if [ "$follow" = 1 ]; then
        # --follow blocks waiting for new records; here, until the consumer is gone.
        while kill -0 "$PPID" 2>/dev/null; do sleep 0.1; done
    fi
    ;;
changelog_clear)
    case "${4:-}" in
    '' | 0 | *[!0-9]*)
        echo "fake lfs: refusing changelog_clear $2 $3 '${4:-}'" >&2
        exit 22
        ;;
    esac
    if [ -e "$d/crash-on-clear" ]; then
        rm -f "$d/crash-on-clear"
        kill -9 "$PPID"
        exit 1
    fi
    echo "$2 $3 $4" >>"$d/clears"
    ;;
fid2path)
    shift
    if [ -e "$d/term-on-fid2path" ]; then
        rm -f "$d/term-on-fid2path"
        kill -TERM "$PPID"
    fi
    if [ "${1:-}" = --print-fid ]; then shift; fi
    mount=$1
    shift
    rc=0
    for f in "$@"; do
        found=0
        while IFS= read -r line; do
            if [ "${line%% *}" = "$f" ]; then
                echo "$f $mount/${line#* }"
                found=1
            fi
        done <"$d/fids"
        if [ "$found" = 0 ]; then
            echo "lfs fid2path: cannot find '$f': No such file or directory" >&2
            rc=2
        fi
    done
    exit "$rc"
    ;;
*)
    echo "fake lfs: unsupported: $*" >&2
    exit 95
    ;;
esac
