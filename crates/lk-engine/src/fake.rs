//! An in-memory [`Provider`]: it records networks, pools, volumes and domains (with their
//! state and owner), answers guest commands with success, and can be told to fail or to die
//! at provider call N. Built for tests (`cfg(test)` or the `fake` feature).
//!
//! Failure kinds, at call N (0-based, counted over every provider call):
//! - [`FaultKind::Error`]: the call returns an error and changes nothing;
//! - [`FaultKind::ErrorAfter`]: the call takes effect, then returns an error (a create that
//!   half-succeeded);
//! - [`FaultKind::Die`]: the call takes effect, then the process "dies": the fake raises a
//!   [`Died`] panic payload with `resume_unwind` (which skips the panic hook) and every later
//!   call of this fake does the same. No engine code runs after that point, so the ledger
//!   is left exactly as it was written and synced before the call — what kill -9 leaves.
//!   Rust's own stack unwinding still runs `Drop` impls; the engine has none with effects
//!   (its ledger only closes its file). The harness catches the payload with `catch_unwind`
//!   and then calls [`Fake::revive`], as a new process would start.

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use lk_plan::resources::{NetworkResource, PoolResource, VolumeResource};

use crate::provider::{
    DomainSpec, DomainState, ExecOutput, ObjectKind, Owned, Owner, Provider, ProviderError, Ready,
    ReadySpec, Watch,
};

/// How call N goes wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultKind {
    Error,
    ErrorAfter,
    Die,
}

impl FaultKind {
    pub const ALL: [FaultKind; 3] = [FaultKind::Error, FaultKind::ErrorAfter, FaultKind::Die];

    pub fn as_str(self) -> &'static str {
        match self {
            FaultKind::Error => "error",
            FaultKind::ErrorAfter => "error-after-effect",
            FaultKind::Die => "die",
        }
    }
}

/// The panic payload of a fake that died.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Died {
    pub call: usize,
}

/// The error an injected failure returns.
#[derive(Debug, thiserror::Error)]
#[error("injected failure at provider call {call} ({what})")]
pub struct Injected {
    pub call: usize,
    pub what: String,
}

/// A failure of the fake world itself (e.g. a lookup of a missing object).
#[derive(Debug, thiserror::Error)]
#[error("{what}: {message}")]
pub struct FakeError {
    pub what: String,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeDomain {
    pub owner: Option<Owner>,
    pub state: DomainState,
    /// MAC of each NIC.
    pub macs: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakePool {
    pub path: String,
    pub volumes: BTreeSet<String>,
}

/// Everything the fake holds; compared whole to check convergence.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct World {
    /// Network name → bridge.
    pub networks: BTreeMap<String, String>,
    pub pools: BTreeMap<String, FakePool>,
    pub domains: BTreeMap<String, FakeDomain>,
    /// Volumes whose pool was removed before them: files left on disk, still objects.
    pub orphans: BTreeSet<(String, String)>,
    /// DHCP reservations of the networks: MAC → address.
    pub leases: BTreeMap<String, Ipv4Addr>,
}

impl World {
    /// Number of objects in the world (orphaned volume files included).
    pub fn objects(&self) -> usize {
        self.networks.len()
            + self.pools.len()
            + self.pools.values().map(|p| p.volumes.len()).sum::<usize>()
            + self.domains.len()
            + self.orphans.len()
    }
}

#[derive(Default)]
struct State {
    world: World,
    calls: Vec<String>,
    fault: Option<(usize, FaultKind)>,
    dead: bool,
}

/// The in-memory provider.
#[derive(Default)]
pub struct Fake {
    state: Mutex<State>,
}

type R<T> = Result<T, ProviderError>;

fn fail(what: &str, message: impl Into<String>) -> ProviderError {
    ProviderError::Backend(Box::new(FakeError {
        what: what.into(),
        message: message.into(),
    }))
}

impl Fake {
    pub fn new() -> Fake {
        Fake::default()
    }

    /// A fake that goes wrong at call `at`.
    pub fn failing(at: usize, kind: FaultKind) -> Fake {
        let f = Fake::default();
        f.lock().fault = Some((at, kind));
        f
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A died fake poisons nothing (it drops the guard first); a test that panicked
        // while holding it has failed anyway.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The provider calls made so far, as `"<call> <object>"`.
    pub fn calls(&self) -> Vec<String> {
        self.lock().calls.clone()
    }

    pub fn world(&self) -> World {
        self.lock().world.clone()
    }

    pub fn died(&self) -> bool {
        self.lock().dead
    }

    /// As a new process after a crash: same world, no fault, alive.
    pub fn revive(&self) {
        let mut s = self.lock();
        s.dead = false;
        s.fault = None;
    }

    /// Adds an object lustrekit did not make (a network with a foreign bridge).
    pub fn add_foreign_network(&self, name: &str, bridge: &str) {
        self.lock()
            .world
            .networks
            .insert(name.into(), bridge.into());
    }

    /// Adds a domain with the given owner (`None`: no lustrekit metadata).
    pub fn add_domain(&self, name: &str, owner: Option<Owner>) {
        self.lock().world.domains.insert(
            name.into(),
            FakeDomain {
                owner,
                state: DomainState::Running,
                macs: Vec::new(),
            },
        );
    }

    /// Runs one provider call: counts it, applies the fault planned for it, else `effect`.
    fn call<T>(&self, what: String, effect: impl FnOnce(&mut World) -> R<T>) -> R<T> {
        let mut s = self.lock();
        let n = s.calls.len();
        if s.dead {
            drop(s);
            std::panic::resume_unwind(Box::new(Died { call: n }));
        }
        s.calls.push(what.clone());
        let injected = || ProviderError::Backend(Box::new(Injected { call: n, what }));
        match s.fault {
            Some((at, kind)) if at == n => match kind {
                FaultKind::Error => Err(injected()),
                FaultKind::ErrorAfter => {
                    let _ = effect(&mut s.world);
                    Err(injected())
                }
                FaultKind::Die => {
                    let _ = effect(&mut s.world);
                    s.dead = true;
                    drop(s);
                    std::panic::resume_unwind(Box::new(Died { call: n }))
                }
            },
            _ => effect(&mut s.world),
        }
    }
}

fn foreign(kind: ObjectKind, name: &str, owner: &str) -> ProviderError {
    ProviderError::Foreign {
        kind,
        name: name.into(),
        owner: owner.into(),
    }
}

fn running(w: &World, domain: &str) -> R<()> {
    match w.domains.get(domain).map(|d| d.state) {
        Some(DomainState::Running) => Ok(()),
        Some(s) => Err(fail(domain, format!("guest agent: domain is {s}"))),
        None => Err(fail(domain, "no such domain")),
    }
}

impl Provider for Fake {
    fn ensure_network(&self, n: &NetworkResource) -> R<bool> {
        self.call(format!("ensure_network {}", n.name), |w| {
            let created = match w.networks.get(&n.name) {
                Some(b) if *b == n.bridge => false,
                Some(_) => return Err(foreign(ObjectKind::Network, &n.name, "not lustrekit's")),
                None => {
                    w.networks.insert(n.name.clone(), n.bridge.clone());
                    true
                }
            };
            for h in &n.hosts {
                w.leases.insert(h.mac.to_ascii_lowercase(), h.address);
            }
            Ok(created)
        })
    }

    fn remove_network(&self, name: &str) -> R<()> {
        self.call(format!("remove_network {name}"), |w| {
            match w.networks.get(name) {
                Some(b) if *b != lk_plan::build::bridge_name(name) => {
                    return Err(foreign(ObjectKind::Network, name, "not lustrekit's"))
                }
                _ => {}
            }
            w.networks.remove(name);
            Ok(())
        })
    }

    fn ensure_pool(&self, p: &PoolResource) -> R<bool> {
        self.call(format!("ensure_pool {}", p.name), |w| {
            match w.pools.get(&p.name) {
                Some(have) if have.path == p.path => Ok(false),
                Some(have) => Err(foreign(
                    ObjectKind::Pool,
                    &p.name,
                    &format!("its directory is {}", have.path),
                )),
                None => {
                    let pool = FakePool {
                        path: p.path.clone(),
                        volumes: BTreeSet::new(),
                    };
                    w.pools.insert(p.name.clone(), pool);
                    Ok(true)
                }
            }
        })
    }

    fn remove_pool(&self, name: &str) -> R<()> {
        self.call(format!("remove_pool {name}"), |w| {
            if let Some(p) = w.pools.remove(name) {
                // libvirt undefines a pool whose directory is not empty; the files stay.
                for v in p.volumes {
                    w.orphans.insert((name.to_string(), v));
                }
            }
            Ok(())
        })
    }

    fn ensure_volume(&self, pool: &str, v: &VolumeResource) -> R<bool> {
        self.call(format!("ensure_volume {pool}/{}", v.name), |w| {
            let Some(p) = w.pools.get_mut(pool) else {
                return Err(fail(pool, "no such storage pool"));
            };
            Ok(p.volumes.insert(v.name.clone()))
        })
    }

    fn remove_volume(&self, pool: &str, name: &str) -> R<()> {
        self.call(format!("remove_volume {pool}/{name}"), |w| {
            if let Some(p) = w.pools.get_mut(pool) {
                p.volumes.remove(name);
            }
            Ok(())
        })
    }

    fn ensure_domain(&self, spec: &DomainSpec<'_>) -> R<bool> {
        let d = spec.domain;
        self.call(format!("ensure_domain {}", d.name), |w| {
            if let Some(have) = w.domains.get(&d.name) {
                match &have.owner {
                    Some(o) if o.cluster == spec.owner.cluster => {}
                    Some(o) => {
                        let owner = format!("lustrekit cluster `{}`", o.cluster);
                        return Err(foreign(ObjectKind::Domain, &d.name, &owner));
                    }
                    None => return Err(foreign(ObjectKind::Domain, &d.name, "no lustrekit tag")),
                }
                if have.state == DomainState::Running {
                    return Ok(false);
                }
            }
            for disk in &d.disks {
                let present = w
                    .pools
                    .values()
                    .any(|p| p.path == spec.pool_path && p.volumes.contains(&disk.volume));
                if !present {
                    return Err(fail(
                        &d.name,
                        format!("disk {} does not exist", disk.volume),
                    ));
                }
            }
            let dom = FakeDomain {
                owner: Some(spec.owner.clone()),
                state: DomainState::Running,
                macs: d.nics.iter().map(|n| n.mac.to_ascii_lowercase()).collect(),
            };
            w.domains.insert(d.name.clone(), dom);
            Ok(true)
        })
    }

    fn remove_domain(&self, name: &str) -> R<()> {
        self.call(format!("remove_domain {name}"), |w| {
            w.domains.remove(name);
            Ok(())
        })
    }

    fn power_off(&self, name: &str) -> R<()> {
        self.call(format!("power_off {name}"), |w| {
            match w.domains.get_mut(name) {
                Some(d) => {
                    d.state = DomainState::ShutOff;
                    Ok(())
                }
                None => Err(fail(name, "no such domain")),
            }
        })
    }

    fn domain_state(&self, name: &str) -> R<Option<DomainState>> {
        self.call(format!("domain_state {name}"), |w| {
            Ok(w.domains.get(name).map(|d| d.state))
        })
    }

    fn leased_address(&self, domain: &str, mac: &str) -> R<Option<Ipv4Addr>> {
        self.call(format!("leased_address {domain}"), |w| {
            running(w, domain)?;
            Ok(w.leases.get(&mac.to_ascii_lowercase()).copied())
        })
    }

    fn exec(&self, domain: &str, argv: &[&str], _: Duration, watch: Watch<'_>) -> R<ExecOutput> {
        self.call(format!("exec {domain}"), |w| {
            running(w, domain)?;
            if (watch.cancelled)() {
                return Err(ProviderError::Cancelled {
                    domain: domain.into(),
                    waiting_for: format!("guest command {:?}", argv.join(" ")),
                });
            }
            Ok(ExecOutput {
                exit_code: 0,
                stdout: format!("[{domain}] result: ok\n"),
                stderr: String::new(),
            })
        })
    }

    fn wait_ready(&self, spec: &ReadySpec<'_>, _: Watch<'_>) -> R<Ready> {
        let d = spec.domain;
        self.call(format!("wait_ready {}", d.name), |w| {
            running(w, &d.name)?;
            let address = match d.nics.first() {
                Some(nic) => w
                    .leases
                    .get(&nic.mac.to_ascii_lowercase())
                    .copied()
                    .ok_or_else(|| fail(&d.name, format!("no lease for {}", nic.mac)))?,
                None => Ipv4Addr::UNSPECIFIED,
            };
            Ok(Ready {
                node: d.node.clone(),
                address,
                agent_after: Duration::ZERO,
                lease_after: Duration::ZERO,
                shared_after: Duration::ZERO,
            })
        })
    }

    fn owned(&self, cluster: &str, pool_dir: &str) -> R<Owned> {
        self.call(format!("owned {cluster}"), |w| {
            Ok(owned_in(w, cluster, pool_dir))
        })
    }
}

/// The same ownership rules as the libvirt provider: domains by owner metadata, networks by
/// `<cluster>-<lnet>` name plus lustrekit's bridge, the pool named after the cluster in its
/// directory, and the volumes in it.
fn owned_in(w: &World, cluster: &str, pool_dir: &str) -> Owned {
    let mut out = Owned::default();
    for (name, d) in &w.domains {
        if let Some(o) = d.owner.as_ref().filter(|o| o.cluster == cluster) {
            out.domains.push((name.clone(), o.run.clone()));
        }
    }
    let prefix = format!("{cluster}-");
    for (name, bridge) in &w.networks {
        let lnet = name.strip_prefix(&prefix).unwrap_or("");
        if !lnet.is_empty() && !lnet.contains('-') && *bridge == lk_plan::build::bridge_name(name) {
            out.networks.push(name.clone());
        }
    }
    for (name, p) in &w.pools {
        if name == cluster && p.path.trim_end_matches('/') == pool_dir.trim_end_matches('/') {
            out.volumes
                .extend(p.volumes.iter().map(|v| (name.clone(), v.clone())));
            out.pools.push(name.clone());
        }
    }
    out
}

/// Points `plan`'s host inputs (base image, kernel and initrd, shared-folder imports) at
/// stand-in files made under `dir`, so that input checks and the shared folder's imports find
/// real files when the world is this fake.
pub fn stand_in_inputs(plan: &mut lk_plan::Plan, dir: &std::path::Path) -> std::io::Result<()> {
    use lk_plan::resources::ImportKind;
    fn write(p: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
        if let Some(d) = p.parent() {
            std::fs::create_dir_all(d)?;
        }
        std::fs::write(p, bytes)
    }
    let file = |name: &str| -> std::io::Result<String> {
        let p = dir.join(name);
        write(&p, b"stand-in")?;
        Ok(p.to_string_lossy().into_owned())
    };
    let r = &mut plan.resources;
    for v in r.volumes.iter_mut().filter(|v| v.backing.is_some()) {
        v.backing = Some(file("base.qcow2")?);
    }
    for k in r.domains.iter_mut().filter_map(|d| d.kernel.as_mut()) {
        k.kernel = file("vmlinuz")?;
        if k.initrd.is_some() {
            k.initrd = Some(file("initrd.img")?);
        }
    }
    for (i, imp) in r.shared.imports.iter_mut().enumerate() {
        let from = dir.join(format!("import{i}"));
        match imp.kind {
            ImportKind::File => write(&from, b"tarball")?,
            ImportKind::Packages => write(&from.join("lustre.deb"), b"deb")?,
            ImportKind::Repository => {
                write(&from.join("lustre.deb"), b"deb")?;
                write(&from.join("Packages"), b"index")?;
            }
            ImportKind::Tree => write(&from.join("autogen.sh"), b"#!/bin/sh\n")?,
        }
        imp.from = from.to_string_lossy().into_owned();
    }
    Ok(())
}
