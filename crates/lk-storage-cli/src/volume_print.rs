//! How `lustrekit volume` prints volumes, listings and capacity (text or JSON).

use lk_volume::volumes::{Capacity, Listing, Volume, VolumeDetail};
use serde::Serialize;

use crate::storage::{human, print};
use crate::table::columns;

pub fn volume(json: bool, v: &Volume) -> anyhow::Result<()> {
    print(json, v, || {
        format!(
            "volume {}: {} {} at {}\n",
            v.info.name,
            v.info.format,
            human(v.info.size),
            v.path.display()
        )
    })
}

#[derive(Serialize)]
struct ListOut<'a> {
    #[serde(flatten)]
    listing: &'a Listing,
    capacity: &'a Capacity,
}

pub fn list(json: bool, listing: &Listing, capacity: &Capacity) -> anyhow::Result<()> {
    print(json, &ListOut { listing, capacity }, || {
        let mut rows = vec![[
            "NAME",
            "FORMAT",
            "SIZE",
            "ALLOCATED",
            "SNAPSHOTS",
            "ATTACHED",
        ]
        .map(String::from)
        .to_vec()];
        for v in &listing.volumes {
            rows.push(vec![
                v.info.name.clone(),
                v.info.format.to_string(),
                human(v.info.size),
                human(v.allocated),
                v.info.snapshots.len().to_string(),
                v.info.attached_to.clone().unwrap_or_else(|| "-".into()),
            ]);
        }
        let mut out = if listing.volumes.is_empty() {
            "no volumes\n".to_string()
        } else {
            columns(&rows)
        };
        for p in &listing.problems {
            out.push_str(&format!("problem: {p}\n"));
        }
        out.push_str(&capacity_line(capacity));
        out
    })
}

fn capacity_line(c: &Capacity) -> String {
    format!(
        "capacity: {} total, {} free, {} provisioned ({:.2}x, max {}x), {} allocated\n",
        human(c.total),
        human(c.free),
        human(c.provisioned),
        c.over_subscription_ratio,
        c.max_over_subscription_ratio,
        human(c.allocated)
    )
}

pub fn detail(json: bool, d: &VolumeDetail) -> anyhow::Result<()> {
    print(json, d, || {
        let i = &d.volume.info;
        let mut rows = vec![
            vec!["name:".into(), i.name.clone()],
            vec!["path:".into(), d.volume.path.display().to_string()],
            vec!["format:".into(), i.format.to_string()],
            vec![
                "size:".into(),
                format!("{} ({} bytes)", human(i.size), i.size),
            ],
            vec!["allocated:".into(), human(d.volume.allocated)],
            vec![
                "active layer:".into(),
                format!("{} ({} in the chain)", i.active, i.chain.len()),
            ],
            vec![
                "attached to:".into(),
                i.attached_to.clone().unwrap_or_else(|| "-".into()),
            ],
        ];
        if let Some(s) = &i.stripe {
            rows.push(vec![
                "stripe:".into(),
                format!("count {}, size {}", s.count, human(s.size)),
            ]);
        }
        if let Some(s) = &i.source {
            rows.push(vec!["source:".into(), s.clone()]);
        }
        if let Some(e) = &i.export {
            rows.push(vec![
                "served at:".into(),
                format!("{} (qemu-nbd pid {})", e.uri(), e.pid),
            ]);
        }
        let mut out = columns(&rows);
        if i.snapshots.is_empty() {
            out.push_str("snapshots: none\n");
        } else {
            out.push_str("snapshots:\n");
            for s in &i.snapshots {
                out.push_str(&format!("  {}  {}  ({})\n", s.name, human(s.size), s.image));
            }
        }
        out
    })
}
