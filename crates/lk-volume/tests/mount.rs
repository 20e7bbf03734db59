// SPDX-License-Identifier: Apache-2.0
//! The managed mount against a scripted `mount` and mount table: already mounted, something
//! else mounted, success after failures within the bound, the bound reached, and a mount
//! that reports success but does not show up.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use lk_volume::mount::{mount_point_for, LustreSource, MountError, MountStatus, Mounter};
use lk_volume::runner::{CommandOutput, CommandRunner};

const BASE_TABLE: &str = "25 1 254:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw\n";

/// `mount` that fails `failures` times, then adds a line to the table (unless `invisible`).
struct FakeMount {
    table: Arc<Mutex<String>>,
    failures: Mutex<u32>,
    invisible: bool,
    calls: Mutex<Vec<Vec<String>>>,
}

impl CommandRunner for FakeMount {
    fn run(&self, argv: &[String]) -> std::io::Result<CommandOutput> {
        self.calls.lock().expect("calls").push(argv.to_vec());
        let mut left = self.failures.lock().expect("failures");
        if *left > 0 {
            *left -= 1;
            return Ok(CommandOutput::failed(
                32,
                "mount.lustre: mount 10.0.0.1@tcp:/lustre at /mnt failed: Input/output error\n",
            ));
        }
        if !self.invisible {
            let n = argv.len();
            let line = format!(
                "80 25 0:50 / {} rw - lustre {} rw,flock\n",
                argv[n - 1],
                argv[n - 2]
            );
            self.table.lock().expect("table").push_str(&line);
        }
        Ok(CommandOutput::ok(Vec::new()))
    }
}

fn setup(
    failures: u32,
    invisible: bool,
    table: &str,
) -> (Arc<FakeMount>, Mounter, Arc<Mutex<Vec<Duration>>>) {
    let table = Arc::new(Mutex::new(table.to_string()));
    let fake = Arc::new(FakeMount {
        table: table.clone(),
        failures: Mutex::new(failures),
        invisible,
        calls: Mutex::new(Vec::new()),
    });
    let slept = Arc::new(Mutex::new(Vec::new()));
    let s = slept.clone();
    let mounter = Mounter::with_table(
        fake.clone(),
        Box::new(move || Ok(table.lock().expect("table").clone())),
        Box::new(move |d| s.lock().expect("slept").push(d)),
        Duration::from_secs(2),
    );
    (fake, mounter, slept)
}

fn source() -> LustreSource {
    LustreSource::parse("10.0.0.1@tcp:/lustre").expect("source")
}

#[test]
fn mounts_after_failures_within_the_bound() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mp = dir.path().join("mnt");
    let (fake, m, slept) = setup(2, false, BASE_TABLE);
    let status = m
        .ensure_mounted(&source(), &mp, "flock,user_xattr", 3)
        .expect("mounted");
    assert_eq!(status, MountStatus::Mounted { attempt: 3 });
    assert!(mp.is_dir(), "mount point created");
    let calls = fake.calls.lock().expect("calls").clone();
    assert_eq!(calls.len(), 3);
    assert_eq!(
        calls[0],
        [
            "mount",
            "-t",
            "lustre",
            "-o",
            "flock,user_xattr",
            "10.0.0.1@tcp:/lustre",
            &mp.display().to_string()
        ]
    );
    assert_eq!(*slept.lock().expect("slept"), [Duration::from_secs(2); 2]);
    // Again: already mounted, nothing runs.
    assert_eq!(
        m.ensure_mounted(&source(), &mp, "", 3).expect("again"),
        MountStatus::AlreadyMounted
    );
    assert_eq!(fake.calls.lock().expect("calls").len(), 3);
}

#[test]
fn gives_up_after_the_bound_with_every_attempt_listed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (fake, m, _) = setup(5, false, BASE_TABLE);
    let err = m
        .ensure_mounted(&source(), &dir.path().join("mnt"), "", 2)
        .expect_err("fails");
    let text = err.to_string();
    assert!(
        text.starts_with("mounting 10.0.0.1@tcp:/lustre on "),
        "{text}"
    );
    assert!(
        text.contains("failed 2 time(s): attempt 1: `mount -t lustre"),
        "{text}"
    );
    assert!(text.contains("attempt 2: "), "{text}");
    assert!(
        text.contains("exited with code 32: mount.lustre: mount"),
        "{text}"
    );
    assert_eq!(fake.calls.lock().expect("calls").len(), 2);
}

#[test]
fn a_mount_that_does_not_show_up_is_a_failed_attempt() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_, m, _) = setup(0, true, BASE_TABLE);
    let err = m
        .ensure_mounted(&source(), &dir.path().join("mnt"), "", 1)
        .expect_err("invisible");
    assert!(
        err.to_string().contains("the mount table does not show it"),
        "{err}"
    );
}

#[test]
fn refuses_what_it_should_not_mount_over() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mp = dir.path().join("mnt");
    let table = format!(
        "{BASE_TABLE}81 25 0:51 / {} rw - nfs4 server:/export rw\n",
        mp.display()
    );
    let (fake, m, _) = setup(0, false, &table);
    let err = m
        .ensure_mounted(&source(), &mp, "", 3)
        .expect_err("other fs");
    assert!(matches!(err, MountError::MountedOther { .. }), "{err}");
    assert!(
        err.to_string()
            .ends_with("already has nfs4 server:/export mounted on it"),
        "{err}"
    );
    assert!(matches!(
        m.ensure_mounted(&source(), &mp, "", 0),
        Err(MountError::NoAttempts)
    ));
    assert!(fake.calls.lock().expect("calls").is_empty());
    let (_, broken, _) = setup(0, false, "garbage line\n");
    assert!(matches!(
        broken.ensure_mounted(&source(), &mp, "", 1),
        Err(MountError::Parse(_))
    ));
}

#[test]
fn sources_and_mount_points() {
    for ok in [
        "10.0.0.1@tcp:/lustre",
        "a@tcp,b@o2ib:c@tcp:/fs_1/sub/dir",
        "0@lo:/x",
    ] {
        assert!(LustreSource::parse(ok).is_ok(), "{ok}");
    }
    for (bad, why) in [
        ("10.0.0.1@tcp/lustre", "no ':/'"),
        ("server:/lustre", "ADDRESS@NET"),
        ("10.0.0.1@tcp:/toolongname", "1 to 8"),
        ("10.0.0.1@tcp:/lu stre", "letters, digits"),
        (":/lustre", "ADDRESS@NET"),
    ] {
        let err = LustreSource::parse(bad).expect_err(bad).to_string();
        assert!(err.contains(why), "{bad}: {err}");
    }
    let base = Path::new("/var/lib/lustrekit/mnt");
    let p = mount_point_for(base, &source());
    assert_eq!(p, mount_point_for(base, &source()));
    assert!(p.starts_with(base));
    assert!(p
        .file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.starts_with("lustre-") && n.len() == 15));
    let other = LustreSource::parse("10.0.0.2@tcp:/lustre").expect("source");
    assert_ne!(mount_point_for(base, &other), p);
    let _: PathBuf = p;
}
