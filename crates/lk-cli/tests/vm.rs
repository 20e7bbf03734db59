//! The `lustrekit` binary against a real libvirtd and QEMU (TCG): crash and signal safety at
//! every step of `up`, two clusters side by side, bad input, and a 3-node end-to-end run
//! through the stages (which stop at the install check: the test image has no Lustre).
//!
//! Leftovers are checked with `virsh`, independently of lustrekit's own inventory.
//! Needs root, libvirtd and the base image; skipped without them unless
//! `LUSTREKIT_VM_TESTS=1` (set by scripts/test.sh under CI), which makes them failures.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

const STATE_DIR: &str = "/var/lib/lustrekit/test-state";

fn vm_tests_enabled() -> bool {
    let required = std::env::var("LUSTREKIT_VM_TESTS").is_ok_and(|v| v == "1");
    let image = Path::new(lk_model::defaults::IMAGE_PATH);
    let virsh_ok = Command::new("virsh")
        .args(["-c", "qemu:///system", "version"])
        .output()
        .is_ok_and(|o| o.status.success());
    let why = if !image.is_file() {
        Some(format!(
            "{} missing: run `lustrekit image build`",
            image.display()
        ))
    } else if !virsh_ok {
        Some("libvirtd not reachable at qemu:///system (scripts/start-libvirt.sh)".into())
    } else {
        None
    };
    match why {
        None => true,
        Some(why) => {
            assert!(!required, "LUSTREKIT_VM_TESTS=1 but {why}");
            eprintln!("skipped: {why} (set LUSTREKIT_VM_TESTS=1 to make this a failure)");
            false
        }
    }
}

/// A topology file from a fixture, with a unique cluster name and network.
struct Cluster {
    name: String,
    file: PathBuf,
    _dir: tempfile::TempDir,
}

impl Cluster {
    fn new(fixture: &str, tag: &str, net: u8) -> Cluster {
        let pid = std::process::id();
        let name = format!("{tag}{}", pid % 100_000);
        let text = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../tests/fixtures")
                .join(fixture),
        )
        .unwrap_or_else(|e| panic!("{fixture}: {e}"));
        let yaml = text
            .replace("NAME", &name)
            .replace("NET", &format!("10.{net}.{}", pid % 250));
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let file = dir.path().join(format!("{name}.yaml"));
        std::fs::write(&file, yaml).unwrap_or_else(|e| panic!("{e}"));
        Cluster {
            name,
            file,
            _dir: dir,
        }
    }

    fn file(&self) -> &str {
        self.file.to_str().unwrap_or_default()
    }

    fn cluster_dir(&self) -> PathBuf {
        Path::new(STATE_DIR).join("clusters").join(&self.name)
    }
}

fn lustrekit(args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lustrekit"))
        .args(args)
        .env("LUSTREKIT_STATE_DIR", STATE_DIR)
        .env("NO_COLOR", "1")
        .envs(env.iter().copied())
        .output()
        .unwrap_or_else(|e| panic!("run lustrekit: {e}"))
}

fn text(o: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn ok(args: &[&str]) -> Output {
    let o = lustrekit(args, &[]);
    assert!(o.status.success(), "lustrekit {args:?}: {}", text(&o));
    o
}

fn virsh(args: &[&str]) -> Vec<String> {
    let o = Command::new("virsh")
        .args(["-c", "qemu:///system"])
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("virsh: {e}"));
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty())
        .collect()
}

/// Every libvirt object whose name belongs to the cluster, as virsh lists them, plus its
/// state folder.
fn objects(name: &str, dir: &Path) -> Vec<String> {
    let mine = |n: &String| n == name || n.starts_with(&format!("{name}-"));
    let mut found: Vec<String> = Vec::new();
    for (kind, cmd) in [
        ("domain", ["list", "--all", "--name"]),
        ("network", ["net-list", "--all", "--name"]),
        ("pool", ["pool-list", "--all", "--name"]),
    ] {
        found.extend(
            virsh(&cmd)
                .into_iter()
                .filter(mine)
                .map(|n| format!("{kind} {n}")),
        );
    }
    if dir.exists() {
        found.push(format!("folder {}", dir.display()));
    }
    found
}

fn assert_nothing_left(c: &Cluster, when: &str) {
    let left = objects(&c.name, &c.cluster_dir());
    assert!(left.is_empty(), "{when}: left {left:?}");
}

/// Starts `up` holding after step `k`; returns once it is holding.
fn up_holding(c: &Cluster, k: usize) -> Child {
    let mut child = Command::new(env!("CARGO_BIN_EXE_lustrekit"))
        .args(["up", c.file(), "--until", "boot"])
        .env("LUSTREKIT_STATE_DIR", STATE_DIR)
        .env("LUSTREKIT_HOLD_AT", k.to_string())
        .env("NO_COLOR", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn: {e}"));
    let stderr = child.stderr.take().unwrap_or_else(|| panic!("no stderr"));
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if line.contains("holding after creating step") {
                let _ = tx.send(());
            }
        }
    });
    if rx.recv_timeout(Duration::from_secs(180)).is_err() {
        let _ = child.kill();
        panic!("up never reached step {k}");
    }
    child
}

fn steps_of(c: &Cluster) -> usize {
    let o = ok(&[
        "plan",
        "--format",
        "json",
        c.file(),
        "--state-dir",
        STATE_DIR,
    ]);
    let plan: serde_json::Value =
        serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}"));
    let r = &plan["resources"];
    let n = |k: &str| r[k].as_array().map_or(0, Vec::len);
    1 + n("networks") + 1 + n("volumes") + n("domains")
}

#[test]
fn kill_9_and_sigterm_at_every_step_leave_nothing_and_up_works_after() {
    if !vm_tests_enabled() {
        return;
    }
    let c = Cluster::new("one-node.yaml", "lkk", 243);
    let n = steps_of(&c);
    for k in 0..n {
        // kill -9 right after step k's object was created, before the ledger says so.
        let mut child = up_holding(&c, k);
        child.kill().unwrap_or_else(|e| panic!("kill: {e}"));
        let _ = child.wait();
        assert!(
            !objects(&c.name, &c.cluster_dir()).is_empty(),
            "step {k}: the killed run should have left something to clean"
        );
        match k % 3 {
            0 => {
                ok(&["down", &c.name]);
            }
            1 => {
                // The ledger is lost too: gc finds the objects by their marks.
                let _ = std::fs::remove_file(c.cluster_dir().join("ledger.jsonl"));
                ok(&["gc", &c.name]);
            }
            _ => {
                // up after a crash adopts or replaces the leftovers, then down.
                ok(&["up", c.file(), "--until", "boot"]);
                ok(&["down", c.file()]);
            }
        }
        assert_nothing_left(&c, &format!("kill -9 at step {k}, then recovery"));
        // A fresh up succeeds, and down leaves nothing.
        ok(&["up", c.file(), "--until", "boot"]);
        ok(&["down", &c.name]);
        assert_nothing_left(&c, &format!("fresh up/down after step {k}"));

        // SIGTERM at the same point: the process unwinds by itself and exits 130.
        let child = up_holding(&c, k);
        let pid = child.id().to_string();
        let st = Command::new("kill").args(["-TERM", &pid]).status();
        assert!(st.is_ok_and(|s| s.success()));
        let out = child.wait_with_output().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            out.status.code(),
            Some(130),
            "SIGTERM at step {k}: {}",
            text(&out)
        );
        assert_nothing_left(&c, &format!("SIGTERM at step {k}"));
    }
    eprintln!("kill -9 and SIGTERM covered at each of the {n} steps of up");
}

#[test]
fn two_clusters_side_by_side_and_gc_spares_foreign_objects() {
    if !vm_tests_enabled() {
        return;
    }
    let a = Cluster::new("one-node.yaml", "lka", 244);
    let b = Cluster::new("one-node.yaml", "lkb", 245);
    // An object named like cluster a's but not lustrekit's.
    let foreign = format!("{}-foreign", a.name);
    let xml_dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let xml = xml_dir.path().join("net.xml");
    std::fs::write(
        &xml,
        format!(
            "<network><name>{foreign}</name><bridge name='virbr-lkt{}'/></network>",
            std::process::id() % 1000
        ),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    virsh(&["net-define", xml.to_str().unwrap_or_default()]);
    assert!(virsh(&["net-list", "--all", "--name"]).contains(&foreign));

    ok(&["up", a.file(), "--until", "boot"]);
    ok(&["up", b.file(), "--until", "boot"]);
    let b_before = objects(&b.name, &b.cluster_dir());
    ok(&["gc", &a.name]);
    let left_a: Vec<String> = objects(&a.name, &a.cluster_dir())
        .into_iter()
        .filter(|o| o != &format!("network {foreign}"))
        .collect();
    assert!(left_a.is_empty(), "gc of a left {left_a:?}");
    assert!(
        virsh(&["net-list", "--all", "--name"]).contains(&foreign),
        "gc removed a network without lustrekit's marks"
    );
    assert_eq!(
        objects(&b.name, &b.cluster_dir()),
        b_before,
        "gc of a touched b"
    );
    ok(&["down", &b.name]);
    assert_nothing_left(&b, "down of b");
    virsh(&["net-undefine", &foreign]);
}

#[test]
fn bad_input_gives_a_clear_error_and_leaves_nothing() {
    if !vm_tests_enabled() {
        return;
    }
    let c = Cluster::new("one-node.yaml", "lkbad", 246);

    // Unreachable libvirt.
    let o = lustrekit(
        &[
            "up",
            c.file(),
            "--uri",
            "qemu+unix:///system?socket=/nonexistent/libvirt-sock",
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains("cannot connect to libvirt at qemu+unix:///system"),
        "{}",
        text(&o)
    );
    assert_nothing_left(&c, "unreachable URI");

    // A missing base image: named, and nothing created.
    let no_image = std::fs::read_to_string(&c.file)
        .unwrap_or_default()
        .replace(
            "  backend: ldiskfs\n",
            "  backend: ldiskfs\n  image:\n    path: /nonexistent/base.qcow2\n",
        );
    let f = c.file.with_file_name("no-image.yaml");
    std::fs::write(&f, no_image).unwrap_or_else(|e| panic!("{e}"));
    let o = lustrekit(&["up", f.to_str().unwrap_or_default()], &[]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains("base image /nonexistent/base.qcow2 does not exist"),
        "{}",
        text(&o)
    );
    assert_nothing_left(&c, "missing image");

    // A cluster name that cannot prefix libvirt names: the model says so, exit 3.
    let bad_name = std::fs::read_to_string(&c.file)
        .unwrap_or_default()
        .replace(&format!("name: {}", c.name), "name: Bad_Name");
    let f = c.file.with_file_name("bad-name.yaml");
    std::fs::write(&f, bad_name).unwrap_or_else(|e| panic!("{e}"));
    let o = lustrekit(&["up", f.to_str().unwrap_or_default()], &[]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    assert!(text(&o).contains("metadata.name"), "{}", text(&o));

    // The cluster's network name is taken by an object that is not lustrekit's.
    let net = format!("{}-tcp0", c.name);
    let xml_dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let xml = xml_dir.path().join("net.xml");
    std::fs::write(
        &xml,
        format!(
            "<network><name>{net}</name><bridge name='virbr-lkx{}'/></network>",
            std::process::id() % 1000
        ),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    virsh(&["net-define", xml.to_str().unwrap_or_default()]);
    let o = lustrekit(&["up", c.file(), "--until", "boot"], &[]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains("already exists and is not lustrekit's"),
        "{}",
        text(&o)
    );
    assert!(
        virsh(&["net-list", "--all", "--name"]).contains(&net),
        "the foreign network was removed"
    );
    virsh(&["net-undefine", &net]);
    assert_nothing_left(&c, "foreign name clash");

    // A full disk: the state folder on a tiny tmpfs.
    let mnt = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let m = mnt.path().to_str().unwrap_or_default();
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=200k", "tmpfs", m])
        .status()
        .is_ok_and(|s| s.success());
    assert!(mounted, "mount tmpfs on {m}");
    let o = Command::new(env!("CARGO_BIN_EXE_lustrekit"))
        .args(["up", c.file(), "--until", "boot", "--state-dir", m])
        .env("NO_COLOR", "1")
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let full_dir = Path::new(m).join("clusters").join(&c.name);
    let left = objects(&c.name, &full_dir);
    let _ = Command::new("umount").arg(m).status();
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("No space left on device"), "{}", text(&o));
    assert!(left.is_empty(), "full disk left {left:?}");
}

/// A volume attached live as a file disk, where this host holds the volumes (a directory
/// standing in for its Lustre mount): the guest writes through the disk, the image has it
/// after the detach, and the volume is no longer attached.
fn file_backed_attach(c: &Cluster) {
    let root = Path::new(STATE_DIR).join(format!("attach-{}", c.name));
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root).expect("volume root");
    let r = root.to_string_lossy().into_owned();
    let vol = |args: &[&str]| {
        let mut all = vec!["volume", "--root", r.as_str()];
        all.extend_from_slice(args);
        all.push("--json");
        let o = ok(&all);
        serde_json::from_slice::<serde_json::Value>(&o.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}", text(&o)))
    };
    vol(&["create", "data", "--size", "16MiB"]);
    let domain = format!("{}-client1", c.name);
    let attached = vol(&["attach", "data", "--domain", &domain]);
    let dev = attached["guest_device"].as_str().expect("guest_device");
    let script = format!(
        "for i in $(seq 90); do [ -b {dev} ] && break; sleep 1; done; \
         printf lustrekit-attach | dd of={dev} bs=512 conv=sync oflag=direct status=none \
         && echo written"
    );
    let o = ok(&["exec", &c.name, "client1", "--", "/bin/sh", "-c", &script]);
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("written"),
        "{}",
        text(&o)
    );
    vol(&["detach", "data"]);
    assert!(vol(&["show", "data"])["attached_to"].is_null());
    let raw = root.join("data.raw");
    let conv = Command::new("qemu-img")
        .args(["convert", "-f", "qcow2", "-O", "raw"])
        .arg(root.join("volumes/data/base.qcow2"))
        .arg(&raw)
        .output()
        .expect("qemu-img");
    assert!(conv.status.success(), "{conv:?}");
    let bytes = std::fs::read(&raw).expect("raw image");
    assert!(
        bytes.starts_with(b"lustrekit-attach"),
        "the guest's write is in the image"
    );
    std::fs::remove_dir_all(&root).expect("remove the volume root");
}

#[test]
fn three_nodes_up_stops_at_install_keeps_infra_then_down_leaves_nothing() {
    if !vm_tests_enabled() {
        return;
    }
    let c = Cluster::new("three-nodes.yaml", "lk3n", 247);
    let o = lustrekit(&["up", c.file(), "--json"], &[]);
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        // No Lustre in the test image: up stops at the install check, naming what is missing.
        assert_eq!(o.status.code(), Some(1), "{}", text(&o));
        let all = text(&o);
        assert!(
            all.contains("stage install: phase install failed on 3 node(s)"),
            "{all}"
        );
        assert!(all.contains("Lustre is not usable here"), "{all}");
        assert!(all.contains("missing command mkfs.lustre"), "{all}");
        assert!(all.contains("The infrastructure stays up"), "{all}");
        let summary: serde_json::Value =
            serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {all}"));
        assert_eq!(summary["stages"]["stages"]["install"]["status"], "failed");
        assert_eq!(summary["nodes"].as_array().map(Vec::len), Some(3));

        // The infrastructure stays: status shows every node running with its address.
        let st = ok(&["status", &c.name, "--json"]);
        let st: serde_json::Value =
            serde_json::from_slice(&st.stdout).unwrap_or_else(|e| panic!("{e}"));
        for n in st["nodes"].as_array().into_iter().flatten() {
            assert_eq!(n["state"], "running", "{n}");
            assert!(n["address"].is_string(), "{n}");
        }
        // exec works on each node and sees the shared folder, with the phase's log in it.
        for node in ["mds1", "oss1", "client1"] {
            let o = ok(&[
                "exec",
                &c.name,
                node,
                "--",
                "/bin/cat",
                &format!("/mnt/lustrekit/logs/{node}/install.log"),
            ]);
            assert!(String::from_utf8_lossy(&o.stdout).contains("Lustre is not usable here"));
            let o = lustrekit(
                &["exec", &c.name, node, "--", "/bin/sh", "-c", "exit 7"],
                &[],
            );
            assert_eq!(o.status.code(), Some(7), "exec passes the exit code on");
        }
        file_backed_attach(&c);
        // Logs were gathered for every node.
        for node in ["mds1", "oss1", "client1"] {
            let d = c.cluster_dir().join("shared/logs").join(node);
            for f in ["console.log", "dmesg.txt", "install.log"] {
                assert!(d.join(f).is_file(), "{}/{f}", d.display());
            }
        }
        // Resuming cannot skip ahead of the failed stage.
        let o = lustrekit(&["up", c.file(), "--from", "format"], &[]);
        assert_eq!(o.status.code(), Some(1), "{}", text(&o));
        assert!(
            text(&o).contains("stage install has not completed"),
            "{}",
            text(&o)
        );
        // A re-run adopts the running VMs (no reboot) and retries install.
        let o = lustrekit(&["up", c.file(), "--json"], &[]);
        let again: serde_json::Value =
            serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&o)));
        let created: Vec<&serde_json::Value> = again["steps"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|s| s["created"] == true)
            .collect();
        assert!(created.is_empty(), "re-run re-created {created:?}");
    }));
    let down = lustrekit(&["down", &c.name], &[]);
    if let Err(p) = result {
        std::panic::resume_unwind(p);
    }
    assert!(down.status.success(), "{}", text(&down));
    assert_nothing_left(&c, "down");
}
