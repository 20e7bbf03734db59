//! Per-node cloud-init NoCloud data, in a Secret (it carries the agent token):
//! - `userdata`: unique machine-id and a ZFS hostid derived from the node name (stable across
//!   replacements, distinct between nodes), the planner's per-node scripts under
//!   `/var/lib/lustrekit/plan/` (for people and for a manual run; the operator sends the current
//!   script of each phase to the agent), and the agent as a systemd service;
//! - `networkdata`: static addresses on the LNet interfaces (matched by the planner's MACs and
//!   named `eth0`, `eth1`, ... as the scripts expect), DHCP on the pod network, which comes last.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::ByteString;
use lk_model::defaults::fnv1a;
use lk_plan::resources::DomainResource;
use serde_json::{json, Value};

use super::Meta;
use crate::error::{OperatorError, Result};
use crate::names;
use crate::validate::Validated;

/// Where the planner's scripts land in the guest.
pub const GUEST_PLAN_DIR: &str = "/var/lib/lustrekit/plan";
pub const GUEST_AGENT_DIR: &str = "/var/lib/lustrekit/agent";
pub const GUEST_TOKEN_FILE: &str = "/etc/lustrekit/agent-token";

/// MAC of the pod-network interface: fixed per node so network data can match it.
pub fn pod_mac(cluster: &str, node: &str) -> String {
    let h = fnv1a(format!("{cluster}/{node}/pod").as_bytes()) & 0x00ff_ffff;
    format!(
        "52:54:01:{:02x}:{:02x}:{:02x}",
        h >> 16,
        (h >> 8) & 0xff,
        h & 0xff
    )
}

pub fn hostid(cluster: &str, node: &str) -> String {
    format!(
        "{:08x}",
        fnv1a(format!("{cluster}/{node}/hostid").as_bytes())
    )
}

fn yaml(what: &'static str, v: &Value) -> Result<String> {
    serde_yaml_ng::to_string(v).map_err(|e| OperatorError::Serialize {
        what,
        source: serde_json::Error::io(std::io::Error::other(e.to_string())),
    })
}

pub fn user_data(
    cluster: &str,
    v: &Validated,
    domain: &DomainResource,
    token: &str,
    agent_port: u16,
) -> Result<String> {
    let node = &domain.node;
    let prefix = format!("scripts/{node}/");
    let mut files = vec![
        json!({"path": GUEST_TOKEN_FILE, "permissions": "0600", "content": token}),
        json!({
            "path": "/etc/systemd/system/lustrekit-agent.service",
            "permissions": "0644",
            "content": format!(
                "[Unit]\nDescription=lustrekit agent (Lustre health, operator phases)\nAfter=network-online.target\nWants=network-online.target\n\n[Service]\nExecStart=/usr/local/bin/lustrekit agent --listen 0.0.0.0:{agent_port} --node {node} --state-dir {GUEST_AGENT_DIR} --token-file {GUEST_TOKEN_FILE}\nRestart=always\nRestartSec=2\n\n[Install]\nWantedBy=multi-user.target\n"
            ),
        }),
    ];
    for (path, body) in v.plan.files.iter().filter(|(p, _)| p.starts_with(&prefix)) {
        let file = path.trim_start_matches(&prefix);
        files.push(json!({
            "path": format!("{GUEST_PLAN_DIR}/{file}"),
            "permissions": "0755",
            "content": body,
        }));
    }
    let doc = json!({
        "hostname": node,
        "bootcmd": [
            ["cloud-init-per", "instance", "machine-id", "sh", "-c",
             "rm -f /etc/machine-id && systemd-machine-id-setup"],
            ["sh", "-c", format!(
                "if command -v zgenhostid >/dev/null; then zgenhostid -f {}; fi",
                hostid(cluster, node)
            )],
        ],
        "write_files": files,
        "runcmd": [
            ["systemctl", "daemon-reload"],
            ["systemctl", "enable", "--now", "lustrekit-agent.service"],
        ],
    });
    Ok(format!(
        "#cloud-config\n{}",
        yaml("cloud-init user data", &doc)?
    ))
}

pub fn network_data(cluster: &str, v: &Validated, domain: &DomainResource) -> Result<String> {
    let mut ethernets = serde_json::Map::new();
    for nic in &domain.nics {
        let prefix = v
            .topology
            .network(&nic.lnet)
            .map(|n| n.cidr.prefix)
            .unwrap_or(24);
        ethernets.insert(
            nic.guest_interface.clone(),
            json!({
                "match": {"macaddress": nic.mac},
                "set-name": nic.guest_interface,
                "addresses": [format!("{}/{prefix}", nic.address)],
            }),
        );
    }
    let pod_if = format!("eth{}", domain.nics.len());
    ethernets.insert(
        pod_if.clone(),
        json!({
            "match": {"macaddress": pod_mac(cluster, &domain.node)},
            "set-name": pod_if,
            "dhcp4": true,
        }),
    );
    yaml(
        "cloud-init network data",
        &json!({"version": 2, "ethernets": ethernets}),
    )
}

pub(crate) fn build(
    meta: &Meta,
    v: &Validated,
    domain: &DomainResource,
    token: &str,
    agent_port: u16,
) -> Result<Secret> {
    Ok(Secret {
        metadata: ObjectMeta {
            name: Some(names::cloud_init_secret(&meta.cluster, &domain.node)),
            namespace: Some(meta.namespace.clone()),
            labels: Some(meta.labels(&[(names::LABEL_NODE, &domain.node)])),
            owner_references: Some(vec![meta.owner.clone()]),
            ..Default::default()
        },
        data: Some(BTreeMap::from([
            (
                "userdata".to_string(),
                ByteString(user_data(&meta.cluster, v, domain, token, agent_port)?.into_bytes()),
            ),
            (
                "networkdata".to_string(),
                ByteString(network_data(&meta.cluster, v, domain)?.into_bytes()),
            ),
        ])),
        type_: Some("Opaque".into()),
        ..Default::default()
    })
}
