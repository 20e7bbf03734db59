//! Networks: NAT networks with DHCP reservations. libvirt 9.0 networks carry no metadata,
//! so a network is lustrekit's when its bridge is the one lustrekit derives from its name.

use lk_plan::resources::NetworkResource;
use virt::network::Network;

use crate::client::{flag, ignore_gone, lk_bridge_name, Libvirt};
use crate::error::{is_no_such, Error, Kind};
use crate::{ownership, xml};

impl Libvirt {
    /// Networks cannot carry metadata in libvirt 9.0, so ownership is the name together with
    /// the bridge lustrekit derives from it (`lk` + 8 hex digits). A description that cannot
    /// be read is an error, never "ours" nor "not ours".
    pub(crate) fn network_is_ours(&self, net: &Network, name: &str) -> Result<bool, Error> {
        let desc = net
            .xml_desc(0)
            .map_err(Error::call(Kind::Network, name, "dumpxml"))?;
        let bridge =
            ownership::network_bridge(&desc).map_err(Error::ownership(Kind::Network, name))?;
        Ok(bridge.as_deref() == Some(lk_bridge_name(name).as_str()))
    }

    /// Creates (defines and starts) the network, or adopts an existing one that is ours.
    /// Returns true when it created it.
    pub fn ensure_network(&self, n: &NetworkResource) -> Result<bool, Error> {
        match self.conn.lookup_network_by_name(&n.name) {
            Ok(net) => {
                if !self.network_is_ours(&net, &n.name)? {
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
        if !self.network_is_ours(&net, name)? {
            return Err(Error::Foreign {
                kind: Kind::Network,
                name: name.into(),
                owner: "not created by lustrekit".into(),
            });
        }
        if flag(net.is_active(), Kind::Network, name, "is_active")? {
            ignore_gone(net.destroy(), Kind::Network, name, "destroy")?;
        }
        if flag(net.is_persistent(), Kind::Network, name, "is_persistent")? {
            ignore_gone(net.undefine(), Kind::Network, name, "undefine")?;
        }
        Ok(())
    }
}
