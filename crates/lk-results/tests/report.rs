//! Reports: Markdown of runs made from every fixture kind and of comparisons (snapshots), HTML
//! of a run and of a comparison (snapshots, and well-formed and self-contained with the real
//! plot inline), the refusals of `compare`, JSON round trips, and plots that are written and
//! are valid SVG.

mod common;

use lk_results::bench::{
    parse_fio_json, parse_ior_json, parse_lst_stat, parse_mdtest, parse_obdfilter_survey,
    BenchKind, BenchRun, Metric,
};
use lk_results::report::{self, compare, CompareError, PlotError};

fn text(rel: &str) -> String {
    std::fs::read_to_string(common::fixtures().join(rel)).expect("fixture")
}

fn run(kind: BenchKind, version: &str, time: &str, metrics: Vec<Metric>) -> BenchRun {
    let mut run = BenchRun::new(kind, "c1", "9f86d081884c7d65", version, time).expect("valid");
    run.metrics = metrics;
    run
}

fn lst_run() -> BenchRun {
    let stat = parse_lst_stat(&text("2.17.0/synthetic-lst-stat-two-groups.txt")).expect("lst");
    let mut r = run(
        BenchKind::LnetSelftest,
        "2.17.0",
        "2026-12-02T00:00:00Z",
        stat.metrics(),
    );
    r.parameters
        .insert("groups".into(), "servers clients".into());
    r.parameters
        .insert("test".into(), "brw read size=1M".into());
    r
}

fn survey_run(rel: &str, version: &str, time: &str) -> BenchRun {
    let survey = parse_obdfilter_survey(&text(rel)).expect("survey");
    let mut r = run(BenchKind::ObdfilterSurvey, version, time, survey.metrics());
    r.parameters.insert("case".into(), survey.case.clone());
    r.parameters.insert("size".into(), "1024".into());
    r
}

fn fio_run(rel: &str, time: &str) -> BenchRun {
    let fio = parse_fio_json(&text(rel)).expect("fio");
    let mut r = run(BenchKind::Fio, "2.17.0", time, fio.metrics());
    r.parameters
        .insert("job file".into(), rel.replace(".json", ".fio"));
    r
}

fn ior_run(rel: &str, time: &str) -> BenchRun {
    let ior = parse_ior_json(&text(rel)).expect("ior");
    let mut r = run(BenchKind::Ior, "2.17.0", time, ior.metrics());
    r.parameters
        .insert("ior_version".into(), ior.version.clone());
    r
}

fn mdtest_run(rel: &str, time: &str) -> BenchRun {
    let md = parse_mdtest(&text(rel)).expect("mdtest");
    let mut r = run(BenchKind::Mdtest, "2.17.0", time, md.metrics());
    r.parameters
        .insert("mdtest_version".into(), md.version.clone());
    r
}

#[test]
fn run_markdown_of_each_kind() {
    let runs = [
        lst_run(),
        survey_run(
            "2.17.0/synthetic-obdfilter-survey-errors.txt",
            "2.17.0",
            "2026-12-02T01:00:00Z",
        ),
        fio_run("fio-3.33/seq-and-randrw.json", "2026-12-02T00:12:50Z"),
        ior_run(
            "ior-4.1.0+dev/ior-shared-3-reps-4m-256k.json",
            "2026-12-02T11:16:24Z",
        ),
        mdtest_run("ior-4.1.0+dev/mdtest-200-items.txt", "2026-12-02T11:16:17Z"),
    ];
    for r in runs {
        let plot = format!("{}.svg", r.file_stem());
        insta::assert_snapshot!(
            format!("run-{}", r.kind),
            report::run_markdown(&r, Some(&plot))
        );
    }
}

/// Two obdfilter-survey runs with a differing parameter, a failed, a missing and a new metric.
fn survey_comparison() -> report::Comparison {
    let first = survey_run(
        "2.17.0/synthetic-obdfilter-survey-disk.txt",
        "2.16.0",
        "2026-12-01T00:00:00Z",
    );
    let mut second = first.clone();
    second.lustre_version = "2.17.0".into();
    second.started_at = "2026-12-02T00:00:00+01:00".into();
    second.parameters.insert("size".into(), "2048".into());
    for (i, m) in second.metrics.iter_mut().enumerate() {
        m.value = m.value.map(|v| v * (1.0 + i as f64 / 100.0));
    }
    second.metrics[0] = Metric::failed(
        &second.metrics[0].name,
        "MiB/s",
        "ERROR: an lctl test_brw failed",
    );
    second.metrics.pop();
    second.metrics.push(Metric::new(
        "write ost=2 rsz=2048K obj=2 thr=2",
        "MiB/s",
        500.0,
    ));
    compare(&[first, second]).expect("comparable")
}

#[test]
fn comparison_markdown() {
    let c = survey_comparison();
    assert_eq!(c.metrics[1].ratio(1), Some(1.01));
    insta::assert_snapshot!(
        "compare-obdfilter-survey",
        c.to_markdown(Some("compare.svg"))
    );

    let fio = compare(&[
        fio_run("fio-3.33/seq-and-randrw.json", "2026-12-02T00:12:50Z"),
        fio_run(
            "fio-3.33/randrw-numjobs2-grouped.json",
            "2026-12-02T00:13:10Z",
        ),
    ])
    .expect("comparable");
    insta::assert_snapshot!("compare-fio", fio.to_markdown(None));
}

/// A stand-in for the plot in the HTML snapshots, so that they pin the report and not
/// plotters' drawing (the real plot is checked in `html_is_well_formed_and_self_contained`).
const SVG_STAND_IN: &str = "<svg width=\"10\" height=\"10\" viewBox=\"0 0 10 10\" \
    xmlns=\"http://www.w3.org/2000/svg\">\n<text x=\"0\" y=\"5\">plot</text>\n</svg>\n";

#[test]
fn run_and_comparison_html() {
    let r = survey_run(
        "2.17.0/synthetic-obdfilter-survey-errors.txt",
        "2.17.0",
        "2026-12-02T01:00:00Z",
    );
    insta::assert_snapshot!("run-html", report::run_html(&r, Some(SVG_STAND_IN)));
    insta::assert_snapshot!(
        "compare-html",
        survey_comparison().to_html(Some(SVG_STAND_IN))
    );
}

/// Reads an HTML report with quick-xml: every element name, every attribute as `name=value`,
/// and the `<text>` of the plot.
fn read_html(html: &str) -> (Vec<String>, Vec<String>, String) {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(html);
    let (mut names, mut attrs, mut texts) = (Vec::new(), Vec::new(), String::new());
    loop {
        match reader.read_event().expect("well-formed HTML") {
            Event::Start(e) | Event::Empty(e) => {
                names.push(String::from_utf8_lossy(e.name().as_ref()).into_owned());
                for a in e.attributes() {
                    let a = a.expect("attribute");
                    let key = String::from_utf8_lossy(a.key.as_ref()).into_owned();
                    attrs.push(format!("{key}={}", a.unescape_value().expect("value")));
                }
            }
            Event::Text(t) => texts.push_str(&t.unescape().expect("text")),
            Event::Eof => break,
            _ => {}
        }
    }
    (names, attrs, texts)
}

/// The HTML of a run and of a comparison with the real plot inline: well-formed, one inline
/// `<svg>`, nothing loaded from elsewhere (no script, link, image, frame, `src` or `href`),
/// and hostile text from a run shown as text.
#[test]
fn html_is_well_formed_and_self_contained() {
    let mut r = lst_run();
    r.parameters.insert("note <script>".into(), "<&>\"'".into());
    let svg = report::render_run_svg(&r).expect("plot");
    let c = survey_comparison();
    let csvg = report::render_comparison_svg(&c).expect("plot");
    for html in [report::run_html(&r, Some(&svg)), c.to_html(Some(&csvg))] {
        assert!(html.starts_with("<!DOCTYPE html>\n"), "{html}");
        let (names, attrs, texts) = read_html(&html);
        assert_eq!(names.iter().filter(|n| *n == "svg").count(), 1, "{names:?}");
        for banned in ["script", "link", "img", "iframe", "object", "embed"] {
            assert!(
                !names.iter().any(|n| n == banned),
                "<{banned}> in {names:?}"
            );
        }
        for banned in ["src=", "href=", "xlink:href="] {
            assert!(
                !attrs.iter().any(|a| a.starts_with(banned)),
                "{banned} {attrs:?}"
            );
        }
        assert!(texts.contains("MiB/s"), "{texts}");
    }
    let html = report::run_html(&r, Some(&svg));
    assert!(html.contains("<td>&lt;&amp;&gt;&quot;&#39;</td>"), "{html}");
    assert!(html.contains("note &lt;script&gt;"), "{html}");
}

#[test]
fn compare_refuses_mixed_kinds_units_and_nothing() {
    let fio = fio_run("fio-3.33/seq-and-randrw.json", "2026-12-02T00:12:50Z");
    let err = compare(&[fio.clone(), lst_run()]).expect_err("mixed kinds");
    assert!(matches!(err, CompareError::MixedKinds { index: 2, .. }));
    insta::assert_snapshot!("compare-mixed-kinds", common::chain(&err));

    let mut other = fio.clone();
    other.metrics[0].unit = "MiB/s".into();
    let err = compare(&[fio.clone(), other]).expect_err("unit changes");
    insta::assert_snapshot!("compare-unit-mismatch", common::chain(&err));

    assert!(matches!(compare(&[]), Err(CompareError::NoRuns)));
    let mut invalid = fio.clone();
    invalid.started_at = "yesterday".into();
    let err = compare(&[fio, invalid]).expect_err("invalid run");
    insta::assert_snapshot!("compare-invalid-run", common::chain(&err));
}

#[test]
fn bench_run_json_round_trip() {
    let r = lst_run();
    let json = r.to_json().expect("json");
    assert_eq!(BenchRun::from_json(&json).expect("reads back"), r);
    let small = run(
        BenchKind::ObdfilterSurvey,
        "2.17.0",
        "2026-12-02T00:00:00Z",
        vec![
            Metric::new("write rsz=1024K obj/ost=1 thr/ost=1", "MiB/s", 210.5),
            Metric::failed("rewrite rsz=1024K obj/ost=1 thr/ost=1", "MiB/s", "ERROR"),
            Metric::from_samples("servers rates read avg", "RPC/s", vec![1.0, 2.0]).expect("some"),
        ],
    );
    insta::assert_snapshot!("bench-run-json", small.to_json().expect("json"));
    let unknown = json.replacen("\"kind\"", "\"flavour\": 1, \"kind\"", 1);
    insta::assert_snapshot!(
        "bench-run-json-unknown-field",
        common::chain(&BenchRun::from_json(&unknown).expect_err("unknown field"))
    );
}

/// Reads an SVG with quick-xml: (root element name, number of <rect>, all text content).
fn read_svg(svg: &str) -> (String, usize, String) {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(svg);
    let (mut root, mut rects, mut texts) = (String::new(), 0, String::new());
    loop {
        match reader.read_event().expect("well-formed SVG") {
            Event::Start(e) | Event::Empty(e) => {
                let name = String::from_utf8_lossy(e.name().as_ref()).into_owned();
                if root.is_empty() {
                    root = name.clone();
                }
                rects += usize::from(name == "rect");
            }
            Event::Text(t) => {
                texts.push_str(&t.unescape().expect("text"));
                texts.push('\n');
            }
            Event::Eof => break,
            _ => {}
        }
    }
    (root, rects, texts)
}

#[test]
fn plots_are_written_and_are_svg() {
    let dir = tempfile::tempdir().expect("tempdir");
    let r = lst_run();
    let path = dir.path().join(format!("{}.svg", r.file_stem()));
    report::plot_run(&r, &path).expect("plot");
    let svg = std::fs::read_to_string(&path).expect("written");
    let (root, rects, texts) = read_svg(&svg);
    assert_eq!(root, "svg");
    assert!(
        rects >= r.metrics.len(),
        "{rects} rects for {} metrics",
        r.metrics.len()
    );
    assert!(texts.contains("servers rates read avg"), "labels: {texts}");
    assert!(texts.contains("RPC/s") && texts.contains("MiB/s"));

    let a = survey_run(
        "2.17.0/synthetic-obdfilter-survey-disk.txt",
        "2.16.0",
        "2026-12-01T00:00:00Z",
    );
    let mut b = a.clone();
    b.lustre_version = "2.17.0".into();
    let c = compare(&[a.clone(), b]).expect("comparable");
    let path = dir.path().join("compare.svg");
    report::plot_comparison(&c, &path).expect("plot");
    let (root, rects, texts) = read_svg(&std::fs::read_to_string(&path).expect("written"));
    assert_eq!(root, "svg");
    assert!(rects >= 2 * a.metrics.len());
    assert!(texts.contains("#2 2.17.0"), "legend: {texts}");
}

/// ior and mdtest runs plot, and runs of each compare with themselves but not with each other.
#[test]
fn ior_and_mdtest_runs_plot_and_compare() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ior = ior_run(
        "ior-4.1.0+dev/ior-fpp-write-read-16m-1m.json",
        "2026-12-02T00:00:00Z",
    );
    let md = mdtest_run(
        "ior-4.1.0+dev/mdtest-100-items-2-iterations-rate-and-time.txt",
        "2026-12-02T00:00:00Z",
    );
    for r in [&ior, &md] {
        let path = dir.path().join(format!("{}.svg", r.file_stem()));
        report::plot_run(r, &path).expect("plot");
        let (root, _, _) = read_svg(&std::fs::read_to_string(&path).expect("written"));
        assert_eq!(root, "svg");
        let mut later = r.clone();
        later.started_at = "2026-12-02T01:00:00Z".into();
        compare(&[r.clone(), later]).expect("same kind compares");
    }
    assert!(matches!(
        compare(&[ior, md]),
        Err(CompareError::MixedKinds { .. })
    ));
}

#[test]
fn plot_errors_are_errors() {
    let r = lst_run();
    let missing = std::path::Path::new("/nonexistent-lk-results-dir/plot.svg");
    let err = report::plot_run(&r, missing).expect_err("no such folder");
    assert!(matches!(err, PlotError::Write { .. }), "{err}");

    let failed = run(
        BenchKind::Fio,
        "2.17.0",
        "2026-12-02T00:00:00Z",
        vec![Metric::failed(
            "job",
            "",
            "fio reported error 5 for the job",
        )],
    );
    let err = report::render_run_svg(&failed).expect_err("nothing to plot");
    assert!(matches!(err, PlotError::NothingToPlot));
}
