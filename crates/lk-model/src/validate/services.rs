//! `spec.services`: services on client nodes over their Lustre mount.

use std::collections::HashSet;

use super::{is_dns_label, Validator};
use crate::defaults as d;
use crate::raw::{self, ServiceSync};
use crate::topology::{ClientMount, Service};

impl Validator {
    pub(super) fn services(
        &mut self,
        specs: &[raw::ServiceSpec],
        clients: &[ClientMount],
    ) -> Vec<Service> {
        let mut names = HashSet::new();
        let mut ports = HashSet::new();
        let mut out = Vec::new();
        for (i, spec) in specs.iter().enumerate() {
            let path = format!("spec.services[{i}]");
            let name = spec
                .name
                .clone()
                .unwrap_or_else(|| spec.kind.as_str().to_string());
            if !is_dns_label(&name, 12) {
                self.fail(
                    format!("{path}.name"),
                    format!("`{name}` must be 1-12 of [a-z0-9-], start with a letter and not end with `-` (it names systemd units and the changelog user lk-{name})"),
                );
            } else if !names.insert(name.clone()) {
                self.fail(
                    format!("{path}.name"),
                    format!("`{name}` names two services (give each a distinct `name`)"),
                );
            }
            let port = spec.port.unwrap_or(d::SERVICE_PORT);
            if port < 1024 {
                self.fail(format!("{path}.port"), format!("{port} must be 1024-65535"));
            } else if !ports.insert((spec.node.clone(), port)) {
                self.fail(
                    format!("{path}.port"),
                    format!("node `{}` already has a service on port {port}", spec.node),
                );
            }
            let rel = spec.path.clone().unwrap_or_else(|| d::SERVICE_PATH.into());
            if !is_relative_clean(&rel) {
                self.fail(
                    format!("{path}.path"),
                    format!("`{rel}` must be a relative path without `.`, `..`, empty components, whitespace or quotes"),
                );
            }
            let users = if spec.users.is_empty() {
                vec![d::SERVICE_USER.to_string()]
            } else {
                spec.users.clone()
            };
            for (j, u) in users.iter().enumerate() {
                if let Err(rule) = check_user(u) {
                    self.fail(format!("{path}.users[{j}]"), format!("`{u}`: {rule}"));
                }
            }
            let Some(mount) = clients.iter().find(|c| c.node == spec.node) else {
                self.fail(
                    format!("{path}.node"),
                    format!(
                        "`{}` is not a client node (a service runs over a client's Lustre mount; clients: {})",
                        spec.node,
                        client_names(clients)
                    ),
                );
                continue;
            };
            out.push(Service {
                name,
                kind: spec.kind,
                node: spec.node.clone(),
                port,
                root: format!(
                    "{}/{}",
                    mount.mount_point.trim_end_matches('/'),
                    rel.trim_end_matches('/')
                ),
                mount_point: mount.mount_point.clone(),
                sync: spec.sync.unwrap_or(ServiceSync::Changelog),
                users,
            });
        }
        out
    }
}

fn client_names(clients: &[ClientMount]) -> String {
    if clients.is_empty() {
        return "none".into();
    }
    clients
        .iter()
        .map(|c| c.node.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Relative, no `.`/`..`/empty components, nothing a shell or unit file would read specially.
fn is_relative_clean(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 1024
        && !s.starts_with('/')
        && !s.chars().any(|c| {
            c.is_whitespace()
                || c.is_control()
                || matches!(c, '\'' | '"' | '\\' | '$' | '`' | '%' | ';')
        })
        && s.trim_end_matches('/')
            .split('/')
            .all(|c| !c.is_empty() && c != "." && c != "..")
}

/// `ACCOUNT:USER:KEY[:admin]`, each part non-empty and free of characters that a command line
/// or unit file would read specially.
fn check_user(u: &str) -> Result<(), &'static str> {
    let parts: Vec<&str> = u.split(':').collect();
    if !(3..=4).contains(&parts.len()) {
        return Err("must be ACCOUNT:USER:KEY or ACCOUNT:USER:KEY:admin");
    }
    if parts.len() == 4 && parts[3] != "admin" {
        return Err("the fourth part, when present, must be `admin`");
    }
    let ok = |p: &str| {
        !p.is_empty()
            && p.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
    };
    if !parts[..3].iter().all(|p| ok(p)) {
        return Err("account, user and key must each be 1 or more of [A-Za-z0-9_.-]");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users() {
        assert!(check_user("test:tester:testing:admin").is_ok());
        assert!(check_user("a:b:c").is_ok());
        for bad in [
            "a:b",
            "a:b:c:root",
            "a::c",
            "a:b:c d",
            "a:b:c:admin:x",
            "a:b:$x",
        ] {
            assert!(check_user(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn relative_paths() {
        for ok in ["swift", "data/swift", "swift/"] {
            assert!(is_relative_clean(ok), "{ok}");
        }
        for bad in ["", "/swift", "a/../b", "a//b", ".", "a b", "a;b", "%h"] {
            assert!(!is_relative_clean(bad), "{bad}");
        }
    }
}
