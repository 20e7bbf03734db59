// SPDX-License-Identifier: Apache-2.0
//! `lustrekit-storage volume|share|csi ...`: the storage commands of `lustrekit`, without libvirt.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "lustrekit-storage",
    version,
    about = "Volumes and shares on a Lustre mount"
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
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Volume(args) => lk_storage_cli::volume::run(args),
        Command::Share(args) => lk_storage_cli::share::run(args),
        Command::Csi(args) => lk_storage_cli::csi::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("lustrekit-storage: {err:#}");
            ExitCode::FAILURE
        }
    }
}
