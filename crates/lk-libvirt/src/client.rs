//! The libvirt client: the connection. Its operations are split by concern: networks
//! (`network.rs`), pools and volumes (`storage.rs`), domains (`domain.rs`), the guest agent
//! and readiness (`guest.rs`), the ownership inventory (`inventory.rs`). Each operation is
//! idempotent ("ensure" to create, "remove" to delete: already gone is success) and refuses
//! to touch an object with lustrekit's name that lustrekit does not own.

use virt::connect::Connect;

use crate::error::{is_no_such, Error, Kind};
pub use crate::guest::console_tail;
pub use lk_engine::provider::{DomainState, ExecOutput, Owned, Ready, Watch};

/// Default connection URI.
pub const DEFAULT_URI: &str = "qemu:///system";

/// A connection to one libvirt daemon.
pub struct Libvirt {
    pub(crate) conn: Connect,
    pub(crate) uri: String,
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
}

/// Runs a remove-type call; the object being gone already is success.
pub(crate) fn ignore_gone(
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

/// Reads a flag (`is_active`, `is_persistent`) of an object about to be removed: gone
/// meanwhile reads as false; any other failure is an error (read as false, a remove would
/// report success and leave the object running).
pub(crate) fn flag(
    r: Result<bool, virt::error::Error>,
    kind: Kind,
    name: &str,
    call: &'static str,
) -> Result<bool, Error> {
    match r {
        Ok(b) => Ok(b),
        Err(e) if is_no_such(&e) => Ok(false),
        Err(e) => Err(Error::call(kind, name, call)(e)),
    }
}

/// lustrekit's bridge name for a network name: `lk` + FNV-1a of the name (as lk-plan does).
pub fn lk_bridge_name(network: &str) -> String {
    lk_plan::build::bridge_name(network)
}
