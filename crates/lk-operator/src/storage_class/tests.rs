use super::*;
use crate::test_support::{cluster, DEMO};

/// DEMO (namespace `ns`, name `demo`) with `storageClass: {…}` under `kubernetes.csi`.
fn with_class(fields: &str) -> LustreCluster {
    cluster(&DEMO.replace(
        "  fsname: demo\n",
        &format!("  fsname: demo\n  kubernetes: {{csi: {{storageClass: {{{fields}}}}}}}\n"),
    ))
}

fn view(sc: &StorageClass) -> ScView {
    ScView::of(sc)
}

fn foreign(name: &str) -> ScView {
    ScView {
        name: name.into(),
        owner: None,
        provisioner: "other.csi".into(),
        parameters: BTreeMap::new(),
        reclaim_policy: "Delete".into(),
        binding_mode: "Immediate".into(),
        deleting: false,
    }
}

#[test]
fn the_class_names_the_cluster_as_the_driver_knows_it() {
    let sc = desired(&with_class("")).expect("asked for");
    assert_eq!(sc.name_any(), "lustre-ns-demo");
    assert_eq!(sc.provisioner, "lustre.csi.lustrekit.io");
    assert_eq!(
        sc.parameters,
        Some(BTreeMap::from([
            ("cluster".to_string(), "ns.demo".to_string()),
            ("onDelete".to_string(), "delete".to_string()),
        ]))
    );
    assert_eq!(sc.reclaim_policy.as_deref(), Some("Delete"));
    assert_eq!(sc.allow_volume_expansion, Some(true));
    let labels = sc.labels();
    assert_eq!(labels["lustrekit.dev/cluster"], "demo");
    assert_eq!(labels["lustrekit.dev/cluster-namespace"], "ns");
    assert!(sc.metadata.owner_references.is_none(), "cluster-scoped");
    assert_eq!(view(&sc).owner, Some(("ns".into(), "demo".into())));

    let custom = desired(&with_class(
        "name: scratch, onDelete: retain, reclaimPolicy: Retain, allowVolumeExpansion: false",
    ))
    .expect("asked for");
    assert_eq!(custom.name_any(), "scratch");
    assert_eq!(custom.parameters.expect("p")["onDelete"], "retain");
    assert_eq!(custom.reclaim_policy.as_deref(), Some("Retain"));
    assert_eq!(custom.allow_volume_expansion, Some(false));
    assert!(desired(&cluster(DEMO)).is_none());
}

#[test]
fn a_missing_class_is_created_and_a_current_one_reapplied() {
    let lc = with_class("");
    let plan = decide(&lc, &[foreign("standard")]);
    assert!(plan.delete.is_empty());
    assert_eq!(
        plan.apply.as_ref().map(|s| s.name_any()).as_deref(),
        Some("lustre-ns-demo")
    );
    assert_eq!(plan.notes[0].reason, "StorageClassCreated");
    assert!(plan.condition.as_ref().is_some_and(|c| c.status));

    let existing = view(plan.apply.as_ref().expect("apply"));
    let again = decide(&lc, &[existing]);
    assert!(again.delete.is_empty());
    assert!(again.apply.is_some(), "server-side apply keeps it in step");
    assert!(again.notes.is_empty(), "nothing new to say");
}

#[test]
fn a_changed_parameter_replaces_the_class() {
    let old = view(&desired(&with_class("")).expect("sc"));
    for fields in ["onDelete: retain", "reclaimPolicy: Retain"] {
        let plan = decide(&with_class(fields), std::slice::from_ref(&old));
        assert_eq!(plan.delete, vec!["lustre-ns-demo".to_string()], "{fields}");
        assert!(plan.apply.is_some(), "{fields}");
        assert_eq!(plan.notes[0].reason, "StorageClassReplaced");
    }
    // allowVolumeExpansion may change in place.
    let plan = decide(
        &with_class("allowVolumeExpansion: false"),
        std::slice::from_ref(&old),
    );
    assert!(plan.delete.is_empty());
    // Still going away from an earlier replacement: wait, do not patch it.
    let going = ScView {
        deleting: true,
        ..old
    };
    let plan = decide(&with_class("onDelete: retain"), &[going]);
    assert!(plan.delete.is_empty() && plan.apply.is_none());
    assert_eq!(plan.condition.expect("cond").reason, "Replacing");
}

#[test]
fn a_renamed_class_replaces_the_old_one() {
    let old = view(&desired(&with_class("")).expect("sc"));
    let plan = decide(&with_class("name: fast"), &[old]);
    assert_eq!(plan.delete, vec!["lustre-ns-demo".to_string()]);
    assert_eq!(plan.apply.expect("apply").name_any(), "fast");
}

#[test]
fn removing_the_field_deletes_only_our_classes() {
    let ours = view(&desired(&with_class("")).expect("sc"));
    let mut other_ns = ours.clone();
    other_ns.name = "lustre-other-demo".into();
    other_ns.owner = Some(("other".into(), "demo".into()));
    let existing = [ours, other_ns, foreign("standard")];
    let plan = decide(&cluster(DEMO), &existing);
    assert_eq!(plan.delete, vec!["lustre-ns-demo".to_string()]);
    assert!(plan.apply.is_none());
    assert_eq!(plan.notes[0].reason, "StorageClassDeleted");
    assert_eq!(owned(&cluster(DEMO), &existing), plan.delete);
    // Nothing of ours: nothing to do or say.
    let plan = decide(&cluster(DEMO), &existing[1..]);
    assert!(plan.delete.is_empty() && plan.condition.is_none());
    // ... unless the status still speaks of a StorageClass (e.g. NameTaken): then it is
    // corrected.
    let mut had = cluster(DEMO);
    had.status = Some(crate::crd::LustreClusterStatus {
        conditions: crate::conditions::merge(
            &[],
            &[Cond::new(c::STORAGE_CLASS_READY, false, "NameTaken", "x")],
            &k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
                k8s_openapi::jiff::Timestamp::now(),
            ),
            Some(1),
        ),
        ..Default::default()
    });
    let plan = decide(&had, &existing[1..]);
    assert!(plan.delete.is_empty());
    assert_eq!(plan.condition.expect("condition").reason, "NotRequested");
}

#[test]
fn a_name_taken_by_someone_else_is_left_alone_and_reported() {
    let plan = decide(&with_class("name: standard"), &[foreign("standard")]);
    assert!(plan.delete.is_empty() && plan.apply.is_none());
    let cond = plan.condition.expect("condition");
    assert!(!cond.status);
    assert_eq!(cond.reason, "NameTaken");
    assert!(plan.notes[0].warning);
}
