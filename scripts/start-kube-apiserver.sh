#!/usr/bin/env bash
# Starts a real Kubernetes API server for the operator's integration tests (DESIGN.md §9):
# Debian's etcd-server and the kube-apiserver built by scripts/build-kube-apiserver.sh, both on
# loopback, token authentication, RBAC authorization. No kubelet, scheduler or controller
# manager: pods are never scheduled and no garbage collector runs.
#
#   scripts/start-kube-apiserver.sh         start (or find running) and print the kubeconfig path
#   scripts/start-kube-apiserver.sh stop    stop both and keep the state folder
#   scripts/start-kube-apiserver.sh reset   stop both and delete the state folder
#
# State: $LUSTREKIT_KUBE_DIR (default /var/lib/lustrekit/kube-test): certificates, the token
# file, etcd data, logs (apiserver.log, etcd.log) and `kubeconfig` (cluster-admin token).
set -euo pipefail
cd "$(dirname "$0")/.."

dir=${LUSTREKIT_KUBE_DIR:-/var/lib/lustrekit/kube-test}
port=${LUSTREKIT_KUBE_PORT:-16443}
etcd_port=${LUSTREKIT_ETCD_PORT:-12379}
kubeconfig="$dir/kubeconfig"

log() { echo "start-kube-apiserver: $*" >&2; }

stop() {
    for name in apiserver etcd; do
        if [[ -f "$dir/$name.pid" ]]; then
            pid=$(cat "$dir/$name.pid")
            if kill -0 "$pid" 2>/dev/null; then
                kill "$pid"
                for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
            fi
            rm -f "$dir/$name.pid"
        fi
    done
}

case "${1:-start}" in
stop) stop; exit 0 ;;
reset) stop; rm -rf "$dir"; exit 0 ;;
start) ;;
*) echo "usage: $0 [start|stop|reset]" >&2; exit 2 ;;
esac

ready() {
    [[ -f "$dir/admin.token" ]] && curl -sf --max-time 3 --cacert "$dir/ca.crt" \
        -H "Authorization: Bearer $(cat "$dir/admin.token")" \
        "https://127.0.0.1:$port/readyz" >/dev/null 2>&1
}

if ready; then
    log "already running on 127.0.0.1:$port"
    echo "$kubeconfig"
    exit 0
fi
stop

if ! command -v etcd >/dev/null || ! command -v openssl >/dev/null || ! command -v curl >/dev/null; then
    log "installing etcd-server, openssl, curl"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        etcd-server openssl curl >/dev/null
fi
apiserver=$(bash scripts/build-kube-apiserver.sh | tail -n 1)

mkdir -p "$dir"
chmod 700 "$dir"
if [[ ! -f "$dir/apiserver.crt" ]]; then
    log "certificates (CA, serving cert for 127.0.0.1/localhost, service-account keys)"
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=lustrekit-test-ca" \
        -keyout "$dir/ca.key" -out "$dir/ca.crt" \
        -addext "basicConstraints=critical,CA:TRUE" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -subj "/CN=kube-apiserver" \
        -keyout "$dir/apiserver.key" -out "$dir/apiserver.csr" 2>/dev/null
    printf '%s\n' "basicConstraints=CA:FALSE" "keyUsage=critical,digitalSignature,keyEncipherment" \
        "extendedKeyUsage=serverAuth" \
        "subjectAltName=IP:127.0.0.1,IP:10.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default.svc" \
        >"$dir/apiserver.ext"
    openssl x509 -req -in "$dir/apiserver.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" \
        -CAcreateserial -days 3650 -extfile "$dir/apiserver.ext" -out "$dir/apiserver.crt" 2>/dev/null
    openssl genrsa -out "$dir/sa.key" 2048 2>/dev/null
    openssl rsa -in "$dir/sa.key" -pubout -out "$dir/sa.pub" 2>/dev/null
    head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$dir/admin.token"
    echo "$(cat "$dir/admin.token"),lustrekit-admin,lustrekit-admin,system:masters" >"$dir/tokens.csv"
fi

log "etcd on 127.0.0.1:$etcd_port"
nohup etcd --name lustrekit-test --data-dir "$dir/etcd" \
    --listen-client-urls "http://127.0.0.1:$etcd_port" \
    --advertise-client-urls "http://127.0.0.1:$etcd_port" \
    --listen-peer-urls "http://127.0.0.1:$((etcd_port + 1))" \
    --initial-advertise-peer-urls "http://127.0.0.1:$((etcd_port + 1))" \
    --initial-cluster "lustrekit-test=http://127.0.0.1:$((etcd_port + 1))" \
    --quota-backend-bytes 1073741824 >"$dir/etcd.log" 2>&1 &
echo $! >"$dir/etcd.pid"

log "kube-apiserver on 127.0.0.1:$port ($apiserver)"
# --allow-privileged=true like the clusters the chart is for: the CSI node plugin
# (deploy/helm/lustrekit, csi.enabled) mounts, which needs a privileged container.
nohup "$apiserver" \
    --etcd-servers "http://127.0.0.1:$etcd_port" \
    --bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$port" \
    --tls-cert-file "$dir/apiserver.crt" --tls-private-key-file "$dir/apiserver.key" \
    --client-ca-file "$dir/ca.crt" \
    --token-auth-file "$dir/tokens.csv" --authorization-mode RBAC \
    --service-account-issuer https://kubernetes.default.svc \
    --service-account-key-file "$dir/sa.pub" \
    --service-account-signing-key-file "$dir/sa.key" \
    --service-cluster-ip-range 10.0.0.0/24 \
    --allow-privileged=true --profiling=false \
    --watch-cache=true --event-ttl 1h >"$dir/apiserver.log" 2>&1 &
echo $! >"$dir/apiserver.pid"

for _ in $(seq 120); do
    if ready; then break; fi
    if ! kill -0 "$(cat "$dir/apiserver.pid")" 2>/dev/null; then
        log "kube-apiserver exited; last lines of $dir/apiserver.log:"
        tail -n 20 "$dir/apiserver.log" >&2
        exit 1
    fi
    sleep 1
done
ready || { log "kube-apiserver not ready after 120 s (see $dir/apiserver.log)"; exit 1; }

cat >"$kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
  - name: lustrekit-test
    cluster:
      server: https://127.0.0.1:$port
      certificate-authority-data: $(base64 -w0 "$dir/ca.crt")
users:
  - name: lustrekit-admin
    user:
      token: $(cat "$dir/admin.token")
contexts:
  - name: lustrekit-test
    context: {cluster: lustrekit-test, user: lustrekit-admin, namespace: default}
current-context: lustrekit-test
EOF
chmod 600 "$kubeconfig"
log "ready; export KUBECONFIG=$kubeconfig"
echo "$kubeconfig"
