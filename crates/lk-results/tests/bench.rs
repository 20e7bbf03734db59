//! Benchmark parsers: every fixture is parsed and snapshotted with its metrics (new captures
//! under `fixtures/<lustre-version>/`, `fixtures/fio-<version>/` or `fixtures/ior-<version>/` get snapshots by
//! themselves); every file of `fixtures/malformed/<tool>/` is refused with a pinned message;
//! garbled input never panics.

mod common;

use std::path::Path;

use lk_results::bench::{
    parse_fio_json, parse_ior_json, parse_lst_stat, parse_mdtest, parse_obdfilter_survey,
};
use proptest::prelude::*;

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).expect("fixture")
}

#[test]
fn lst_stat_fixtures() {
    each_fixture!("*/*lst-stat*.txt", |path| {
        let parsed = parse_lst_stat(&read(path))
            .unwrap_or_else(|e| panic!("{}: {}", path.display(), common::chain(&e)));
        insta::assert_json_snapshot!((&parsed, parsed.metrics()));
    });
}

#[test]
fn obdfilter_survey_fixtures() {
    each_fixture!("*/*obdfilter-survey*.txt", |path| {
        let parsed = parse_obdfilter_survey(&read(path))
            .unwrap_or_else(|e| panic!("{}: {}", path.display(), common::chain(&e)));
        insta::assert_json_snapshot!((&parsed, parsed.metrics()));
    });
}

#[test]
fn fio_fixtures() {
    each_fixture!("fio-*/*.json", |path| {
        let parsed = parse_fio_json(&read(path))
            .unwrap_or_else(|e| panic!("{}: {}", path.display(), common::chain(&e)));
        insta::assert_json_snapshot!((&parsed, parsed.metrics()));
    });
}

#[test]
fn ior_fixtures() {
    each_fixture!("ior-*/*.json", |path| {
        let parsed = parse_ior_json(&read(path))
            .unwrap_or_else(|e| panic!("{}: {}", path.display(), common::chain(&e)));
        insta::assert_json_snapshot!((&parsed, parsed.metrics()));
    });
}

#[test]
fn mdtest_fixtures() {
    each_fixture!("ior-*/mdtest-*.txt", |path| {
        let parsed = parse_mdtest(&read(path))
            .unwrap_or_else(|e| panic!("{}: {}", path.display(), common::chain(&e)));
        insta::assert_json_snapshot!((&parsed, parsed.metrics()));
    });
}

#[test]
fn ior_repetitions_are_samples_of_the_mean() {
    let run = parse_ior_json(&read(
        &common::fixtures().join("ior-4.1.0+dev/ior-shared-3-reps-4m-256k.json"),
    ))
    .expect("parses");
    assert_eq!(run.version, "4.1.0+dev");
    let metrics = run.metrics();
    let mean = metrics
        .iter()
        .find(|m| m.name == "write bw mean")
        .expect("metric");
    assert_eq!(mean.samples.as_ref().map(Vec::len), Some(3));
    assert_eq!(mean.unit, "MiB/s");
    let names: Vec<&str> = metrics.iter().map(|m| m.name.as_str()).collect();
    assert!(names.contains(&"read iops max"), "{names:?}");
    let write_only = parse_ior_json(&read(
        &common::fixtures().join("ior-4.1.0+dev/ior-write-only-8m-1m.json"),
    ))
    .expect("parses");
    assert!(write_only
        .metrics()
        .iter()
        .all(|m| m.name.starts_with("write ")));
}

#[test]
fn ior_and_mdtest_zero_rates_are_failed_metrics_not_zeros() {
    let text = read(&common::fixtures().join("ior-4.1.0+dev/ior-write-only-8m-1m.json"));
    let mut json: serde_json::Value = serde_json::from_str(&text).expect("json");
    json["summary"][0]["bwMinMIB"] = serde_json::json!(0.0);
    let m = parse_ior_json(&json.to_string()).expect("parses").metrics();
    let min = m.iter().find(|m| m.name == "write bw min").expect("metric");
    assert_eq!((min.value, min.failure.is_some()), (None, true));

    let text = read(&common::fixtures().join("ior-4.1.0+dev/mdtest-200-items.txt"));
    let line = text
        .lines()
        .find(|l| l.trim_start().starts_with("Directory rename"))
        .expect("rename row");
    let zeroed = text.replace(
        line,
        "   Directory rename                0.000          0.000          0.000          0.000",
    );
    let run = parse_mdtest(&zeroed).expect("parses");
    let metrics = run.metrics();
    let rename = metrics
        .iter()
        .find(|m| m.name == "directory rename mean")
        .expect("metric");
    assert_eq!(rename.value, None);
    assert!(rename
        .failure
        .as_deref()
        .unwrap_or("")
        .contains("did not run"));
    let create = metrics
        .iter()
        .find(|m| m.name == "tree creation max")
        .expect("tree ops are metrics");
    assert!(create.value.is_some_and(|v| v > 0.0));
}

#[test]
fn lst_samples_are_kept_and_averaged() {
    let stat = parse_lst_stat(&read(
        &common::fixtures().join("2.17.0/synthetic-lst-stat-two-groups.txt"),
    ))
    .expect("parses");
    assert_eq!(stat.groups.len(), 2);
    assert_eq!(stat.groups[0].samples.len(), 3);
    let metrics = stat.metrics();
    let avg = metrics
        .iter()
        .find(|m| m.name == "servers rates read avg")
        .expect("metric");
    assert_eq!(avg.samples.as_deref(), Some(&[3466.0, 3467.0, 3468.0][..]));
    assert_eq!(avg.value, Some(3467.0));
    assert_eq!(avg.unit, "RPC/s");
}

#[test]
fn survey_failures_are_failed_metrics_not_zeros() {
    let survey = parse_obdfilter_survey(&read(
        &common::fixtures().join("2.17.0/synthetic-obdfilter-survey-errors.txt"),
    ))
    .expect("parses");
    let metrics = survey.metrics();
    for name in [
        "rewrite rsz=1024K obj/ost=1 thr/ost=1",
        "rsz=1024K obj/ost=1 thr/ost=2",
    ] {
        let m = metrics.iter().find(|m| m.name == name).expect(name);
        assert_eq!(m.value, None, "{name}");
        assert!(m.failure.is_some(), "{name}");
    }
    // SHORT: the aggregate was measured, only the per-OST min/max is missing.
    let short = metrics
        .iter()
        .find(|m| m.name == "read rsz=1024K obj/ost=1 thr/ost=1")
        .expect("read");
    assert_eq!((short.value, short.failure.as_deref()), (Some(0.0), None));
    assert!(!metrics
        .iter()
        .any(|m| m.name == "read rsz=1024K obj/ost=1 thr/ost=1 min"));
    assert_eq!(survey.end.as_deref(), Some("program exited with error"));
}

#[test]
fn fio_clones_without_group_reporting_get_numbers() {
    let text = read(&common::fixtures().join("fio-3.33/seq-and-randrw.json"));
    let mut json: serde_json::Value = serde_json::from_str(&text).expect("json");
    let jobs = json["jobs"].as_array_mut().expect("jobs");
    let clone = jobs[2].clone();
    jobs.push(clone);
    let run = parse_fio_json(&json.to_string()).expect("parses");
    let names: Vec<&str> = run.jobs.iter().map(|j| j.name.as_str()).collect();
    assert_eq!(
        names,
        ["seq-write", "seq-read", "randrw-4k#1", "randrw-4k#2"]
    );
    assert!(run.jobs[0].read.is_none() && run.jobs[0].write.is_some());
}

#[test]
fn malformed_inputs_are_refused_with_a_message() {
    type Parse = fn(&str) -> Result<(), String>;
    let tools: [(&str, &str, Parse); 5] = [
        ("lst-stat", ".txt", |t| {
            parse_lst_stat(t).map(drop).map_err(|e| common::chain(&e))
        }),
        ("obdfilter-survey", ".txt", |t| {
            parse_obdfilter_survey(t)
                .map(drop)
                .map_err(|e| common::chain(&e))
        }),
        ("fio", ".json", |t| {
            parse_fio_json(t).map(drop).map_err(|e| common::chain(&e))
        }),
        ("ior", ".json", |t| {
            parse_ior_json(t).map(drop).map_err(|e| common::chain(&e))
        }),
        ("mdtest", ".txt", |t| {
            parse_mdtest(t).map(drop).map_err(|e| common::chain(&e))
        }),
    ];
    for (tool, ext, parse) in tools {
        let paths = common::files(&format!("malformed/{tool}"), ext);
        assert!(paths.len() >= 5, "{tool}: corpus has {} files", paths.len());
        for path in paths {
            let name = path
                .file_stem()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            let err = match parse(&read(&path)) {
                Ok(()) => panic!("{tool}/{name}: accepted, but it is malformed"),
                Err(e) => e,
            };
            insta::assert_snapshot!(format!("malformed-{tool}-{name}"), err);
        }
    }
}

/// The scripts that made or recorded fixtures (`make-synthetic-*.sh`, `record-ior.sh`) stay
/// shellcheck clean, as the generated scripts do.
#[test]
fn fixture_scripts_pass_shellcheck() {
    let scripts = common::files("", ".sh");
    assert!(scripts.len() >= 3, "{scripts:?}");
    let out = std::process::Command::new("shellcheck")
        .args(["--shell=bash", "--severity=style"])
        .args(&scripts)
        .output()
        .expect("shellcheck must be installed (scripts/install-deps.sh)");
    assert!(
        out.status.success(),
        "shellcheck:\n{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

fn lst_like_line() -> impl Strategy<Value = String> {
    prop_oneof![
        "\\[LNet (Rates|Bandwidth) of [a-z]{0,6}\\]",
        "\\[(R|W)\\] ((Avg|Min|Max): [-0-9.na]{0,9} +(RPC/s|MiB/s|MB/s) ?){0,4}",
        "Failed to stat on [0-9]{0,12} nodes",
        "[ -~\u{80}-\u{10ffff}]{0,30}",
    ]
}

fn survey_like_line() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("Tue Dec  2 UTC 2026 Obdfilter-survey for case=disk from oss1".to_string()),
        "ost [ 0-9]{0,4} sz [ 0-9K]{0,10} rsz [ 0-9K]{0,6} obj [ 0-9]{0,5} thr [ 0-9]{0,5} \
         ((write|read|x|9) [ 0-9.inf-]{0,8} (\\[[ 0-9.,-]{0,18}\\]|ERROR|SHORT|\\[)? ?){0,3}\
         (done!|Terminated|created object #s on a not contiguous)?",
        "(done!|program exited with error |Terminated)",
        "[ -~\u{80}-\u{10ffff}]{0,30}",
    ]
}

proptest! {
    #[test]
    fn garbled_lst_never_panics(lines in prop::collection::vec(lst_like_line(), 0..30)) {
        let _ = parse_lst_stat(&lines.join("\n")).map(|s| s.metrics());
    }

    #[test]
    fn garbled_survey_never_panics(lines in prop::collection::vec(survey_like_line(), 0..20)) {
        let _ = parse_obdfilter_survey(&lines.join("\n")).map(|s| s.metrics());
    }

    #[test]
    fn garbled_mdtest_never_panics(cut in 0usize..3000, byte in any::<u8>()) {
        let mut text = std::fs::read(
            common::fixtures().join("ior-4.1.0+dev/mdtest-100-items-2-iterations-rate-and-time.txt"),
        )
        .expect("fixture");
        if cut < text.len() {
            text[cut] = byte;
        }
        let _ = parse_mdtest(&String::from_utf8_lossy(&text)).map(|r| r.metrics());
        let _ = parse_mdtest(&String::from_utf8_lossy(&text[..cut.min(text.len())]));
    }

    #[test]
    fn garbled_ior_never_panics(cut in 0usize..6000, byte in any::<u8>()) {
        let mut text = std::fs::read(
            common::fixtures().join("ior-4.1.0+dev/ior-shared-3-reps-4m-256k.json"),
        )
        .expect("fixture");
        if cut < text.len() {
            text[cut] = byte;
        }
        let _ = parse_ior_json(&String::from_utf8_lossy(&text)).map(|r| r.metrics());
        let _ = parse_ior_json(&String::from_utf8_lossy(&text[..cut.min(text.len())]));
    }

    #[test]
    fn garbled_fio_never_panics(cut in 0usize..20000, byte in any::<u8>()) {
        let mut text = std::fs::read(common::fixtures().join("fio-3.33/seq-and-randrw.json"))
            .expect("fixture");
        if cut < text.len() {
            text[cut] = byte;
        }
        let _ = parse_fio_json(&String::from_utf8_lossy(&text)).map(|r| r.metrics());
        let _ = parse_fio_json(&String::from_utf8_lossy(&text[..cut.min(text.len())]));
    }
}
