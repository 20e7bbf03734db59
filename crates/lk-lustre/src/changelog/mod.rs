//! MDT changelog records as `lfs changelog` prints them, and coalescing of a batch.
//!
//! A record line reads `INDEX TYPE TIME DATE FLAGS key=value... [p=PARENT NAME [s=SRC sp=SRCPARENT
//! SRCNAME]]`, e.g.
//! `3 06UNLNK 15:15:41.305116815 2018.01.09 0x1 t=[0x200000402:0x2:0x0] ef=0xf u=500:500
//! nid=10.128.11.159@tcp p=[0x200000402:0x1:0x0] chloe.jpg`.
//! Fields are found by key, never by column, because optional fields (`j=`, `ef=`, `u=`,
//! `nid=`, `m=`, `x=`) come and go with the changelog mask and Lustre version. Parsing is
//! strict: a line that does not fit is an error naming why, never a panic.
//!
//! Layout: [`record`] (one line: FID, type, record; strict parse), [`coalesce`] (a batch into
//! changes), [`commands`] (the `lfs` command lines and fid2path output).

pub mod coalesce;
pub mod commands;
pub mod record;

pub use coalesce::{coalesce, Batch, Change};
pub use commands::{
    changelog_args, changelog_clear_args, fid2path_args, leading_index, parse_fid2path,
};
pub use record::{
    Fid, FidError, Record, RecordError, RecordType, CLF_RENAME_LAST, CLF_UNLINK_LAST,
};

#[cfg(test)]
mod tests;
