//! The committed CRD (shipped by the Helm chart) is exactly what `lustrekit crd` prints.

#[test]
fn committed_crd_is_current() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../deploy/helm/lustrekit/crds/lustrecluster.yaml"
    );
    let committed = std::fs::read_to_string(path).expect("committed CRD");
    assert_eq!(
        lk_operator::crd_yaml().expect("CRD serializes"),
        committed,
        "deploy/helm/lustrekit/crds/lustrecluster.yaml is stale: run `lustrekit crd > deploy/helm/lustrekit/crds/lustrecluster.yaml`"
    );
}

#[test]
fn crd_names_and_subresources() {
    let crd = lk_operator::crd::crd().expect("CRD serializes");
    assert_eq!(
        crd.spec.names.short_names.as_deref(),
        Some(&["lc".to_string()][..])
    );
    let v = &crd.spec.versions[0];
    assert!(v
        .subresources
        .as_ref()
        .and_then(|s| s.status.as_ref())
        .is_some());
    let cols: Vec<&str> = v
        .additional_printer_columns
        .as_ref()
        .expect("columns")
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(cols, ["Fsname", "Phase", "Ready", "OSTs", "Age"]);
    // The spec schema is the model's: every field of lk-model's ClusterSpec is there.
    let schema = serde_json::to_value(&v.schema).expect("schema");
    let spec = &schema["openAPIV3Schema"]["properties"]["spec"]["properties"];
    for field in [
        "fsname",
        "nodes",
        "targets",
        "layout",
        "networks",
        "routes",
        "kubernetes",
    ] {
        assert!(
            spec[field].is_object(),
            "{field} missing from the CRD schema"
        );
    }
}

#[test]
fn the_shipped_example_is_a_valid_resource() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../deploy/examples/demo.yaml"
    );
    let mut lc: lk_operator::LustreCluster =
        serde_yaml_ng::from_str(&std::fs::read_to_string(path).expect("example")).expect("parses");
    lc.metadata.namespace = Some("default".into());
    let v = lk_operator::validate::validate(&lc).expect("valid");
    assert_eq!(v.topology.osts.len(), 2);
    assert!(lc.spec.kubernetes.is_some());
}
