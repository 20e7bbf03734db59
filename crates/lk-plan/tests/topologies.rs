//! What the shipped topologies must show in their plans, asserted directly (the snapshots pin
//! the full text; these say what matters in it).

use lk_plan::resources::VolumePurpose;
use lk_plan::{PhaseName, Plan};

fn plan(example: &str) -> Plan {
    let path = format!(
        "{}/../../examples/{example}.yaml",
        env!("CARGO_MANIFEST_DIR")
    );
    let topology = lk_model::load(&std::fs::read(path).expect("example")).expect("valid example");
    lk_plan::plan(&topology, &lk_plan::PlanOptions::default())
}

fn commands<'a>(plan: &'a Plan, node: &str, phase: &str) -> Vec<&'a str> {
    plan.nodes
        .iter()
        .find(|n| n.node == node)
        .and_then(|n| n.steps.iter().find(|s| s.phase.to_string() == phase))
        .map(|s| s.commands.iter().map(String::as_str).collect())
        .unwrap_or_default()
}

#[test]
fn ha_targets_have_both_servicenodes_and_shared_disks() {
    let p = plan("ha");
    let nid = |node: &str| p.nodes.iter().find(|n| n.node == node).expect("node").nids[0].clone();
    let pairs = [
        ("mds1", "mds2", "hafs-mgs"),
        ("mds1", "mds2", "hafs-mdt1"),
        ("mds2", "mds1", "hafs-mdt2"),
        ("oss1", "oss2", "hafs-ost1"),
        ("oss2", "oss1", "hafs-ost2"),
    ];
    for (primary, partner, serial) in pairs {
        let mkfs: Vec<&str> = commands(&p, primary, "format")
            .into_iter()
            .filter(|c| c.starts_with("mkfs.lustre") && c.ends_with(&format!("virtio-{serial}")))
            .collect();
        assert_eq!(mkfs.len(), 1, "{serial} is formatted once on {primary}");
        assert!(
            mkfs[0].contains(&format!("--servicenode={}", nid(primary))),
            "{}",
            mkfs[0]
        );
        assert!(
            mkfs[0].contains(&format!("--servicenode={}", nid(partner))),
            "{}",
            mkfs[0]
        );
        assert!(
            commands(&p, partner, "format")
                .iter()
                .all(|c| !c.ends_with(&format!("virtio-{serial}"))),
            "{serial} is not formatted on {partner}"
        );
        let volume = p
            .resources
            .volumes
            .iter()
            .find(|v| v.serial == serial)
            .expect("volume");
        assert!(volume.shareable());
        let mut attached = volume.attached_to.clone();
        attached.sort();
        let mut expected = vec![primary.to_string(), partner.to_string()];
        expected.sort();
        assert_eq!(attached, expected);
        for node in [primary, partner] {
            let domain = p
                .resources
                .domains
                .iter()
                .find(|d| d.node == node)
                .expect("domain");
            let disk = domain
                .disks
                .iter()
                .find(|d| d.serial == serial)
                .expect("disk attached");
            assert!(disk.shareable);
        }
    }
    // Non-MGT targets point at both MGS nodes; the client mounts with both.
    let mgs = format!("--mgsnode={}:{}", nid("mds1"), nid("mds2"));
    assert!(commands(&p, "oss1", "format")
        .iter()
        .any(|c| c.contains(&mgs)));
    assert_eq!(
        commands(&p, "client1", "mount-client"),
        [format!(
            "mount -t lustre {}:{}:/hafs /mnt/hafs",
            nid("mds1"),
            nid("mds2")
        )]
    );
}

#[test]
fn routing_plan_routes_through_router_nids() {
    let p = plan("routing");
    let addr = |node: &str, net: &str| {
        let n = p.nodes.iter().find(|n| n.node == node).expect("node");
        n.nids
            .iter()
            .find(|x| x.ends_with(&format!("@{net}")))
            .expect("nid")
            .clone()
    };
    let client = commands(&p, "client1", "lnet");
    assert!(
        client.contains(
            &format!(
                "lnetctl route add --net tcp1 --gateway {} --hop 1",
                addr("rtr1", "tcp0")
            )
            .as_str()
        ),
        "{client:?}"
    );
    assert!(
        client.contains(
            &format!(
                "lnetctl route add --net tcp2 --gateway {} --hop 2",
                addr("rtr1", "tcp0")
            )
            .as_str()
        ),
        "{client:?}"
    );
    for server in ["mds1", "oss1"] {
        let c = commands(&p, server, "lnet");
        assert!(
            c.contains(
                &format!(
                    "lnetctl route add --net tcp1 --gateway {} --hop 1",
                    addr("rtr2", "tcp2")
                )
                .as_str()
            ),
            "{c:?}"
        );
        assert!(
            c.contains(
                &format!(
                    "lnetctl route add --net tcp0 --gateway {} --hop 2",
                    addr("rtr2", "tcp2")
                )
                .as_str()
            ),
            "{c:?}"
        );
    }
    for router in ["rtr1", "rtr2"] {
        assert!(
            commands(&p, router, "lnet").contains(&"lnetctl set routing 1"),
            "{router} forwards"
        );
    }
    assert!(commands(&p, "rtr1", "lnet").contains(
        &format!(
            "lnetctl route add --net tcp2 --gateway {} --hop 1",
            addr("rtr2", "tcp1")
        )
        .as_str()
    ));
    assert!(
        commands(&p, "client1", "lnet")
            .iter()
            .all(|c| !c.contains("routing 1")),
        "clients do not forward"
    );
}

#[test]
fn mount_order_is_mgs_mdt_ost_client() {
    let p = plan("ha");
    let names: Vec<String> = p.phases.iter().map(|ph| ph.name.to_string()).collect();
    let pos = |n: &str| names.iter().position(|x| *x == n).expect(n);
    assert!(pos("lnet") < pos("format"));
    assert!(pos("format") < pos("mount-mgs"));
    assert!(pos("mount-mgs") < pos("mount-mdt"));
    assert!(pos("mount-mdt") < pos("mount-ost"));
    assert!(pos("mount-ost") < pos("wait-ost"));
    assert!(pos("wait-ost") < pos("mount-client"));
    assert!(pos("mount-client") < pos("verify-clients"));
    let down: Vec<String> = p.teardown.iter().map(|ph| ph.name.to_string()).collect();
    assert_eq!(
        down,
        [
            "umount-client",
            "umount-mdt",
            "umount-ost",
            "umount-mgs",
            "unload"
        ]
    );
}

#[test]
fn bench_layout_expands() {
    let p = plan("bench");
    assert_eq!(p.resources.domains.len(), 1 + 4 + 4);
    let osts = p
        .resources
        .volumes
        .iter()
        .filter(
            |v| matches!(&v.purpose, VolumePurpose::Target { target } if target.contains("-OST")),
        )
        .count();
    assert_eq!(osts, 8);
    let local = &p.files["cfg/local.sh"];
    assert!(
        local.contains("OSTCOUNT=8") && local.contains("ost8_HOST=oss4"),
        "{local}"
    );
}

#[test]
fn build_lab_builds_on_the_host_without_kvm() {
    let p = plan("basic-lab");
    let b = p.build.as_ref().expect("placement");
    assert_eq!(b.place, lk_plan::BuildPlace::Host);
    assert!(b.reason.contains("KVM does not work"), "{}", b.reason);
    assert_eq!(p.phases[0].name, PhaseName::Install);
    assert!(
        !p.nodes.iter().any(|n| n.node == "build"),
        "the build VM is not created when compiling on the host"
    );
    assert!(
        p.resources.shared.imports.is_empty(),
        "the repository is added by up"
    );
    let install = &p.files["scripts/client1/install.sh"];
    assert!(
        install.contains("file:/mnt/lustrekit/packages"),
        "{install}"
    );
    assert!(install.contains("lustre-modules-$kver"), "{install}");
}

#[test]
fn build_lab_builds_in_the_vm_with_kvm() {
    let t = lk_model::load(
        &std::fs::read(format!(
            "{}/../../examples/basic-lab.yaml",
            env!("CARGO_MANIFEST_DIR")
        ))
        .expect("example"),
    )
    .expect("valid");
    let p = lk_plan::plan(
        &t,
        &lk_plan::PlanOptions {
            kvm: lk_plan::Kvm::Works,
            ..lk_plan::PlanOptions::default()
        },
    );
    assert_eq!(
        p.build.as_ref().map(|b| b.place),
        Some(lk_plan::BuildPlace::Vm)
    );
    assert_eq!(p.phases[0].name, PhaseName::Build);
    assert_eq!(p.phases[0].nodes, ["build"]);
    assert!(
        !p.phases[1].nodes.contains(&"build".to_string()),
        "the build VM does not install Lustre"
    );
}

fn phase_nodes(p: &Plan) -> Vec<(String, Vec<String>)> {
    p.phases
        .iter()
        .map(|ph| (ph.name.to_string(), ph.nodes.clone()))
        .collect()
}

#[test]
fn routed_pings_wait_for_the_first_mount_that_needs_them() {
    // The routing example: only the client has peers across routers, so the servers format
    // and mount while the routers start forwarding, and route-check runs before mount-client.
    let p = plan("routing");
    let phases = phase_nodes(&p);
    let at = |n: &str| phases.iter().position(|(x, _)| x == n).expect(n);
    assert_eq!(at("route-check") + 1, at("mount-client"));
    assert_eq!(phases[at("route-check")].1, ["client1"]);
    assert!(commands(&p, "client1", "lnet-check").is_empty());
    assert_eq!(
        commands(&p, "client1", "route-check"),
        [
            "lnetctl route show -v  (until no route is down)",
            "lnetctl ping 10.222.0.11@tcp2",
            "lnetctl ping 10.222.0.12@tcp2",
        ]
    );
    // Servers ping each other on their own network, and never wait for routes.
    for server in ["mds1", "oss1"] {
        let c = commands(&p, server, "lnet-check");
        assert_eq!(c.len(), 1, "{c:?}");
        assert!(c[0].starts_with("lnetctl ping 10.222.0."), "{c:?}");
    }

    // An OSS on a fourth network: the MDS reaches it across a router, so route-check runs
    // before the first server mount.
    let yaml = std::fs::read_to_string(format!(
        "{}/../../examples/routing.yaml",
        env!("CARGO_MANIFEST_DIR")
    ))
    .expect("example")
    .replace(
        "    - { name: tcp2, cidr: 10.222.0.0/24 }\n",
        "    - { name: tcp2, cidr: 10.222.0.0/24 }\n    - { name: tcp3, cidr: 10.223.0.0/24 }\n",
    )
    .replace(
        "{ name: rtr2, roles: [router], networks: [tcp1, tcp2] }",
        "{ name: rtr2, roles: [router], networks: [tcp1, tcp2, tcp3] }",
    )
    .replace(
        "{ name: oss1, roles: [oss], networks: [tcp2] }",
        "{ name: oss1, roles: [oss], networks: [tcp3] }",
    )
    .replace(
        "    - { from: tcp1, to: tcp2, gateway: rtr2 }",
        "    - { from: tcp1, to: tcp2, gateway: rtr2 }\n    - { from: tcp2, to: tcp3, gateway: rtr2 }",
    );
    let topology = lk_model::load(yaml.as_bytes()).expect("valid variant");
    let p = lk_plan::plan(&topology, &lk_plan::PlanOptions::default());
    let phases = phase_nodes(&p);
    let at = |n: &str| phases.iter().position(|(x, _)| x == n).expect(n);
    assert_eq!(at("format") + 1, at("route-check"));
    assert_eq!(at("route-check") + 1, at("mount-mgs"));
    let checkers = &phases[at("route-check")].1;
    for n in ["client1", "mds1", "oss1"] {
        assert!(checkers.iter().any(|c| c == n), "{n} in {checkers:?}");
    }
}

#[test]
fn a_plan_without_routes_has_no_route_check() {
    for example in ["all-in-one", "small", "ha", "bench", "basic-lab"] {
        let p = plan(example);
        assert!(
            p.phases.iter().all(|ph| ph.name != PhaseName::RouteCheck),
            "{example}"
        );
    }
}
