//! results.yml: every fixture under `fixtures/<lustre-version>/*results*.yml` is parsed and
//! snapshotted (as JSON, JUnit and the summary table); every file of
//! `fixtures/malformed/results-yml/` is refused with a pinned message; garbled input never
//! panics.

mod common;

use lk_results::suite::{parse_results_yml, Status};
use lk_results::{junit, summary};
use proptest::prelude::*;

fn parse(path: &std::path::Path) -> lk_results::suite::SuiteResults {
    let text = std::fs::read_to_string(path).expect("fixture");
    parse_results_yml(&text).unwrap_or_else(|e| panic!("{}: {}", path.display(), common::chain(&e)))
}

#[test]
fn fixtures_parse() {
    each_fixture!("*/*results*.yml", |path| {
        insta::assert_json_snapshot!(parse(path));
    });
}

#[test]
fn fixtures_as_junit() {
    each_fixture!("*/*results*.yml", |path| {
        let xml = junit::to_junit(&parse(path)).expect("junit");
        // Well-formed: quick-xml reads it back to the end.
        let mut reader = quick_xml::Reader::from_str(&xml);
        loop {
            match reader.read_event() {
                Ok(quick_xml::events::Event::Eof) => break,
                Ok(_) => {}
                Err(e) => panic!("{}: JUnit not well-formed: {e}", path.display()),
            }
        }
        insta::assert_snapshot!(xml);
    });
}

#[test]
fn fixtures_as_summary() {
    each_fixture!("*/*results*.yml", |path| {
        insta::assert_snapshot!(summary::render(&parse(path)));
    });
}

#[test]
fn small_run_counts_and_decoded_errors() {
    let results = parse(&common::fixtures().join("2.17.0/synthetic-results-sanity-small.yml"));
    let c = results.counts();
    assert_eq!((c.pass, c.fail, c.skip, c.unfinished), (6, 2, 2, 0));
    assert!(results.any_failed());
    let sanity = &results.suites[0];
    assert_eq!(sanity.status, Some(Status::Fail));
    let test_1 = &sanity.subtests[5];
    assert_eq!(
        test_1.error.as_deref(),
        Some("cannot stat '/mnt/lustre/d1.sanity': No such file\nsecond line\tafter tab")
    );
    assert!(!results.suites[1].any_failed());
    assert_eq!(results.suites[2].status, Some(Status::Skip));
}

#[test]
fn a_run_that_died_is_unfinished_and_failed() {
    let results = parse(&common::fixtures().join("2.17.0/synthetic-results-died-in-subtest.yml"));
    let suite = &results.suites[0];
    assert_eq!(suite.status, None);
    assert_eq!(suite.subtests.last().map(|t| t.status), Some(None));
    assert_eq!(results.counts().unfinished, 1);
    assert!(results.any_failed());
}

#[test]
fn malformed_files_are_refused_with_a_message() {
    let paths = common::files("malformed/results-yml", ".yml");
    assert!(paths.len() >= 15, "corpus has {} files", paths.len());
    for path in paths {
        let name = path
            .file_stem()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        let text = std::fs::read_to_string(&path).expect("corpus file");
        let err = match parse_results_yml(&text) {
            Ok(_) => panic!("{name}: accepted, but it is malformed"),
            Err(e) => e,
        };
        insta::assert_snapshot!(format!("malformed-{name}"), common::chain(&err));
    }
}

/// Lines in the shape of results.yml, shuffled and mutated.
fn yml_like_line() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("TestGroup:".to_string()),
        Just("Tests:".to_string()),
        Just("-".to_string()),
        Just("        -".to_string()),
        Just("        SubTests:".to_string()),
        Just("        report_version: 2".to_string()),
        "(    |        |            )?(name|status|duration|return_code|error|type|location|project): [ -~]{0,12}",
        "            error: \"[ -~]{0,16}\"",
        "[ -~\t\u{80}-\u{10ffff}]{0,20}",
    ]
}

proptest! {
    #[test]
    fn garbled_input_never_panics(lines in prop::collection::vec(yml_like_line(), 0..40)) {
        let _ = parse_results_yml(&lines.join("\n"));
    }

    #[test]
    fn mutated_fixture_never_panics(cut in 0usize..3000, byte in any::<u8>()) {
        let mut text = std::fs::read(
            common::fixtures().join("2.17.0/synthetic-results-sanity-small.yml"),
        ).expect("fixture");
        if cut < text.len() {
            text[cut] = byte;
        }
        let _ = parse_results_yml(&String::from_utf8_lossy(&text));
        let _ = parse_results_yml(&String::from_utf8_lossy(&text[..cut.min(text.len())]));
    }

    #[test]
    fn printf_q_decoding_never_panics(s in "[ -~\u{80}-\u{10ffff}]{0,40}") {
        let _ = lk_results::suite::printf_q::decode(&s);
    }
}
