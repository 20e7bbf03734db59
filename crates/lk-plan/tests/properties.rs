//! Property tests: parsing + validation + planning never panic, whatever the input, and every
//! topology that validates plans into a self-consistent plan.

use lk_model::raw::*;
use proptest::prelude::*;

const NAMES: &[&str] = &[
    "mds1", "mds2", "oss1", "oss2", "client1", "rtr1", "build", "Bad_Name", "",
];
const NETS: &[&str] = &["tcp0", "tcp1", "tcp2", "eth0"];
const CIDRS: &[&str] = &[
    "10.250.0.0/24",
    "10.251.0.0/24",
    "10.250.0.0/16",
    "10.252.0.0/28",
    "300.0.0.0/24",
    "x",
];
const SIZES: &[&str] = &["1GiB", "256MiB", "2G", "1MiB", "lots", "99999999999TiB"];

fn pick<T: Clone + std::fmt::Debug + 'static>(items: &'static [T]) -> impl Strategy<Value = T> {
    prop::sample::select(items)
}

fn role() -> impl Strategy<Value = Role> {
    prop::sample::select(vec![
        Role::Mgs,
        Role::Mds,
        Role::Oss,
        Role::Client,
        Role::Router,
        Role::Build,
    ])
}

fn node() -> impl Strategy<Value = NodeSpec> {
    (
        pick(NAMES),
        prop::collection::vec(role(), 0..3),
        prop::option::of(0u32..80),
        prop::option::of(pick(SIZES)),
        prop::collection::vec(pick(NETS), 0..3),
    )
        .prop_map(|(name, roles, vcpus, memory, networks)| NodeSpec {
            name: name.to_string(),
            roles,
            vcpus,
            memory: memory.map(str::to_string),
            networks: networks.into_iter().map(str::to_string).collect(),
        })
}

fn target() -> impl Strategy<Value = TargetSpec> {
    (
        prop::sample::select(vec![0i64, 1, 2, 3, -1, 65535, 65536, i64::MAX]),
        pick(NAMES),
        prop::option::of(pick(NAMES)),
        prop::option::of(prop::sample::select(vec![
            FailoverMode::Servicenode,
            FailoverMode::Failnode,
        ])),
        prop::option::of(pick(SIZES)),
    )
        .prop_map(|(index, node, failover, failover_mode, size)| TargetSpec {
            index,
            node: node.to_string(),
            failover: failover.map(str::to_string),
            failover_mode,
            size: size.map(str::to_string),
        })
}

fn cluster() -> impl Strategy<Value = LustreCluster> {
    let networks = prop::collection::vec((pick(NETS), pick(CIDRS)), 0..3);
    let layout = prop::option::of((0u32..5, 0u32..5, 0u32..4, 0u32..4).prop_map(
        |(mds, oss, per, clients)| LayoutSpec {
            mds: Some(mds),
            oss,
            osts_per_oss: Some(per),
            clients: Some(clients),
            mdt_size: None,
            ost_size: None,
        },
    ));
    let targets = (
        prop::option::of((pick(NAMES), prop::option::of(pick(NAMES)))),
        prop::collection::vec(target(), 0..3),
        prop::collection::vec(target(), 0..4),
    );
    let routes = prop::collection::vec((pick(NETS), pick(NETS), pick(NAMES)), 0..3);
    (
        prop::sample::select(vec!["lustre", "fs", "toolongname", ""]),
        networks,
        layout,
        prop::collection::vec(node(), 0..7),
        targets,
        routes,
        prop::option::of(prop::sample::select(vec![Backend::Zfs, Backend::Ldiskfs])),
    )
        .prop_map(
            |(fsname, networks, layout, nodes, (mgt, mdts, osts), routes, backend)| LustreCluster {
                api_version: API_VERSION.into(),
                kind: KIND.into(),
                metadata: Metadata {
                    name: "prop".into(),
                },
                spec: ClusterSpec {
                    fsname: fsname.into(),
                    backend,
                    networks: networks
                        .into_iter()
                        .map(|(n, c)| NetworkSpec {
                            name: n.into(),
                            cidr: c.into(),
                        })
                        .collect(),
                    layout,
                    nodes,
                    targets: Some(TargetsSpec {
                        mgt: mgt.map(|(n, f)| MgtSpec {
                            node: n.into(),
                            failover: f.map(str::to_string),
                            failover_mode: None,
                            size: None,
                        }),
                        mdts,
                        osts,
                    }),
                    routes: routes
                        .into_iter()
                        .map(|(f, t, g)| RouteSpec {
                            from: f.into(),
                            to: t.into(),
                            gateway: g.into(),
                        })
                        .collect(),
                    ..ClusterSpec::default()
                },
            },
        )
}

/// Mostly valid topologies: the compact layout with random counts, optional HA pairs are not
/// expressible there, so failover comes from an explicit extra OST pair.
fn layout_cluster() -> impl Strategy<Value = LustreCluster> {
    (
        1u32..4,
        1u32..5,
        1u32..4,
        0u32..4,
        prop::bool::ANY,
        prop::option::of(prop::sample::select(vec![Backend::Zfs, Backend::Ldiskfs])),
    )
        .prop_map(|(mds, oss, per, clients, ha, backend)| {
            let mut spec = ClusterSpec {
                fsname: "prop".into(),
                backend,
                layout: Some(LayoutSpec {
                    mds: Some(mds),
                    oss,
                    osts_per_oss: Some(per),
                    clients: Some(clients),
                    mdt_size: None,
                    ost_size: None,
                }),
                ..ClusterSpec::default()
            };
            if ha {
                for name in ["ha1", "ha2"] {
                    spec.nodes.push(NodeSpec {
                        name: name.into(),
                        roles: vec![Role::Oss],
                        vcpus: None,
                        memory: None,
                        networks: vec![],
                    });
                }
                spec.targets = Some(TargetsSpec {
                    mgt: None,
                    mdts: vec![],
                    osts: vec![TargetSpec {
                        index: 1000,
                        node: "ha1".into(),
                        failover: Some("ha2".into()),
                        failover_mode: None,
                        size: None,
                    }],
                });
            }
            LustreCluster {
                api_version: API_VERSION.into(),
                kind: KIND.into(),
                metadata: Metadata {
                    name: "prop".into(),
                },
                spec,
            }
        })
}

fn check_plan(t: &lk_model::Topology) {
    let plan = lk_plan::plan(t, &lk_plan::PlanOptions::default());
    // A host build (the default without KVM) does not create build-only nodes.
    let host_build = plan
        .build
        .as_ref()
        .is_some_and(|b| b.place == lk_plan::BuildPlace::Host);
    let expected = t
        .nodes
        .iter()
        .filter(|n| {
            !host_build
                || n.roles
                    .iter()
                    .any(|r| *r != lk_model::topology::Role::Build)
        })
        .count();
    assert_eq!(plan.resources.domains.len(), expected);
    // Every disk a domain attaches exists, and every NIC's network exists.
    for d in &plan.resources.domains {
        for disk in &d.disks {
            assert!(plan.resources.volumes.iter().any(|v| v.name == disk.volume));
        }
        for nic in &d.nics {
            assert!(plan
                .resources
                .networks
                .iter()
                .any(|n| n.name == nic.network));
        }
    }
    // Every phase's script exists.
    for p in plan.phases.iter().chain(&plan.teardown) {
        for n in &p.nodes {
            assert!(
                plan.files.contains_key(&p.script(n)),
                "missing {}",
                p.script(n)
            );
        }
    }
    let _ = lk_plan::render::text(&plan);
    lk_plan::render::json(&plan).expect("a plan serialises");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn structured_topologies_never_panic(doc in prop_oneof![cluster(), layout_cluster()]) {
        let yaml = serde_yaml_ng::to_string(&doc).expect("serialise");
        if let Ok(t) = lk_model::load(yaml.as_bytes()) {
            check_plan(&t);
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = lk_model::load(&bytes);
    }

    #[test]
    fn mutated_examples_never_panic(idx in 0usize..5, cut in 0usize..4000, insert in "[ -~\n]{0,12}") {
        let examples = ["all-in-one", "basic-lab", "ha", "routing", "bench"];
        let path = format!("{}/../../examples/{}.yaml", env!("CARGO_MANIFEST_DIR"), examples[idx]);
        let text = std::fs::read_to_string(path).expect("example");
        let at = text.char_indices().map(|(i, _)| i).nth(cut % text.len().max(1)).unwrap_or(0);
        let mutated = format!("{}{insert}{}", &text[..at], &text[at..]);
        if let Ok(t) = lk_model::load(mutated.as_bytes()) {
            check_plan(&t);
        }
    }
}

#[test]
fn some_generated_topologies_are_valid() {
    // Guards against a generator that only ever produces rejects (a test that cannot fail).
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let strategy = prop_oneof![cluster(), layout_cluster()];
    let mut valid = 0;
    for _ in 0..2000 {
        let doc = strategy.new_tree(&mut runner).expect("tree").current();
        let yaml = serde_yaml_ng::to_string(&doc).expect("serialise");
        if lk_model::load(yaml.as_bytes()).is_ok() {
            valid += 1;
        }
    }
    assert!(
        valid > 100,
        "the generator produced only {valid} valid topologies in 2000"
    );
}
