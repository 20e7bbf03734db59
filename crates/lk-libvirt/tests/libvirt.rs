//! The client against real libvirt daemons.
//!
//! - `test:///default` (always runs, no VMs): foreign objects are refused, ownership
//!   inventory only lists tagged objects.
//! - `qemu:///system` (needs root, libvirtd and the base image; skipped without them unless
//!   `LUSTREKIT_VM_TESTS=1`): every resource of a one-node plan is created, the node becomes
//!   ready (agent, lease, 9p), a command runs, and removal leaves nothing of the cluster.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use lk_libvirt::accel::Accel;
use lk_libvirt::error::Kind;
use lk_libvirt::xml::{self, DomainContext, Owner};
use lk_libvirt::{Error, Libvirt};
use lk_plan::resources::{DhcpHost, NetworkResource};

fn test_conn() -> Libvirt {
    Libvirt::connect("test:///default").unwrap_or_else(|e| panic!("test driver: {e}"))
}

#[test]
fn foreign_network_is_refused() {
    let lv = test_conn();
    // The test driver's `default` network has bridge virbr0: not lustrekit's naming.
    let n = NetworkResource {
        name: "default".into(),
        lnet: "tcp0".into(),
        bridge: "lkdeadbeef".into(),
        cidr: "192.168.122.0/24".into(),
        host_address: "192.168.122.1"
            .parse()
            .unwrap_or(std::net::Ipv4Addr::LOCALHOST),
        netmask: "255.255.255.0"
            .parse()
            .unwrap_or(std::net::Ipv4Addr::LOCALHOST),
        prefix: 24,
        dhcp_start: "192.168.122.2"
            .parse()
            .unwrap_or(std::net::Ipv4Addr::LOCALHOST),
        dhcp_end: "192.168.122.9"
            .parse()
            .unwrap_or(std::net::Ipv4Addr::LOCALHOST),
        hosts: vec![],
    };
    match lv.ensure_network(&n) {
        Err(Error::Foreign {
            kind: Kind::Network,
            name,
            ..
        }) => assert_eq!(name, "default"),
        other => panic!("expected Foreign, got {other:?}"),
    }
    assert!(matches!(
        lv.remove_network("default"),
        Err(Error::Foreign { .. })
    ));
}

#[test]
fn network_ensure_is_idempotent_and_inventoried() {
    let lv = test_conn();
    let name = "lkt-one-tcp0".to_string();
    let n = NetworkResource {
        bridge: lk_libvirt::client::lk_bridge_name(&name),
        name: name.clone(),
        lnet: "tcp0".into(),
        cidr: "10.77.1.0/24".into(),
        host_address: "10.77.1.1".parse().unwrap_or(std::net::Ipv4Addr::LOCALHOST),
        netmask: "255.255.255.0"
            .parse()
            .unwrap_or(std::net::Ipv4Addr::LOCALHOST),
        prefix: 24,
        dhcp_start: "10.77.1.2".parse().unwrap_or(std::net::Ipv4Addr::LOCALHOST),
        dhcp_end: "10.77.1.9".parse().unwrap_or(std::net::Ipv4Addr::LOCALHOST),
        hosts: vec![DhcpHost {
            node: "n1".into(),
            mac: "52:54:00:00:00:01".into(),
            address: "10.77.1.10"
                .parse()
                .unwrap_or(std::net::Ipv4Addr::LOCALHOST),
        }],
    };
    assert!(matches!(lv.ensure_network(&n), Ok(true)));
    assert!(
        matches!(lv.ensure_network(&n), Ok(false)),
        "second ensure adopts"
    );
    let owned = lv.owned("lkt-one", "/nonexistent").unwrap_or_default();
    assert_eq!(owned.networks, vec![name.clone()]);
    // Another cluster's inventory does not see it, nor does a prefix of the name.
    assert!(lv
        .owned("lkt", "/x")
        .unwrap_or_default()
        .networks
        .is_empty());
    lv.remove_network(&name).unwrap_or_else(|e| panic!("{e}"));
    lv.remove_network(&name)
        .unwrap_or_else(|e| panic!("second remove: {e}"));
    assert!(lv.owned("lkt-one", "/x").unwrap_or_default().is_empty());
}

#[test]
fn untagged_domain_with_our_name_is_refused_and_not_inventoried() {
    let lv = test_conn();
    // The test driver ships a domain `test` without lustrekit's tag.
    assert_eq!(lv.domain_owner("test").ok(), Some(None));
    let owned = lv.owned("test", "/x").unwrap_or_default();
    assert!(owned.domains.is_empty());
}

#[test]
fn unreachable_uri_is_a_clear_error() {
    match Libvirt::connect("qemu+unix:///system?socket=/nonexistent/libvirt-sock") {
        Err(e @ Error::Connect { .. }) => assert!(e.to_string().contains("cannot connect")),
        Err(e) => panic!("unexpected error {e}"),
        Ok(_) => panic!("connected to a socket that does not exist"),
    }
}

// ---- real VM -------------------------------------------------------------------------------

fn vm_prerequisites(image: &str) -> Result<Libvirt, String> {
    for p in [
        image,
        lk_model::defaults::IMAGE_KERNEL,
        lk_model::defaults::IMAGE_INITRD,
    ] {
        if !Path::new(p).is_file() {
            return Err(format!("{p} missing: run `lustrekit image build`"));
        }
    }
    Libvirt::connect("qemu:///system").map_err(|e| e.to_string())
}

/// The shared one-node test topology (tests/fixtures/one-node.yaml) for `cluster` on
/// `NET.0/24`.
fn topology(cluster: &str, net: &str) -> String {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/fixtures/one-node.yaml"
    );
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{path}: {e}"))
        .replace("NAME", cluster)
        .replace("NET", net)
}

/// Removes everything in reverse creation order; returns the failures.
fn teardown(lv: &Libvirt, plan: &lk_plan::Plan) -> Vec<String> {
    let r = &plan.resources;
    let mut failures = Vec::new();
    for d in r.domains.iter().rev() {
        if let Err(e) = lv.remove_domain(&d.name) {
            failures.push(e.to_string());
        }
    }
    for v in r.volumes.iter().rev() {
        if let Err(e) = lv.remove_volume(&r.pool.name, &v.name) {
            failures.push(e.to_string());
        }
    }
    if let Err(e) = lv.remove_pool(&r.pool.name) {
        failures.push(e.to_string());
    }
    for n in r.networks.iter().rev() {
        if let Err(e) = lv.remove_network(&n.name) {
            failures.push(e.to_string());
        }
    }
    failures
}

#[test]
fn one_node_cluster_boots_ready_and_leaves_nothing() {
    let required = std::env::var("LUSTREKIT_VM_TESTS").is_ok_and(|v| v == "1");
    let lv = match vm_prerequisites(lk_model::defaults::IMAGE_PATH) {
        Ok(lv) => lv,
        Err(why) if required => panic!("LUSTREKIT_VM_TESTS=1 but {why}"),
        Err(why) => {
            eprintln!("skipped: {why} (set LUSTREKIT_VM_TESTS=1 to make this a failure)");
            return;
        }
    };
    let pid = std::process::id();
    let cluster = format!("lktest-{pid}");
    let t = lk_model::load(topology(&cluster, &format!("10.253.{}", pid % 200 + 20)).as_bytes())
        .unwrap_or_else(|e| panic!("topology: {e}"));
    let state_dir = "/var/lib/lustrekit/test-state".to_string();
    let plan = lk_plan::plan(
        &t,
        &lk_plan::PlanOptions {
            state_dir: state_dir.clone(),
            ..lk_plan::PlanOptions::default()
        },
    );
    let r = &plan.resources;
    let owner = Owner {
        cluster: cluster.clone(),
        run: format!("test-{pid}"),
    };

    // The shared folder: the guest writes as the qemu user (accessmode='mapped').
    let dom = &r.domains[0];
    let console = xml::console_path(dom, &r.shared);
    let mut dirs: Vec<String> = r
        .shared
        .subdirs
        .iter()
        .map(|s| format!("{}/{s}", r.shared.host_path))
        .collect();
    dirs.push(
        Path::new(&console)
            .parent()
            .map(|p| p.display().to_string())
            .unwrap_or_default(),
    );
    for d in &dirs {
        std::fs::create_dir_all(d).unwrap_or_else(|e| panic!("{d}: {e}"));
    }
    let _ = Command::new("chown")
        .arg("-R")
        .arg("libvirt-qemu:")
        .arg(&r.shared.host_path)
        .status();
    let _ = Command::new("chmod").args(["0755", &state_dir]).status();
    let _ = Command::new("chmod")
        .arg("0755")
        .arg(format!("{state_dir}/clusters"))
        .status();
    let _ = Command::new("chmod")
        .arg("0755")
        .arg(format!("{state_dir}/clusters/{cluster}"))
        .status();

    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        for n in &r.networks {
            assert!(lv.ensure_network(n).unwrap_or_else(|e| panic!("{e}")));
        }
        assert!(lv.ensure_pool(&r.pool).unwrap_or_else(|e| panic!("{e}")));
        for v in &r.volumes {
            assert!(lv
                .ensure_volume(&r.pool.name, v)
                .unwrap_or_else(|e| panic!("{e}")));
        }
        let ctx = DomainContext {
            owner: &owner,
            accel: Accel::Tcg,
            pool_path: &r.pool.path,
            volumes: &r.volumes,
            shared: &r.shared,
        };
        let dxml = xml::domain_xml(dom, &ctx);
        assert!(lv
            .ensure_domain(dom, &owner, &dxml)
            .unwrap_or_else(|e| panic!("{e}")));

        let ready = lv
            .wait_ready(
                dom,
                &r.shared.guest_path,
                &console,
                Duration::from_secs(600),
                lk_libvirt::Watch::none(),
            )
            .unwrap_or_else(|e| panic!("{e}"));
        eprintln!(
            "{}: agent {:.1}s, lease {:.1}s, 9p {:.1}s, address {}",
            dom.name,
            ready.agent_after.as_secs_f64(),
            ready.lease_after.as_secs_f64(),
            ready.shared_after.as_secs_f64(),
            ready.address
        );
        assert_eq!(ready.address, dom.nics[0].address, "DHCP reservation");

        let out = lv
            .exec(
                &dom.name,
                &[
                    "/bin/sh",
                    "-c",
                    "ls /dev/disk/by-id/ && echo hi > /mnt/lustrekit/logs/probe",
                ],
                Duration::from_secs(60),
            )
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(out.exit_code, 0, "{out:?}");
        for v in r
            .volumes
            .iter()
            .filter(|v| v.attached_to.contains(&dom.node))
        {
            assert!(
                out.stdout.contains(&format!("virtio-{}", v.serial)),
                "{}: {out:?}",
                v.serial
            );
        }
        let probe = std::fs::read_to_string(format!("{}/logs/probe", r.shared.host_path));
        assert_eq!(probe.ok().as_deref(), Some("hi\n"));
        let fail = lv
            .exec(
                &dom.name,
                &["/bin/sh", "-c", "echo oops >&2; exit 3"],
                Duration::from_secs(60),
            )
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((fail.exit_code, fail.stderr.as_str()), (3, "oops\n"));

        // Re-running ensure adopts what is there; the domain is replaced, not duplicated.
        assert!(!lv
            .ensure_network(&r.networks[0])
            .unwrap_or_else(|e| panic!("{e}")));
        assert!(!lv.ensure_pool(&r.pool).unwrap_or_else(|e| panic!("{e}")));
        let owned = lv
            .owned(&cluster, &r.pool.path)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(owned.domains, vec![(dom.name.clone(), owner.run.clone())]);
        assert_eq!(owned.networks.len(), r.networks.len());
        assert_eq!(owned.volumes.len(), r.volumes.len());
    }));

    let failures = teardown(&lv, &plan);
    let left = lv
        .owned(&cluster, &r.pool.path)
        .unwrap_or_else(|e| panic!("{e}"));
    let _ = std::fs::remove_dir_all(format!("{state_dir}/clusters/{cluster}"));
    if let Err(p) = result {
        std::panic::resume_unwind(p);
    }
    assert!(failures.is_empty(), "teardown failures: {failures:?}");
    assert!(left.is_empty(), "left behind: {left:?}");
}
