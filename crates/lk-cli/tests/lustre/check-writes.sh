#!/bin/bash
# Reads FILE back (caches dropped) and checks every record acknowledged in LOG: present, and
# its checksum right. Prints `acked N lost L corrupt C outage S` where S is the longest time
# between two consecutive acknowledgements (the client's I/O outage). Usage: FILE LOG
set -euo pipefail
file=$1 log=$2
sync
echo 3 >/proc/sys/vm/drop_caches
content=$(cat "$file")
acked=0 lost=0 corrupt=0
while read -r kind seq _start _end; do
    [ "$kind" = ack ] || continue
    acked=$((acked + 1))
    line=$(grep -E "^rec $(printf '%08d' "$seq") " <<<"$content" | head -n 1 || true)
    if [ -z "$line" ]; then
        lost=$((lost + 1))
        continue
    fi
    rec=${line% *}
    sum=${line##* }
    [ "$(printf '%s' "$rec" | sha1sum | cut -c1-16)" = "$sum" ] || corrupt=$((corrupt + 1))
done <"$log"
outage=$(awk '$1 == "ack" { if (prev != "") { gap = $4 - prev; if (gap > max) max = gap } prev = $4 } END { printf "%.1f", max }' "$log")
echo "acked $acked lost $lost corrupt $corrupt outage $outage"
