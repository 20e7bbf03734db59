//! Guest stages and phases, typed. Their text forms (`install`, `verify-clients`,
//! `takeover-ost2`) name scripts and logs in the shared folder, appear in plans, `stages.json`
//! and the operator's agent reports, so [`fmt::Display`] and serde keep exactly those strings.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Guest stages, in order; `up --until STAGE` stops after one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stage {
    Install,
    Lnet,
    Format,
    Mount,
    Verify,
    Services,
    Teardown,
}

impl Stage {
    pub const ALL: [Stage; 7] = [
        Stage::Install,
        Stage::Lnet,
        Stage::Format,
        Stage::Mount,
        Stage::Verify,
        Stage::Services,
        Stage::Teardown,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Install => "install",
            Stage::Lnet => "lnet",
            Stage::Format => "format",
            Stage::Mount => "mount",
            Stage::Verify => "verify",
            Stage::Services => "services",
            Stage::Teardown => "teardown",
        }
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

impl FromStr for Stage {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, ParseError> {
        Stage::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| ParseError::Stage {
                value: s.to_string(),
                valid: Stage::ALL.map(Stage::as_str).join(", "),
            })
    }
}

/// A stage or phase name that is not one lustrekit knows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("unknown stage `{value}`: expected one of {valid}")]
    Stage { value: String, valid: String },
    #[error("unknown phase `{value}`: expected one of {valid}")]
    Phase { value: String, valid: String },
}

/// What a phase does: one per script kind. `Release` and `Takeover` move one failover
/// target, named by its test-framework facet (`mgs`, `mds1`, `ost2`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum PhaseName {
    Build,
    Install,
    Lnet,
    LnetCheck,
    Format,
    RouteCheck,
    MountMgs,
    MountMdt,
    MountOst,
    WaitOst,
    MountClient,
    VerifyServers,
    VerifyClients,
    ChangelogUsers,
    StartServices,
    StopServices,
    ChangelogDeregister,
    UmountClient,
    UmountMdt,
    UmountOst,
    UmountMgs,
    Unload,
    Release { facet: String },
    Takeover { facet: String },
}

/// The phases without a facet, for parsing and for error messages.
const FIXED: [PhaseName; 22] = [
    PhaseName::Build,
    PhaseName::Install,
    PhaseName::Lnet,
    PhaseName::LnetCheck,
    PhaseName::Format,
    PhaseName::RouteCheck,
    PhaseName::MountMgs,
    PhaseName::MountMdt,
    PhaseName::MountOst,
    PhaseName::WaitOst,
    PhaseName::MountClient,
    PhaseName::VerifyServers,
    PhaseName::VerifyClients,
    PhaseName::ChangelogUsers,
    PhaseName::StartServices,
    PhaseName::StopServices,
    PhaseName::ChangelogDeregister,
    PhaseName::UmountClient,
    PhaseName::UmountMdt,
    PhaseName::UmountOst,
    PhaseName::UmountMgs,
    PhaseName::Unload,
];

impl PhaseName {
    /// The stage a phase belongs to; the failover moves count as mounting.
    pub fn stage(&self) -> Stage {
        match self {
            PhaseName::Build | PhaseName::Install => Stage::Install,
            PhaseName::Lnet | PhaseName::LnetCheck => Stage::Lnet,
            PhaseName::Format => Stage::Format,
            PhaseName::RouteCheck
            | PhaseName::MountMgs
            | PhaseName::MountMdt
            | PhaseName::MountOst
            | PhaseName::WaitOst
            | PhaseName::MountClient
            | PhaseName::Release { .. }
            | PhaseName::Takeover { .. } => Stage::Mount,
            PhaseName::VerifyServers | PhaseName::VerifyClients => Stage::Verify,
            PhaseName::ChangelogUsers | PhaseName::StartServices => Stage::Services,
            PhaseName::StopServices
            | PhaseName::ChangelogDeregister
            | PhaseName::UmountClient
            | PhaseName::UmountMdt
            | PhaseName::UmountOst
            | PhaseName::UmountMgs
            | PhaseName::Unload => Stage::Teardown,
        }
    }

    /// What the phase does, as the plan and each script's header say it.
    pub fn description(&self) -> &'static str {
        match self {
            PhaseName::Build => "compile Lustre packages into the shared folder",
            PhaseName::Install => "install Lustre and check modules and tools",
            PhaseName::Lnet => "load LNet, add networks and routes, enable forwarding on routers",
            PhaseName::LnetCheck => "lnetctl ping every peer on a network this node is on",
            PhaseName::RouteCheck => {
                "wait until this node's routes are up, then lnetctl ping its peers across routers"
            }
            PhaseName::Format => "mkfs.lustre each target on its primary node",
            PhaseName::MountMgs => "mount the MGT",
            PhaseName::MountMdt => "mount the MDTs",
            PhaseName::MountOst => "mount the OSTs",
            PhaseName::WaitOst => "wait until every MDT is connected to every OST",
            PhaseName::MountClient => "mount the filesystem on the clients",
            PhaseName::VerifyServers => "targets UP in lctl dl, health_check healthy",
            PhaseName::VerifyClients => "every OST in lfs df, write/read with checksum",
            PhaseName::ChangelogUsers => {
                "register each service's changelog user on the MDTs mounted here"
            }
            PhaseName::StartServices => {
                "start the services (Swift gateway and changelog sync) over this client's mount"
            }
            PhaseName::StopServices => "stop and remove the services on this node",
            PhaseName::ChangelogDeregister => {
                "deregister the services' changelog users from the MDTs mounted here"
            }
            PhaseName::UmountClient => "unmount the clients",
            PhaseName::UmountMdt => "unmount the MDTs",
            PhaseName::UmountOst => "unmount the OSTs",
            PhaseName::UmountMgs => "unmount the MGT",
            PhaseName::Unload => "unconfigure LNet and unload the Lustre modules",
            PhaseName::Release { .. } => "unmount the target (and export its pool) on this node",
            PhaseName::Takeover { .. } => {
                "import and mount the target here and wait for its recovery"
            }
        }
    }

    fn valid() -> String {
        let mut v: Vec<String> = FIXED.iter().map(ToString::to_string).collect();
        v.extend(["release-<facet>".into(), "takeover-<facet>".into()]);
        format!("{} (facet: mgs, mdsN or ostN)", v.join(", "))
    }
}

/// `mgs`, `mds<N>` or `ost<N>` with N a positive decimal number.
fn is_facet(s: &str) -> bool {
    if s == "mgs" {
        return true;
    }
    let n = s.strip_prefix("mds").or_else(|| s.strip_prefix("ost"));
    n.is_some_and(|n| !n.is_empty() && !n.starts_with('0') && n.bytes().all(|b| b.is_ascii_digit()))
}

impl fmt::Display for PhaseName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let fixed = match self {
            PhaseName::Build => "build",
            PhaseName::Install => "install",
            PhaseName::Lnet => "lnet",
            PhaseName::LnetCheck => "lnet-check",
            PhaseName::RouteCheck => "route-check",
            PhaseName::Format => "format",
            PhaseName::MountMgs => "mount-mgs",
            PhaseName::MountMdt => "mount-mdt",
            PhaseName::MountOst => "mount-ost",
            PhaseName::WaitOst => "wait-ost",
            PhaseName::MountClient => "mount-client",
            PhaseName::VerifyServers => "verify-servers",
            PhaseName::VerifyClients => "verify-clients",
            PhaseName::ChangelogUsers => "changelog-users",
            PhaseName::StartServices => "start-services",
            PhaseName::StopServices => "stop-services",
            PhaseName::ChangelogDeregister => "changelog-deregister",
            PhaseName::UmountClient => "umount-client",
            PhaseName::UmountMdt => "umount-mdt",
            PhaseName::UmountOst => "umount-ost",
            PhaseName::UmountMgs => "umount-mgs",
            PhaseName::Unload => "unload",
            PhaseName::Release { facet } => return f.pad(&format!("release-{facet}")),
            PhaseName::Takeover { facet } => return f.pad(&format!("takeover-{facet}")),
        };
        // `pad`, not `write_str`: plans are rendered in aligned columns (`{:<15}`).
        f.pad(fixed)
    }
}

impl FromStr for PhaseName {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, ParseError> {
        if let Some(p) = FIXED.iter().find(|p| p.to_string() == s) {
            return Ok(p.clone());
        }
        let moved = |prefix: &str| s.strip_prefix(prefix).filter(|f| is_facet(f));
        if let Some(facet) = moved("release-") {
            return Ok(PhaseName::Release {
                facet: facet.to_string(),
            });
        }
        if let Some(facet) = moved("takeover-") {
            return Ok(PhaseName::Takeover {
                facet: facet.to_string(),
            });
        }
        Err(ParseError::Phase {
            value: s.to_string(),
            valid: PhaseName::valid(),
        })
    }
}

impl TryFrom<String> for PhaseName {
    type Error = ParseError;

    fn try_from(s: String) -> Result<Self, ParseError> {
        s.parse()
    }
}

impl From<PhaseName> for String {
    fn from(p: PhaseName) -> String {
        p.to_string()
    }
}

/// One step of the cluster-wide sequence: the same named script on several nodes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Phase {
    pub name: PhaseName,
    pub stage: Stage,
    pub description: String,
    /// Nodes that run this phase; they run concurrently.
    pub nodes: Vec<String>,
}

impl Phase {
    /// Script of `node` for this phase, relative to the shared folder.
    pub fn script(&self, node: &str) -> String {
        format!("scripts/{node}/{}.sh", self.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_fixed_phase_round_trips_through_its_text() {
        for p in FIXED {
            assert_eq!(p.to_string().parse::<PhaseName>(), Ok(p.clone()));
        }
        for s in ["release-mgs", "takeover-mds1", "release-ost12"] {
            assert_eq!(
                s.parse::<PhaseName>().map(|p| p.to_string()).as_deref(),
                Ok(s)
            );
        }
    }

    #[test]
    fn an_unknown_phase_names_itself_and_the_valid_ones() {
        for bad in [
            "mount",
            "release-",
            "takeover-ost0",
            "release-osd1",
            "Verify-clients",
        ] {
            let e = bad.parse::<PhaseName>().expect_err(bad).to_string();
            assert!(e.contains(&format!("`{bad}`")), "{e}");
            assert!(
                e.contains("verify-clients") && e.contains("takeover-<facet>"),
                "{e}"
            );
        }
    }

    #[test]
    fn serde_uses_the_text_form() {
        let p = PhaseName::Takeover {
            facet: "ost2".into(),
        };
        let json = serde_json::to_string(&p).expect("serialises");
        assert_eq!(json, "\"takeover-ost2\"");
        let back: PhaseName = serde_json::from_str(&json).expect("parses");
        assert_eq!(back, p);
        let bad = serde_json::from_str::<PhaseName>("\"mount-everything\"")
            .expect_err("unknown phase")
            .to_string();
        assert!(bad.contains("unknown phase `mount-everything`"), "{bad}");
    }

    #[test]
    fn stages_parse_with_a_typed_error() {
        assert_eq!("lnet".parse::<Stage>(), Ok(Stage::Lnet));
        let e = "boot".parse::<Stage>().expect_err("not a guest stage");
        assert_eq!(
            e.to_string(),
            "unknown stage `boot`: expected one of install, lnet, format, mount, verify, services, teardown"
        );
    }
}
