// SPDX-License-Identifier: Apache-2.0
//! Compiles the CSI v1 protobufs (`csi.proto` of the container-storage-interface/spec
//! repository) with tonic. The proto is not part of this repository: it is looked up, in
//! order, at `$LUSTREKIT_CSI_PROTO` and `/var/cache/lustrekit/csi-spec/csi.proto`;
//! `protoc` comes from Debian's `protobuf-compiler` (scripts/install-deps.sh).

use std::path::PathBuf;

const DEFAULT_PROTO: &str = "/var/cache/lustrekit/csi-spec/csi.proto";

fn main() {
    println!("cargo:rerun-if-env-changed=LUSTREKIT_CSI_PROTO");
    println!("cargo:rerun-if-env-changed=PROTOC");
    let proto = std::env::var_os("LUSTREKIT_CSI_PROTO")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(DEFAULT_PROTO));
    if !proto.is_file() {
        panic!(
            "lk-csi: the CSI spec's csi.proto (v1.9.0) was not found at {}. Place the \
             container-storage-interface/spec v1.9.0 tree at /var/cache/lustrekit/csi-spec \
             or point LUSTREKIT_CSI_PROTO at its csi.proto (Debian 12 has no package that \
             ships it; see docs/csi.md)",
            proto.display()
        );
    }
    println!("cargo:rerun-if-changed={}", proto.display());
    let mut includes = vec![proto.parent().map(PathBuf::from).unwrap_or_default()];
    // The well-known types csi.proto imports (Debian's libprotobuf-dev).
    if PathBuf::from("/usr/include/google/protobuf/descriptor.proto").is_file() {
        includes.push(PathBuf::from("/usr/include"));
    }
    if std::env::var_os("PROTOC").is_none() && which("protoc").is_none() {
        panic!(
            "lk-csi: protoc not found; install Debian's protobuf-compiler \
             (scripts/install-deps.sh) or set PROTOC"
        );
    }
    if let Err(e) = tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .compile_protos(std::slice::from_ref(&proto), &includes)
    {
        panic!("lk-csi: compiling {} failed: {e}", proto.display());
    }
}

fn which(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(program))
        .find(|p| p.is_file())
}
