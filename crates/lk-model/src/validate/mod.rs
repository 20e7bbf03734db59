//! [`LustreCluster`] to [`Topology`]: fills defaults, expands the compact layout, and checks
//! every rule, collecting all problems instead of stopping at the first.

mod layout;
mod networks;
mod nodes;
mod services;
mod sources;
mod targets;

use crate::error::Diagnostic;
use crate::raw::{self, LustreCluster};
use crate::topology::*;

/// Validates a decoded document. On failure every problem found is returned, each with the
/// field path it concerns (positions are filled in by the caller, which has the text).
pub fn validate(doc: &LustreCluster) -> Result<Topology, Vec<Diagnostic>> {
    let mut v = Validator::default();
    let topology = v.run(doc);
    if v.problems.is_empty() {
        topology.ok_or_else(|| vec![Diagnostic::new("", "internal: no topology and no problem")])
    } else {
        Err(v.problems)
    }
}

#[derive(Default)]
struct Validator {
    problems: Vec<Diagnostic>,
}

/// A node or target together with the path it came from (`spec.nodes[3]` or `spec.layout`).
struct Sourced<T> {
    path: String,
    item: T,
}

impl Validator {
    fn fail(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.problems.push(Diagnostic::new(path, message));
    }

    fn run(&mut self, doc: &LustreCluster) -> Option<Topology> {
        if doc.api_version != raw::API_VERSION {
            self.fail(
                "apiVersion",
                format!("must be `{}`, not `{}`", raw::API_VERSION, doc.api_version),
            );
        }
        if doc.kind != raw::KIND {
            self.fail(
                "kind",
                format!("must be `{}`, not `{}`", raw::KIND, doc.kind),
            );
        }
        let name = &doc.metadata.name;
        if !is_dns_label(name, 40) {
            self.fail(
                "metadata.name",
                format!("`{name}` must be 1-40 of [a-z0-9-], start with a letter and not end with `-` (it prefixes libvirt object names)"),
            );
        }
        let spec = &doc.spec;
        self.check_fsname(&spec.fsname);

        let networks = self.networks(name, spec);
        let (node_specs, target_specs, client_specs) = self.expand(spec);
        let nodes = self.nodes(&node_specs, &networks);
        let default_mode = spec.failover_mode.unwrap_or_default();
        let targets = self.targets(spec, &target_specs, &nodes, default_mode);
        let clients = self.clients(&client_specs, &nodes, &spec.fsname);
        let routes = self.routes(spec, &nodes, &networks);
        let services = self.services(&spec.services, &clients);
        self.check_server_roles(&nodes, &target_specs);
        let lustre = self.lustre(spec);
        let image = self.image(spec);
        if self.problems.is_empty() {
            self.check_reachability(&nodes, &targets, &clients, &routes);
        }

        let (mgt, mdts, osts) = targets?;
        Some(Topology {
            name: name.clone(),
            fsname: spec.fsname.clone(),
            lustre: lustre?,
            backend: spec.backend.unwrap_or_default(),
            image: image?,
            networks,
            nodes: nodes.into_iter().map(|n| n.item).collect(),
            mgt,
            mdts,
            osts,
            clients,
            routes,
            services,
        })
    }

    fn check_fsname(&mut self, fsname: &str) {
        let ok_chars = fsname
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if fsname.is_empty() || fsname.len() > 8 || !ok_chars {
            self.fail(
                "spec.fsname",
                format!("`{fsname}` must be 1-8 characters of [A-Za-z0-9_-]"),
            );
        }
    }

    fn check_abs(&mut self, path: &str, value: &str) {
        if !is_absolute_clean(value) {
            self.fail(
                path,
                format!("`{value}` must be an absolute host path without `..` or whitespace"),
            );
        }
    }

    fn check_url(&mut self, path: &str, value: &str, schemes: &[&str]) {
        let ok = schemes
            .iter()
            .any(|s| value.starts_with(s) && value.len() > s.len())
            && !value
                .chars()
                .any(|c| c.is_whitespace() || c.is_control() || c == '\'' || c == '"');
        if !ok {
            self.fail(
                path,
                format!(
                    "`{value}` must be a URL starting with {}",
                    schemes.join(", ")
                ),
            );
        }
    }
}

#[derive(Default)]
struct TargetSpecs {
    mgt: Option<Sourced<raw::MgtSpec>>,
    mdts: Vec<Sourced<raw::TargetSpec>>,
    osts: Vec<Sourced<raw::TargetSpec>>,
}

fn is_dns_label(s: &str, max: usize) -> bool {
    !s.is_empty()
        && s.len() <= max
        && s.starts_with(|c: char| c.is_ascii_lowercase())
        && !s.ends_with('-')
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

fn is_lnet_name(s: &str) -> bool {
    ["tcp", "o2ib"].iter().any(|p| {
        s.strip_prefix(p)
            .is_some_and(|n| n.len() <= 4 && n.chars().all(|c| c.is_ascii_digit()))
    })
}

/// Absolute, not `/` itself, no `.`/`..`/empty components, no whitespace or control
/// characters: such paths go into generated shell, fstab and libvirt XML.
fn is_absolute_clean(s: &str) -> bool {
    s.starts_with('/')
        && s.len() > 1
        && s.len() <= 4096
        && !s.chars().any(|c| {
            c.is_whitespace() || c.is_control() || matches!(c, '\'' | '"' | '\\' | '$' | '`')
        })
        && s[1..]
            .trim_end_matches('/')
            .split('/')
            .all(|c| !c.is_empty() && c != "." && c != "..")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lnet_names() {
        for ok in ["tcp", "tcp0", "tcp12", "o2ib", "o2ib3"] {
            assert!(is_lnet_name(ok), "{ok}");
        }
        for bad in ["", "tcp-1", "eth0", "tcpx", "TCP0"] {
            assert!(!is_lnet_name(bad), "{bad}");
        }
    }

    #[test]
    fn paths() {
        assert!(is_absolute_clean("/mnt/lustre"));
        assert!(is_absolute_clean("/mnt/lustre/"));
        for bad in [
            "mnt",
            "/",
            "/mnt/../etc",
            "/mnt//x",
            "/mnt/a b",
            "/mnt/$x",
            "/./x",
        ] {
            assert!(!is_absolute_clean(bad), "{bad}");
        }
    }
}
