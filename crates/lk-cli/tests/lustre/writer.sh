#!/bin/bash
# Client-side probe for failover measurements: appends one record every 0.2 s to FILE with
# O_DSYNC (dd oflag=dsync), logging each acknowledged record with its start and end times to
# LOG. Stops when STOP exists. Usage: writer.sh FILE LOG STOP
set -uo pipefail
file=$1 log=$2 stop=$3
: >"$log"
i=0
while [ ! -e "$stop" ]; do
    i=$((i + 1))
    start=$(date +%s.%N)
    rec=$(printf 'rec %08d %s' "$i" "$start")
    sum=$(printf '%s' "$rec" | sha1sum | cut -c1-16)
    if printf '%s %s\n' "$rec" "$sum" | dd of="$file" oflag=append,dsync conv=notrunc status=none 2>/dev/null; then
        printf 'ack %d %s %s\n' "$i" "$start" "$(date +%s.%N)" >>"$log"
    else
        printf 'err %d %s %s\n' "$i" "$start" "$(date +%s.%N)" >>"$log"
    fi
    sleep 0.2
done
printf 'stopped %d\n' "$i" >>"$log"
