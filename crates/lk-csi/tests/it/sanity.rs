// SPDX-License-Identifier: Apache-2.0
//! The CSI community's csi-sanity (kubernetes-csi/csi-test, built by hand outside the
//! repository: docs/csi.md) against the driver's Identity, Controller and Node services on
//! the directory stand-in. Needs the binary (`$LUSTREKIT_CSI_SANITY` or
//! /var/cache/lustrekit/bin/csi-sanity) and root (its node tests bind-mount); prints one
//! SKIPPED line naming what is missing otherwise.
//!
//! No spec is skipped by name: the specs csi-sanity skips itself are those of capabilities
//! the driver does not advertise (snapshots, cloning, ListVolumes, ControllerPublish,
//! NodeExpand, group snapshots), and it marks one ListVolumes pagination spec pending.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::common::*;

const DEFAULT_BIN: &str = "/var/cache/lustrekit/bin/csi-sanity";

fn binary() -> PathBuf {
    std::env::var_os("LUSTREKIT_CSI_SANITY")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(DEFAULT_BIN))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn csi_sanity_passes_against_controller_and_node() {
    let bin = binary();
    if !bin.is_file() {
        println!(
            "SKIPPED: csi-sanity: {} not found (build it from csi-test v5.2.0: docs/csi.md)",
            bin.display()
        );
        return;
    }
    if !is_root() {
        println!("SKIPPED: csi-sanity: its node tests bind-mount, which needs root");
        return;
    }
    let d = Driver::start(20.0).await;
    let report = d.path("sanity-report.json");
    let args = vec![
        format!("--csi.endpoint={}", d.path("csi.sock").display()),
        format!("--csi.mountdir={}", d.path("sanity-target").display()),
        format!("--csi.stagingdir={}", d.path("sanity-staging").display()),
        format!("--ginkgo.json-report={}", report.display()),
        "--ginkgo.timeout=150s".to_string(),
        "--ginkgo.no-color".to_string(),
    ];
    let out = tokio::process::Command::new(&bin)
        .args(&args)
        .current_dir(d.dir.path())
        .output()
        .await
        .expect("csi-sanity runs");
    let counts = count(&report);
    println!("csi-sanity: {counts:?}");
    let failed: Vec<_> = counts.failures.clone();
    assert!(
        out.status.success() && failed.is_empty() && counts.passed > 0,
        "csi-sanity: {} failed: {failed:#?}\n{}",
        failed.len(),
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(
        mounts_under(d.dir.path()).is_empty(),
        "csi-sanity left mounts"
    );
    d.stop().await;
}

#[derive(Debug, Default)]
struct Counts {
    passed: usize,
    skipped: usize,
    pending: usize,
    failures: Vec<String>,
    states: BTreeMap<String, usize>,
}

/// Counts the `It` specs of a ginkgo JSON report by state.
fn count(report: &std::path::Path) -> Counts {
    let text = std::fs::read_to_string(report).expect("csi-sanity wrote its report");
    let suites: serde_json::Value = serde_json::from_str(&text).expect("report is JSON");
    let mut c = Counts::default();
    let specs = suites
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|s| s["SpecReports"].as_array().cloned().unwrap_or_default());
    for spec in specs.filter(|s| s["LeafNodeType"] == "It") {
        let state = spec["State"].as_str().unwrap_or("?").to_string();
        match state.as_str() {
            "passed" => c.passed += 1,
            "skipped" => c.skipped += 1,
            "pending" => c.pending += 1,
            _ => c.failures.push(format!(
                "{} {}: {}",
                spec["ContainerHierarchyTexts"], spec["LeafNodeText"], spec["Failure"]["Message"]
            )),
        }
        *c.states.entry(state).or_default() += 1;
    }
    c
}
