// SPDX-License-Identifier: Apache-2.0
//! The driver's gRPC services over a real unix socket with a tonic client, against a plain
//! directory standing in for Lustre. Controller tests run everywhere; node tests bind-mount
//! in a temporary directory and need root (they print a SKIPPED line otherwise).
//! `sanity` runs the CSI community's csi-sanity when it has been built (docs/csi.md).

mod clusters;
mod common;
mod conformance;
mod controller;
mod node;
mod sanity;
