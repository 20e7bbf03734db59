// SPDX-License-Identifier: Apache-2.0
//! `lustrekit-storage volume|share|csi|gateway|sync ...`: the storage commands of `lustrekit`,
//! without libvirt (guests run it: `share --cluster`, a topology's `services`).

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "lustrekit-storage",
    version,
    about = "Volumes, shares and the Swift gateway on a Lustre mount"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Block volumes as files on a Lustre mount (Cinder-style): qcow2/raw, snapshots, clones.
    Volume(lk_storage_cli::volume::Args),
    /// Directories with a project quota and nodemap access on a Lustre mount (Manila-style).
    Share(lk_storage_cli::share::Args),
    /// The CSI driver (Identity, Controller, Node) on a unix socket or TCP port.
    Csi(lk_storage_cli::csi::Args),
    /// The Swift-compatible object gateway over a directory tree (a cluster's `services`).
    Gateway(lk_gateway::GatewayArgs),
    /// Keeps the gateway's listings in step with POSIX changes (inotify or the MDT changelog).
    Sync(lk_sync::SyncArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Volume(args) => lk_storage_cli::volume::run(&args),
        Command::Share(args) => lk_storage_cli::share::run(&args),
        Command::Csi(args) => lk_storage_cli::csi::run(&args),
        Command::Gateway(args) => lk_storage_cli::serve::gateway(&args),
        Command::Sync(args) => lk_storage_cli::serve::sync(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("lustrekit-storage: {err:#}");
            ExitCode::FAILURE
        }
    }
}
