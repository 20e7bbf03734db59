//! `build` and `install`: compile Lustre in the build VM, install it on every node, and check
//! that its tools and modules are usable.

use lk_lustre::shell::quote;
use lk_model::topology::{Backend, LustreSource, Node, PackageOrigin, Role, SourceOrigin};

use super::script::{s, Script};
use super::{describe_source, Ctx, EXIT_LUSTRE_MISSING};
use crate::build::GUEST_SHARED;

/// Routers forward through buffers sized by default for big servers (1 GiB of large buffers);
/// a small router VM cannot enable routing with them (ENOMEM). These fit a 512 MiB router.
const ROUTER_BUFFERS: &str =
    "tiny_router_buffers=512 small_router_buffers=1024 large_router_buffers=64";

/// A router forwards only `alive_router_check_interval + router_ping_timeout` after routing is
/// enabled (110 s by default), and a node checks each router it routes through every
/// `alive_router_check_interval` (60 s): minutes per hop when a cluster comes up. Pings between
/// VMs on one host answer in well under 10 s, and they are tiny.
pub(super) const ROUTER_CHECK_SECS: u32 = 10;

impl Ctx<'_> {
    pub(super) fn build(&self, sc: &mut Script) {
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

    pub(super) fn install(&self, node: &Node, sc: &mut Script) {
        let pkgs = format!("{GUEST_SHARED}/packages");
        let server = node.is_server();
        match &self.t.lustre {
            LustreSource::Preinstalled => sc.line("# Lustre comes with the image: only check it."),
            LustreSource::Packages {
                origin: PackageOrigin::Repository(url),
            } => self.install_from_url(url, server, sc),
            LustreSource::Build { .. } if self.host_build => {
                self.install_from_repository(node, &pkgs, sc);
            }
            LustreSource::Packages {
                origin: PackageOrigin::Folder(_),
            }
            | LustreSource::Build { .. } => {
                Self::install_from_folder(&pkgs, server, sc);
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
        self.check_installed(node, sc);
    }

    /// Checks that the tools and modules this node's roles need are there, so a missing
    /// Lustre fails here with a clear message and exit code rather than in a later stage.
    fn check_installed(&self, node: &Node, sc: &mut Script) {
        let server = node.is_server();
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

    /// Installs the named packages from a dnf or apt repository at `url`.
    fn install_from_url(&self, url: &str, server: bool, sc: &mut Script) {
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

    /// Installs the packages found in the shared folder (a host folder or a VM build).
    fn install_from_folder(pkgs: &str, server: bool, sc: &mut Script) {
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

    /// Installs from the apt repository the host build put in the shared folder (the built
    /// packages and all their dependencies: no network needed). Packages built for another
    /// kernel are refused by name; a failed install is purged so nothing is half-installed.
    pub(super) fn install_from_repository(&self, node: &Node, pkgs: &str, sc: &mut Script) {
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
        // Under TCG the ZFS services zfsutils-linux starts (import, mount, share, zed) and
        // dpkg's fsyncs take a third of the install; the next stages load what they need, and
        // the services are still enabled for the next boot.
        sc.line(
            "# Services are enabled but not started during the install (policy-rc.d), and dpkg",
        );
        sc.line("# skips its fsyncs (the root disk is this cluster's own and goes with it).");
        sc.line("policy=/usr/sbin/policy-rc.d; own_policy=0");
        sc.line("if [ ! -e \"$policy\" ]; then printf '#!/bin/sh\\nexit 101\\n' >\"$policy\"; chmod 755 \"$policy\"; own_policy=1; fi");
        sc.line("installed=0");
        sc.line("DEBIAN_FRONTEND=noninteractive apt-get \"${apt_local[@]}\" -o Dpkg::Options::=--force-unsafe-io install -y -qq --no-install-recommends \"${wanted[@]}\" >/tmp/lustrekit-install.log 2>&1 && installed=1");
        sc.line("if ((own_policy)); then rm -f \"$policy\"; fi");
        sc.line("if ((!installed)); then");
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
    pub(super) fn lnet_module_options(&self, node: &Node, sc: &mut Script) {
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
        if !self.a.routes(&node.name).is_empty() {
            opts.push(' ');
            opts.push_str(&format!(
                "alive_router_check_interval={ROUTER_CHECK_SECS} router_ping_timeout={ROUTER_CHECK_SECS}"
            ));
        }
        sc.commands
            .push(format!("/etc/modprobe.d/lustrekit-lnet.conf: {opts}"));
        sc.line(format!(
            "printf '%s\\n' {} >/etc/modprobe.d/lustrekit-lnet.conf",
            quote(&opts)
        ));
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
