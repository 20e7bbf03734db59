//! The libvirt client: every call to libvirt goes through here. Each operation is idempotent
//! ("ensure" to create, "remove" to delete: already gone is success) and refuses to touch an
//! object with lustrekit's name that lustrekit does not own.

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use base64::Engine as _;
use lk_plan::resources::{DomainResource, NetworkResource, PoolResource, VolumeResource};
use virt::connect::Connect;
use virt::domain::Domain;
use virt::network::Network;
use virt::storage_vol::StorageVol;
use virt::sys;

use crate::error::{is_no_such, Error, Kind};
use crate::xml::{self, Owner, LK_NS};
pub use lk_engine::provider::{DomainState, ExecOutput, Owned, Ready, Watch};

/// Default connection URI.
pub const DEFAULT_URI: &str = "qemu:///system";

/// A connection to one libvirt daemon.
pub struct Libvirt {
    conn: Connect,
    uri: String,
}

impl Libvirt {
    /// Opens `uri` (`qemu:///system`, `qemu+ssh://host/system`, `test:///default`).
    pub fn connect(uri: &str) -> Result<Libvirt, Error> {
        // libvirt prints every error to stderr by default; errors are returned instead.
        virt::error::clear_error_callback();
        let conn = Connect::open(Some(uri)).map_err(|source| Error::Connect {
            uri: uri.to_string(),
            source,
        })?;
        Ok(Libvirt {
            conn,
            uri: uri.to_string(),
        })
    }

    pub fn uri(&self) -> &str {
        &self.uri
    }

    // ---- networks ----------------------------------------------------------------------

    /// Networks cannot carry metadata in libvirt 9.0, so ownership is the name together with
    /// the bridge lustrekit derives from it (`lk` + 8 hex digits).
    fn network_is_ours(&self, net: &Network) -> bool {
        let Ok(xml) = net.xml_desc(0) else {
            return false;
        };
        let Ok(name) = net.name() else { return false };
        let bridge = xml_attr(&xml, "bridge", "name").unwrap_or_default();
        bridge == lk_bridge_name(&name)
    }

    /// Creates (defines and starts) the network, or adopts an existing one that is ours.
    /// Returns true when it created it.
    pub fn ensure_network(&self, n: &NetworkResource) -> Result<bool, Error> {
        match self.conn.lookup_network_by_name(&n.name) {
            Ok(net) => {
                if !self.network_is_ours(&net) {
                    return Err(Error::Foreign {
                        kind: Kind::Network,
                        name: n.name.clone(),
                        owner: "not created by lustrekit".into(),
                    });
                }
                if !net
                    .is_active()
                    .map_err(Error::call(Kind::Network, &n.name, "is_active"))?
                {
                    net.create()
                        .map_err(Error::call(Kind::Network, &n.name, "create"))?;
                }
                Ok(false)
            }
            Err(e) if is_no_such(&e) => {
                let net = self
                    .conn
                    .define_network_xml(&xml::network_xml(n))
                    .map_err(Error::call(Kind::Network, &n.name, "define"))?;
                if let Err(e) = net.create() {
                    let _ = net.undefine();
                    return Err(Error::call(Kind::Network, &n.name, "start")(e));
                }
                Ok(true)
            }
            Err(e) => Err(Error::call(Kind::Network, &n.name, "lookup")(e)),
        }
    }

    /// Stops and undefines a network; gone already is fine. Refuses foreign networks.
    pub fn remove_network(&self, name: &str) -> Result<(), Error> {
        let net = match self.conn.lookup_network_by_name(name) {
            Ok(n) => n,
            Err(e) if is_no_such(&e) => return Ok(()),
            Err(e) => return Err(Error::call(Kind::Network, name, "lookup")(e)),
        };
        if !self.network_is_ours(&net) {
            return Err(Error::Foreign {
                kind: Kind::Network,
                name: name.into(),
                owner: "not created by lustrekit".into(),
            });
        }
        if net.is_active().unwrap_or(false) {
            ignore_gone(net.destroy(), Kind::Network, name, "destroy")?;
        }
        if net.is_persistent().unwrap_or(false) {
            ignore_gone(net.undefine(), Kind::Network, name, "undefine")?;
        }
        Ok(())
    }

    // ---- pools and volumes -------------------------------------------------------------

    /// Creates the `dir` pool (its directory too), or adopts ours. Returns true if created.
    pub fn ensure_pool(&self, p: &PoolResource) -> Result<bool, Error> {
        match self.conn.lookup_storage_pool_by_name(&p.name) {
            Ok(pool) => {
                let path = xml_text(&pool.xml_desc(0).unwrap_or_default(), "path");
                if path.as_deref() != Some(p.path.as_str()) {
                    return Err(Error::Foreign {
                        kind: Kind::Pool,
                        name: p.name.clone(),
                        owner: format!("its directory is {}", path.unwrap_or_default()),
                    });
                }
                if !pool
                    .is_active()
                    .map_err(Error::call(Kind::Pool, &p.name, "is_active"))?
                {
                    pool.create(0)
                        .map_err(Error::call(Kind::Pool, &p.name, "start"))?;
                }
                Ok(false)
            }
            Err(e) if is_no_such(&e) => {
                let pool = self
                    .conn
                    .define_storage_pool_xml(&xml::pool_xml(p), 0)
                    .map_err(Error::call(Kind::Pool, &p.name, "define"))?;
                let started = pool.build(0).and_then(|_| pool.create(0));
                if let Err(e) = started {
                    let _ = pool.undefine();
                    return Err(Error::call(Kind::Pool, &p.name, "build/start")(e));
                }
                Ok(true)
            }
            Err(e) => Err(Error::call(Kind::Pool, &p.name, "lookup")(e)),
        }
    }

    /// Stops, deletes (its directory, which must be empty) and undefines a pool.
    pub fn remove_pool(&self, name: &str) -> Result<(), Error> {
        let pool = match self.conn.lookup_storage_pool_by_name(name) {
            Ok(p) => p,
            Err(e) if is_no_such(&e) => return Ok(()),
            Err(e) => return Err(Error::call(Kind::Pool, name, "lookup")(e)),
        };
        if pool.is_active().unwrap_or(false) {
            ignore_gone(pool.destroy(), Kind::Pool, name, "destroy")?;
        }
        // Removing the directory is best effort: leftover files are reported by the caller.
        let _ = pool.delete(0);
        if pool.is_persistent().unwrap_or(false) {
            ignore_gone(pool.undefine(), Kind::Pool, name, "undefine")?;
        }
        Ok(())
    }

    /// Creates a volume in `pool`, or adopts an existing one with the same name (volumes are
    /// named after the cluster). Returns true if created.
    pub fn ensure_volume(&self, pool: &str, v: &VolumeResource) -> Result<bool, Error> {
        let p = self
            .conn
            .lookup_storage_pool_by_name(pool)
            .map_err(Error::call(Kind::Pool, pool, "lookup"))?;
        let _ = p.refresh(0);
        match p.lookup_storage_vol_by_name(&v.name) {
            Ok(_) => Ok(false),
            Err(e) if is_no_such(&e) => {
                StorageVol::create_xml(&p, &xml::volume_xml(v), 0).map_err(Error::call(
                    Kind::Volume,
                    &v.name,
                    "create",
                ))?;
                Ok(true)
            }
            Err(e) => Err(Error::call(Kind::Volume, &v.name, "lookup")(e)),
        }
    }

    pub fn remove_volume(&self, pool: &str, name: &str) -> Result<(), Error> {
        let p = match self.conn.lookup_storage_pool_by_name(pool) {
            Ok(p) => p,
            Err(e) if is_no_such(&e) => return Ok(()),
            Err(e) => return Err(Error::call(Kind::Pool, pool, "lookup")(e)),
        };
        let _ = p.refresh(0);
        match p.lookup_storage_vol_by_name(name) {
            Ok(v) => ignore_gone(v.delete(0), Kind::Volume, name, "delete"),
            Err(e) if is_no_such(&e) => Ok(()),
            Err(e) => Err(Error::call(Kind::Volume, name, "lookup")(e)),
        }
    }

    // ---- domains -----------------------------------------------------------------------

    /// The owner tag of a domain, if it has lustrekit's.
    pub fn domain_owner(&self, name: &str) -> Result<Option<Owner>, Error> {
        let d = self.conn.lookup_domain_by_name(name).map_err(Error::call(
            Kind::Domain,
            name,
            "lookup",
        ))?;
        let xml = d
            .xml_desc(0)
            .map_err(Error::call(Kind::Domain, name, "dumpxml"))?;
        Ok(xml::parse_owner(&xml))
    }

    /// Defines and starts a domain from `xml`. An existing running domain of the same
    /// cluster is adopted as it is (a re-run of `up` must not reboot a cluster that is
    /// serving); one that is not running is replaced (destroyed and undefined first); one
    /// that is not lustrekit's, or belongs to another cluster, is an error. Returns true when
    /// it defined the domain, false when it adopted a running one.
    pub fn ensure_domain(
        &self,
        d: &DomainResource,
        owner: &Owner,
        xml: &str,
    ) -> Result<bool, Error> {
        match self.conn.lookup_domain_by_name(&d.name) {
            Ok(_) => {
                match self.domain_owner(&d.name)? {
                    Some(o) if o.cluster == owner.cluster => {}
                    Some(o) => {
                        return Err(Error::Foreign {
                            kind: Kind::Domain,
                            name: d.name.clone(),
                            owner: format!("lustrekit cluster `{}`", o.cluster),
                        })
                    }
                    None => {
                        return Err(Error::Foreign {
                            kind: Kind::Domain,
                            name: d.name.clone(),
                            owner: "no lustrekit tag".into(),
                        })
                    }
                }
                if self.domain_state(&d.name)? == Some(DomainState::Running) {
                    return Ok(false);
                }
                self.remove_domain(&d.name)?;
            }
            Err(e) if is_no_such(&e) => {}
            Err(e) => return Err(Error::call(Kind::Domain, &d.name, "lookup")(e)),
        }
        let dom = self.conn.define_domain_xml(xml).map_err(Error::call(
            Kind::Domain,
            &d.name,
            "define",
        ))?;
        dom.create()
            .map_err(Error::call(Kind::Domain, &d.name, "start"))?;
        Ok(true)
    }

    /// Powers a domain off and keeps its definition: fencing before a forced takeover of
    /// its shared disks. Not running already is fine.
    pub fn power_off(&self, name: &str) -> Result<(), Error> {
        let d = self.domain(name)?;
        if d.is_active().unwrap_or(false) {
            ignore_gone(d.destroy(), Kind::Domain, name, "destroy")?;
        }
        Ok(())
    }

    /// Powers off (no shutdown: a lab VM has nothing to save) and undefines a domain.
    pub fn remove_domain(&self, name: &str) -> Result<(), Error> {
        let d = match self.conn.lookup_domain_by_name(name) {
            Ok(d) => d,
            Err(e) if is_no_such(&e) => return Ok(()),
            Err(e) => return Err(Error::call(Kind::Domain, name, "lookup")(e)),
        };
        if d.is_active().unwrap_or(false) {
            ignore_gone(d.destroy(), Kind::Domain, name, "destroy")?;
        }
        if d.is_persistent().unwrap_or(false) {
            let flags = sys::VIR_DOMAIN_UNDEFINE_NVRAM | sys::VIR_DOMAIN_UNDEFINE_MANAGED_SAVE;
            ignore_gone(d.undefine_flags(flags), Kind::Domain, name, "undefine")?;
        }
        Ok(())
    }

    /// The domain's state; `None` when it does not exist.
    pub fn domain_state(&self, name: &str) -> Result<Option<DomainState>, Error> {
        match self.conn.lookup_domain_by_name(name) {
            Ok(d) => {
                let (state, _) = d
                    .state()
                    .map_err(Error::call(Kind::Domain, name, "state"))?;
                Ok(Some(domain_state(state)))
            }
            Err(e) if is_no_such(&e) => Ok(None),
            Err(e) => Err(Error::call(Kind::Domain, name, "lookup")(e)),
        }
    }

    // ---- ownership inventory ------------------------------------------------------------

    /// Everything of `cluster` in libvirt: domains by their owner tag; networks by name
    /// prefix plus lustrekit's bridge naming; the pool named after the cluster whose directory
    /// is `pool_dir`, and the volumes in it. Objects without these marks are never listed.
    pub fn owned(&self, cluster: &str, pool_dir: &str) -> Result<Owned, Error> {
        let mut out = Owned::default();
        let conn_err = |call| Error::call(Kind::Connection, &self.uri, call);
        for d in self
            .conn
            .list_all_domains(0)
            .map_err(conn_err("list domains"))?
        {
            let Ok(xml) = d.xml_desc(0) else { continue };
            if let (Some(o), Ok(name)) = (xml::parse_owner(&xml), d.name()) {
                if o.cluster == cluster {
                    out.domains.push((name, o.run));
                }
            }
        }
        let prefix = format!("{cluster}-");
        for n in self
            .conn
            .list_all_networks(0)
            .map_err(conn_err("list networks"))?
        {
            let Ok(name) = n.name() else { continue };
            // `<cluster>-<lnet>`; LNet names (tcp0, o2ib1) have no `-`, so cluster `a` never
            // claims cluster `a-b`'s networks.
            let lnet = name.strip_prefix(&prefix).unwrap_or("");
            if !lnet.is_empty() && !lnet.contains('-') && self.network_is_ours(&n) {
                out.networks.push(name);
            }
        }
        for p in self
            .conn
            .list_all_storage_pools(0)
            .map_err(conn_err("list pools"))?
        {
            let Ok(name) = p.name() else { continue };
            let path = xml_text(&p.xml_desc(0).unwrap_or_default(), "path").unwrap_or_default();
            if name != cluster || path.trim_end_matches('/') != pool_dir.trim_end_matches('/') {
                continue;
            }
            if p.is_active().unwrap_or(false) {
                let _ = p.refresh(0);
                for v in p.list_volumes().unwrap_or_default() {
                    out.volumes.push((name.clone(), v));
                }
            }
            out.pools.push(name);
        }
        out.domains.sort();
        out.networks.sort();
        out.volumes.sort();
        Ok(out)
    }

    // ---- guest agent ---------------------------------------------------------------------

    fn domain(&self, name: &str) -> Result<Domain, Error> {
        self.conn
            .lookup_domain_by_name(name)
            .map_err(Error::call(Kind::Domain, name, "lookup"))
    }

    /// Sends one guest-agent command (JSON) and returns the `return` member.
    pub fn agent(
        &self,
        domain: &str,
        command: &serde_json::Value,
        timeout_secs: i32,
    ) -> Result<serde_json::Value, Error> {
        let d = self.domain(domain)?;
        let reply = d
            .qemu_agent_command(&command.to_string(), timeout_secs, 0)
            .map_err(|e| Error::Agent {
                domain: domain.into(),
                call: agent_call_name(command),
                message: e.message().to_string(),
            })?;
        let v: serde_json::Value = serde_json::from_str(&reply).map_err(|e| Error::Agent {
            domain: domain.into(),
            call: agent_call_name(command),
            message: format!("unparsable reply {reply:?}: {e}"),
        })?;
        Ok(v.get("return").cloned().unwrap_or(serde_json::Value::Null))
    }

    /// Whether the guest agent answers `guest-ping` now.
    pub fn agent_ping(&self, domain: &str) -> bool {
        self.agent(domain, &serde_json::json!({"execute": "guest-ping"}), 5)
            .is_ok()
    }

    /// Runs `argv` in the guest through the agent (no network needed) and waits for it.
    pub fn exec(
        &self,
        domain: &str,
        argv: &[&str],
        timeout: Duration,
    ) -> Result<ExecOutput, Error> {
        self.exec_watched(domain, argv, timeout, Watch::none())
    }

    /// [`Libvirt::exec`] that stops waiting when `watch` says so (the command keeps running
    /// in the guest; scripts are idempotent, so a re-run picks up from there).
    pub fn exec_watched(
        &self,
        domain: &str,
        argv: &[&str],
        timeout: Duration,
        watch: Watch<'_>,
    ) -> Result<ExecOutput, Error> {
        let Some((path, args)) = argv.split_first() else {
            return Err(Error::Agent {
                domain: domain.into(),
                call: "guest-exec",
                message: "empty command".into(),
            });
        };
        let req = serde_json::json!({
            "execute": "guest-exec",
            "arguments": {"path": path, "arg": args, "capture-output": true}
        });
        let pid = self.agent(domain, &req, 30)?["pid"]
            .as_i64()
            .ok_or_else(|| Error::Agent {
                domain: domain.into(),
                call: "guest-exec",
                message: "reply has no pid".into(),
            })?;
        let started = Instant::now();
        let mut pause = Duration::from_millis(50);
        loop {
            let st = serde_json::json!({"execute": "guest-exec-status", "arguments": {"pid": pid}});
            let r = self.agent(domain, &st, 30)?;
            if r["exited"].as_bool() == Some(true) {
                let text = |k: &str| {
                    let b = base64::engine::general_purpose::STANDARD
                        .decode(r[k].as_str().unwrap_or(""))
                        .unwrap_or_default();
                    String::from_utf8_lossy(&b).into_owned()
                };
                // A command killed by a signal has no exitcode.
                let exit_code = r["exitcode"]
                    .as_i64()
                    .unwrap_or_else(|| 128 + r["signal"].as_i64().unwrap_or(0));
                return Ok(ExecOutput {
                    exit_code,
                    stdout: text("out-data"),
                    stderr: text("err-data"),
                });
            }
            if (watch.cancelled)() {
                return Err(Error::Cancelled {
                    domain: domain.into(),
                    waiting_for: format!("guest command {:?}", argv.join(" ")),
                });
            }
            if started.elapsed() > timeout {
                return Err(Error::ExecTimeout {
                    domain: domain.into(),
                    command: argv.join(" "),
                    timeout,
                });
            }
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(500));
        }
    }

    /// The address libvirt's DHCP server leased to the domain's NIC with `mac`.
    pub fn leased_address(&self, domain: &str, mac: &str) -> Result<Option<Ipv4Addr>, Error> {
        let d = self.domain(domain)?;
        let ifaces = d
            .interface_addresses(sys::VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_LEASE, 0)
            .map_err(Error::call(
                Kind::Domain,
                domain,
                "interface addresses (lease)",
            ))?;
        Ok(ifaces
            .iter()
            .filter(|i| {
                i.hwaddr
                    .as_deref()
                    .is_some_and(|h| h.eq_ignore_ascii_case(mac))
            })
            .flat_map(|i| i.addrs.iter())
            .find_map(|a| a.addr.parse::<Ipv4Addr>().ok()))
    }

    /// Waits until the node is ready: the agent answers, the first NIC's address is leased,
    /// and the shared folder is mounted. On timeout the error names the node, what it was
    /// still waiting for, and the last console lines.
    pub fn wait_ready(
        &self,
        d: &DomainResource,
        shared_guest_path: &str,
        console_log: &str,
        timeout: Duration,
        watch: Watch<'_>,
    ) -> Result<Ready, Error> {
        let t0 = Instant::now();
        let not_ready = |waiting_for: String| {
            Error::NotReady(Box::new(crate::error::NotReady {
                node: d.node.clone(),
                domain: d.name.clone(),
                waiting_for,
                waited: t0.elapsed(),
                console: console_log.to_string(),
                tail: console_tail(console_log, 15),
            }))
        };
        let poll = Duration::from_millis(500);
        let cancelled = |what: &str| -> Result<(), Error> {
            if (watch.cancelled)() {
                return Err(Error::Cancelled {
                    domain: d.name.clone(),
                    waiting_for: what.into(),
                });
            }
            Ok(())
        };
        (watch.progress)("waiting for the guest agent");
        while !self.agent_ping(&d.name) {
            cancelled("the guest agent")?;
            if t0.elapsed() > timeout {
                return Err(not_ready("the QEMU guest agent to answer".into()));
            }
            if self.domain_state(&d.name)? != Some(DomainState::Running) {
                return Err(not_ready("the domain, which stopped running".into()));
            }
            std::thread::sleep(poll);
        }
        let agent_after = t0.elapsed();
        let mut address = Ipv4Addr::UNSPECIFIED;
        if let Some(nic) = d.nics.first() {
            (watch.progress)("waiting for a DHCP lease");
            loop {
                cancelled("a DHCP lease")?;
                if let Some(a) = self.leased_address(&d.name, &nic.mac)? {
                    address = a;
                    break;
                }
                if t0.elapsed() > timeout {
                    return Err(not_ready(format!(
                        "a DHCP lease for {} on network {}",
                        nic.mac, nic.network
                    )));
                }
                std::thread::sleep(poll);
            }
        }
        let lease_after = t0.elapsed();
        (watch.progress)("waiting for the shared folder");
        loop {
            cancelled("the shared folder")?;
            let out = self.exec(
                &d.name,
                &["/bin/findmnt", "-n", "-o", "FSTYPE", shared_guest_path],
                Duration::from_secs(30),
            )?;
            if out.exit_code == 0 && out.stdout.trim() == "9p" {
                break;
            }
            if t0.elapsed() > timeout {
                return Err(not_ready(format!(
                    "the 9p shared folder at {shared_guest_path}"
                )));
            }
            std::thread::sleep(poll);
        }
        Ok(Ready {
            node: d.node.clone(),
            address,
            agent_after,
            lease_after,
            shared_after: t0.elapsed(),
        })
    }
}

fn agent_call_name(cmd: &serde_json::Value) -> &'static str {
    match cmd["execute"].as_str() {
        Some("guest-ping") => "guest-ping",
        Some("guest-exec") => "guest-exec",
        Some("guest-exec-status") => "guest-exec-status",
        _ => "command",
    }
}

fn ignore_gone(
    r: Result<(), virt::error::Error>,
    kind: Kind,
    name: &str,
    call: &'static str,
) -> Result<(), Error> {
    match r {
        Ok(()) => Ok(()),
        Err(e) if is_no_such(&e) => Ok(()),
        Err(e) => Err(Error::call(kind, name, call)(e)),
    }
}

fn domain_state(s: virt::domain::DomainStateEnum) -> DomainState {
    use virt::domain::DomainState as S;
    match s {
        virt::enumutil::Enum::Known(k) => match k {
            S::NoState => DomainState::NoState,
            S::Running => DomainState::Running,
            S::Blocked => DomainState::Blocked,
            S::Paused => DomainState::Paused,
            S::Shutdown => DomainState::ShuttingDown,
            S::Shutoff => DomainState::ShutOff,
            S::Crashed => DomainState::Crashed,
            S::PMSuspended => DomainState::Suspended,
        },
        _ => DomainState::Unknown,
    }
}

/// lustrekit's bridge name for a network name: `lk` + FNV-1a of the name (as lk-plan does).
pub fn lk_bridge_name(network: &str) -> String {
    lk_plan::build::bridge_name(network)
}

/// Last `n` lines of a console log, or a note when it cannot be read.
pub fn console_tail(path: &str, n: usize) -> String {
    match std::fs::read(path) {
        Ok(bytes) => {
            let text = String::from_utf8_lossy(&bytes);
            let lines: Vec<&str> = text.lines().collect();
            lines[lines.len().saturating_sub(n)..].join("\n")
        }
        Err(e) => format!("(console log unreadable: {e})"),
    }
}

/// Value of attribute `attr` on the first `<tag ...>` element.
fn xml_attr(xml: &str, tag: &str, attr: &str) -> Option<String> {
    let i = xml.find(&format!("<{tag} "))?;
    let head = &xml[i..i + xml[i..].find('>')?];
    for q in ['\'', '"'] {
        if let Some(j) = head.find(&format!("{attr}={q}")) {
            let v = &head[j + attr.len() + 2..];
            return v.find(q).map(|k| v[..k].to_string());
        }
    }
    None
}

/// Text of the first `<tag>...</tag>`.
fn xml_text(xml: &str, tag: &str) -> Option<String> {
    let open = format!("<{tag}>");
    let i = xml.find(&open)? + open.len();
    let j = xml[i..].find(&format!("</{tag}>"))?;
    Some(xml[i..i + j].trim().to_string())
}

/// Whether the domain XML carries lustrekit's namespace at all (cheap pre-filter).
pub fn has_lk_namespace(xml: &str) -> bool {
    xml.contains(LK_NS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attrs_and_text() {
        let x = "<network>\n  <name>lab-tcp0</name>\n  <bridge name=\"lk1234abcd\" stp=\"off\"/>\n  <path>/p</path></network>";
        assert_eq!(xml_attr(x, "bridge", "name").as_deref(), Some("lk1234abcd"));
        assert_eq!(xml_text(x, "name").as_deref(), Some("lab-tcp0"));
        assert_eq!(xml_text(x, "path").as_deref(), Some("/p"));
        assert_eq!(xml_attr(x, "forward", "mode"), None);
    }

    #[test]
    fn console_tail_of_missing_file_says_so() {
        assert!(console_tail("/nonexistent/console.log", 5).contains("unreadable"));
    }
}
