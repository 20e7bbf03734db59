//! What `test` leaves behind: the parsed results as JSON and JUnit XML beside auster's log,
//! a summary table, and on a failure every node's console, dmesg and `lctl dk`.

use std::path::Path;

use anyhow::Context as _;
use lk_engine::suite::SuiteOutcome;
use lk_plan::testenv::SuiteRequest;
use lk_plan::Plan;
use lk_results::suite::SuiteResults;

/// UTC time to the second, as run folders and reports name it.
pub fn timestamp() -> String {
    jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// The record `results.json` holds: the run and every subtest.
#[derive(serde::Serialize)]
struct RunRecord<'a> {
    cluster: &'a str,
    suite: &'a str,
    only: &'a [String],
    except: &'a [String],
    runner: &'a str,
    started: &'a str,
    seconds: f64,
    auster_exit_code: i64,
    /// Why the suite was stopped before it finished, if it was.
    unfinished: Option<&'a str>,
    counts: lk_results::suite::Counts,
    results: &'a SuiteResults,
}

/// Writes results.json, junit.xml and summary.txt, prints the summary; Ok(exit code): 1 when
/// any subtest failed or did not finish, or the framework wrote no results.
pub fn suite_report(
    lv: &dyn lk_engine::Provider,
    plan: &Plan,
    req: &SuiteRequest,
    outcome: &SuiteOutcome,
    started: &str,
) -> anyhow::Result<u8> {
    if let Some(why) = &outcome.unfinished {
        eprintln!(
            "test: the suite did not finish and was stopped on {}: {why}",
            outcome.runner
        );
    }
    let text = match std::fs::read_to_string(&outcome.results) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            eprintln!(
                "test: the framework wrote no results (exit code {}); its log: {}",
                outcome.exit_code,
                outcome.log.display()
            );
            gather(lv, plan);
            return Ok(crate::exit::FAILED);
        }
        Err(e) => return Err(e).with_context(|| format!("read {}", outcome.results.display())),
    };
    let results = lk_results::suite::parse_results_yml(&text)
        .with_context(|| format!("parse {}", outcome.results.display()))?;
    let counts = sum_counts(&results);
    let record = RunRecord {
        cluster: &plan.cluster,
        suite: req.suite.as_str(),
        only: &req.only,
        except: &req.except,
        runner: &outcome.runner,
        started,
        seconds: outcome.seconds,
        auster_exit_code: outcome.exit_code,
        unfinished: outcome.unfinished.as_deref(),
        counts,
        results: &results,
    };
    write(
        &outcome.dir.join("results.json"),
        &serde_json::to_string_pretty(&record)?,
    )?;
    write(
        &outcome.dir.join("junit.xml"),
        &lk_results::junit::to_junit(&results)?,
    )?;
    let summary = lk_results::summary::render(&results);
    write(&outcome.dir.join("summary.txt"), &summary)?;
    println!("{summary}");
    let failed = results.suites.iter().any(|s| s.any_failed())
        || results.suites.is_empty()
        || outcome.unfinished.is_some();
    eprintln!(
        "test: {} on {}: {} passed, {} failed, {} skipped, {} unfinished in {:.0} s; results in {}",
        req.suite,
        plan.cluster,
        counts.pass,
        counts.fail,
        counts.skip,
        counts.unfinished,
        outcome.seconds,
        outcome.dir.display()
    );
    if failed {
        gather(lv, plan);
        return Ok(crate::exit::FAILED);
    }
    Ok(0)
}

fn sum_counts(r: &SuiteResults) -> lk_results::suite::Counts {
    let mut c = lk_results::suite::Counts::default();
    for s in &r.suites {
        let x = s.counts();
        c.pass += x.pass;
        c.fail += x.fail;
        c.skip += x.skip;
        c.unfinished += x.unfinished;
    }
    c
}

fn gather(lv: &dyn lk_engine::Provider, plan: &Plan) {
    eprintln!(
        "test: gathering every node's console, dmesg and lctl dk into {}",
        lk_engine::shared::logs_dir(plan).display()
    );
    for p in lk_engine::guests::gather_logs(lv, plan) {
        eprintln!("  could not gather: {p}");
    }
}

fn write(path: &Path, text: &str) -> anyhow::Result<()> {
    std::fs::write(path, text).with_context(|| format!("write {}", path.display()))
}
