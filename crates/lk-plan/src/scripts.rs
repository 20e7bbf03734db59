//! Per-node guest scripts and the cluster-wide order they run in.
//!
//! Order (from Lustre's test framework and public lab setups): install (build first when
//! building) -> LNet (routes, forwarding on routers) -> LNet ping check -> format -> mount MGS ->
//! MDTs -> OSTs -> wait until every MDT is connected to every OST -> mount clients -> verify.
//! Teardown: clients, MDTs, OSTs, MGS, then modules. Every script is idempotent: it checks what
//! is already done before acting, so a re-run converges.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use lk_lustre::cmd::{self, Backing, Failover, MkfsLustre};
use lk_lustre::shell::{join, quote};
use lk_lustre::target::TargetName;
use lk_model::topology::{
    Backend, FailoverMode, LustreSource, Node, PackageOrigin, Role, SourceOrigin, Target,
    TargetKind,
};
use lk_model::Topology;

use crate::addressing::Addressing;
use crate::build::{target_name, GUEST_SHARED};
use crate::{FailoverTarget, NodePlan, NodeStep, Phase, Stage};

/// Exit code of a script that finds Lustre missing or unusable on its node.
pub const EXIT_LUSTRE_MISSING: u8 = 3;
/// Seconds `wait-ost` waits for each MDT-OST connection.
const OSP_TIMEOUT_SECS: u32 = 300;

pub struct Generated {
    pub nodes: Vec<NodePlan>,
    pub phases: Vec<Phase>,
    pub teardown: Vec<Phase>,
    pub failover: Vec<FailoverTarget>,
    pub files: BTreeMap<String, String>,
}

/// Seconds lnet-check retries a ping to a peer on a shared network, and across routers.
const LNET_PING_SECS: u32 = 60;
const LNET_ROUTED_PING_SECS: u32 = 300;

/// Seconds a target may take to finish recovery after it moved.
const RECOVERY_TIMEOUT_SECS: u32 = 600;

pub fn describe_source(s: &LustreSource, host_build: bool) -> String {
    let place = if host_build {
        "on the host (chroot)"
    } else {
        "in the build VM"
    };
    match s {
        LustreSource::Preinstalled => "preinstalled in the image".into(),
        LustreSource::Packages {
            origin: PackageOrigin::Repository(url),
        } => {
            format!("packages from repository {url}")
        }
        LustreSource::Packages {
            origin: PackageOrigin::Folder(path),
        } => {
            format!("packages from host folder {path}")
        }
        LustreSource::Tarball { path } => format!("install tree from tarball {path}"),
        LustreSource::Build {
            origin: SourceOrigin::Path(p),
            ..
        } => {
            format!("built {place} from {p}")
        }
        LustreSource::Build {
            origin: SourceOrigin::Git { url, git_ref },
            ..
        } => {
            format!("built {place} from {url} at {git_ref}")
        }
    }
}

/// Everything a script generator needs about the cluster.
struct Ctx<'a> {
    t: &'a Topology,
    a: &'a Addressing,
    /// Lustre is compiled on the host: nodes install from the repository in packages/.
    host_build: bool,
    /// MGS nodes (primary first), each as its joined NIDs.
    mgs_nodes: Vec<String>,
}

impl Ctx<'_> {
    fn target(&self, target: &Target) -> TargetName {
        target_name(self.t, target)
    }

    fn backing(&self, target: &Target) -> Backing {
        let n = self.target(target);
        match self.t.backend {
            Backend::Ldiskfs => Backing::Ldiskfs { device: n.device() },
            Backend::Zfs => Backing::Zfs {
                dataset: n.zfs_dataset(),
                vdev: n.device(),
            },
        }
    }

    fn primary_targets(&self, node: &str, kind: TargetKind) -> Vec<&Target> {
        self.t
            .targets()
            .filter(|x| x.kind == kind && x.node == node)
            .collect()
    }

    /// Targets of `kind` that `node` serves, as primary or failover partner.
    fn served_targets(&self, node: &str, kind: TargetKind) -> Vec<&Target> {
        self.t
            .targets()
            .filter(|x| x.kind == kind && x.service_nodes().any(|n| n == node))
            .collect()
    }

    fn lustre_nodes(&self) -> Vec<&Node> {
        self.t
            .nodes
            .iter()
            .filter(|n| n.roles.iter().any(|r| *r != Role::Build))
            .collect()
    }
}

pub fn generate(t: &Topology, a: &Addressing, host_build: bool) -> Generated {
    let mgs_nodes = t.mgt.service_nodes().map(|n| a.joined_nids(t, n)).collect();
    let ctx = Ctx {
        t,
        a,
        host_build,
        mgs_nodes,
    };
    let names = |nodes: Vec<&Node>| {
        nodes
            .into_iter()
            .map(|n| n.name.clone())
            .collect::<Vec<_>>()
    };
    let has = |role: Role| names(t.nodes.iter().filter(|n| n.has(role)).collect());
    let primaries = |kind: TargetKind| {
        names(
            t.nodes
                .iter()
                .filter(|n| !ctx.primary_targets(&n.name, kind).is_empty())
                .collect(),
        )
    };
    let lustre_nodes = names(ctx.lustre_nodes());
    let servers = names(t.nodes.iter().filter(|n| n.is_server()).collect());
    let formatters = names(
        t.nodes
            .iter()
            .filter(|n| t.targets().any(|x| x.node == n.name))
            .collect(),
    );
    let mdt_primaries = primaries(TargetKind::Mdt);
    // Teardown runs on every node that can serve a target: after a failover the target is
    // mounted on its partner, and each node releases only what it has.
    let servers_of = |kind: TargetKind| {
        names(
            t.nodes
                .iter()
                .filter(|n| !ctx.served_targets(&n.name, kind).is_empty())
                .collect(),
        )
    };

    let mut phases = Vec::new();
    let phase = |name: &str, stage: Stage, description: &str, nodes: Vec<String>| Phase {
        name: name.into(),
        stage,
        description: description.into(),
        nodes,
    };
    if matches!(t.lustre, LustreSource::Build { .. }) && !host_build {
        phases.push(phase(
            "build",
            Stage::Install,
            "compile Lustre packages into the shared folder",
            has(Role::Build),
        ));
    }
    phases.push(phase(
        "install",
        Stage::Install,
        "install Lustre and check modules and tools",
        lustre_nodes.clone(),
    ));
    phases.push(phase(
        "lnet",
        Stage::Lnet,
        "load LNet, add networks and routes, enable forwarding on routers",
        lustre_nodes.clone(),
    ));
    phases.push(phase(
        "lnet-check",
        Stage::Lnet,
        "lnetctl ping every peer this node talks to",
        lustre_nodes.clone(),
    ));
    phases.push(phase(
        "format",
        Stage::Format,
        "mkfs.lustre each target on its primary node",
        formatters,
    ));
    phases.push(phase(
        "mount-mgs",
        Stage::Mount,
        "mount the MGT",
        primaries(TargetKind::Mgt),
    ));
    phases.push(phase(
        "mount-mdt",
        Stage::Mount,
        "mount the MDTs",
        mdt_primaries.clone(),
    ));
    phases.push(phase(
        "mount-ost",
        Stage::Mount,
        "mount the OSTs",
        primaries(TargetKind::Ost),
    ));
    phases.push(phase(
        "wait-ost",
        Stage::Mount,
        "wait until every MDT is connected to every OST",
        mdt_primaries,
    ));
    phases.push(phase(
        "mount-client",
        Stage::Mount,
        "mount the filesystem on the clients",
        has(Role::Client),
    ));
    phases.push(phase(
        "verify-servers",
        Stage::Verify,
        "targets UP in lctl dl, health_check healthy",
        servers,
    ));
    phases.push(phase(
        "verify-clients",
        Stage::Verify,
        "every OST in lfs df, write/read with checksum",
        has(Role::Client),
    ));

    let teardown = vec![
        phase(
            "umount-client",
            Stage::Teardown,
            "unmount the clients",
            has(Role::Client),
        ),
        phase(
            "umount-mdt",
            Stage::Teardown,
            "unmount the MDTs",
            servers_of(TargetKind::Mdt),
        ),
        phase(
            "umount-ost",
            Stage::Teardown,
            "unmount the OSTs",
            servers_of(TargetKind::Ost),
        ),
        phase(
            "umount-mgs",
            Stage::Teardown,
            "unmount the MGT",
            servers_of(TargetKind::Mgt),
        ),
        phase(
            "unload",
            Stage::Teardown,
            "unconfigure LNet and unload the Lustre modules",
            lustre_nodes,
        ),
    ];

    let mut files = BTreeMap::new();
    let mut nodes: Vec<NodePlan> = t
        .nodes
        .iter()
        .map(|n| NodePlan {
            node: n.name.clone(),
            domain: format!("{}-{}", t.name, n.name),
            roles: n.roles.iter().map(|r| r.as_str().to_string()).collect(),
            nids: a.nids(t, &n.name).iter().map(ToString::to_string).collect(),
            steps: Vec::new(),
        })
        .collect();
    for p in phases.iter().chain(&teardown) {
        for node_name in &p.nodes {
            let Some(node) = t.node(node_name) else {
                continue;
            };
            let mut s = Script::new(t, node, p);
            ctx.body(&p.name, node, &mut s);
            files.insert(p.script(node_name), s.text());
            if let Some(np) = nodes.iter_mut().find(|np| &np.node == node_name) {
                np.steps.push(NodeStep {
                    phase: p.name.clone(),
                    stage: p.stage,
                    script: p.script(node_name),
                    commands: s.commands,
                });
            }
        }
    }
    // Failover pairs: a release and a takeover script for the target on both of its nodes.
    let mut failover = Vec::new();
    for target in t.targets().filter(|x| x.failover.is_some()) {
        let name = ctx.target(target);
        let nodes: Vec<String> = target.service_nodes().map(String::from).collect();
        let facet = name.facet();
        for (verb, description) in [
            (
                "release",
                "unmount the target (and export its pool) on this node",
            ),
            (
                "takeover",
                "import and mount the target here and wait for its recovery",
            ),
        ] {
            let p = phase(
                &format!("{verb}-{facet}"),
                Stage::Mount,
                description,
                nodes.clone(),
            );
            for node_name in &nodes {
                let Some(node) = t.node(node_name) else {
                    continue;
                };
                let mut s = Script::new(t, node, &p);
                if verb == "release" {
                    ctx.release(target, &mut s);
                } else {
                    ctx.takeover(target, &mut s);
                }
                files.insert(p.script(node_name), s.text());
            }
        }
        failover.push(FailoverTarget {
            label: name.label(),
            facet,
            primary: target.node.clone(),
            partner: target.failover.clone().unwrap_or_default(),
        });
    }
    Generated {
        nodes,
        phases,
        teardown,
        failover,
        files,
    }
}

/// A generated bash script: a fixed preamble, then body lines. `commands` records the key
/// commands for the human-readable plan.
struct Script {
    body: String,
    header: String,
    commands: Vec<String>,
    helpers: Vec<&'static str>,
}

impl Script {
    fn new(t: &Topology, node: &Node, p: &Phase) -> Self {
        let header = format!(
            "#!/bin/bash\n# Generated by lustrekit: cluster {}, node {}, phase {} (stage {}).\n# Purpose: {}.\nset -euo pipefail\n\nNODE={}\nlog() {{ printf '[%s %s] %s\\n' \"$NODE\" {} \"$*\"; }}\nfail() {{ printf 'lustrekit: node %s: %s\\n' \"$NODE\" \"$*\" >&2; exit 1; }}\n",
            t.name,
            node.name,
            p.name,
            p.stage.as_str(),
            p.description,
            quote(&node.name),
            quote(&p.name),
        );
        Script {
            body: String::new(),
            header,
            commands: Vec::new(),
            helpers: Vec::new(),
        }
    }

    fn line(&mut self, l: impl AsRef<str>) {
        self.body.push_str(l.as_ref());
        self.body.push('\n');
    }

    /// A key command: shown in the plan and run as is.
    fn cmd(&mut self, argv: &[String]) {
        let c = join(argv);
        self.commands.push(c.clone());
        self.line(c);
    }

    /// A key command that runs only when `guard` (a shell condition) is false.
    fn cmd_unless(&mut self, guard: &str, argv: &[String]) {
        let c = join(argv);
        self.commands.push(c.clone());
        let _ = write!(
            self.body,
            "if {guard}; then\n    log {}\nelse\n    {c}\nfi\n",
            quote(&format!("already done: {c}"))
        );
    }

    fn helper(&mut self, h: &'static str) {
        if !self.helpers.contains(&h) {
            self.helpers.push(h);
        }
    }

    fn text(&self) -> String {
        let mut s = self.header.clone();
        for h in &self.helpers {
            s.push_str(h);
        }
        s.push('\n');
        s.push_str(&self.body);
        s.push_str("log finished\n");
        s
    }
}

/// Routers forward through buffers sized by default for big servers (1 GiB of large buffers);
/// a small router VM cannot enable routing with them (ENOMEM). These fit a 512 MiB router.
const ROUTER_BUFFERS: &str =
    "tiny_router_buffers=512 small_router_buffers=1024 large_router_buffers=64";

const HELPER_ENSURE_POOL: &str = r#"# Imports a target's ZFS pool unless it is already imported here.
ensure_pool() {
    zpool list -H -o name "$1" >/dev/null 2>&1 || zpool import "$1" || fail "cannot import ZFS pool $1"
}
"#;

const HELPER_WAIT_FOR: &str = r#"# wait_for SECONDS WHAT COMMAND...: retries COMMAND every 2 s until it succeeds.
wait_for() {
    local limit=$1 what=$2 waited=0
    shift 2
    until "$@"; do
        if ((waited >= limit)); then
            fail "timed out after ${limit}s waiting for ${what}"
        fi
        sleep 2
        waited=$((waited + 2))
    done
}
"#;

const HELPER_NID_PRESENT: &str = r#"# lnetctl prints tcp0 as tcp; compare NIDs in that canonical form. Output is captured before
# grep reads it: `cmd | grep -q` under pipefail fails when grep exits early and cmd gets SIGPIPE.
canonical_nid() { sed -E 's/@([a-z0-9]+[a-z])0$/@\1/' <<<"$1"; }
nid_configured() { grep -qF "nid: $(canonical_nid "$1")" <<<"$(lnetctl net show 2>/dev/null)"; }
route_configured() { grep -qF "gateway: $(canonical_nid "$2")" <<<"$(lnetctl route show --net "$1" 2>/dev/null)"; }
"#;

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

impl Ctx<'_> {
    fn body(&self, phase: &str, node: &Node, sc: &mut Script) {
        match phase {
            "build" => self.build(sc),
            "install" => self.install(node, sc),
            "lnet" => self.lnet(node, sc),
            "lnet-check" => self.lnet_check(node, sc),
            "format" => self.format(node, sc),
            "mount-mgs" => self.mount_targets(node, TargetKind::Mgt, sc),
            "mount-mdt" => self.mount_targets(node, TargetKind::Mdt, sc),
            "mount-ost" => self.mount_targets(node, TargetKind::Ost, sc),
            "wait-ost" => self.wait_ost(node, sc),
            "mount-client" => self.mount_client(node, sc),
            "verify-servers" => self.verify_server(node, sc),
            "verify-clients" => self.verify_client(node, sc),
            "umount-client" => self.umount_client(node, sc),
            "umount-mdt" => self.umount_targets(node, TargetKind::Mdt, sc),
            "umount-ost" => self.umount_targets(node, TargetKind::Ost, sc),
            "umount-mgs" => self.umount_targets(node, TargetKind::Mgt, sc),
            "unload" => self.unload(sc),
            _ => {}
        }
    }

    fn build(&self, sc: &mut Script) {
        let LustreSource::Build {
            origin,
            configure_options,
        } = &self.t.lustre
        else {
            return;
        };
        let pkgs = format!("{GUEST_SHARED}/packages");
        sc.line(
            "# Inputs of the build: source revision, configure options, kernel. Unchanged inputs",
        );
        sc.line("# mean the packages in the shared folder are current and the build is skipped.");
        sc.line("src=/root/lustre-release");
        match origin {
            SourceOrigin::Git { url, git_ref } => {
                sc.line(format!(
                    "if [ ! -d \"$src/.git\" ]; then git clone {} \"$src\"; fi",
                    quote(url)
                ));
                sc.cmd(&s(&[
                    "git",
                    "-C",
                    "/root/lustre-release",
                    "fetch",
                    "--tags",
                    "origin",
                ]));
                sc.cmd(&[
                    "git".into(),
                    "-C".into(),
                    "/root/lustre-release".into(),
                    "checkout".into(),
                    "--force".into(),
                    git_ref.clone(),
                ]);
                sc.line("revision=$(git -C \"$src\" rev-parse HEAD)");
            }
            SourceOrigin::Path(p) => {
                sc.line(format!(
                    "# The host source tree {p} is copied into {pkgs}/../source by lustrekit."
                ));
                sc.line(format!(
                    "rm -rf \"$src\" && cp -a {GUEST_SHARED}/source \"$src\""
                ));
                sc.line("revision=$(cd \"$src\" && { git rev-parse HEAD 2>/dev/null || find . -type f -newer /etc/hostname -print | sort | sha256sum | cut -d' ' -f1; })");
            }
        }
        let opts = configure_options
            .iter()
            .map(|o| quote(o))
            .collect::<Vec<_>>()
            .join(" ");
        sc.line(format!("configure_options=({opts})"));
        sc.line("key=$(printf '%s\\n' \"$revision\" \"${configure_options[*]}\" \"$(uname -r)\" | sha256sum | cut -d' ' -f1)");
        sc.line(format!(
            "if [ -f {pkgs}/.build-key ] && [ \"$(cat {pkgs}/.build-key)\" = \"$key\" ]; then"
        ));
        sc.line("    log \"packages are current for $revision; skipping the build\"");
        sc.line("    exit 0");
        sc.line("fi");
        sc.line("cd \"$src\"");
        sc.cmd(&s(&["sh", "autogen.sh"]));
        sc.commands
            .push(format!("./configure {opts}").trim_end().to_string());
        sc.line("./configure \"${configure_options[@]}\"");
        sc.line("if command -v rpmbuild >/dev/null; then target=rpms; else target=debs; fi");
        sc.commands.push("make rpms|debs".into());
        sc.line("make \"-j$(nproc)\" \"$target\"");
        sc.line(format!(
            "find . -maxdepth 2 \\( -name '*.rpm' -o -name '*.deb' \\) -exec cp {{}} {pkgs}/ \\;"
        ));
        sc.line(format!("printf '%s\\n' \"$key\" >{pkgs}/.build-key"));
    }

    fn install(&self, node: &Node, sc: &mut Script) {
        let pkgs = format!("{GUEST_SHARED}/packages");
        let server = node.is_server();
        match &self.t.lustre {
            LustreSource::Preinstalled => sc.line("# Lustre comes with the image: only check it."),
            LustreSource::Packages {
                origin: PackageOrigin::Repository(url),
            } => {
                let (rpm, deb) = package_names(server, self.t.backend);
                sc.line("if command -v dnf >/dev/null; then");
                sc.line(format!(
                    "    printf '[lustrekit]\\nname=Lustre (lustrekit)\\nbaseurl=%s\\ngpgcheck=0\\nenabled=1\\n' {} >/etc/yum.repos.d/lustrekit.repo",
                    quote(url)
                ));
                sc.line(format!("    dnf install -y {rpm}"));
                sc.line("else");
                sc.line(format!(
                    "    echo {} >/etc/apt/sources.list.d/lustrekit.list",
                    quote(&format!("deb [trusted=yes] {url} ./"))
                ));
                sc.line("    apt-get update");
                sc.line(format!(
                    "    DEBIAN_FRONTEND=noninteractive apt-get install -y {deb}"
                ));
                sc.line("fi");
                sc.commands
                    .push(format!("dnf install -y {rpm}  |  apt-get install -y {deb}"));
            }
            LustreSource::Build { .. } if self.host_build => {
                self.install_from_repository(node, &pkgs, sc);
            }
            LustreSource::Packages {
                origin: PackageOrigin::Folder(_),
            }
            | LustreSource::Build { .. } => {
                let (rpm_glob, deb_glob) = if server {
                    ("*.rpm", "*.deb")
                } else {
                    ("*client*.rpm", "*client*.deb")
                };
                sc.line(format!("shopt -s nullglob; rpms=({pkgs}/{rpm_glob}); debs=({pkgs}/{deb_glob}); shopt -u nullglob"));
                sc.line("if command -v dnf >/dev/null && ((${#rpms[@]})); then");
                sc.line("    dnf install -y \"${rpms[@]}\"");
                sc.line("elif command -v apt-get >/dev/null && ((${#debs[@]})); then");
                sc.line("    DEBIAN_FRONTEND=noninteractive apt-get install -y \"${debs[@]}\"");
                sc.line("else");
                sc.line(format!(
                    "    fail \"no Lustre packages for this node's package manager in {pkgs}\""
                ));
                sc.line("fi");
                sc.commands.push(format!(
                    "dnf install -y {pkgs}/{rpm_glob}  |  apt-get install -y {pkgs}/{deb_glob}"
                ));
            }
            LustreSource::Tarball { .. } => {
                sc.cmd(&s(&[
                    "tar",
                    "-xzf",
                    &format!("{pkgs}/lustre-install.tar.gz"),
                    "-C",
                    "/",
                ]));
                sc.cmd(&s(&["depmod", "-a"]));
                sc.cmd(&s(&["ldconfig"]));
            }
        }
        // Routers only forward LNet traffic; everything else needs the Lustre client too.
        let router_only = node.roles.iter().all(|r| *r == Role::Router);
        let (mut tools, mut modules) = if router_only {
            (vec!["lnetctl"], vec!["lnet"])
        } else {
            (vec!["lctl", "lfs", "lnetctl"], vec!["lnet", "lustre"])
        };
        if server {
            tools.insert(0, "mkfs.lustre");
            match self.t.backend {
                Backend::Zfs => {
                    tools.extend(["zpool", "zfs"]);
                    modules.extend(["zfs", "osd_zfs"]);
                }
                Backend::Ldiskfs => {
                    tools.push("tunefs.lustre");
                    modules.push("osd_ldiskfs");
                }
            }
        }
        self.lnet_module_options(node, sc);
        sc.line("missing=()");
        sc.line(format!("tools=({})", tools.join(" ")));
        sc.line(format!("modules=({})", modules.join(" ")));
        sc.line("for tool in \"${tools[@]}\"; do");
        sc.line("    command -v \"$tool\" >/dev/null || missing+=(\"command $tool\")");
        sc.line("done");
        sc.line("for module in \"${modules[@]}\"; do");
        sc.line("    modprobe \"$module\" 2>/dev/null || missing+=(\"kernel module $module for kernel $(uname -r)\")");
        sc.line("done");
        sc.commands.push(format!(
            "check: {} and modprobe {}",
            tools.join(", "),
            modules.join(", ")
        ));
        sc.line("if ((${#missing[@]})); then");
        sc.line(format!(
            "    printf 'lustrekit: node %s: Lustre is not usable here (%s): missing %s. Provide it with spec.lustre (source: packages, tarball or build) or use an image with Lustre preinstalled.\\n' \"$NODE\" {} \"$(IFS=,; echo \"${{missing[*]}}\")\" >&2",
            quote(&describe_source(&self.t.lustre, self.host_build))
        ));
        sc.line(format!("    exit {EXIT_LUSTRE_MISSING}"));
        sc.line("fi");
        // After the check: zgenhostid comes with ZFS.
        if server && self.t.backend == Backend::Zfs {
            sc.line("# Clones of one image share no hostid; ZFS multihost needs a unique one.");
            sc.cmd_unless("[ -e /etc/hostid ]", &s(&["zgenhostid"]));
        }
    }

    /// Installs from the apt repository the host build put in the shared folder (the built
    /// packages and all their dependencies: no network needed). Packages built for another
    /// kernel are refused by name; a failed install is purged so nothing is half-installed.
    fn install_from_repository(&self, node: &Node, pkgs: &str, sc: &mut Script) {
        let mut wanted = vec!["lustre-utils", "\"lustre-modules-$kver\""];
        if node.is_server() && self.t.backend == Backend::Zfs {
            wanted.extend([
                "lustre-osd-zfs-mount",
                "\"zfs-modules-$kver\"",
                "zfsutils-linux",
            ]);
        }
        sc.line("kver=$(uname -r)");
        sc.line(format!(
            "[ -f {pkgs}/Packages ] || fail \"no apt repository in {pkgs} (the host build did not run?)\""
        ));
        sc.line(format!(
            "built_for=$(sed -n 's/^Package: lustre-modules-//p' {pkgs}/Packages | paste -sd' ' -)"
        ));
        sc.line("case \" $built_for \" in");
        sc.line("    *\" $kver \"*) ;;");
        sc.line("    *) fail \"the Lustre packages were built for kernel(s) ${built_for:-none}, but this node runs $kver: rebuild for the image's kernel (lustrekit build)\" ;;");
        sc.line("esac");
        sc.line("list=/etc/apt/sources.list.d/lustrekit.list");
        sc.line(format!(
            "echo 'deb [trusted=yes] file:{pkgs} ./' >\"$list\""
        ));
        sc.line("# Only the cluster's repository: nodes need no network to install.");
        sc.line("apt_local=(-o Dir::Etc::sourcelist=\"$list\" -o Dir::Etc::sourceparts=- -o APT::Get::List-Cleanup=0)");
        sc.line("apt-get \"${apt_local[@]}\" -qq update");
        sc.line(format!("wanted=({})", wanted.join(" ")));
        sc.commands.push(format!(
            "apt-get install (repository {pkgs}) {}",
            wanted.join(" ")
        ));
        sc.line("if ! DEBIAN_FRONTEND=noninteractive apt-get \"${apt_local[@]}\" install -y -qq --no-install-recommends \"${wanted[@]}\" >/tmp/lustrekit-install.log 2>&1; then");
        sc.line("    tail -n 20 /tmp/lustrekit-install.log >&2");
        sc.line("    # Leave nothing half-installed: remove whatever of ours got in.");
        sc.line("    mapfile -t ours < <(dpkg-query -W -f='${Package}\\n' 'lustre-*' 'zfs-modules-*' 2>/dev/null || true)");
        sc.line(
            "    if ((${#ours[@]})); then dpkg --purge \"${ours[@]}\" >/dev/null 2>&1 || true; fi",
        );
        sc.line(format!(
            "    fail \"apt-get install from {pkgs} failed (see above)\""
        ));
        sc.line("fi");
        sc.line("depmod -a");
    }

    /// LNet's module options, written before anything loads LNet: loading `lustre` (ptlrpc)
    /// configures LNet from the `networks` option, so it must name this node's networks (else
    /// LNet comes up with `tcp` on eth0, a stray NID on nodes whose first network is another).
    /// Routers also get buffers that fit their memory.
    fn lnet_module_options(&self, node: &Node, sc: &mut Script) {
        let nets: Vec<String> = node
            .networks
            .iter()
            .enumerate()
            .map(|(i, n)| format!("{n}(eth{i})"))
            .collect();
        let mut opts = format!("options lnet networks=\"{}\"", nets.join(","));
        if node.has(Role::Router) {
            opts.push(' ');
            opts.push_str(ROUTER_BUFFERS);
        }
        sc.commands
            .push(format!("/etc/modprobe.d/lustrekit-lnet.conf: {opts}"));
        sc.line(format!(
            "printf '%s\\n' {} >/etc/modprobe.d/lustrekit-lnet.conf",
            quote(&opts)
        ));
    }

    fn lnet(&self, node: &Node, sc: &mut Script) {
        sc.helper(HELPER_NID_PRESENT);
        sc.cmd(&s(&["modprobe", "lnet"]));
        sc.cmd(&cmd::lnet_configure());
        for (i, net) in node.networks.iter().enumerate() {
            let Some(ip) = self.a.address(&node.name, net) else {
                continue;
            };
            let nid = format!("{ip}@{net}");
            sc.cmd_unless(
                &format!("nid_configured {}", quote(&nid)),
                &cmd::lnet_net_add(net, &format!("eth{i}")),
            );
        }
        for r in self.a.routes(&node.name) {
            sc.cmd_unless(
                &format!("route_configured {} {}", quote(&r.net), quote(&r.gateway)),
                &cmd::lnet_route_add(&r.net, &r.gateway, r.hops),
            );
        }
        if node.has(Role::Router) {
            sc.cmd(&cmd::lnet_enable_routing());
        }
        sc.line("# Save the configuration and enable the lnet service, which restores it at boot");
        sc.line("# (a fenced node that boots again comes back with its NIDs and routes).");
        sc.commands
            .push("lnetctl export --backup > /etc/lnet.conf; systemctl enable lnet".into());
        sc.line("lnetctl export --backup >/etc/lnet.conf");
        sc.line("if [ -e /lib/systemd/system/lnet.service ] || [ -e /usr/lib/systemd/system/lnet.service ]; then");
        sc.line("    systemctl enable lnet.service >/dev/null 2>&1 || log 'could not enable lnet.service'");
        sc.line("fi");
    }

    /// Peers a node must reach: clients and servers reach the MGS and every server NID they
    /// use; MDS nodes reach OSS nodes. Routers check their neighbours.
    /// (peer node, NID to ping).
    fn peers(&self, node: &Node) -> Vec<(String, String)> {
        let t = self.t;
        let mut peers: Vec<&str> = Vec::new();
        let servers: Vec<&str> = t.targets().flat_map(|x| x.service_nodes()).collect();
        if node.has(Role::Client) {
            peers.extend(&servers);
        }
        if node.is_server() {
            peers.extend(t.mgt.service_nodes());
        }
        if node.has(Role::Mds) {
            peers.extend(t.osts.iter().flat_map(|x| x.service_nodes()));
        }
        if node.has(Role::Router) {
            peers.extend(
                t.routes
                    .iter()
                    .filter(|r| r.gateway != node.name)
                    .map(|r| r.gateway.as_str()),
            );
        }
        let mut out = Vec::new();
        for p in peers {
            if p == node.name || out.iter().any(|(n, _): &(String, String)| n == p) {
                continue;
            }
            // Ping the first NID of the peer on a shared network, else its first NID (routed).
            let Some(peer) = t.node(p) else { continue };
            let net = peer
                .networks
                .iter()
                .find(|n| node.networks.contains(n))
                .or(peer.networks.first());
            if let Some(ip) = net.and_then(|n| self.a.address(p, n)) {
                out.push((
                    p.to_string(),
                    format!("{ip}@{}", net.map(String::as_str).unwrap_or_default()),
                ));
            }
        }
        out
    }

    fn lnet_check(&self, node: &Node, sc: &mut Script) {
        let peers = self.peers(node);
        if peers.is_empty() {
            sc.line("# No LNet peers to check from this node.");
            return;
        }
        sc.helper(HELPER_WAIT_FOR);
        sc.line("ping_nid() { lnetctl ping \"$1\" >/dev/null 2>&1; }");
        for (peer, nid) in peers {
            let ping = join(&cmd::lnet_ping(&nid));
            sc.commands.push(ping.clone());
            // Routers start forwarding ~110 s after routing is enabled: wait longer across them.
            let routed = self
                .t
                .node(&peer)
                .is_some_and(|p| !p.networks.iter().any(|n| node.networks.contains(n)));
            let limit = if routed {
                LNET_ROUTED_PING_SECS
            } else {
                LNET_PING_SECS
            };
            sc.line(format!(
                "wait_for {limit} {} ping_nid {}",
                quote(&format!(
                    "an LNet ping from {} to {peer} ({nid}) to succeed",
                    node.name
                )),
                quote(&nid)
            ));
        }
    }

    fn format(&self, node: &Node, sc: &mut Script) {
        let targets: Vec<&Target> = self.t.targets().filter(|x| x.node == node.name).collect();
        for target in targets {
            let name = self.target(target);
            let backing = self.backing(target);
            let failover = match (&target.failover, target.failover_mode) {
                (None, _) => Failover::None,
                (Some(_), FailoverMode::Servicenode) => Failover::Servicenode(
                    target
                        .service_nodes()
                        .map(|n| self.a.joined_nids(self.t, n))
                        .collect(),
                ),
                (Some(f), FailoverMode::Failnode) => {
                    Failover::Failnode(vec![self.a.joined_nids(self.t, f)])
                }
            };
            let mkfs = MkfsLustre {
                target: &name,
                mgs_nodes: if target.kind == TargetKind::Mgt {
                    vec![]
                } else {
                    self.mgs_nodes.clone()
                },
                failover,
                backing: backing.clone(),
            };
            sc.line(format!(
                "# {} ({} on {})",
                name.label(),
                target.kind.as_str().to_uppercase(),
                name.device()
            ));
            sc.line(format!(
                "[ -e {dev} ] || {{ udevadm settle; [ -e {dev} ]; }} || fail {}",
                quote(&format!(
                    "disk {} for {} is missing",
                    name.device(),
                    name.label()
                )),
                dev = name.device()
            ));
            let guard = match self.t.backend {
                Backend::Zfs => {
                    format!(
                        "{{ zpool list -H -o name {pool} >/dev/null 2>&1 || zpool import {pool} >/dev/null 2>&1; }} && [ \"$(zfs get -H -o value lustre:svname {ds} 2>/dev/null)\" = {label} ]",
                        pool = name.zpool(),
                        ds = name.zfs_dataset(),
                        label = quote(&name.label())
                    )
                }
                Backend::Ldiskfs => format!(
                    "grep -qE '^Target: +{}$' <<<\"$(tunefs.lustre --dryrun {} 2>/dev/null)\"",
                    name.label(),
                    name.device()
                ),
            };
            sc.cmd_unless(&guard, &mkfs.argv());
        }
    }

    fn mount_targets(&self, node: &Node, kind: TargetKind, sc: &mut Script) {
        for target in self.primary_targets(&node.name, kind) {
            let name = self.target(target);
            if self.t.backend == Backend::Zfs {
                sc.helper(HELPER_ENSURE_POOL);
                sc.line(format!("ensure_pool {}", name.zpool()));
            }
            self.mount_one(target, sc);
        }
    }

    /// Mounts one target whose pool (ZFS) is imported, unless it is mounted already.
    fn mount_one(&self, target: &Target, sc: &mut Script) {
        let mp = self.target(target).mount_point();
        sc.line(format!("mkdir -p {mp}"));
        sc.cmd_unless(
            &format!("mountpoint -q {mp}"),
            &cmd::mount_target(&self.backing(target), &mp),
        );
    }

    fn wait_ost(&self, node: &Node, sc: &mut Script) {
        sc.helper(HELPER_WAIT_FOR);
        sc.line("# Mounting a client before the MDTs reach every OST stalls it for ~25 s.");
        sc.line("osp_ready() {");
        sc.line(
            "    grep -q 'current_state: FULL' <<<\"$(lctl get_param -n \"osp.$1.state\" 2>/dev/null)\" &&",
        );
        sc.line("        [ \"$(lctl get_param -n \"osp.$1.prealloc_status\" 2>/dev/null)\" = 0 ]");
        sc.line("}");
        for mdt in self.primary_targets(&node.name, TargetKind::Mdt) {
            let mdt_name = self.target(mdt);
            for ost in &self.t.osts {
                let dev = cmd::osp_device(&self.target(ost), &mdt_name);
                sc.commands.push(format!(
                    "wait for osp.{dev}.state FULL and prealloc_status 0"
                ));
                sc.line(format!(
                    "wait_for {OSP_TIMEOUT_SECS} {} osp_ready {dev}",
                    quote(&format!("{dev} to connect"))
                ));
            }
        }
    }

    fn mount_client(&self, node: &Node, sc: &mut Script) {
        for c in self.t.clients.iter().filter(|c| c.node == node.name) {
            sc.line(format!("mkdir -p {}", quote(&c.mount_point)));
            sc.cmd_unless(
                &format!("mountpoint -q {}", quote(&c.mount_point)),
                &cmd::mount_client(&self.mgs_nodes, &self.t.fsname, &c.mount_point),
            );
        }
    }

    fn verify_server(&self, node: &Node, sc: &mut Script) {
        sc.line(
            "# Captured first: `lctl dl | grep -q` fails under pipefail when lctl gets SIGPIPE.",
        );
        sc.line("devices=$(lctl dl)");
        for target in self.t.targets().filter(|x| x.node == node.name) {
            let label = self.target(target).label();
            let kind = match target.kind {
                TargetKind::Mgt => "mgs",
                TargetKind::Mdt => "mdt",
                TargetKind::Ost => "obdfilter",
            };
            sc.commands
                .push(format!("lctl dl | grep ' UP {kind} {label} '"));
            sc.line(format!(
                "grep -qE '^ *[0-9]+ UP {kind} {label} ' <<<\"$devices\" || fail {}",
                quote(&format!("{label} is not UP in lctl dl"))
            ));
        }
        sc.commands.push("lctl get_param -n health_check".into());
        sc.line("health=$(lctl get_param -n health_check)");
        sc.line("[ \"$health\" = healthy ] || fail \"health_check says: $health\"");
        sc.line("log \"result: targets UP in lctl dl, health_check $health\"");
    }

    fn verify_client(&self, node: &Node, sc: &mut Script) {
        let osts = self.t.osts.len();
        let mdts = self.t.mdts.len();
        for c in self.t.clients.iter().filter(|c| c.node == node.name) {
            let mp = quote(&c.mount_point);
            sc.commands.push(format!(
                "lfs df {mp}  (expect {mdts} MDT and {osts} OST lines)"
            ));
            sc.line(format!("df_out=$(lfs df {mp})"));
            sc.line(format!(
                "[ \"$(grep -c '\\[OST:' <<<\"$df_out\")\" -eq {osts} ] || fail \"lfs df {} does not list all {osts} OSTs: $df_out\"",
                c.mount_point
            ));
            sc.line(format!(
                "[ \"$(grep -c '\\[MDT:' <<<\"$df_out\")\" -eq {mdts} ] || fail \"lfs df {} does not list all {mdts} MDTs: $df_out\"",
                c.mount_point
            ));
            sc.commands
                .push("write 16 MiB, drop caches, read back and compare sha256".into());
            sc.line(format!("probe={}/.lustrekit-verify-$NODE", c.mount_point));
            sc.line("dd if=/dev/urandom of=\"$probe\" bs=1M count=16 status=none");
            sc.line("written=$(sha256sum <\"$probe\")");
            sc.line("sync && echo 3 >/proc/sys/vm/drop_caches");
            sc.line("read_back=$(sha256sum <\"$probe\")");
            sc.line("rm -f \"$probe\"");
            sc.line("[ \"$written\" = \"$read_back\" ] || fail \"checksum mismatch on $probe\"");
            sc.line(format!(
                "log {}",
                quote(&format!("result: {} lists {mdts} MDT(s) and {osts} OST(s); 16 MiB read back with the same sha256", c.mount_point))
            ));
        }
    }

    fn umount_client(&self, node: &Node, sc: &mut Script) {
        for c in self.t.clients.iter().filter(|c| c.node == node.name) {
            let mp = quote(&c.mount_point);
            sc.commands.push(format!("umount {mp}"));
            sc.line(format!("if mountpoint -q {mp}; then umount {mp}; fi"));
        }
    }

    fn umount_targets(&self, node: &Node, kind: TargetKind, sc: &mut Script) {
        for target in self.served_targets(&node.name, kind) {
            self.release(target, sc);
        }
    }

    /// Unmounts one target and, on ZFS, exports its pool (teardown and failover).
    fn release(&self, target: &Target, sc: &mut Script) {
        let name = self.target(target);
        let mp = name.mount_point();
        sc.commands.push(format!("umount {mp}"));
        sc.line(format!("if mountpoint -q {mp}; then umount {mp}; fi"));
        if self.t.backend == Backend::Zfs {
            let pool = name.zpool();
            sc.commands.push(format!("zpool export {pool}"));
            sc.line(format!(
                "if zpool list -H -o name {pool} >/dev/null 2>&1; then zpool export {pool}; fi"
            ));
        }
    }

    /// `$1` = `--force` after the old owner was fenced (powered off): ZFS multihost then
    /// needs `zpool import -f`, which waits for its activity check.
    fn takeover(&self, target: &Target, sc: &mut Script) {
        let name = self.target(target);
        sc.line("force=${1:-}");
        sc.line("# After a reboot (a fenced node booted again) nothing of Lustre is loaded yet.");
        sc.line("modprobe lustre");
        if self.t.backend == Backend::Zfs {
            let pool = name.zpool();
            let dev = name.device();
            sc.line(
                "# A standby that booted before the pool was created has a stale partition table.",
            );
            sc.line(format!("blockdev --rereadpt {dev} || true"));
            sc.line("udevadm settle");
            sc.commands.push(format!("zpool import [-f] {pool}"));
            sc.line(format!(
                "if ! zpool list -H -o name {pool} >/dev/null 2>&1; then"
            ));
            sc.line("    if [ \"$force\" = --force ]; then");
            sc.line(format!("        zpool import -f {pool}"));
            sc.line("    else");
            sc.line(format!("        zpool import {pool}"));
            sc.line("    fi");
            sc.line("fi");
        }
        self.mount_one(target, sc);
        let param = match target.kind {
            TargetKind::Mgt => None,
            TargetKind::Mdt => Some(format!("mdt.{}.recovery_status", name.label())),
            TargetKind::Ost => Some(format!("obdfilter.{}.recovery_status", name.label())),
        };
        if let Some(param) = param {
            sc.helper(HELPER_WAIT_FOR);
            sc.line("recovered() {");
            sc.line("    grep -qE '^status: (COMPLETE|INACTIVE)' <<<\"$(lctl get_param -n \"$1\" 2>/dev/null)\"");
            sc.line("}");
            sc.commands.push(format!("wait for {param}: COMPLETE"));
            sc.line(format!(
                "wait_for {RECOVERY_TIMEOUT_SECS} {} recovered {param}",
                quote(&format!("recovery of {}", name.label()))
            ));
        }
    }

    fn unload(&self, sc: &mut Script) {
        sc.line("if ! command -v lustre_rmmod >/dev/null; then");
        sc.line("    log 'no Lustre installed; nothing to unload'");
        sc.line("    exit 0");
        sc.line("fi");
        sc.line("if grep -q '^lnet ' /proc/modules; then lnetctl lnet unconfigure || true; fi");
        sc.cmd(&s(&["lustre_rmmod"]));
    }
}

/// Package names to install from a repository, for EL (dnf) and Debian (apt) guests.
fn package_names(server: bool, backend: Backend) -> (String, String) {
    if !server {
        return (
            "lustre-client kmod-lustre-client".into(),
            "lustre-client-utils \"lustre-client-modules-$(uname -r)\"".into(),
        );
    }
    let osd = match backend {
        Backend::Zfs => "kmod-lustre-osd-zfs lustre-osd-zfs-mount",
        Backend::Ldiskfs => "kmod-lustre-osd-ldiskfs lustre-osd-ldiskfs-mount",
    };
    (
        format!("lustre kmod-lustre {osd}"),
        "lustre-server-utils \"lustre-server-modules-$(uname -r)\"".into(),
    )
}
