// SPDX-License-Identifier: Apache-2.0
//! Integration tests of the gateway binary (one test binary, topic modules).

mod common;
mod conformance;
mod crash;
mod dlo;
mod expiry;
mod framing;
mod index;
mod large_acl;
mod referrer;
mod security;
mod slo;
mod stalled;
mod swiftclient;
mod versioning;
mod xattrs;
