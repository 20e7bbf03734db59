//! Stand-ins for what no API server provides here: KubeVirt's controller (a running
//! VirtualMachine gets an instance; a halted one loses it; an instance without its VM goes)
//! and, inside each "VM", the real lustrekit agent HTTP server (lk-agent) on a loopback address,
//! with a stand-in executor (records each phase instead of running bash) and a stand-in lctl
//! whose output follows the phases run: targets appear in `lctl dl` once mounted, and
//! recovery_status says RECOVERING for a while after a replacement mounts them.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, PostParams};
use kube::{Client, Resource as _};
use lk_agent::probe::Probe;
use lk_agent::runner::{Executor, Runner};
use lk_agent::server::{self, AgentState};
use lk_agent::AgentError;
use lk_operator::kubevirt::{vm_resource, vmi_resource};
use lk_operator::LustreCluster;
use serde_json::json;

/// Every phase any agent ran: (node, phase), in order.
pub type PhaseLog = Arc<Mutex<Vec<(String, String)>>>;

struct Targets {
    /// (label, kind) served by the node as primary.
    all: Vec<(String, String)>,
    mounted: BTreeSet<String>,
    recovering_until: Option<Instant>,
    installed: bool,
}

struct FakeExec {
    node: String,
    log: PhaseLog,
    targets: Arc<Mutex<Targets>>,
    recovery: Duration,
}

impl Executor for FakeExec {
    fn execute(&self, phase: &str, _script: &Path, _log: &Path) -> (Option<i32>, String) {
        std::thread::sleep(Duration::from_millis(30));
        if let Ok(mut l) = self.log.lock() {
            l.push((self.node.clone(), phase.to_string()));
        }
        if let Ok(mut t) = self.targets.lock() {
            let kind = match phase {
                "install" => {
                    t.installed = true;
                    None
                }
                "mount-mgs" => Some("mgt"),
                "mount-mdt" => Some("mdt"),
                "mount-ost" => Some("ost"),
                _ => None,
            };
            if let Some(kind) = kind {
                let labels: Vec<String> = t
                    .all
                    .iter()
                    .filter(|(_, k)| k == kind)
                    .map(|(l, _)| l.clone())
                    .collect();
                t.mounted.extend(labels);
                if !self.recovery.is_zero() && kind != "mgt" {
                    t.recovering_until = Some(Instant::now() + self.recovery);
                }
            }
            if phase.starts_with("drain-ost") && phase.ends_with("-umount") {
                t.mounted.retain(|l| !l.contains("-OST"));
            }
        }
        (Some(0), format!("{phase}: done\n"))
    }
}

struct FakeLctl {
    targets: Arc<Mutex<Targets>>,
}

impl Probe for FakeLctl {
    fn lctl(&self, args: &[&str]) -> Result<Vec<u8>, AgentError> {
        let t = self
            .targets
            .lock()
            .map_err(|_| AgentError::PhaseName("lock".into()))?;
        if !t.installed {
            return Err(AgentError::Command {
                command: format!("lctl {}", args.join(" ")),
                status: "exit status: 127".into(),
                stderr: "lctl: command not found".into(),
            });
        }
        let mounted: Vec<&(String, String)> = t
            .all
            .iter()
            .filter(|(l, _)| t.mounted.contains(l))
            .collect();
        let recovering = t.recovering_until.is_some_and(|u| Instant::now() < u);
        let out = match args {
            ["dl"] => {
                let mut s = String::new();
                for (i, (label, kind)) in mounted.iter().enumerate() {
                    let (ty, name, uuid) = match kind.as_str() {
                        "mgt" => ("mgs", "MGS".to_string(), "MGS".to_string()),
                        "mdt" => ("mdt", label.clone(), format!("{label}_UUID")),
                        _ => ("obdfilter", label.clone(), format!("{label}_UUID")),
                    };
                    s.push_str(&format!(
                        "{:3} UP osd-zfs {name}-osd {name}-osd_UUID 4\n",
                        2 * i
                    ));
                    s.push_str(&format!("{:3} UP {ty} {name} {uuid} 6\n", 2 * i + 1));
                }
                s
            }
            ["get_param", "health_check"] => "health_check=healthy\n".into(),
            ["get_param", param] => {
                let (prefix, kind) = if param.starts_with("obdfilter") {
                    ("obdfilter", "ost")
                } else {
                    ("mdt", "mdt")
                };
                let blocks: Vec<String> = mounted
                    .iter()
                    .filter(|(_, k)| k == kind)
                    .map(|(label, _)| {
                        if recovering && kind == "ost" {
                            format!("{prefix}.{label}.recovery_status=\nstatus: RECOVERING\nrecovery_start: 1700000000\ntime_remaining: 60\nconnected_clients: 0/1\n")
                        } else {
                            format!("{prefix}.{label}.recovery_status=\nstatus: COMPLETE\nrecovery_start: 1700000000\nrecovery_duration: 5\ncompleted_clients: 1/1\n")
                        }
                    })
                    .collect();
                if blocks.is_empty() {
                    return Err(AgentError::Command {
                        command: format!("lctl get_param {param}"),
                        status: "exit status: 2".into(),
                        stderr: format!(
                            "error: get_param: param_path '{param}': No such file or directory"
                        ),
                    });
                }
                blocks.concat()
            }
            _ => String::new(),
        };
        Ok(out.into_bytes())
    }
}

struct Instance {
    vmi_uid: String,
    task: tokio::task::JoinHandle<()>,
    _dir: tempfile::TempDir,
}

pub struct FakeKubevirt {
    pub log: PhaseLog,
    /// Nodes whose agent is stopped on purpose (the VM keeps running).
    pub silenced: Arc<Mutex<BTreeSet<String>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeKubevirt {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakeKubevirt {
    /// Starts the fake controller for `ns`; agents listen on 127.`net`.0.N:`port`.
    pub fn start(client: Client, ns: &str, net: u8, port: u16) -> FakeKubevirt {
        let log: PhaseLog = Arc::default();
        let silenced: Arc<Mutex<BTreeSet<String>>> = Arc::default();
        let state = Loop {
            client,
            ns: ns.to_string(),
            net,
            port,
            log: log.clone(),
            silenced: silenced.clone(),
            instances: BTreeMap::new(),
            ips: BTreeMap::new(),
            seen: BTreeSet::new(),
        };
        let task = tokio::spawn(state.run());
        FakeKubevirt {
            log,
            silenced,
            task,
        }
    }

    pub fn phases_of(&self, node: &str) -> Vec<String> {
        self.log
            .lock()
            .map(|l| {
                l.iter()
                    .filter(|(n, _)| n == node)
                    .map(|(_, p)| p.clone())
                    .collect()
            })
            .unwrap_or_default()
    }

    pub fn all_phases(&self) -> Vec<(String, String)> {
        self.log.lock().map(|l| l.clone()).unwrap_or_default()
    }
}

struct Loop {
    client: Client,
    ns: String,
    net: u8,
    port: u16,
    log: PhaseLog,
    silenced: Arc<Mutex<BTreeSet<String>>>,
    /// node -> its agent
    instances: BTreeMap<String, Instance>,
    ips: BTreeMap<String, Ipv4Addr>,
    /// Nodes that had an instance before: a new one is a replacement (targets recover).
    seen: BTreeSet<String>,
}

fn label(o: &DynamicObject, key: &str) -> Option<String> {
    o.metadata.labels.as_ref()?.get(key).cloned()
}

impl Loop {
    async fn run(mut self) {
        loop {
            let _ = self.step().await;
            tokio::time::sleep(Duration::from_millis(150)).await;
        }
    }

    async fn step(&mut self) -> Result<(), kube::Error> {
        let vms: Api<DynamicObject> =
            Api::namespaced_with(self.client.clone(), &self.ns, &vm_resource());
        let vmis: Api<DynamicObject> =
            Api::namespaced_with(self.client.clone(), &self.ns, &vmi_resource());
        let vm_list = vms.list(&ListParams::default()).await?.items;
        let vmi_list = vmis.list(&ListParams::default()).await?.items;
        let vm_names: BTreeSet<String> = vm_list
            .iter()
            .filter_map(|v| v.metadata.name.clone())
            .collect();
        // Instances whose VM is gone stop (KubeVirt's VM controller does this).
        for vmi in &vmi_list {
            let name = vmi.metadata.name.clone().unwrap_or_default();
            if !vm_names.contains(&name) && vmi.metadata.deletion_timestamp.is_none() {
                vmis.delete(&name, &DeleteParams::default()).await?;
            }
        }
        for vm in &vm_list {
            let name = vm.metadata.name.clone().unwrap_or_default();
            let Some(node) = label(vm, lk_operator::names::LABEL_NODE) else {
                continue;
            };
            let strategy = vm.data["spec"]["runStrategy"]
                .as_str()
                .unwrap_or("Always")
                .to_string();
            let vmi = vmi_list
                .iter()
                .find(|i| i.metadata.name.as_deref() == Some(name.as_str()));
            match (strategy.as_str(), vmi) {
                ("Always", None) if vm.metadata.deletion_timestamp.is_none() => {
                    self.boot(vm, &node).await?;
                }
                ("Halted", Some(_)) => {
                    vmis.delete(&name, &DeleteParams::default()).await?;
                }
                _ => {}
            }
        }
        // Agents of instances that are gone are powered off with them.
        let live: BTreeSet<String> = vmis
            .list(&ListParams::default())
            .await?
            .items
            .iter()
            .filter_map(|i| i.metadata.uid.clone())
            .collect();
        let silenced = self.silenced.lock().map(|s| s.clone()).unwrap_or_default();
        self.instances.retain(|node, inst| {
            let keep = live.contains(&inst.vmi_uid) && !silenced.contains(node);
            if !keep {
                inst.task.abort();
            }
            keep
        });
        Ok(())
    }

    async fn boot(&mut self, vm: &DynamicObject, node: &str) -> Result<(), kube::Error> {
        let name = vm.metadata.name.clone().unwrap_or_default();
        let cluster = label(vm, lk_operator::names::LABEL_CLUSTER).unwrap_or_default();
        let next = 10 + self.ips.len() as u8;
        let ip = *self
            .ips
            .entry(node.to_string())
            .or_insert(Ipv4Addr::new(127, self.net, 0, next));
        if let Some(old) = self.instances.remove(node) {
            old.task.abort();
        }
        // Targets this node serves, from the cluster's own spec.
        let lcs: Api<LustreCluster> = Api::namespaced(self.client.clone(), &self.ns);
        let lc = lcs.get(&cluster).await?;
        let all = match lk_operator::validate::validate(&lc) {
            Ok(v) => v
                .topology
                .targets()
                .filter(|t| t.node == node)
                .map(|t| {
                    (
                        v.topology.target_name(t).label(),
                        t.kind.as_str().to_string(),
                    )
                })
                .collect(),
            Err(_) => Vec::new(),
        };
        let secrets: Api<Secret> = Api::namespaced(self.client.clone(), &self.ns);
        let token = secrets
            .get(&lk_operator::names::token_secret(&cluster))
            .await
            .ok()
            .and_then(|s| s.data)
            .and_then(|d| d.get("token").cloned())
            .and_then(|b| String::from_utf8(b.0).ok());

        let template = &vm.data["spec"]["template"];
        let mut vmi = DynamicObject::new(&name, &vmi_resource()).within(&self.ns);
        vmi.metadata.labels = serde_json::from_value(template["metadata"]["labels"].clone()).ok();
        vmi.metadata.owner_references = vm.controller_owner_ref(&vm_resource()).map(|o| vec![o]);
        vmi.data = json!({
            "spec": template["spec"].clone(),
            "status": {
                "phase": "Running",
                "interfaces": [{"name": "pod", "ipAddress": ip.to_string()}],
            },
        });
        let vmis: Api<DynamicObject> =
            Api::namespaced_with(self.client.clone(), &self.ns, &vmi_resource());
        let created = vmis.create(&PostParams::default(), &vmi).await?;

        let recovery = if self.seen.contains(node) {
            Duration::from_secs(2)
        } else {
            Duration::ZERO
        };
        self.seen.insert(node.to_string());
        let targets = Arc::new(Mutex::new(Targets {
            all,
            mounted: BTreeSet::new(),
            recovering_until: None,
            installed: false,
        }));
        let dir = tempfile::tempdir().expect("agent dir");
        let runner = Runner::open(
            dir.path(),
            Arc::new(FakeExec {
                node: node.to_string(),
                log: self.log.clone(),
                targets: targets.clone(),
                recovery,
            }),
        )
        .expect("runner");
        let state = Arc::new(AgentState {
            node: node.to_string(),
            token,
            probe: Arc::new(FakeLctl { targets }),
            runner,
        });
        let listener = server::bind(SocketAddr::from((ip, self.port)))
            .await
            .expect("bind fake agent");
        let task = tokio::spawn(server::serve(listener, state));
        self.instances.insert(
            node.to_string(),
            Instance {
                vmi_uid: created.metadata.uid.clone().unwrap_or_default(),
                task,
                _dir: dir,
            },
        );
        Ok(())
    }
}
