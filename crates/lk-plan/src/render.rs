//! A plan as text for people (resources, then each node's steps in execution order) or as
//! JSON for programs. Output depends only on the plan, so it is byte-identical across runs.

use std::fmt::Write as _;

use lk_model::size::format_size;

use crate::resources::{VolumeFormat, VolumePurpose};
use crate::Plan;

/// The plan as pretty JSON with a final newline.
pub fn json(plan: &Plan) -> Result<String, serde_json::Error> {
    Ok(serde_json::to_string_pretty(plan)? + "\n")
}

pub fn text(plan: &Plan) -> String {
    let mut o = String::new();
    let r = &plan.resources;
    let _ = writeln!(
        o,
        "Plan for cluster {} (filesystem {}, backend {})",
        plan.cluster, plan.fsname, plan.backend
    );
    let _ = writeln!(o, "Lustre: {}", plan.lustre);
    if let Some(b) = &plan.build {
        let place = match b.place {
            crate::BuildPlace::Host => "host",
            crate::BuildPlace::Vm => "build VM",
        };
        let _ = writeln!(o, "Build: on the {place} ({})", b.reason);
        if b.place == crate::BuildPlace::Host {
            let _ = writeln!(
                o,
                "  before the VMs: lustrekit build (cached by source, kernel, options), then its apt repository -> packages/"
            );
        }
    }
    let _ = writeln!(o);
    let _ = writeln!(o, "Resources");
    for n in &r.networks {
        let _ = writeln!(
            o,
            "  network {}  LNet {}  {}  bridge {}  host {}  DHCP {}-{}",
            n.name, n.lnet, n.cidr, n.bridge, n.host_address, n.dhcp_start, n.dhcp_end
        );
        for h in &n.hosts {
            let _ = writeln!(o, "    reserve {:<12} {}  {}", h.node, h.mac, h.address);
        }
    }
    let _ = writeln!(o, "  pool    {}  {}", r.pool.name, r.pool.path);
    let _ = writeln!(
        o,
        "  shared  {} -> guest {} (9p tag {}; {})",
        r.shared.host_path,
        r.shared.guest_path,
        r.shared.tag,
        r.shared
            .subdirs
            .iter()
            .map(|d| format!("{d}/"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    for imp in &r.shared.imports {
        let what = match imp.kind {
            crate::resources::ImportKind::Packages => "the .rpm/.deb files of",
            crate::resources::ImportKind::File => "file",
            crate::resources::ImportKind::Tree => "tree",
            crate::resources::ImportKind::Repository => "the apt repository",
        };
        let _ = writeln!(o, "    copy {what} {} -> {}/", imp.from, imp.to);
    }
    for v in &r.volumes {
        let format = match v.format {
            VolumeFormat::Qcow2 => "qcow2",
            VolumeFormat::Raw => "raw",
        };
        let what = match &v.purpose {
            VolumePurpose::Root { .. } => "root".to_string(),
            VolumePurpose::Target { target } => target.clone(),
        };
        let backing = v
            .backing
            .as_ref()
            .map(|b| format!(" backing {b}"))
            .unwrap_or_default();
        let share = if v.shareable() { " shareable" } else { "" };
        let _ = writeln!(
            o,
            "  volume  {}  {what}  {} {format}{backing}  serial {}  on {}{share}",
            v.name,
            format_size(v.capacity_bytes),
            v.serial,
            v.attached_to.join(", ")
        );
    }
    for d in &r.domains {
        let nics = d
            .nics
            .iter()
            .map(|n| format!("{}={}", n.guest_interface, n.address))
            .collect::<Vec<_>>()
            .join(" ");
        let disks = d
            .disks
            .iter()
            .map(|k| format!("{}={}", k.device, k.serial))
            .collect::<Vec<_>>()
            .join(" ");
        let boot = d
            .kernel
            .as_ref()
            .map(|k| format!("  kernel {}", k.kernel))
            .unwrap_or_default();
        let _ = writeln!(
            o,
            "  domain  {}  {} vCPU  {} MiB  {nics}  {disks}{boot}",
            d.name, d.vcpus, d.memory_mib
        );
    }
    let _ = writeln!(o);
    let _ = writeln!(o, "Execution order (nodes of one step run in parallel)");
    for (i, p) in plan.phases.iter().enumerate() {
        let _ = writeln!(
            o,
            "  {:>2}. {:<15} {:<9} {}  [{}]",
            i + 1,
            p.name,
            p.stage.as_str(),
            p.description,
            p.nodes.join(", ")
        );
    }
    let _ = writeln!(o, "Teardown order");
    for (i, p) in plan.teardown.iter().enumerate() {
        let _ = writeln!(
            o,
            "  {:>2}. {:<15} {}  [{}]",
            i + 1,
            p.name,
            p.description,
            p.nodes.join(", ")
        );
    }
    if !plan.failover.is_empty() {
        let _ = writeln!(
            o,
            "Failover (lustrekit failover CLUSTER TARGET; scripts release-FACET, takeover-FACET)"
        );
        for f in &plan.failover {
            let _ = writeln!(
                o,
                "  {:<15} {:<5} {} <-> {}",
                f.label, f.facet, f.primary, f.partner
            );
        }
    }
    if !plan.services.is_empty() {
        let _ = writeln!(o, "Services");
        for s in &plan.services {
            let _ = writeln!(
                o,
                "  {:<12} {:<6} on {}  {}  auth {}  serves {}  sync {}",
                s.name, s.kind, s.node, s.endpoint, s.auth_url, s.root, s.sync
            );
        }
    }
    for n in &plan.nodes {
        let _ = writeln!(o);
        let _ = writeln!(
            o,
            "Node {} ({})  domain {}  NIDs {}",
            n.node,
            n.roles.join(", "),
            n.domain,
            n.nids.join(" ")
        );
        for s in &n.steps {
            let _ = writeln!(o, "  [{}] {}", s.phase, s.script);
            for c in &s.commands {
                let _ = writeln!(o, "      {c}");
            }
        }
    }
    let _ = writeln!(o);
    let _ = writeln!(o, "Files in the shared folder");
    for (path, content) in &plan.files {
        let _ = writeln!(o, "  {path} ({} lines)", content.lines().count());
    }
    o
}
