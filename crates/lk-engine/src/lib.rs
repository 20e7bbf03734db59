//! Applies a [`lk_plan::Plan`] to libvirt and takes it down again, surviving crashes.
//!
//! - [`up`]: shared folder, networks, pool, volumes, then domains (bounded parallel), then
//!   readiness (parallel). Every create is announced in the [`ledger`] (synced) before the
//!   call and confirmed after it. On any error every step of the run is undone in reverse;
//!   undo failures do not stop the unwinding and are all reported with the original error.
//! - [`down`]: undoes, in reverse, everything the ledger says may exist (works after kill -9).
//! - [`gc`]: removes everything libvirt says the cluster owns (works when the ledger is lost);
//!   objects without lustrekit's marks are never touched.
//! - [`status`], [`exec`]: live state and guest commands.
//!
//! Fault injection: [`UpOptions::fail_at`] makes step k fail before its create, for tests.
//! The library reads no environment; the CLI maps e.g. `LUSTREKIT_FAIL_AT` onto it.

pub mod error;
pub mod ledger;

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use lk_libvirt::xml::{self, DomainContext, Owner};
use lk_libvirt::{Accel, ExecOutput, Libvirt, Owned, Ready};
use lk_plan::Plan;

pub use error::{Error, UndoFailure};
use ledger::{Ledger, Phase, Step};

#[derive(Debug, Clone)]
pub struct UpOptions {
    pub accel: Accel,
    /// Wait for every node to be ready (agent, lease, 9p) before returning.
    pub wait_ready: bool,
    pub ready_timeout: Duration,
    /// Most domains created or waited for at once.
    pub parallel: usize,
    /// Fail step `k` (0-based, in [`steps`] order) before its create.
    pub fail_at: Option<usize>,
    /// Run id recorded in the ledger and in domain metadata; generated when `None`.
    pub run_id: Option<String>,
    /// Host user qemu runs as; the shared folder is given to it so guests can write logs.
    pub qemu_user: Option<String>,
}

impl Default for UpOptions {
    fn default() -> Self {
        UpOptions {
            accel: Accel::Tcg,
            wait_ready: true,
            ready_timeout: Duration::from_secs(600),
            parallel: 4,
            fail_at: None,
            run_id: None,
            qemu_user: Some("libvirt-qemu".into()),
        }
    }
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct StepTiming {
    pub step: String,
    pub seconds: f64,
    /// False when the object already existed and was adopted.
    pub created: bool,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct UpReport {
    pub run: String,
    pub steps: Vec<StepTiming>,
    pub ready: Vec<Ready>,
    pub seconds: f64,
}

/// The cluster's state directory (parent of its pool directory): ledger, pool, shared folder.
pub fn cluster_dir(plan: &Plan) -> PathBuf {
    Path::new(&plan.resources.pool.path)
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from(&plan.resources.pool.path))
}

/// The steps of `up`, in order (fault-injection indexes refer to this list).
pub fn steps(plan: &Plan) -> Vec<Step> {
    let r = &plan.resources;
    let mut s = vec![Step::Shared {
        path: r.shared.host_path.clone(),
    }];
    s.extend(r.networks.iter().map(|n| Step::Network {
        name: n.name.clone(),
    }));
    s.push(Step::Pool {
        name: r.pool.name.clone(),
    });
    s.extend(r.volumes.iter().map(|v| Step::Volume {
        pool: r.pool.name.clone(),
        name: v.name.clone(),
    }));
    s.extend(r.domains.iter().map(|d| Step::Domain {
        name: d.name.clone(),
    }));
    s
}

fn new_run_id() -> String {
    let t = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    format!("{t}-{}", std::process::id())
}

/// Brings the plan's infrastructure up (and waits for readiness when asked).
pub fn up(lv: &Libvirt, plan: &Plan, opts: &UpOptions) -> Result<UpReport, Error> {
    let t0 = Instant::now();
    let run = opts.run_id.clone().unwrap_or_else(new_run_id);
    let dir = cluster_dir(plan);
    let ledger = Mutex::new(Ledger::open(&dir)?);
    let owner = Owner {
        cluster: plan.cluster.clone(),
        run: run.clone(),
    };
    let timings = Mutex::new(Vec::new());
    let result = apply(lv, plan, opts, &run, &owner, &ledger, &timings);
    match result {
        Ok(ready) => Ok(UpReport {
            run,
            steps: timings.into_inner().unwrap_or_default(),
            ready,
            seconds: t0.elapsed().as_secs_f64(),
        }),
        Err(original) => {
            let mut ledger = ledger.into_inner().unwrap_or_else(|p| p.into_inner());
            let records = Ledger::read(&dir)?;
            let mine: Vec<_> = records.into_iter().filter(|r| r.run == run).collect();
            let undo_failures = unwind(lv, &mut ledger, &run, Ledger::outstanding(&mine));
            Err(Error::Unwound {
                original: Box::new(original),
                undo_failures,
            })
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn run_step(
    lv: &Libvirt,
    ledger: &Mutex<Ledger>,
    timings: &Mutex<Vec<StepTiming>>,
    run: &str,
    index: usize,
    fail_at: Option<usize>,
    step: &Step,
    create: impl FnOnce() -> Result<bool, lk_libvirt::Error>,
) -> Result<(), Error> {
    let _ = lv;
    let t = Instant::now();
    let record = |phase| {
        ledger
            .lock()
            .map_err(|_| poisoned())
            .and_then(|mut l| l.record(run, phase, step))
    };
    record(Phase::Intent)?;
    if fail_at == Some(index) {
        record(Phase::Failed)?;
        return Err(Error::Injected {
            step: step.clone(),
            index,
        });
    }
    match create() {
        Ok(created) => {
            record(Phase::Done)?;
            if let Ok(mut t2) = timings.lock() {
                t2.push(StepTiming {
                    step: step.to_string(),
                    seconds: t.elapsed().as_secs_f64(),
                    created,
                });
            }
            Ok(())
        }
        Err(source) => {
            let _ = record(Phase::Failed);
            Err(Error::Create {
                step: step.clone(),
                source: Box::new(source),
            })
        }
    }
}

/// Next work item; the lock is released before the item is worked on.
fn pop(work: &Mutex<VecDeque<usize>>) -> Option<usize> {
    work.lock().ok().and_then(|mut w| w.pop_front())
}

fn poisoned() -> Error {
    Error::Io {
        action: "lock ledger (a worker panicked)",
        path: PathBuf::new(),
        source: std::io::Error::other("poisoned"),
    }
}

fn apply(
    lv: &Libvirt,
    plan: &Plan,
    opts: &UpOptions,
    run: &str,
    owner: &Owner,
    ledger: &Mutex<Ledger>,
    timings: &Mutex<Vec<StepTiming>>,
) -> Result<Vec<Ready>, Error> {
    let r = &plan.resources;
    let all = steps(plan);
    let mut k = 0;
    let mut next = || {
        k += 1;
        (k - 1, all[k - 1].clone())
    };

    let (i, s) = next();
    run_step(lv, ledger, timings, run, i, opts.fail_at, &s, || {
        prepare_shared(plan, opts.qemu_user.as_deref()).map(|_| true)
    })?;
    for n in &r.networks {
        let (i, s) = next();
        run_step(lv, ledger, timings, run, i, opts.fail_at, &s, || {
            lv.ensure_network(n)
        })?;
    }
    let (i, s) = next();
    run_step(lv, ledger, timings, run, i, opts.fail_at, &s, || {
        lv.ensure_pool(&r.pool)
    })?;
    for v in &r.volumes {
        let (i, s) = next();
        run_step(lv, ledger, timings, run, i, opts.fail_at, &s, || {
            lv.ensure_volume(&r.pool.name, v)
        })?;
    }

    // Domains: independent of each other, so created (and booted) in parallel, bounded.
    let first_domain = k;
    let ctx = DomainContext {
        owner,
        accel: opts.accel,
        pool_path: &r.pool.path,
        volumes: &r.volumes,
        shared: &r.shared,
    };
    let work: Mutex<VecDeque<usize>> = Mutex::new((0..r.domains.len()).collect());
    let errors: Mutex<Vec<Error>> = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..opts.parallel.max(1).min(r.domains.len().max(1)) {
            scope.spawn(|| {
                while let Some(j) = pop(&work) {
                    let d = &r.domains[j];
                    let step = all[first_domain + j].clone();
                    let xml = xml::domain_xml(d, &ctx);
                    let res = run_step(
                        lv,
                        ledger,
                        timings,
                        run,
                        first_domain + j,
                        opts.fail_at,
                        &step,
                        || lv.ensure_domain(d, owner, &xml).map(|replaced| !replaced),
                    );
                    if let Err(e) = res {
                        if let Ok(mut es) = errors.lock() {
                            es.push(e);
                        }
                        // Stop handing out work; the caller unwinds.
                        if let Ok(mut w) = work.lock() {
                            w.clear();
                        }
                    }
                }
            });
        }
    });
    if let Some(e) = errors.into_inner().unwrap_or_default().into_iter().next() {
        return Err(e);
    }

    if !opts.wait_ready {
        return Ok(Vec::new());
    }
    let work: Mutex<VecDeque<usize>> = Mutex::new((0..r.domains.len()).collect());
    let results: Mutex<Vec<Result<Ready, lk_libvirt::Error>>> = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..opts.parallel.max(1).min(r.domains.len().max(1)) {
            scope.spawn(|| {
                while let Some(j) = pop(&work) {
                    let d = &r.domains[j];
                    let console = xml::console_path(d, &r.shared);
                    let res = lv.wait_ready(d, &r.shared.guest_path, &console, opts.ready_timeout);
                    if let Ok(mut rs) = results.lock() {
                        rs.push(res);
                    }
                }
            });
        }
    });
    let mut ready = Vec::new();
    for res in results.into_inner().unwrap_or_default() {
        ready.push(res.map_err(|e| Error::Ready(Box::new(e)))?);
    }
    ready.sort_by(|a, b| a.node.cmp(&b.node));
    Ok(ready)
}

/// Creates the shared folder (subfolders, one log folder per node, the plan's files) and
/// makes it reachable and writable for the qemu user.
fn prepare_shared(plan: &Plan, qemu_user: Option<&str>) -> Result<(), lk_libvirt::Error> {
    let r = &plan.resources;
    let io = |action, path: &Path| {
        let path = path.to_path_buf();
        move |source| lk_libvirt::Error::Io {
            action,
            path,
            source,
        }
    };
    let root = Path::new(&r.shared.host_path);
    let mut dirs: Vec<PathBuf> = r.shared.subdirs.iter().map(|s| root.join(s)).collect();
    for d in &r.domains {
        if let Some(p) = Path::new(&xml::console_path(d, &r.shared)).parent() {
            dirs.push(p.to_path_buf());
        }
    }
    for d in &dirs {
        std::fs::create_dir_all(d).map_err(io("create", d))?;
    }
    for (rel, contents) in &plan.files {
        let p = root.join(rel);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).map_err(io("create", parent))?;
        }
        std::fs::write(&p, contents).map_err(io("write", &p))?;
        if rel.ends_with(".sh") {
            set_mode(&p, 0o755).map_err(io("chmod", &p))?;
        }
    }
    // Every ancestor must be traversable by qemu (it runs unprivileged).
    let mut a = root.parent();
    while let Some(p) = a {
        if p.as_os_str().is_empty() || p == Path::new("/") {
            break;
        }
        if let Ok(m) = std::fs::metadata(p) {
            use std::os::unix::fs::PermissionsExt;
            let mode = m.permissions().mode();
            if mode & 0o005 != 0o005 {
                set_mode(p, (mode | 0o005) & 0o7777).map_err(io("chmod", p))?;
            }
        }
        a = p.parent();
    }
    if let Some((uid, gid)) = qemu_user.and_then(lookup_user) {
        chown_tree(root, uid, gid).map_err(io("chown", root))?;
    }
    Ok(())
}

fn set_mode(p: &Path, mode: u32) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode))
}

fn lookup_user(name: &str) -> Option<(u32, u32)> {
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        (f.len() > 3 && f[0] == name).then(|| Some((f[2].parse().ok()?, f[3].parse().ok()?)))?
    })
}

fn chown_tree(p: &Path, uid: u32, gid: u32) -> std::io::Result<()> {
    std::os::unix::fs::chown(p, Some(uid), Some(gid))?;
    if p.is_dir() {
        for e in std::fs::read_dir(p)? {
            chown_tree(&e?.path(), uid, gid)?;
        }
    }
    Ok(())
}

fn undo(lv: &Libvirt, step: &Step) -> Result<(), String> {
    match step {
        Step::Shared { path } => match std::fs::remove_dir_all(path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e.to_string()),
        },
        Step::Network { name } => lv.remove_network(name).map_err(chain),
        Step::Pool { name } => lv.remove_pool(name).map_err(chain),
        Step::Volume { pool, name } => lv.remove_volume(pool, name).map_err(chain),
        Step::Domain { name } => lv.remove_domain(name).map_err(chain),
    }
}

/// The error and its sources on one line.
pub fn chain(e: impl std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(c) = src {
        s.push_str(": ");
        s.push_str(&c.to_string());
        src = c.source();
    }
    s
}

/// Undoes `steps` in reverse order, recording each success; never stops at a failure.
fn unwind(lv: &Libvirt, ledger: &mut Ledger, run: &str, steps: Vec<Step>) -> Vec<UndoFailure> {
    let mut failures = Vec::new();
    for step in steps.into_iter().rev() {
        match undo(lv, &step) {
            Ok(()) => {
                if let Err(e) = ledger.record(run, Phase::Undone, &step) {
                    failures.push(UndoFailure {
                        step,
                        message: format!("ledger: {}", chain(e)),
                    });
                }
            }
            Err(message) => failures.push(UndoFailure { step, message }),
        }
    }
    failures
}

/// Takes down everything the cluster's ledger says may exist, newest first. On success the
/// ledger is removed; on failure it stays, so `down` can be run again.
pub fn down(lv: &Libvirt, cluster_dir: &Path) -> Result<Vec<Step>, Error> {
    let records = Ledger::read(cluster_dir)?;
    let outstanding = Ledger::outstanding(&records);
    if records.is_empty() {
        return Ok(Vec::new());
    }
    let mut ledger = Ledger::open(cluster_dir)?;
    let failures = unwind(lv, &mut ledger, "down", outstanding.clone());
    if !failures.is_empty() {
        return Err(Error::Down(failures));
    }
    let path = ledger.path().to_path_buf();
    drop(ledger);
    std::fs::remove_file(&path).map_err(Error::io("remove", &path))?;
    let _ = std::fs::remove_dir(cluster_dir.join("pool"));
    let _ = std::fs::remove_dir(cluster_dir);
    Ok(outstanding)
}

/// Removes every object libvirt says belongs to `cluster` (domains by tag, networks, the pool
/// in `cluster_dir/pool` and its volumes), and the shared folder. Returns what was found.
pub fn gc(lv: &Libvirt, cluster: &str, cluster_dir: &Path) -> Result<Owned, Error> {
    let pool_dir = cluster_dir.join("pool");
    let owned = lv
        .owned(cluster, &pool_dir.to_string_lossy())
        .map_err(Error::libvirt)?;
    let mut failures = Vec::new();
    let mut try_undo = |step: Step| {
        if let Err(message) = undo(lv, &step) {
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
    Ok(owned)
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct NodeStatus {
    pub node: String,
    pub domain: String,
    pub roles: Vec<String>,
    /// libvirt state, or "absent".
    pub state: String,
    /// Leased address of the first NIC, when there is one.
    pub address: Option<std::net::Ipv4Addr>,
    pub nids: Vec<String>,
}

/// Live state of every node of the plan.
pub fn status(lv: &Libvirt, plan: &Plan) -> Result<Vec<NodeStatus>, Error> {
    let mut out = Vec::new();
    for d in &plan.resources.domains {
        let state = lv.domain_state(&d.name).map_err(Error::libvirt)?;
        let address = match (&state, d.nics.first()) {
            (Some(_), Some(nic)) => lv.leased_address(&d.name, &nic.mac).ok().flatten(),
            _ => None,
        };
        let np = plan.nodes.iter().find(|n| n.node == d.node);
        out.push(NodeStatus {
            node: d.node.clone(),
            domain: d.name.clone(),
            roles: np.map(|n| n.roles.clone()).unwrap_or_default(),
            state: state.unwrap_or_else(|| "absent".into()),
            address,
            nids: np.map(|n| n.nids.clone()).unwrap_or_default(),
        });
    }
    Ok(out)
}

/// Runs `argv` on `node` through the guest agent.
pub fn exec(
    lv: &Libvirt,
    plan: &Plan,
    node: &str,
    argv: &[&str],
    timeout: Duration,
) -> Result<ExecOutput, Error> {
    let domain = plan
        .resources
        .domains
        .iter()
        .find(|d| d.node == node)
        .map(|d| d.name.clone())
        .unwrap_or_else(|| format!("{}-{node}", plan.cluster));
    lv.exec(&domain, argv, timeout).map_err(Error::libvirt)
}
