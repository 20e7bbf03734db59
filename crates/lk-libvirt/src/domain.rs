//! Domains: define and start from XML, adopt or replace, power off, remove, state, owner
//! (through libvirt's metadata API) and DHCP leases.

use std::net::Ipv4Addr;

use lk_plan::resources::DomainResource;
use virt::domain::Domain;
use virt::sys;

use crate::client::{flag, ignore_gone, Libvirt};
use crate::error::{is_no_such, Error, Kind};
use crate::ownership;
use crate::xml::{Owner, LK_NS};
use lk_engine::provider::DomainState;

/// The owner element in lustrekit's namespace, read through libvirt's metadata API. No such
/// metadata: not ours (`None`); metadata in our namespace that does not parse: an error.
pub(crate) fn owner_of(d: &Domain, name: &str) -> Result<Option<Owner>, Error> {
    let kind = sys::VIR_DOMAIN_METADATA_ELEMENT as i32;
    match d.metadata(kind, Some(LK_NS), 0) {
        Ok(element) => ownership::parse_metadata_element(&element)
            .map_err(Error::ownership(Kind::Domain, name)),
        Err(e) if e.code().is(virt::error::ErrorNumber::NoDomainMetadata) => Ok(None),
        Err(e) => Err(Error::call(Kind::Domain, name, "metadata")(e)),
    }
}

impl Libvirt {
    /// The owner tag of a domain, if it has lustrekit's.
    pub fn domain_owner(&self, name: &str) -> Result<Option<Owner>, Error> {
        owner_of(&self.domain(name)?, name)
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
        if flag(d.is_active(), Kind::Domain, name, "is_active")? {
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
        if flag(d.is_active(), Kind::Domain, name, "is_active")? {
            ignore_gone(d.destroy(), Kind::Domain, name, "destroy")?;
        }
        if flag(d.is_persistent(), Kind::Domain, name, "is_persistent")? {
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

    pub(crate) fn domain(&self, name: &str) -> Result<Domain, Error> {
        self.conn
            .lookup_domain_by_name(name)
            .map_err(Error::call(Kind::Domain, name, "lookup"))
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
