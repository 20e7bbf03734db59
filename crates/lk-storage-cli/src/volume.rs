//! `lustrekit volume`: Cinder-style volumes under `ROOT/volumes` (lk-volume does the work;
//! output is in `volume_print.rs`).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use lk_volume::lustre::Stripe;
use lk_volume::mount::{mount_point_for, LustreSource, MountStatus, Mounter};
use lk_volume::qemu::Format;
use lk_volume::runner::LocalRunner;
use lk_volume::volumes::copy::CopyOptions;
use lk_volume::volumes::{CreateRequest, VolumeConfig, DEFAULT_MAX_OVER_SUBSCRIPTION_RATIO};

use crate::storage::{done, parse_size, RootArgs};
use crate::volume_print as show;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub root: RootArgs,
    /// Provisioned (virtual) bytes may reach this many times the filesystem's size (Cinder's
    /// max_over_subscription_ratio); creates, clones and extends beyond it are refused.
    #[arg(long, global = true, default_value_t = DEFAULT_MAX_OVER_SUBSCRIPTION_RATIO)]
    pub max_over_subscription_ratio: f64,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Create a volume: sparse raw, or qcow2 with preallocation=metadata.
    Create {
        name: String,
        /// Virtual size, e.g. 10GiB, 512M.
        #[arg(long, value_parser = parse_size)]
        size: u64,
        #[arg(long, default_value = "qcow2", value_parser = ["raw", "qcow2"])]
        format: String,
        #[command(flatten)]
        stripe: StripeArgs,
    },
    /// List volumes and the store's capacity.
    List,
    /// Show a volume, its snapshots and what qemu-img says about it.
    Show { name: String },
    /// Delete a volume (refused while attached; with snapshots only with --force).
    Delete {
        name: String,
        /// Delete its snapshots too.
        #[arg(long)]
        force: bool,
    },
    /// Snapshot a volume (a qcow2 overlay becomes its active layer).
    Snapshot { volume: String, snapshot: String },
    /// Delete a snapshot (the layer above is rebased; content is unchanged).
    SnapshotDelete { volume: String, snapshot: String },
    /// Revert a volume to a snapshot, discarding what was written since.
    Revert {
        volume: String,
        snapshot: String,
        /// Also discard the snapshots taken after it.
        #[arg(long)]
        discard_newer: bool,
    },
    /// Copy a volume (or, with --snapshot, one of its snapshots) into a new independent volume.
    Clone {
        source: String,
        name: String,
        /// Create from this snapshot of SOURCE instead of its current content.
        #[arg(long)]
        snapshot: Option<String>,
        /// Format of the new volume (default: the source's).
        #[arg(long, value_parser = ["raw", "qcow2"])]
        format: Option<String>,
        /// A size larger than the source's.
        #[arg(long, value_parser = parse_size)]
        size: Option<u64>,
        #[command(flatten)]
        stripe: StripeArgs,
    },
    /// Grow a volume (refused while attached).
    Extend {
        name: String,
        /// The new virtual size, larger than the current one.
        #[arg(long, value_parser = parse_size)]
        size: u64,
    },
    /// Attach to a running libvirt domain, live (`lustrekit` only: it talks to libvirt). With
    /// --cluster the volume is served over NBD from the cluster's client node; without, the
    /// domain opens the image file on this host's Lustre mount.
    Attach {
        name: String,
        /// The libvirt domain (running).
        #[arg(long)]
        domain: String,
    },
    /// Detach from the domain it is attached to (`lustrekit` only).
    Detach { name: String },
    /// Serve a volume over NBD (qemu-nbd) for DOMAIN; it counts as attached until unexported.
    /// What `lustrekit volume attach --cluster` runs on the client node.
    Export {
        name: String,
        #[arg(long)]
        domain: String,
        /// The address to serve on (one of this host's).
        #[arg(long)]
        bind: std::net::IpAddr,
        /// The first port to try (a busy one is skipped).
        #[arg(long, default_value_t = 10809)]
        port: u16,
    },
    /// Stop serving a volume over NBD and clear its attachment.
    Unexport { name: String },
    /// Mount Lustre on this host (for hosts that mount it themselves) and print where.
    Mount(MountArgs),
}

#[derive(Debug, clap::Args)]
pub struct StripeArgs {
    /// Lustre stripe count of the image file (-1: every OST).
    #[arg(long, allow_negative_numbers = true)]
    pub stripe_count: Option<i32>,
    /// Lustre stripe size of the image file (a multiple of 64KiB).
    #[arg(long, value_parser = parse_size)]
    pub stripe_size: Option<u64>,
}

impl StripeArgs {
    fn get(&self) -> Option<Stripe> {
        if self.stripe_count.is_none() && self.stripe_size.is_none() {
            return None;
        }
        Some(Stripe {
            count: self.stripe_count.unwrap_or(0),
            size: self.stripe_size.unwrap_or(0),
        })
    }
}

#[derive(Debug, clap::Args)]
pub struct MountArgs {
    /// MGSNID[:MGSNID...]:/FSNAME[/SUBDIR], e.g. 10.0.0.1@tcp:/lustre.
    pub source: String,
    /// Mount under this directory, at FSNAME-HASH.
    #[arg(long, default_value = "/var/lib/lustrekit/mnt")]
    pub mount_point_base: PathBuf,
    /// Mount options (comma-separated).
    #[arg(long, short = 'o', default_value = "flock,user_xattr")]
    pub options: String,
    /// How many times to try `mount`.
    #[arg(long, default_value_t = 3)]
    pub attempts: u32,
    /// Seconds between attempts.
    #[arg(long, default_value_t = 5)]
    pub delay: u64,
}

fn format_of(s: &str) -> anyhow::Result<Format> {
    s.parse().map_err(anyhow::Error::msg)
}

pub fn run(args: &Args) -> anyhow::Result<()> {
    let json = args.root.json;
    if let Command::Mount(m) = &args.command {
        return mount(m, json);
    }
    let root = args.root.open()?;
    let vols = root.volumes(VolumeConfig {
        max_over_subscription_ratio: args.max_over_subscription_ratio,
    });
    match &args.command {
        Command::Create {
            name,
            size,
            format,
            stripe,
        } => {
            let req = CreateRequest {
                name: name.clone(),
                size: *size,
                format: format_of(format)?,
                stripe: stripe.get(),
            };
            show::volume(json, &vols.create(&req)?)
        }
        Command::List => show::list(json, &vols.list()?, &vols.capacity()?),
        Command::Show { name } => show::detail(json, &vols.show(name)?),
        Command::Delete { name, force } => {
            vols.delete(name, *force)?;
            done(json, &format!("deleted volume {name}"))
        }
        Command::Snapshot { volume, snapshot } => {
            vols.snapshot(volume, snapshot)?;
            done(json, &format!("snapshot {volume}@{snapshot} taken"))
        }
        Command::SnapshotDelete { volume, snapshot } => {
            vols.delete_snapshot(volume, snapshot)?;
            done(json, &format!("deleted snapshot {volume}@{snapshot}"))
        }
        Command::Revert {
            volume,
            snapshot,
            discard_newer,
        } => {
            vols.revert(volume, snapshot, *discard_newer)?;
            done(json, &format!("reverted {volume} to {snapshot}"))
        }
        Command::Clone {
            source,
            name,
            snapshot,
            format,
            size,
            stripe,
        } => {
            let opts = CopyOptions {
                format: format.as_deref().map(format_of).transpose()?,
                size: *size,
                stripe: stripe.get(),
            };
            let v = match snapshot {
                Some(s) => vols.create_from_snapshot(source, s, name, &opts)?,
                None => vols.clone_volume(source, name, &opts)?,
            };
            show::volume(json, &v)
        }
        Command::Extend { name, size } => {
            vols.extend(name, *size)?;
            done(
                json,
                &format!("extended {name} to {}", crate::storage::human(*size)),
            )
        }
        Command::Export {
            name,
            domain,
            bind,
            port,
        } => {
            let e = vols.export(name, domain, *bind, *port)?;
            crate::storage::print(json, &e, || {
                format!("serving {name} for {domain} at {} (qemu-nbd pid {})\n", e.uri(), e.pid)
            })
        }
        Command::Unexport { name } => {
            vols.unexport(name)?;
            done(json, &format!("stopped serving {name}"))
        }
        Command::Attach { .. } | Command::Detach { .. } => anyhow::bail!(
            "`volume attach` and `detach` talk to libvirt: run them with `lustrekit`, not `lustrekit-storage`"
        ),
        Command::Mount(_) => Ok(()),
    }
}

fn mount(m: &MountArgs, json: bool) -> anyhow::Result<()> {
    let source = LustreSource::parse(&m.source)?;
    let mount_point = mount_point_for(&m.mount_point_base, &source);
    let mounter = Mounter::new(Arc::new(LocalRunner), Duration::from_secs(m.delay));
    let status = mounter.ensure_mounted(&source, &mount_point, &m.options, m.attempts)?;
    let how = match status {
        MountStatus::AlreadyMounted => "already mounted".to_string(),
        MountStatus::Mounted { attempt } => format!("mounted on attempt {attempt}"),
    };
    let path = mount_point.display().to_string();
    crate::storage::print(
        json,
        &serde_json::json!({"source": source.text, "mount_point": path, "status": how}),
        || format!("{path}\n"),
    )
}
