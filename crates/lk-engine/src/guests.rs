//! Guest work outside the ordered stages: gathering every node's logs after a failure, and
//! unmounting and unloading Lustre before `down` removes the VMs.

use std::time::Duration;

use lk_plan::{Phase, Plan};

use crate::cluster_dir;
use crate::error::Error;
use crate::observe::Observer;
use crate::provider::{DomainState, Provider, Watch};
use crate::stages::{domain_of, run_phase, StageOptions, StageState};

/// Collects `dmesg` and (when Lustre is there) `lctl dk` of every running node into its log
/// folder next to its console log. Returns what could not be gathered.
pub fn gather_logs(lv: &dyn Provider, plan: &Plan) -> Vec<String> {
    let mut problems = Vec::new();
    let g = &plan.resources.shared.guest_path;
    for n in &plan.nodes {
        match lv.domain_state(&n.domain) {
            Ok(Some(DomainState::Running)) => {}
            Ok(state) => {
                let state = state.map_or("absent", DomainState::as_str);
                problems.push(format!("{}: not running ({state})", n.node));
                continue;
            }
            Err(e) => {
                problems.push(format!("{}: state: {}", n.node, crate::chain(e)));
                continue;
            }
        }
        let dir = format!("{g}/logs/{}", n.node);
        let cmd = format!(
            "mkdir -p {d}; dmesg > {d}/dmesg.txt 2>&1; \
             if command -v lctl >/dev/null; then lctl dk > {d}/lctl-dk.txt 2>&1; fi; true",
            d = lk_lustre::shell::quote(&dir)
        );
        let argv = ["/bin/sh", "-c", &cmd];
        if let Err(e) = lv.exec(&n.domain, &argv, Duration::from_secs(60), Watch::none()) {
            problems.push(format!("{}: {}", n.node, crate::chain(e)));
        }
    }
    problems
}

/// Before `down`: unmounts clients, MDTs, OSTs, MGS and unloads the modules, on the nodes
/// that are running, when anything may be formatted or mounted. Best effort: returns what
/// failed, and `down` goes on.
pub fn teardown_guests(
    lv: &dyn Provider,
    plan: &Plan,
    timeout: Duration,
    obs: &dyn Observer,
) -> Vec<String> {
    // A damaged stages.json may hide mounted targets: unmount to be safe, and say so.
    let mut problems = Vec::new();
    match StageState::load(&cluster_dir(plan)) {
        Ok(s) if !s.touched_targets() => return Vec::new(),
        Ok(_) => {}
        Err(e) => problems.push(format!("stage progress: {}", crate::chain(e))),
    }
    let opts = StageOptions {
        phase_timeout: timeout,
        ..StageOptions::default()
    };
    for phase in &plan.teardown {
        // Only running nodes can unmount; a state that cannot be read is reported, not
        // taken for "not running".
        let mut running = Vec::new();
        for n in &phase.nodes {
            match domain_of(plan, n).map(|d| lv.domain_state(d)) {
                Some(Ok(Some(DomainState::Running))) => running.push(n.clone()),
                Some(Err(e)) => problems.push(format!("{n}: state: {}", crate::chain(e))),
                _ => {}
            }
        }
        let phase = Phase {
            nodes: running,
            ..phase.clone()
        };
        match run_phase(lv, plan, &phase, &opts, obs) {
            Ok(_) => {}
            Err(Error::Stage { failures, .. }) => {
                problems.extend(failures.iter().map(|f| format!("{}: {f}", phase.name)))
            }
            Err(e) => problems.push(format!("{}: {}", phase.name, crate::chain(e))),
        }
    }
    problems
}
