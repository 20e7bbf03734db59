//! Provider errors: each names the libvirt object and the call that failed. Display never
//! repeats the source; print the chain to see libvirt's own message.

use std::path::PathBuf;
use std::time::Duration;

/// Kind of libvirt object, for messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Domain,
    Network,
    Pool,
    Volume,
    Connection,
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Kind::Domain => "domain",
            Kind::Network => "network",
            Kind::Pool => "storage pool",
            Kind::Volume => "volume",
            Kind::Connection => "connection",
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "cannot connect to libvirt at {uri} (is libvirtd running? try scripts/start-libvirt.sh)"
    )]
    Connect {
        uri: String,
        #[source]
        source: virt::error::Error,
    },

    #[error("{kind} `{name}`: {call} failed")]
    Call {
        kind: Kind,
        name: String,
        call: &'static str,
        #[source]
        source: virt::error::Error,
    },

    #[error("{kind} `{name}` already exists and is not lustrekit's (owner: {owner}); rename the cluster or remove it")]
    Foreign {
        kind: Kind,
        name: String,
        owner: String,
    },

    #[error("domain `{domain}`: guest agent {call}: {message}")]
    Agent {
        domain: String,
        call: &'static str,
        message: String,
    },

    #[error("domain `{domain}`: guest command {command:?} still running after {}s", timeout.as_secs())]
    ExecTimeout {
        domain: String,
        command: String,
        timeout: Duration,
    },

    #[error("domain `{domain}`: interrupted while waiting for {waiting_for}")]
    Cancelled { domain: String, waiting_for: String },

    /// Boxed: the details are large and this variant is rare.
    #[error("{0}")]
    NotReady(Box<NotReady>),

    #[error("accelerator: {message}")]
    Accel { message: String },

    #[error("{kind} `{name}`: cannot read lustrekit's ownership marks")]
    Ownership {
        kind: Kind,
        name: String,
        #[source]
        source: crate::ownership::OwnershipError,
    },

    #[error("{action} {}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    pub(crate) fn call(
        kind: Kind,
        name: &str,
        call: &'static str,
    ) -> impl FnOnce(virt::error::Error) -> Error {
        let name = name.to_string();
        move |source| Error::Call {
            kind,
            name,
            call,
            source,
        }
    }

    pub(crate) fn ownership(
        kind: Kind,
        name: &str,
    ) -> impl FnOnce(crate::ownership::OwnershipError) -> Error {
        let name = name.to_string();
        move |source| Error::Ownership { kind, name, source }
    }

    /// Whether this is libvirt saying the object does not exist.
    pub fn is_not_found(&self) -> bool {
        matches!(self, Error::Call { source, .. } if is_no_such(source))
    }
}

/// libvirt's "no such domain/network/pool/volume" codes.
pub fn is_no_such(e: &virt::error::Error) -> bool {
    use virt::error::ErrorNumber as N;
    e.code().is_any(vec![
        N::NoDomain,
        N::NoNetwork,
        N::NoStoragePool,
        N::NoStorageVolume,
    ])
}

/// A node that did not become ready in time: which, waiting for what, and its console.
#[derive(Debug)]
pub struct NotReady {
    pub node: String,
    pub domain: String,
    pub waiting_for: String,
    pub waited: Duration,
    /// Console log path.
    pub console: String,
    /// Its last lines.
    pub tail: String,
}

impl std::fmt::Display for NotReady {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "node `{}` (domain `{}`) not ready after {}s: still waiting for {}; last console lines ({}):\n{}",
            self.node,
            self.domain,
            self.waited.as_secs(),
            self.waiting_for,
            self.console,
            self.tail
        )
    }
}
