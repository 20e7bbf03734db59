// SPDX-License-Identifier: Apache-2.0
//! Integration tests of the gateway binary (one test binary, topic modules).

mod account_acl;
mod bulk;
mod common;
mod conformance;
mod crash;
mod dlo;
mod expiry;
mod framing;
mod index;
mod large_acl;
mod layout;
mod policy;
mod quota;
mod referrer;
mod security;
mod slo;
mod stalled;
mod staticweb;
mod swiftclient;
mod symlink;
mod tempurl;
mod versioned_writes;
mod versioning;
mod xattrs;
