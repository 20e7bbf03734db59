#!/usr/bin/env bash
# Starts virtlogd and libvirtd on a machine without systemd (containers, CI runners), then waits
# until `virsh -c qemu:///system version` answers. Idempotent: daemons already running are left
# alone. Run as root after scripts/install-deps.sh.
#
# Environment:
#   LK_LIBVIRT_WAIT  seconds to wait for libvirtd to answer (default 60)
set -euo pipefail

wait_secs=${LK_LIBVIRT_WAIT:-60}
uri=qemu:///system

log() { printf 'start-libvirt: %s\n' "$*" >&2; }

if [[ $(id -u) -ne 0 ]]; then
    log "must run as root (libvirtd manages bridges, dnsmasq and qemu processes)"
    exit 1
fi

for bin in virtlogd libvirtd virsh; do
    if ! command -v "$bin" >/dev/null 2>&1 && [[ ! -x /usr/sbin/$bin ]]; then
        log "$bin not found: run scripts/install-deps.sh first"
        exit 1
    fi
done
export PATH="$PATH:/usr/sbin:/sbin"

mkdir -p /var/log/libvirt/qemu /var/run/libvirt /var/lib/libvirt/images /var/lib/lustrekit/images

# Without udev, /dev/kvm stays root:root 0600. libvirt then probes QEMU's capabilities as root
# (KVM found) but checks them against what the qemu user can open (KVM not found), decides its
# cache is stale, and re-probes QEMU on every API call: each `virsh create` took ~60 s. Giving
# /dev/kvm udev's usual owner and mode makes both views agree. Domains still run under TCG:
# lustrekit probes whether KVM really runs a guest before using it.
if [[ -c /dev/kvm ]] && getent group kvm >/dev/null; then
    if ! { chgrp kvm /dev/kvm && chmod 0660 /dev/kvm; }; then
        log "could not set /dev/kvm to root:kvm 0660"
    fi
fi

# A daemon is running when its pid file names a live process. Stale pid files (left by a
# container restart) would make the daemon refuse to start, so they are removed.
running() {
    local pidfile=$1 pid
    [[ -s $pidfile ]] || return 1
    pid=$(<"$pidfile")
    if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then
        return 0
    fi
    log "removing stale $pidfile"
    rm -f "$pidfile"
    return 1
}

if running /var/run/virtlogd.pid; then
    log "virtlogd already running"
else
    log "starting virtlogd"
    virtlogd -d
fi

if running /var/run/libvirtd.pid; then
    log "libvirtd already running"
else
    log "starting libvirtd"
    libvirtd -d
fi

for ((i = 0; i < wait_secs * 2; i++)); do
    if out=$(virsh -c "$uri" version 2>&1); then
        log "libvirtd answers on $uri"
        printf '%s\n' "$out" | sed -n 's/^/  /p' >&2
        exit 0
    fi
    sleep 0.5
done
log "libvirtd did not answer on $uri within ${wait_secs}s; last error:"
printf '%s\n' "${out:-}" >&2
if [[ -f /var/log/libvirt/libvirtd.log ]]; then
    tail -n 20 /var/log/libvirt/libvirtd.log >&2
fi
exit 1
