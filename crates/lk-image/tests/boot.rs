//! Boots the built base image under qemu:///system with TCG and checks what lustrekit relies
//! on: the guest agent answers, DHCP hands out an address on a libvirt NAT network, a command
//! runs through the agent, and the 9p shared folder is mounted at /mnt/lustrekit.
//!
//! Needs root, a running libvirtd (scripts/start-libvirt.sh) and the image
//! (`lustrekit image build`). Without them the test is skipped, unless
//! `LUSTREKIT_VM_TESTS=1`, which makes missing prerequisites a failure (CI sets it).
//! Everything it creates is named `lktest-img-<pid>` and removed at the end, also on failure.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use base64::Engine as _;

const URI: &str = "qemu:///system";

fn virsh(args: &[&str]) -> Result<String, String> {
    let out = Command::new("virsh")
        .arg("-c")
        .arg(URI)
        .args(args)
        .output()
        .map_err(|e| format!("virsh {}: {e}", args.join(" ")))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!(
            "virsh {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// Removes what the test made, in reverse order, whatever happened.
struct Cleanup {
    domain: Option<String>,
    network: Option<String>,
    dir: Option<PathBuf>,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        if let Some(d) = &self.domain {
            let _ = virsh(&["destroy", d]);
        }
        if let Some(n) = &self.network {
            let _ = virsh(&["net-destroy", n]);
        }
        if let Some(dir) = &self.dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

fn prerequisites(image: &Path) -> Result<(), String> {
    let a = lk_image::Artifacts::for_image(image);
    for p in [&a.image, &a.kernel, &a.initrd] {
        if !p.is_file() {
            return Err(format!(
                "{} missing: run `lustrekit image build`",
                p.display()
            ));
        }
    }
    virsh(&["version"]).map(|_| ())
}

/// A /24 in 10.254.x.0 not already routed on this host.
fn free_subnet() -> Result<u8, String> {
    let routes = Command::new("ip")
        .args(["-4", "route"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    let start = (std::process::id() % 200) as u8;
    (0..200u16)
        .map(|i| ((u16::from(start) + i) % 200 + 20) as u8)
        .find(|x| !routes.contains(&format!("10.254.{x}.")))
        .ok_or_else(|| "no free 10.254.x.0/24 subnet".to_string())
}

fn agent(domain: &str, json: &str) -> Result<serde_json::Value, String> {
    let out = virsh(&["qemu-agent-command", domain, json])?;
    serde_json::from_str(&out).map_err(|e| format!("agent reply {out:?}: {e}"))
}

/// Runs `sh -c script` in the guest; returns (exit code, stdout, stderr).
fn guest_exec(domain: &str, script: &str) -> Result<(i64, String, String), String> {
    let req = serde_json::json!({
        "execute": "guest-exec",
        "arguments": {"path": "/bin/sh", "arg": ["-c", script], "capture-output": true}
    });
    let pid = agent(domain, &req.to_string())?["return"]["pid"]
        .as_i64()
        .ok_or("guest-exec returned no pid")?;
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let status = serde_json::json!({"execute": "guest-exec-status", "arguments": {"pid": pid}});
        let r = agent(domain, &status.to_string())?;
        let r = &r["return"];
        if r["exited"].as_bool() == Some(true) {
            let text = |k: &str| {
                let b = base64::engine::general_purpose::STANDARD
                    .decode(r[k].as_str().unwrap_or(""))
                    .unwrap_or_default();
                String::from_utf8_lossy(&b).into_owned()
            };
            return Ok((
                r["exitcode"].as_i64().unwrap_or(-1),
                text("out-data"),
                text("err-data"),
            ));
        }
        if Instant::now() > deadline {
            return Err(format!("guest command {script:?} did not finish in 120 s"));
        }
        std::thread::sleep(Duration::from_millis(300));
    }
}

fn console_tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(15)..].join("\n")
}

#[test]
fn image_boots_with_agent_dhcp_and_shared_folder() -> Result<(), String> {
    let required = std::env::var("LUSTREKIT_VM_TESTS").is_ok_and(|v| v == "1");
    let image = PathBuf::from(
        std::env::var("LUSTREKIT_IMAGE").unwrap_or_else(|_| lk_image::DEFAULT_IMAGE.into()),
    );
    if let Err(why) = prerequisites(&image) {
        if required {
            return Err(format!("LUSTREKIT_VM_TESTS=1 but {why}"));
        }
        eprintln!("skipped: {why} (set LUSTREKIT_VM_TESTS=1 to make this a failure)");
        return Ok(());
    }
    let art = lk_image::Artifacts::for_image(&image);
    let name = format!("lktest-img-{}", std::process::id());
    // qemu runs as libvirt-qemu: everything it opens must be reachable by that user.
    let dir = PathBuf::from(format!("/var/lib/lustrekit/tmp/{name}"));
    let mut cleanup = Cleanup {
        domain: None,
        network: None,
        dir: Some(dir.clone()),
    };
    let shared = dir.join("shared");
    std::fs::create_dir_all(&shared).map_err(|e| format!("create {}: {e}", shared.display()))?;
    for p in [dir.parent().unwrap_or(&dir), &dir, &shared] {
        let _ = Command::new("chmod").arg("0755").arg(p).status();
    }
    std::fs::write(shared.join("marker"), "lustrekit-9p-ok\n").map_err(|e| e.to_string())?;
    // With accessmode='mapped' the guest writes as the qemu user (Debian: libvirt-qemu).
    let _ = Command::new("chown")
        .arg("libvirt-qemu:")
        .arg(&shared)
        .status();

    let overlay = dir.join("root.qcow2");
    let st = Command::new("qemu-img")
        .args(["create", "-q", "-f", "qcow2", "-F", "qcow2", "-b"])
        .arg(&art.image)
        .arg(&overlay)
        .arg("4G")
        .status()
        .map_err(|e| format!("qemu-img: {e}"))?;
    if !st.success() {
        return Err(format!("qemu-img create {} failed", overlay.display()));
    }

    let x = free_subnet()?;
    let net_xml = format!(
        "<network><name>{name}</name><forward mode='nat'/>\
         <bridge name='lkt{pid:x}' stp='off'/>\
         <ip address='10.254.{x}.1' netmask='255.255.255.0'><dhcp>\
         <range start='10.254.{x}.100' end='10.254.{x}.150'/>\
         <host mac='52:54:00:fe:{x:02x}:01' name='{name}' ip='10.254.{x}.10'/>\
         </dhcp></ip></network>",
        pid = std::process::id(),
    );
    let net_file = dir.join("net.xml");
    std::fs::write(&net_file, net_xml).map_err(|e| e.to_string())?;
    virsh(&["net-create", &net_file.to_string_lossy()])?;
    cleanup.network = Some(name.clone());

    let console = dir.join("console.log");
    let dom_xml = format!(
        "<domain type='qemu'><name>{name}</name><memory unit='MiB'>1024</memory><vcpu>1</vcpu>\
         <os><type arch='x86_64' machine='pc'>hvm</type><kernel>{k}</kernel><initrd>{i}</initrd>\
         <cmdline>{cmd}</cmdline></os>\
         <devices>\
         <disk type='file' device='disk'><driver name='qemu' type='qcow2'/>\
         <source file='{o}'/><target dev='vda' bus='virtio'/><serial>root</serial></disk>\
         <interface type='network'><source network='{name}'/><mac address='52:54:00:fe:{x:02x}:01'/>\
         <model type='virtio'/></interface>\
         <filesystem type='mount' accessmode='mapped'><source dir='{s}'/><target dir='lustrekit'/></filesystem>\
         <serial type='file'><source path='{c}'/><target port='0'/></serial>\
         <console type='file'><source path='{c}'/><target type='serial' port='0'/></console>\
         <channel type='unix'><target type='virtio' name='org.qemu.guest_agent.0'/></channel>\
         </devices></domain>",
        k = art.kernel.display(),
        i = art.initrd.display(),
        cmd = lk_image::DEFAULT_CMDLINE,
        o = overlay.display(),
        s = shared.display(),
        c = console.display(),
    );
    let dom_file = dir.join("domain.xml");
    std::fs::write(&dom_file, dom_xml).map_err(|e| e.to_string())?;
    let t0 = Instant::now();
    virsh(&["create", &dom_file.to_string_lossy()])?;
    cleanup.domain = Some(name.clone());

    // Generous: two cores shared with a compiler can make a TCG boot slow. Not a threshold
    // on speed, only a bound so a broken image fails instead of hanging.
    let deadline = t0 + Duration::from_secs(600);
    while agent(&name, r#"{"execute":"guest-ping"}"#).is_err() {
        if Instant::now() > deadline {
            return Err(format!(
                "{name}: guest agent did not answer in 600 s; console:\n{}",
                console_tail(&console)
            ));
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    let agent_secs = t0.elapsed().as_secs_f64();
    let expected = format!("10.254.{x}.10");
    while !virsh(&["net-dhcp-leases", &name])
        .unwrap_or_default()
        .contains(&expected)
    {
        if Instant::now() > deadline {
            return Err(format!(
                "{name}: no DHCP lease for {expected} in 600 s; console:\n{}",
                console_tail(&console)
            ));
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    let lease_secs = t0.elapsed().as_secs_f64();

    let (code, out, err) = guest_exec(
        &name,
        "findmnt -n -o FSTYPE /mnt/lustrekit; cat /mnt/lustrekit/marker; \
         ip -4 -o addr show dev eth0 | awk '{print $4}'; cat /etc/machine-id; \
         test ! -e /etc/hostid && echo no-hostid; uname -r",
    )?;
    eprintln!(
        "{name}: agent after {agent_secs:.1}s, lease after {lease_secs:.1}s\n--- guest says:\n{out}"
    );
    if code != 0 {
        return Err(format!("guest command exited {code}: {out}{err}"));
    }
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines.first().copied(),
        Some("9p"),
        "shared folder not a 9p mount: {out}"
    );
    assert_eq!(
        lines.get(1).copied(),
        Some("lustrekit-9p-ok"),
        "marker not read: {out}"
    );
    assert_eq!(
        lines.get(2).copied(),
        Some(format!("{expected}/24").as_str()),
        "{out}"
    );
    assert_eq!(
        lines.get(3).map(|l| l.len()),
        Some(32),
        "machine-id not generated: {out}"
    );
    assert_eq!(lines.get(4).copied(), Some("no-hostid"), "{out}");

    // The guest can write to the shared folder (logs go there).
    let (code, _, err) = guest_exec(&name, "echo from-guest > /mnt/lustrekit/written")?;
    assert_eq!(code, 0, "guest write to shared folder failed: {err}");
    let written = std::fs::read_to_string(shared.join("written")).unwrap_or_default();
    assert_eq!(written, "from-guest\n");

    drop(cleanup);
    assert!(
        virsh(&["dominfo", &name]).is_err(),
        "domain {name} left behind"
    );
    assert!(
        virsh(&["net-info", &name]).is_err(),
        "network {name} left behind"
    );
    Ok(())
}
