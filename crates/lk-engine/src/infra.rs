//! `up`'s infrastructure half: shared folder, networks, pool, volumes, then domains (bounded
//! parallel), then readiness. Every create is announced in the ledger (synced) before the
//! call and confirmed after it; on any error, or when cancelled, the run's steps are undone
//! in reverse order.

use std::collections::VecDeque;
use std::path::Path;
use std::sync::{Mutex, PoisonError};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use crate::provider::{
    console_path, DomainSpec, Owner, Provider, ProviderError, Ready, ReadySpec, Watch,
};
use lk_plan::Plan;

use crate::error::Error;
use crate::ledger::{Ledger, Phase, Step};
use crate::observe::{Event, Observer};
use crate::{cluster_dir, save_plan, teardown, StepTiming, UpOptions, UpReport};

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

/// The node a step belongs to (its domain, or the one node a volume is attached to).
pub fn step_node<'p>(plan: &'p Plan, step: &Step) -> Option<&'p str> {
    let r = &plan.resources;
    match step {
        Step::Domain { name } => r
            .domains
            .iter()
            .find(|d| &d.name == name)
            .map(|d| d.node.as_str()),
        Step::Volume { name, .. } => r
            .volumes
            .iter()
            .find(|v| &v.name == name)
            .and_then(|v| v.attached_to.first())
            .map(String::as_str),
        _ => None,
    }
}

fn new_run_id() -> String {
    let t = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    format!("{t}-{}", std::process::id())
}

/// Files the plan needs on the host that `up` does not create: the base image and the boot
/// kernel. Checked before anything is created, so a missing image leaves nothing behind.
pub fn check_inputs(plan: &Plan) -> Result<(), Error> {
    let r = &plan.resources;
    let mut needed: Vec<(&str, &str)> = Vec::new();
    for v in &r.volumes {
        if let Some(b) = &v.backing {
            needed.push(("base image", b));
        }
    }
    for d in &r.domains {
        if let Some(k) = &d.kernel {
            needed.push(("guest kernel", &k.kernel));
            if let Some(i) = &k.initrd {
                needed.push(("guest initrd", i));
            }
        }
    }
    needed.sort();
    needed.dedup();
    for (what, path) in needed {
        if !Path::new(path).is_file() {
            return Err(Error::MissingInput {
                what,
                path: path.into(),
            });
        }
    }
    Ok(())
}

/// Brings the plan's infrastructure up (and waits for readiness when asked).
pub fn up(
    lv: &dyn Provider,
    plan: &Plan,
    opts: &UpOptions,
    obs: &dyn Observer,
) -> Result<UpReport, Error> {
    let t0 = Instant::now();
    check_inputs(plan)?;
    let run = opts.run_id.clone().unwrap_or_else(new_run_id);
    let dir = cluster_dir(plan);
    let fresh = !dir.exists();
    let prepared = save_plan(plan).and_then(|()| Ledger::open(&dir));
    let ledger = match prepared {
        Ok(l) => Mutex::new(l),
        Err(e) => {
            // Nothing was created in libvirt yet; leave no state folder behind either.
            if fresh {
                let _ = std::fs::remove_dir_all(&dir);
            }
            return Err(e);
        }
    };
    let owner = Owner {
        cluster: plan.cluster.clone(),
        run: run.clone(),
    };
    let timings = Mutex::new(Vec::new());
    let ctx = Apply {
        lv,
        plan,
        opts,
        run: &run,
        owner: &owner,
        ledger: &ledger,
        timings: &timings,
        obs,
        total: steps(plan).len(),
    };
    match ctx.apply() {
        Ok(ready) => Ok(UpReport {
            run,
            steps: timings.into_inner().unwrap_or_else(PoisonError::into_inner),
            ready,
            seconds: t0.elapsed().as_secs_f64(),
        }),
        Err(original) => {
            let mut ledger = ledger.into_inner().unwrap_or_else(|p| p.into_inner());
            let records = Ledger::read(&dir)?;
            let made = Ledger::made_by(&records, &run);
            let undo_failures = teardown::unwind(lv, &mut ledger, &run, made, obs);
            // Only when nothing of earlier runs is left either.
            let left = Ledger::read(&dir).map(|r| Ledger::outstanding(&r));
            if undo_failures.is_empty() && left.is_ok_and(|l| l.is_empty()) {
                teardown::forget_if_empty(&dir);
            }
            Err(Error::Unwound {
                original: Box::new(original),
                undo_failures,
            })
        }
    }
}

struct Apply<'a> {
    lv: &'a dyn Provider,
    plan: &'a Plan,
    opts: &'a UpOptions,
    run: &'a str,
    owner: &'a Owner,
    ledger: &'a Mutex<Ledger>,
    timings: &'a Mutex<Vec<StepTiming>>,
    obs: &'a dyn Observer,
    total: usize,
}

impl Apply<'_> {
    fn cancelled(&self) -> bool {
        self.opts.is_cancelled()
    }

    /// Announces, creates, confirms one step. `create` returns whether it created (false:
    /// adopted an existing object of ours).
    fn step(
        &self,
        index: usize,
        step: &Step,
        create: impl FnOnce() -> Result<bool, ProviderError>,
    ) -> Result<(), Error> {
        if self.cancelled() {
            return Err(Error::Interrupted {
                during: step.to_string(),
            });
        }
        let node = step_node(self.plan, step);
        self.obs.event(Event::Step {
            index,
            total: self.total,
            step,
            node,
        });
        let t = Instant::now();
        let record = |phase| {
            self.ledger
                .lock()
                .map_err(|_| crate::poisoned())
                .and_then(|mut l| l.record(self.run, phase, step))
        };
        record(Phase::Intent)?;
        if self.opts.fail_at == Some(index) {
            record(Phase::Failed)?;
            return Err(Error::Injected {
                step: step.clone(),
                index,
            });
        }
        match create() {
            Ok(created) => {
                if self.opts.hold_at == Some(index) {
                    self.hold(index, step)?;
                }
                record(if created { Phase::Done } else { Phase::Adopted })?;
                let seconds = t.elapsed().as_secs_f64();
                if let Ok(mut t2) = self.timings.lock() {
                    t2.push(StepTiming {
                        step: step.to_string(),
                        seconds,
                        created,
                    });
                }
                self.obs.event(Event::StepDone {
                    index,
                    step,
                    node,
                    seconds,
                    created,
                });
                Ok(())
            }
            Err(source) => {
                // A foreign object of the same name was not made by us: nothing to undo,
                // and undoing would mean touching it.
                let phase = if matches!(source, ProviderError::Foreign { .. }) {
                    Phase::Undone
                } else {
                    Phase::Failed
                };
                let _ = record(phase);
                Err(Error::Create {
                    step: step.clone(),
                    source: Box::new(source),
                })
            }
        }
    }

    /// Fault injection for crash tests: the object exists, its `done` is not yet recorded
    /// (the worst moment to die). Waits to be killed, or unwinds when interrupted.
    fn hold(&self, index: usize, step: &Step) -> Result<(), Error> {
        eprintln!("lustrekit: holding after creating step {index} ({step}) (LUSTREKIT_HOLD_AT)");
        loop {
            if self.cancelled() {
                return Err(Error::Interrupted {
                    during: step.to_string(),
                });
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }

    fn apply(&self) -> Result<Vec<Ready>, Error> {
        let (lv, plan, opts) = (self.lv, self.plan, self.opts);
        let r = &plan.resources;
        let all = steps(plan);
        let mut k = 0;
        let mut next = || {
            k += 1;
            (k - 1, &all[k - 1])
        };

        let (i, s) = next();
        self.step(i, s, || {
            let existed = Path::new(&r.shared.host_path).exists();
            crate::shared::prepare(plan, opts.qemu_user.as_deref())
                .map(|()| !existed)
                .map_err(|e| ProviderError::Backend(Box::new(e)))
        })?;
        for n in &r.networks {
            let (i, s) = next();
            self.step(i, s, || lv.ensure_network(n))?;
        }
        let (i, s) = next();
        self.step(i, s, || lv.ensure_pool(&r.pool))?;
        for v in &r.volumes {
            let (i, s) = next();
            self.step(i, s, || lv.ensure_volume(&r.pool.name, v))?;
        }

        // Domains are independent of each other: created (and booted) in parallel, bounded.
        let first_domain = k;
        let errors = self.parallel(r.domains.len(), |j| {
            let spec = DomainSpec {
                domain: &r.domains[j],
                owner: self.owner,
                accel: opts.accel,
                pool_path: &r.pool.path,
                volumes: &r.volumes,
                shared: &r.shared,
            };
            self.step(first_domain + j, &all[first_domain + j], || {
                lv.ensure_domain(&spec)
            })
        });
        if let Some(e) = errors.into_iter().find_map(Result::err) {
            return Err(e);
        }

        if !opts.wait_ready {
            return Ok(Vec::new());
        }
        self.wait_all_ready()
    }

    /// Waits for every domain to be ready (bounded parallel); sorted by node.
    fn wait_all_ready(&self) -> Result<Vec<Ready>, Error> {
        let (lv, opts) = (self.lv, self.opts);
        let r = &self.plan.resources;
        let cancelled = || self.cancelled();
        let results = self.parallel(r.domains.len(), |j| {
            let d = &r.domains[j];
            let console = console_path(d, &r.shared);
            let progress = |m: &str| {
                self.obs.event(Event::Node {
                    node: &d.node,
                    message: m,
                })
            };
            let watch = Watch {
                progress: &progress,
                cancelled: &cancelled,
            };
            let spec = ReadySpec {
                domain: d,
                shared_guest_path: &r.shared.guest_path,
                console_log: &console,
                timeout: opts.ready_timeout,
            };
            let ready = lv.wait_ready(&spec, watch).map_err(|e| match e {
                ProviderError::Cancelled { waiting_for, .. } => Error::Interrupted {
                    during: format!("node {}: waiting for {waiting_for}", d.node),
                },
                e => Error::Ready(Box::new(e)),
            })?;
            self.obs.event(Event::NodeReady { ready: &ready });
            Ok(ready)
        });
        let mut ready = results.into_iter().collect::<Result<Vec<_>, _>>()?;
        ready.sort_by(|a, b| a.node.cmp(&b.node));
        Ok(ready)
    }

    /// Runs `work(j)` for j in 0..n on at most `opts.parallel` threads; after the first
    /// error no new work is handed out. Results in completion order.
    fn parallel<T: Send>(
        &self,
        n: usize,
        work: impl Fn(usize) -> Result<T, Error> + Sync,
    ) -> Vec<Result<T, Error>> {
        let queue: Mutex<VecDeque<usize>> = Mutex::new((0..n).collect());
        let results = Mutex::new(Vec::new());
        let threads = self.opts.parallel.clamp(1, n.max(1));
        std::thread::scope(|scope| {
            for _ in 0..threads {
                scope.spawn(|| {
                    while let Some(j) = queue.lock().ok().and_then(|mut q| q.pop_front()) {
                        let res = work(j);
                        if res.is_err() {
                            if let Ok(mut q) = queue.lock() {
                                q.clear();
                            }
                        }
                        if let Ok(mut rs) = results.lock() {
                            rs.push(res);
                        }
                    }
                });
            }
        });
        // A poisoned lock still holds every result pushed; an empty list would read as success.
        results.into_inner().unwrap_or_else(PoisonError::into_inner)
    }
}
