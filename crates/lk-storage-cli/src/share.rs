//! `lustrekit share`: Manila-style shares under `ROOT/shares` (project quota, nodemaps).

use lk_volume::lustre::NidRange;
use lk_volume::shares::{AccessLevel, Share, ShareConfig, ShareRequest};
use serde::Serialize;

use crate::storage::{done, human, parse_size, print, RootArgs};
use crate::table::columns;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub root: RootArgs,
    #[command(subcommand)]
    pub command: Command,
}

fn parse_range(s: &str) -> Result<NidRange, String> {
    NidRange::parse(s).map_err(|e| e.to_string())
}

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Create a share: a directory with its own project ID and a project quota.
    Create {
        name: String,
        /// Block limit, e.g. 100GiB.
        #[arg(long, value_parser = parse_size)]
        size: u64,
        /// Inode limit (default: none).
        #[arg(long)]
        inodes: Option<u64>,
    },
    /// List shares with usage and limits.
    List,
    /// Show a share: usage, limits, fileset and access rules.
    Show { name: String },
    /// Change a share's limits (lowering below what it uses is refused).
    Resize {
        name: String,
        #[arg(long, value_parser = parse_size)]
        size: u64,
        #[arg(long)]
        inodes: Option<u64>,
    },
    /// Delete a share and its content (with access rules only with --force).
    Delete {
        name: String,
        #[arg(long)]
        force: bool,
    },
    /// Let a NID range (e.g. 10.0.0.[2-5]@tcp) mount the share, through a nodemap.
    Allow {
        name: String,
        #[arg(value_parser = parse_range)]
        range: NidRange,
        #[arg(long, default_value = "rw", value_parser = ["rw", "ro"])]
        access: String,
    },
    /// Remove a NID range from the share.
    Deny {
        name: String,
        #[arg(value_parser = parse_range)]
        range: NidRange,
    },
}

pub fn run(args: &Args) -> anyhow::Result<()> {
    let json = args.root.json;
    let root = args.root.open()?;
    let shares = root.shares(ShareConfig::default());
    match &args.command {
        Command::Create { name, size, inodes } => {
            let req = ShareRequest {
                name: name.clone(),
                size: *size,
                inodes: *inodes,
            };
            detail(json, &shares.create(&req)?)
        }
        Command::List => list(json, &shares.list()?),
        Command::Show { name } => detail(json, &shares.show(name)?),
        Command::Resize { name, size, inodes } => {
            detail(json, &shares.resize(name, *size, *inodes)?)
        }
        Command::Delete { name, force } => {
            shares.delete(name, *force)?;
            done(json, &format!("deleted share {name}"))
        }
        Command::Allow {
            name,
            range,
            access,
        } => {
            let level: AccessLevel = access.parse().map_err(anyhow::Error::msg)?;
            let rule = shares.allow(name, range, level)?;
            done(
                json,
                &format!(
                    "allowed {range} ({level}) on share {name} through nodemap {}",
                    rule.nodemap
                ),
            )
        }
        Command::Deny { name, range } => {
            shares.deny(name, range)?;
            done(json, &format!("denied {range} on share {name}"))
        }
    }
}

fn limit(v: u64, bytes: bool) -> String {
    match (v, bytes) {
        (0, _) => "none".into(),
        (v, true) => human(v),
        (v, false) => v.to_string(),
    }
}

#[derive(Serialize)]
struct ListOut<'a> {
    shares: &'a [Share],
}

fn list(json: bool, shares: &[Share]) -> anyhow::Result<()> {
    print(json, &ListOut { shares }, || {
        if shares.is_empty() {
            return "no shares\n".into();
        }
        let mut rows = vec![[
            "NAME",
            "PROJECT",
            "USED",
            "LIMIT",
            "INODES",
            "INODE LIMIT",
            "ACCESS",
        ]
        .map(String::from)
        .to_vec()];
        for s in shares {
            let r = &s.record;
            rows.push(vec![
                r.name.clone(),
                r.project_id.to_string(),
                human(s.usage.bytes),
                limit(r.limits.block_hard, true),
                s.usage.inodes.to_string(),
                limit(r.limits.inode_hard, false),
                r.access.len().to_string(),
            ]);
        }
        columns(&rows)
    })
}

fn detail(json: bool, s: &Share) -> anyhow::Result<()> {
    print(json, s, || {
        let r = &s.record;
        let rows = vec![
            vec!["name:".into(), r.name.clone()],
            vec!["path:".into(), s.path.display().to_string()],
            vec!["fileset:".into(), s.fileset.clone()],
            vec!["project:".into(), r.project_id.to_string()],
            vec![
                "used:".into(),
                format!(
                    "{} of {}",
                    human(s.usage.bytes),
                    limit(r.limits.block_hard, true)
                ),
            ],
            vec![
                "inodes:".into(),
                format!(
                    "{} of {}",
                    s.usage.inodes,
                    limit(r.limits.inode_hard, false)
                ),
            ],
            vec![
                "enforced:".into(),
                if s.enforced {
                    "yes (Lustre project quota)"
                } else {
                    "no (stand-in: recorded only)"
                }
                .into(),
            ],
        ];
        let mut out = columns(&rows);
        if r.access.is_empty() {
            out.push_str("access: none\n");
        } else {
            out.push_str("access:\n");
            for a in &r.access {
                out.push_str(&format!(
                    "  {}  {}  (nodemap {})\n",
                    a.range, a.level, a.nodemap
                ));
            }
        }
        out
    })
}
