//! `lustrekit volume attach|detach`: a volume as a live disk of a running libvirt domain.
//!
//! With `--cluster`, the hypervisor (this host) need not mount Lustre: the cluster's client
//! node serves the volume over NBD (`lustrekit-storage volume export`, recorded in the
//! volume's state on Lustre) and the domain gets a network disk pointing at it. Without, this
//! host mounts Lustre itself and the domain opens the image file. Each step that fails undoes
//! the one before, so a failed attach leaves the volume detached and unexported.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use lk_libvirt::disk::{disk_xml, domain_disks, free_target, serial, DiskSource};
use lk_libvirt::Libvirt;
use lk_volume::volumes::{NbdExport, VolumeConfig};

use crate::cmd::cluster::Conn;
use crate::cmd::in_cluster::{GuestStorage, VolumeArgs};

/// How long a guest has to release a detached disk.
const DETACH_WAIT: Duration = Duration::from_secs(90);

/// The address a node serves on: the one of its first NID (`10.0.0.5@tcp` → 10.0.0.5).
fn node_address(guest: &GuestStorage) -> anyhow::Result<IpAddr> {
    let node = guest
        .plan
        .nodes
        .iter()
        .find(|n| n.node == guest.node)
        .with_context(|| format!("node {} is not in the plan", guest.node))?;
    let nid = node
        .nids
        .first()
        .with_context(|| format!("node {} has no NID to serve NBD on", guest.node))?;
    let addr = nid.split('@').next().unwrap_or_default();
    addr.parse()
        .with_context(|| format!("NID {nid} of {} is not an IP address", guest.node))
}

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

pub fn attach(args: &VolumeArgs, name: &str, domain: &str) -> anyhow::Result<()> {
    match args.in_cluster.cluster.as_deref() {
        Some(cluster) => attach_nbd(args, cluster, name, domain),
        None => attach_file(args, name, domain),
    }
}

pub fn detach(args: &VolumeArgs, name: &str) -> anyhow::Result<()> {
    match args.in_cluster.cluster.as_deref() {
        Some(cluster) => detach_nbd(args, cluster, name),
        None => detach_file(args, name),
    }
}

/// Plugs the disk in unless the domain has it already; returns its target.
fn plug(lv: &Libvirt, domain: &str, name: &str, source: &DiskSource) -> anyhow::Result<String> {
    let xml = lv.domain_xml_of(domain)?;
    let disks = domain_disks(&xml).with_context(|| format!("reading domain {domain}'s disks"))?;
    let want = serial(name);
    if let Some(d) = disks.iter().find(|d| d.serial.as_deref() == Some(&want)) {
        return Ok(d.target.clone());
    }
    let target = free_target(&disks)
        .with_context(|| format!("domain {domain} has no free virtio target (vdb..vdz)"))?;
    lv.attach_live(domain, &disk_xml(name, source, &target))?;
    Ok(target)
}

/// Unplugs the volume's disk and waits for the guest to release it. No such domain or disk:
/// nothing to do.
fn unplug(lv: &Libvirt, domain: &str, name: &str, source: &DiskSource) -> anyhow::Result<()> {
    if lv.domain_state(domain)?.is_none() {
        return Ok(());
    }
    let want = serial(name);
    let find = || -> anyhow::Result<Option<String>> {
        let disks = domain_disks(&lv.domain_xml_of(domain)?)?;
        Ok(disks
            .into_iter()
            .find(|d| d.serial.as_deref() == Some(&want))
            .map(|d| d.target))
    };
    let Some(target) = find()? else {
        return Ok(());
    };
    lv.detach_live(domain, &disk_xml(name, source, &target))?;
    let deadline = Instant::now() + DETACH_WAIT;
    while find()?.is_some() {
        if Instant::now() > deadline {
            anyhow::bail!(
                "domain {domain} did not release {target} within {}s (is the disk mounted in the guest?); \
                 the volume stays attached",
                DETACH_WAIT.as_secs()
            );
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    Ok(())
}

fn report(json: bool, name: &str, domain: &str, target: &str, via: &str) -> anyhow::Result<()> {
    let serial = serial(name);
    lk_storage_cli::storage::print(
        json,
        &serde_json::json!({
            "volume": name, "domain": domain, "target": target, "via": via,
            "guest_device": format!("/dev/disk/by-id/virtio-{serial}"),
        }),
        || {
            format!(
                "attached volume {name} to {domain} as {target} ({via}); in the guest: /dev/disk/by-id/virtio-{serial}\n"
            )
        },
    )
}

fn attach_nbd(args: &VolumeArgs, cluster: &str, name: &str, domain: &str) -> anyhow::Result<()> {
    let guest = GuestStorage::open(&args.in_cluster, cluster)?;
    let ip = node_address(&guest)?;
    let out = guest.run_ok(
        "volume",
        &s(&[
            "export",
            name,
            "--domain",
            domain,
            "--bind",
            &ip.to_string(),
            "--json",
        ]),
    )?;
    let export: NbdExport = serde_json::from_str(&out)
        .with_context(|| format!("reading the export's answer: {out}"))?;
    let source = DiskSource::Nbd {
        host: export.address.to_string(),
        port: export.port,
        export: export.name.clone(),
    };
    let plugged = guest
        .conn
        .connect()
        .and_then(|lv| plug(&lv, domain, name, &source));
    let target = match plugged {
        Ok(t) => t,
        Err(e) => {
            // Undo the export: the volume must not stay marked attached to nothing.
            if let Err(undo) = guest.run_ok("volume", &s(&["unexport", name])) {
                eprintln!("lustrekit: also failed to stop serving {name}: {undo:#}");
            }
            return Err(e.context(format!("attaching {name} to domain {domain}")));
        }
    };
    let via = format!("{} served by {} of {cluster}", export.uri(), guest.node);
    report(args.volume.root.json, name, domain, &target, &via)
}

fn detach_nbd(args: &VolumeArgs, cluster: &str, name: &str) -> anyhow::Result<()> {
    let guest = GuestStorage::open(&args.in_cluster, cluster)?;
    let shown: serde_json::Value =
        serde_json::from_str(&guest.run_ok("volume", &s(&["show", name, "--json"]))?)
            .context("reading `volume show`")?;
    if let (Some(domain), Some(export)) = (shown["attached_to"].as_str(), shown.get("export")) {
        let export: NbdExport =
            serde_json::from_value(export.clone()).context("reading the volume's export")?;
        let source = DiskSource::Nbd {
            host: export.address.to_string(),
            port: export.port,
            export: export.name,
        };
        unplug(&guest.conn.connect()?, domain, name, &source)?;
    }
    guest.run_ok("volume", &s(&["unexport", name]))?;
    lk_storage_cli::storage::done(args.volume.root.json, &format!("detached volume {name}"))
}

fn local_volumes(args: &VolumeArgs) -> anyhow::Result<lk_volume::volumes::Volumes> {
    let root = args.volume.root.open()?;
    Ok(root.volumes(VolumeConfig {
        max_over_subscription_ratio: args.volume.max_over_subscription_ratio,
    }))
}

fn file_source(vols: &lk_volume::volumes::Volumes, name: &str) -> anyhow::Result<DiskSource> {
    let v = vols.show(name)?.volume;
    let active = v.path.join(&v.info.active);
    Ok(DiskSource::File {
        path: active.display().to_string(),
        format: v.info.image_format(&v.info.active).to_string(),
    })
}

fn attach_file(args: &VolumeArgs, name: &str, domain: &str) -> anyhow::Result<()> {
    let vols = local_volumes(args)?;
    if let Some(to) = vols.info(name)?.attached_to.filter(|to| to != domain) {
        anyhow::bail!("volume {name} is attached to {to}; detach it first");
    }
    vols.set_attached(name, Some(domain))?;
    let source = file_source(&vols, name)?;
    let plugged = Conn::from_env()
        .connect()
        .and_then(|lv| plug(&lv, domain, name, &source));
    match plugged {
        Ok(target) => {
            let via = match &source {
                DiskSource::File { path, .. } => format!("file {path}"),
                DiskSource::Nbd { host, port, export } => format!("nbd://{host}:{port}/{export}"),
            };
            report(args.volume.root.json, name, domain, &target, &via)
        }
        Err(e) => {
            vols.set_attached(name, None)?;
            Err(e.context(format!("attaching {name} to domain {domain}")))
        }
    }
}

fn detach_file(args: &VolumeArgs, name: &str) -> anyhow::Result<()> {
    let vols = local_volumes(args)?;
    if let Some(domain) = vols.info(name)?.attached_to {
        let source = file_source(&vols, name)?;
        unplug(&Conn::from_env().connect()?, &domain, name, &source)?;
    }
    vols.set_attached(name, None)?;
    lk_storage_cli::storage::done(args.volume.root.json, &format!("detached volume {name}"))
}
