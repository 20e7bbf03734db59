//! Taking things away: unwinding a failed `up`, `down` from the ledger, `gc` from ownership.

use std::path::Path;

use crate::provider::{Owned, Provider};

use crate::error::{Error, UndoFailure};
use crate::ledger::{Ledger, Phase, Step};
use crate::observe::{Event, Observer};
use crate::{PLAN_FILE, STAGES_FILE};

fn undo(lv: &dyn Provider, step: &Step) -> Result<(), String> {
    match step {
        Step::Shared { path } => match std::fs::remove_dir_all(path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e.to_string()),
        },
        Step::Network { name } => lv.remove_network(name).map_err(crate::chain),
        Step::Pool { name } => lv.remove_pool(name).map_err(crate::chain),
        Step::Volume { pool, name } => lv.remove_volume(pool, name).map_err(crate::chain),
        Step::Domain { name } => lv.remove_domain(name).map_err(crate::chain),
    }
}

/// Undoes `steps` in reverse order, recording each success; never stops at a failure.
pub(crate) fn unwind(
    lv: &dyn Provider,
    ledger: &mut Ledger,
    run: &str,
    steps: Vec<Step>,
    obs: &dyn Observer,
) -> Vec<UndoFailure> {
    let mut failures = Vec::new();
    for step in steps.into_iter().rev() {
        let result = undo(lv, &step).and_then(|()| {
            ledger
                .record(run, Phase::Undone, &step)
                .map_err(|e| format!("ledger: {}", crate::chain(e)))
        });
        obs.event(Event::Undo {
            step: &step,
            error: result.as_ref().err().map(String::as_str),
        });
        if let Err(message) = result {
            failures.push(UndoFailure { step, message });
        }
    }
    failures
}

/// Removes the cluster's state files and folder once nothing of it exists any more.
pub(crate) fn forget_if_empty(dir: &Path) {
    for f in [
        Ledger::path_in(dir),
        dir.join(PLAN_FILE),
        dir.join(STAGES_FILE),
        dir.join(crate::REPORT_FILE),
        // Where failover targets were served: a new cluster of the same name starts on primaries.
        dir.join(crate::failover::ACTIVE_FILE),
    ] {
        let _ = std::fs::remove_file(f);
    }
    let _ = std::fs::remove_dir(dir.join("pool"));
    let _ = std::fs::remove_dir(dir);
}

/// Takes down everything the cluster's ledger says may exist, newest first. On success the
/// ledger and the cluster's state folder are removed; on failure they stay, so `down` can be
/// run again.
pub fn down(lv: &dyn Provider, cluster_dir: &Path, obs: &dyn Observer) -> Result<Vec<Step>, Error> {
    let records = Ledger::read(cluster_dir)?;
    let outstanding = Ledger::outstanding(&records);
    if records.is_empty() {
        forget_if_empty(cluster_dir);
        return Ok(Vec::new());
    }
    let mut ledger = Ledger::open(cluster_dir)?;
    // Whatever is undone takes the stages' work with it: a `down` that fails part-way must
    // not leave progress that would make the next `up` skip every stage on new machines.
    let _ = std::fs::remove_file(cluster_dir.join(STAGES_FILE));
    let failures = unwind(lv, &mut ledger, "down", outstanding.clone(), obs);
    if !failures.is_empty() {
        return Err(Error::Down(failures));
    }
    drop(ledger);
    forget_if_empty(cluster_dir);
    Ok(outstanding)
}

/// Removes every object libvirt says belongs to `cluster` (domains by tag, networks by name
/// and bridge, the pool in `cluster_dir/pool` and its volumes), the shared folder and the
/// state files. Objects without lustrekit's marks are never touched. Returns what was found.
pub fn gc(
    lv: &dyn Provider,
    cluster: &str,
    cluster_dir: &Path,
    obs: &dyn Observer,
) -> Result<Owned, Error> {
    let pool_dir = cluster_dir.join("pool");
    let owned = lv
        .owned(cluster, &pool_dir.to_string_lossy())
        .map_err(Error::provider)?;
    let mut failures = Vec::new();
    let mut try_undo = |step: Step| {
        let result = undo(lv, &step);
        obs.event(Event::Undo {
            step: &step,
            error: result.as_ref().err().map(String::as_str),
        });
        if let Err(message) = result {
            failures.push(UndoFailure { step, message });
        }
    };
    for (d, _) in &owned.domains {
        try_undo(Step::Domain { name: d.clone() });
    }
    for (p, v) in &owned.volumes {
        try_undo(Step::Volume {
            pool: p.clone(),
            name: v.clone(),
        });
    }
    for p in &owned.pools {
        try_undo(Step::Pool { name: p.clone() });
    }
    for n in &owned.networks {
        try_undo(Step::Network { name: n.clone() });
    }
    let shared = cluster_dir.join("shared");
    if shared.exists() {
        try_undo(Step::Shared {
            path: shared.to_string_lossy().into_owned(),
        });
    }
    if !failures.is_empty() {
        return Err(Error::Down(failures));
    }
    forget_if_empty(cluster_dir);
    Ok(owned)
}
