//! Snapshots of the libvirt XML for the example topologies (HA for shareable disks, routing
//! for several networks per node). Review changes with `cargo insta review`.

use lk_libvirt::accel::Accel;
use lk_libvirt::xml::{self, DomainContext, Owner};

fn plan(example: &str) -> lk_plan::Plan {
    let path = format!(
        "{}/../../examples/{example}.yaml",
        env!("CARGO_MANIFEST_DIR")
    );
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("read {path}: {e}"));
    let topology = lk_model::load(&bytes).unwrap_or_else(|e| panic!("{example}: {e}"));
    lk_plan::plan(&topology, &lk_plan::PlanOptions::default())
}

fn all_xml(example: &str) -> String {
    let p = plan(example);
    let r = &p.resources;
    let owner = Owner {
        cluster: p.cluster.clone(),
        run: "run-0001".into(),
    };
    let mut out = String::new();
    for n in &r.networks {
        out.push_str(&format!("==== network {}\n{}", n.name, xml::network_xml(n)));
    }
    out.push_str(&format!(
        "==== pool {}\n{}",
        r.pool.name,
        xml::pool_xml(&r.pool)
    ));
    for v in &r.volumes {
        out.push_str(&format!("==== volume {}\n{}", v.name, xml::volume_xml(v)));
    }
    for d in &r.domains {
        let ctx = DomainContext {
            owner: &owner,
            accel: Accel::Tcg,
            pool_path: &r.pool.path,
            volumes: &r.volumes,
            shared: &r.shared,
        };
        out.push_str(&format!(
            "==== domain {}\n{}",
            d.name,
            xml::domain_xml(d, &ctx)
        ));
    }
    out
}

#[test]
fn ha_xml() {
    insta::assert_snapshot!(all_xml("ha"));
}

#[test]
fn routing_xml() {
    insta::assert_snapshot!(all_xml("routing"));
}

#[test]
fn domain_owner_tag_parses_back() {
    let p = plan("basic-lab");
    let r = &p.resources;
    let owner = Owner {
        cluster: p.cluster.clone(),
        run: "r-42".into(),
    };
    for d in &r.domains {
        let ctx = DomainContext {
            owner: &owner,
            accel: Accel::Kvm,
            pool_path: &r.pool.path,
            volumes: &r.volumes,
            shared: &r.shared,
        };
        let x = xml::domain_xml(d, &ctx);
        assert_eq!(
            xml::parse_owner(&x).ok(),
            Some(Some(owner.clone())),
            "{}",
            d.name
        );
        assert!(x.starts_with("<domain type='kvm'>"));
        assert!(x.contains("<cpu mode='host-passthrough'/>"));
    }
}

#[test]
fn shareable_disks_have_no_cache_and_serial() {
    let p = plan("ha");
    let x = all_xml("ha");
    let shared: Vec<_> = p
        .resources
        .volumes
        .iter()
        .filter(|v| v.shareable())
        .collect();
    assert!(!shared.is_empty(), "ha example has failover targets");
    for v in shared {
        assert!(
            x.contains(&format!(
                "<serial>{}</serial>\n      <shareable/>",
                v.serial
            )),
            "{}",
            v.name
        );
    }
    assert!(x.contains("cache='none' io='native'"));
}
