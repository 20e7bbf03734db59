// SPDX-License-Identifier: Apache-2.0
//! Integration tests: the `lk-sync` binary on real trees in temp directories.
//! - `inotify`: live inotify on real files (10k files, renames, deletes, kill -9, overflow,
//!   gateway writes);
//! - `changelog`: the Lustre backend on *recorded changelog* text, replayed by a stand-in
//!   `lfs` script through the same code path that reads a live `lfs changelog --follow`;
//!   (`fake_lustre` is that stand-in: a real tree, its FIDs and the records an MDT writes);
//! - `shutdown`: SIGTERM and SIGINT stop either backend with what it had in hand committed.
//!
//! Crash tests kill the binary with SIGKILL; the others stop it with SIGTERM at the end.

mod changelog;
mod common;
mod fake_lustre;
mod inotify;
mod layout;
mod shutdown;
