//! Integration tests of the operator against a real kube-apiserver + etcd (v1.20.2, built by
//! scripts/build-kube-apiserver.sh, started by scripts/start-kube-apiserver.sh), with KubeVirt's
//! types installed from deploy/kubevirt and a stand-in KubeVirt controller and agents
//! (fake_kubevirt.rs). Each test has its own namespace, operator and loopback network.

mod fake_kubevirt;
mod harness;
mod helm;
mod lifecycle;
mod replacement;
mod scaling;
mod storage_class;
