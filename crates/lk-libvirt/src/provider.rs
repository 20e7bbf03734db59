//! lk-engine's [`Provider`] implemented against libvirt: the engine's typed descriptions are
//! rendered to libvirt XML here ([`crate::xml`]), and libvirt's errors are kept whole as the
//! provider error's source.

use std::net::Ipv4Addr;
use std::time::Duration;

use lk_engine::provider::{
    DomainSpec, DomainState, ExecOutput, ObjectKind, Owned, Provider, ProviderError, Ready,
    ReadySpec, Watch,
};
use lk_plan::resources::{NetworkResource, PoolResource, VolumeResource};

use crate::error::{Error, Kind};
use crate::xml::{self, DomainContext};
use crate::Libvirt;

impl From<Error> for ProviderError {
    fn from(e: Error) -> ProviderError {
        match e {
            Error::Foreign { kind, name, owner } => ProviderError::Foreign {
                kind: match kind {
                    Kind::Network => ObjectKind::Network,
                    Kind::Pool => ObjectKind::Pool,
                    Kind::Volume => ObjectKind::Volume,
                    Kind::Domain | Kind::Connection => ObjectKind::Domain,
                },
                name,
                owner,
            },
            Error::Cancelled {
                domain,
                waiting_for,
            } => ProviderError::Cancelled {
                domain,
                waiting_for,
            },
            e => ProviderError::Backend(Box::new(e)),
        }
    }
}

impl Provider for Libvirt {
    fn ensure_network(&self, n: &NetworkResource) -> Result<bool, ProviderError> {
        Ok(Libvirt::ensure_network(self, n)?)
    }

    fn remove_network(&self, name: &str) -> Result<(), ProviderError> {
        Ok(Libvirt::remove_network(self, name)?)
    }

    fn ensure_pool(&self, p: &PoolResource) -> Result<bool, ProviderError> {
        Ok(Libvirt::ensure_pool(self, p)?)
    }

    fn remove_pool(&self, name: &str) -> Result<(), ProviderError> {
        Ok(Libvirt::remove_pool(self, name)?)
    }

    fn ensure_volume(&self, pool: &str, v: &VolumeResource) -> Result<bool, ProviderError> {
        Ok(Libvirt::ensure_volume(self, pool, v)?)
    }

    fn remove_volume(&self, pool: &str, name: &str) -> Result<(), ProviderError> {
        Ok(Libvirt::remove_volume(self, pool, name)?)
    }

    fn ensure_domain(&self, spec: &DomainSpec<'_>) -> Result<bool, ProviderError> {
        let ctx = DomainContext {
            owner: spec.owner,
            accel: spec.accel,
            pool_path: spec.pool_path,
            volumes: spec.volumes,
            shared: spec.shared,
        };
        let dxml = xml::domain_xml(spec.domain, &ctx);
        Ok(Libvirt::ensure_domain(
            self,
            spec.domain,
            spec.owner,
            &dxml,
        )?)
    }

    fn remove_domain(&self, name: &str) -> Result<(), ProviderError> {
        Ok(Libvirt::remove_domain(self, name)?)
    }

    fn power_off(&self, name: &str) -> Result<(), ProviderError> {
        Ok(Libvirt::power_off(self, name)?)
    }

    fn domain_state(&self, name: &str) -> Result<Option<DomainState>, ProviderError> {
        Ok(Libvirt::domain_state(self, name)?)
    }

    fn leased_address(&self, domain: &str, mac: &str) -> Result<Option<Ipv4Addr>, ProviderError> {
        Ok(Libvirt::leased_address(self, domain, mac)?)
    }

    fn exec(
        &self,
        domain: &str,
        argv: &[&str],
        timeout: Duration,
        watch: Watch<'_>,
    ) -> Result<ExecOutput, ProviderError> {
        Ok(Libvirt::exec_watched(self, domain, argv, timeout, watch)?)
    }

    fn wait_ready(&self, spec: &ReadySpec<'_>, watch: Watch<'_>) -> Result<Ready, ProviderError> {
        Ok(Libvirt::wait_ready(
            self,
            spec.domain,
            spec.shared_guest_path,
            spec.console_log,
            spec.timeout,
            watch,
        )?)
    }

    fn owned(&self, cluster: &str, pool_dir: &str) -> Result<Owned, ProviderError> {
        Ok(Libvirt::owned(self, cluster, pool_dir)?)
    }
}
