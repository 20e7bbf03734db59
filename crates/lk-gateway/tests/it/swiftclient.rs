// SPDX-License-Identifier: Apache-2.0
//! python-swiftclient, unmodified (its `swift` CLI and its Python API), against the gateway.

use crate::common::{run_py, Gw};

#[test]
fn swift_cli_upload_list_stat_post_copy_download_delete_dlo_slo() {
    let dir = tempfile::tempdir().expect("tempdir");
    let gw = Gw::start(dir.path(), &[]);
    run_py(&gw, "cli.py", &[]);
}

#[test]
fn swift_python_api_listings_ranges_conditions_acls_bulk() {
    let dir = tempfile::tempdir().expect("tempdir");
    let gw = Gw::start(dir.path(), &[]);
    run_py(&gw, "api.py", &[]);
}
