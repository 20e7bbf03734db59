//! The pure build: objects for example topologies, checked field by field.

use std::collections::BTreeSet;

use super::{build, Desired, Input};
use crate::test_support::*;

fn desired(name: &str, halted: &[&str]) -> Desired {
    let lc = example(name);
    let v = validated(&lc);
    let halted: BTreeSet<String> = halted.iter().map(|s| s.to_string()).collect();
    build(&Input {
        lc: &lc,
        validated: &v,
        token: "secret-token",
        halted: &halted,
        agent_port: 9690,
    })
    .expect("build")
}

#[test]
fn ha_pairs_share_their_disks() {
    let d = desired("ha.yaml", &[]);
    let rwx: Vec<String> = d
        .pvcs
        .iter()
        .filter(|p| {
            p.spec.as_ref().and_then(|s| s.access_modes.clone())
                == Some(vec!["ReadWriteMany".into()])
        })
        .filter_map(|p| p.metadata.name.clone())
        .collect();
    assert!(!rwx.is_empty(), "failover targets are shared");
    for p in &d.pvcs {
        assert_eq!(
            p.spec.as_ref().and_then(|s| s.volume_mode.as_deref()),
            Some("Block")
        );
        assert!(
            p.metadata.owner_references.is_none(),
            "PVCs are never owned"
        );
    }
    // Every shared PVC is attached to two VMs, as a shareable disk without cache.
    for name in &rwx {
        let users: Vec<&kube::api::DynamicObject> = d
            .vms
            .iter()
            .filter(|vm| {
                vm.data["spec"]["template"]["spec"]["volumes"]
                    .to_string()
                    .contains(&format!("\"claimName\":\"{name}\""))
            })
            .collect();
        assert_eq!(users.len(), 2, "{name}");
        for vm in users {
            let disks = vm.data["spec"]["template"]["spec"]["domain"]["devices"]["disks"]
                .as_array()
                .expect("disks")
                .clone();
            let short = name.rsplit('-').next().expect("short");
            let disk = disks.iter().find(|x| x["name"] == short).expect("disk");
            assert_eq!(disk["shareable"], true);
            assert_eq!(disk["cache"], "none");
        }
    }
}

#[test]
fn routed_nodes_get_static_addresses_on_every_lnet_network() {
    let lc = example("routing.yaml");
    let v = validated(&lc);
    let d = desired("routing.yaml", &[]);
    for domain in &v.plan.resources.domains {
        let vm = d
            .vms
            .iter()
            .find(|x| {
                x.metadata.name.as_deref() == Some(&format!("{}-{}", v.topology.name, domain.node))
            })
            .expect("vm");
        let ifs = vm.data["spec"]["template"]["spec"]["domain"]["devices"]["interfaces"]
            .as_array()
            .expect("interfaces")
            .clone();
        assert_eq!(ifs.len(), domain.nics.len() + 1);
        for (i, nic) in domain.nics.iter().enumerate() {
            assert_eq!(ifs[i]["name"], nic.lnet.as_str());
            assert_eq!(ifs[i]["macAddress"], nic.mac.as_str());
        }
        assert_eq!(ifs[domain.nics.len()]["name"], "pod");
        let secret = d
            .secrets
            .iter()
            .find(|s| {
                s.metadata.name.as_deref()
                    == Some(&format!("{}-{}-cloudinit", v.topology.name, domain.node))
            })
            .expect("secret");
        let data = secret.data.as_ref().expect("data");
        let net = String::from_utf8(data["networkdata"].0.clone()).expect("utf8");
        for nic in &domain.nics {
            assert!(
                net.contains(&format!("{}/", nic.address)),
                "{}: {net}",
                domain.node
            );
            assert!(
                net.contains(&format!("set-name: {}", nic.guest_interface)),
                "{net}"
            );
        }
        let user = String::from_utf8(data["userdata"].0.clone()).expect("utf8");
        assert!(user.starts_with("#cloud-config\n"));
        assert!(user.contains("secret-token"));
        assert!(user.contains("lustrekit agent --listen 0.0.0.0:9690"));
        assert!(user.contains("zgenhostid -f"));
    }
}

#[test]
fn fenced_nodes_are_halted_and_everything_is_owned() {
    let d = desired("all-in-one.yaml", &["node1"]);
    assert_eq!(d.vms.len(), 1);
    let vm = &d.vms[0];
    assert_eq!(vm.data["spec"]["runStrategy"], "Halted");
    let owner = &vm.metadata.owner_references.as_ref().expect("owner")[0];
    assert_eq!(
        (owner.kind.as_str(), owner.controller),
        ("LustreCluster", Some(true))
    );
    let serials: Vec<String> = vm.data["spec"]["template"]["spec"]["domain"]["devices"]["disks"]
        .as_array()
        .expect("disks")
        .iter()
        .filter_map(|x| x["serial"].as_str().map(str::to_string))
        .collect();
    assert_eq!(
        serials,
        ["lustre-mgs", "lustre-mdt1", "lustre-ost1", "lustre-ost2"]
    );
    assert_eq!(
        vm.data["spec"]["template"]["spec"]["volumes"][0]["containerDisk"]["image"],
        "lustrekit/debian-12-lustre:2.17"
    );
    assert!(d
        .secrets
        .iter()
        .all(|s| s.metadata.owner_references.is_some()));
    let d = desired("all-in-one.yaml", &[]);
    assert_eq!(d.vms[0].data["spec"]["runStrategy"], "Always");
}

#[test]
fn host_only_lustre_sources_are_refused() {
    let lc = example("basic-lab.yaml");
    let problems = crate::validate::validate(&lc).err().expect("refused");
    assert!(
        problems.iter().any(|p| p.path == "spec.lustre.source"),
        "{problems:?}"
    );
}
