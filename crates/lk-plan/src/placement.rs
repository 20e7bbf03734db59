//! Where a `source: build` topology compiles Lustre: in its build VM (the original design,
//! fine under KVM) or on the host in a chroot of the guest's distribution (a TCG VM is far too
//! slow: hours instead of half an hour). Automatic, with an override.

use serde::{Deserialize, Serialize};

/// The user's choice (`--build-on`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BuildOn {
    /// The build VM when KVM works and the topology has one, else the host.
    #[default]
    Auto,
    Host,
    Vm,
}

/// What the accelerator probe found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Kvm {
    Works,
    /// With the probe's reason.
    Unavailable(String),
}

impl Default for Kvm {
    fn default() -> Self {
        Kvm::Unavailable("not probed".into())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BuildPlace {
    /// A chroot on the host (lk-build); build-only nodes are not created.
    Host,
    /// The topology's build VM (the `build` phase).
    Vm,
}

/// Where the build runs and why, as `plan` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BuildPlacement {
    pub place: BuildPlace,
    pub reason: String,
}

/// Decides the build's place. `build_node` is the first node with the build role, if any.
/// `--build-on vm` without a build node is refused by the caller before planning.
pub fn decide(on: BuildOn, kvm: &Kvm, build_node: Option<&str>) -> BuildPlacement {
    let host = |reason: String| BuildPlacement {
        place: BuildPlace::Host,
        reason,
    };
    match (on, kvm, build_node) {
        (BuildOn::Host, _, _) => host("--build-on host".into()),
        (BuildOn::Vm, _, Some(n)) => BuildPlacement {
            place: BuildPlace::Vm,
            reason: format!("--build-on vm: compiling in {n}"),
        },
        (BuildOn::Vm, _, None) | (BuildOn::Auto, _, None) => {
            host("no node has the build role".into())
        }
        (BuildOn::Auto, Kvm::Works, Some(n)) => BuildPlacement {
            place: BuildPlace::Vm,
            reason: format!("KVM works: compiling in the build VM {n}"),
        },
        (BuildOn::Auto, Kvm::Unavailable(why), Some(n)) => host(format!(
            "KVM does not work here ({why}) and a TCG VM is far too slow to compile Lustre; {n} is not created"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_follows_kvm_and_the_build_node() {
        let off = Kvm::Unavailable("no /dev/kvm".into());
        assert_eq!(
            decide(BuildOn::Auto, &Kvm::Works, Some("b")).place,
            BuildPlace::Vm
        );
        let p = decide(BuildOn::Auto, &off, Some("b"));
        assert_eq!(p.place, BuildPlace::Host);
        assert!(p.reason.contains("no /dev/kvm"), "{}", p.reason);
        assert_eq!(
            decide(BuildOn::Auto, &Kvm::Works, None).place,
            BuildPlace::Host
        );
        assert_eq!(
            decide(BuildOn::Host, &Kvm::Works, Some("b")).place,
            BuildPlace::Host
        );
        assert_eq!(decide(BuildOn::Vm, &off, Some("b")).place, BuildPlace::Vm);
    }
}
