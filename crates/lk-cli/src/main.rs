//! `lustrekit`: flag definitions and glue. Each subcommand lives in `cmd/`; libraries do the
//! work. Errors are printed once here, with a `lustrekit:` prefix, and mapped to exit codes.

mod cmd;
mod exit;
mod progress;
mod signals;
mod table;
mod topology_file;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

const EXAMPLES: &str = "\
Examples:
  lustrekit validate examples/ha.yaml
  lustrekit plan examples/routing.yaml
  lustrekit plan --format json examples/bench.yaml | jq '.resources.domains[].name'
  lustrekit schema > lustrecluster.schema.json
  lustrekit image build
  lustrekit build examples/basic-lab.yaml
  lustrekit up examples/all-in-one.yaml --until infra
  lustrekit status aio
  lustrekit exec aio node1 -- uname -r
  lustrekit test aio sanity --only 0a,0b,1
  lustrekit bench small fio
  lustrekit bench compare RUN1/run.json RUN2/run.json --out bench/lustre
  lustrekit down aio
  lustrekit gateway --root /mnt/lustre/swift --listen 127.0.0.1:8080 --user acct:alice:secret
  lustrekit sync --root /mnt/lustre/swift --backend changelog --mount /mnt/lustre --mdt lustre-MDT0000 --changelog-user cl1
  lustrekit volume --root /mnt/lustre/cloud create vol1 --size 10GiB --stripe-count 4
  lustrekit volume --root /mnt/lustre/cloud snapshot vol1 before-upgrade
  lustrekit share --root /mnt/lustre/cloud create projA --size 100GiB --inodes 1000000
  lustrekit share --root /mnt/lustre/cloud allow projA '10.0.0.[2-5]@tcp' --access ro

Exit codes:
  0  success
  1  the operation failed (I/O, libvirt, a guest step)
  2  usage error (unknown flag, missing argument)
  3  the topology file is invalid (every problem is listed)
  130 interrupted (Ctrl-C or SIGTERM; what `up` had made is unwound)
`exec` exits with the guest command's exit code; `test` exits 1 when a subtest failed.";

/// Declarative, disposable Lustre clusters on libvirt/QEMU.
#[derive(Debug, Parser)]
#[command(name = "lustrekit", version, about, after_help = EXAMPLES)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check a topology file and list every problem with its field, line and column.
    Validate(cmd::validate::Args),
    /// Show what `up` would create and run, per node in execution order.
    Plan(cmd::plan::Args),
    /// Print the JSON Schema of the LustreCluster document.
    Schema,
    /// Serve a directory tree through the OpenStack Swift API (objects are plain files).
    Gateway(lk_gateway::GatewayArgs),
    /// Apply POSIX changes (inotify) or the Lustre MDT changelog to the gateway's listings.
    Sync(lk_sync::SyncArgs),
    /// Build the topology's Lustre from source into packages for the image's kernel (cached).
    Build(cmd::build::Args),
    /// Create the cluster's VMs and bring Lustre up on them, stage by stage.
    Up(cmd::up::Args),
    /// Unmount Lustre, then remove every object the cluster's ledger lists.
    Down(cmd::down::Args),
    /// Show nodes (live libvirt state) and stage progress.
    Status(cmd::status::Args),
    /// Remove every libvirt object tagged with the cluster's name (when the ledger is lost).
    Gc(cmd::down::GcArgs),
    /// Run a command on a node through the guest agent.
    Exec(cmd::exec::Args),
    /// Move a target to the other node of its failover pair and verify the clients.
    Failover(cmd::failover::Args),
    /// Move a target back to its primary node.
    Failback(cmd::failover::BackArgs),
    /// Show where a run's logs are; gather dmesg and lctl dk from the nodes.
    Logs(cmd::logs::Args),
    /// Run one of Lustre's own test suites (auster) on a cluster that is up; results per
    /// subtest as JSON and JUnit XML.
    Test(cmd::test::Args),
    /// Measure a cluster: lnet-selftest, obdfilter-survey, fio, ior or mdtest (JSON, Markdown
    /// and HTML reports and a plot per run); `bench compare` puts runs side by side.
    Bench(cmd::bench::Args),
    /// Build guest images.
    #[command(subcommand)]
    Image(ImageCommand),
    /// Print the LustreCluster CustomResourceDefinition (YAML) the operator serves.
    Crd,
    /// Run the Kubernetes operator for LustreCluster resources.
    Operator(cmd::kubernetes::OperatorArgs),
    /// Run the in-guest health agent (lctl health over HTTP and Prometheus metrics).
    Agent(cmd::kubernetes::AgentArgs),
    /// Block volumes as files on a Lustre mount (Cinder-style): qcow2/raw, snapshots, clones.
    Volume(cmd::in_cluster::VolumeArgs),
    /// Directories with a project quota and nodemap access on a Lustre mount (Manila-style).
    Share(cmd::in_cluster::ShareArgs),
    /// Run the CSI driver (Identity plus Controller and/or Node) on a unix socket.
    Csi(lk_storage_cli::csi::Args),
}

#[derive(Debug, Subcommand)]
enum ImageCommand {
    /// Build the Debian 12 base image (debootstrap, Debian's kernel, guest agent, 9p), or with
    /// --lustre one with Lustre installed from a topology's build; cached.
    Build(cmd::image::ImageArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Validate(args) => cmd::validate::run(&args),
        Command::Plan(args) => cmd::plan::run(&args),
        Command::Schema => cmd::schema::run(),
        Command::Gateway(args) => lk_storage_cli::serve::gateway(&args),
        Command::Sync(args) => lk_storage_cli::serve::sync(args),
        Command::Build(args) => cmd::build::run(&args),
        Command::Up(args) => cmd::up::run(&args),
        Command::Down(args) => cmd::down::run(&args),
        Command::Status(args) => cmd::status::run(&args),
        Command::Gc(args) => cmd::down::gc(&args),
        Command::Exec(args) => match cmd::exec::run(&args) {
            Ok(code) => return ExitCode::from(code),
            Err(e) => Err(e),
        },
        Command::Logs(args) => cmd::logs::run(&args),
        Command::Bench(args) => cmd::bench::run(&args),
        Command::Test(args) => match cmd::test::run(&args) {
            Ok(code) => return ExitCode::from(code),
            Err(e) => Err(e),
        },
        Command::Failover(args) => cmd::failover::run(&args),
        Command::Failback(args) => cmd::failover::back(&args),
        Command::Crd => cmd::kubernetes::crd(),
        Command::Operator(args) => cmd::kubernetes::operator(&args),
        Command::Agent(args) => cmd::kubernetes::agent(&args),
        Command::Volume(args) => match cmd::in_cluster::volume(&args) {
            Ok(code) => return ExitCode::from(code),
            Err(e) => Err(e),
        },
        Command::Share(args) => match cmd::in_cluster::share(&args) {
            Ok(code) => return ExitCode::from(code),
            Err(e) => Err(e),
        },
        Command::Csi(args) => lk_storage_cli::csi::run(&args),
        Command::Image(ImageCommand::Build(args)) => cmd::build::image(&args).map(|path| {
            println!("{}", path.display());
        }),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => exit::report(&err),
    }
}
