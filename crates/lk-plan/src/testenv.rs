//! What `lustrekit test` needs besides `cfg/local.sh`: the suites it knows and what each needs
//! of a cluster, and the two scripts it runs: `prep.sh` on every node (lustre-tests installed,
//! names resolved, passwordless root ssh with the cluster's own key, pdsh over ssh, the
//! framework's config in place) and `run.sh` on the runner (auster with the suite).
//!
//! Everything is derived from a saved [`Plan`], so clusters brought up before `test` existed
//! can be tested too.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::Ipv4Addr;

use lk_lustre::shell::quote;

use crate::build::GUEST_SHARED;
use crate::Plan;

/// Where lustre-tests installs the framework (make install's pkglibexec).
pub const TESTS_DIR: &str = "/usr/lib/lustre/tests";
/// The framework's config name: `cfg/lustrekit.sh`, a copy of the plan's `cfg/local.sh`.
pub const CFG_NAME: &str = "lustrekit";
/// Shared-folder directory of the test scripts and the cluster's ssh key.
pub const TEST_DIR: &str = "test";

/// The Lustre test suites `lustrekit test` runs, each with what it needs of the cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Suite {
    Sanity,
    Sanityn,
    SanityLnet,
    SanityQuota,
    SanityPfl,
    RecoverySmall,
    ReplaySingle,
    LnetSelftest,
}

impl Suite {
    pub const ALL: [Suite; 8] = [
        Suite::Sanity,
        Suite::Sanityn,
        Suite::SanityLnet,
        Suite::SanityQuota,
        Suite::SanityPfl,
        Suite::RecoverySmall,
        Suite::ReplaySingle,
        Suite::LnetSelftest,
    ];

    /// The suite's name: its script is `<name>.sh` in [`TESTS_DIR`].
    pub fn as_str(self) -> &'static str {
        match self {
            Suite::Sanity => "sanity",
            Suite::Sanityn => "sanityn",
            Suite::SanityLnet => "sanity-lnet",
            Suite::SanityQuota => "sanity-quota",
            Suite::SanityPfl => "sanity-pfl",
            Suite::RecoverySmall => "recovery-small",
            Suite::ReplaySingle => "replay-single",
            Suite::LnetSelftest => "lnet-selftest",
        }
    }

    /// What running it does to the cluster, for the user to know before it starts.
    pub fn effect(self) -> &'static str {
        match self {
            Suite::Sanity | Suite::Sanityn | Suite::SanityPfl => "client I/O and metadata tests",
            Suite::SanityLnet => {
                "unmounts the whole filesystem and unloads LNet on the runner, reconfigures it, then mounts everything again"
            }
            Suite::SanityQuota => "enables quota enforcement on the filesystem",
            Suite::RecoverySmall | Suite::ReplaySingle => {
                "stops and restarts servers (on their failover partners where the topology has them)"
            }
            Suite::LnetSelftest => "LNet self-test between the clients and the servers",
        }
    }
}

impl std::fmt::Display for Suite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Suite {
    type Err = TestEnvError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Suite::ALL
            .into_iter()
            .find(|x| x.as_str() == s)
            .ok_or_else(|| TestEnvError::UnknownSuite {
                name: s.to_string(),
                known: Suite::ALL
                    .iter()
                    .map(|x| x.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TestEnvError {
    #[error("unknown test suite `{name}`; lustrekit runs: {known}")]
    UnknownSuite { name: String, known: String },
    #[error("suite {suite} needs a client node to run on; cluster {cluster} has none (add a node with role client and a clients entry)")]
    NoClient { suite: Suite, cluster: String },
    #[error("suite {suite} runs on {runner} and reaches every node over ssh, but {node} shares no network with {runner} (LNet routers forward LNet, not IP): test a topology whose first client sees every node")]
    Unreachable {
        suite: Suite,
        runner: String,
        node: String,
    },
    #[error("subtest list `{list}` for --{flag}: `{item}` is not a subtest name (digits, then letters, e.g. 0a, 17g, 230)")]
    BadSubtest {
        flag: &'static str,
        list: String,
        item: String,
    },
}

impl TestEnvError {
    /// A command-line argument the user got wrong (as opposed to a cluster that does not fit).
    pub fn is_usage(&self) -> bool {
        matches!(
            self,
            TestEnvError::UnknownSuite { .. } | TestEnvError::BadSubtest { .. }
        )
    }
}

/// A suite run as asked on the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SuiteRequest {
    pub suite: Suite,
    pub only: Vec<String>,
    pub except: Vec<String>,
}

impl SuiteRequest {
    /// Checks `--only` / `--except` lists (comma or space separated subtest numbers).
    pub fn new(suite: Suite, only: &str, except: &str) -> Result<SuiteRequest, TestEnvError> {
        Ok(SuiteRequest {
            suite,
            only: subtests("only", only)?,
            except: subtests("except", except)?,
        })
    }
}

fn subtests(flag: &'static str, list: &str) -> Result<Vec<String>, TestEnvError> {
    let items: Vec<String> = list
        .split([',', ' '])
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    for item in &items {
        let digits = item.chars().take_while(char::is_ascii_digit).count();
        let ok = digits > 0
            && item.len() <= 16
            && item[digits..].chars().all(|c| c.is_ascii_alphabetic());
        if !ok {
            return Err(TestEnvError::BadSubtest {
                flag,
                list: list.to_string(),
                item: item.clone(),
            });
        }
    }
    Ok(items)
}

/// Who runs the suite and how every node is named for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestEnv {
    /// The first client: auster runs there.
    pub runner: String,
    /// Every node's address as the runner reaches it, by node name.
    pub hosts: BTreeMap<String, Ipv4Addr>,
}

/// Picks the runner and each node's address on a network it shares with the runner; refuses
/// a cluster the suite cannot run on, before anything runs.
pub fn environment(plan: &Plan, suite: Suite) -> Result<TestEnv, TestEnvError> {
    let runner = plan
        .nodes
        .iter()
        .find(|n| n.roles.iter().any(|r| r == "client"))
        .ok_or_else(|| TestEnvError::NoClient {
            suite,
            cluster: plan.cluster.clone(),
        })?;
    let runner_nets: Vec<&str> = runner.nids.iter().filter_map(|n| nid_net(n)).collect();
    let mut hosts = BTreeMap::new();
    for node in &plan.nodes {
        let addr = node
            .nids
            .iter()
            .filter(|n| nid_net(n).is_some_and(|net| runner_nets.contains(&net)))
            .find_map(|n| nid_addr(n));
        match addr {
            Some(a) => {
                hosts.insert(node.node.clone(), a);
            }
            None => {
                return Err(TestEnvError::Unreachable {
                    suite,
                    runner: runner.node.clone(),
                    node: node.node.clone(),
                })
            }
        }
    }
    Ok(TestEnv {
        runner: runner.node.clone(),
        hosts,
    })
}

fn nid_addr(nid: &str) -> Option<Ipv4Addr> {
    nid.split_once('@')?.0.parse().ok()
}

fn nid_net(nid: &str) -> Option<&str> {
    nid.split_once('@').map(|(_, net)| net)
}

/// `prep.sh NODE`: makes a node ready for the framework. Idempotent: `test` runs it every
/// time, so a node that rebooted (failover) is prepared again.
pub fn prep_script(plan: &Plan, env: &TestEnv) -> String {
    let shared = GUEST_SHARED;
    let mut s = format!(
        "#!/bin/bash\n# Generated by lustrekit: cluster {cluster}. Prepares a node for Lustre's test framework:\n\
         # lustre-tests installed, every node's name resolved, passwordless root ssh with this\n\
         # cluster's own key, pdsh over ssh, and cfg/{CFG_NAME}.sh in place.\n\
         set -euo pipefail\nNODE=${{1:?usage: prep.sh NODE}}\n\
         log() {{ printf '[%s test-prep] %s\\n' \"$NODE\" \"$*\"; }}\n\
         fail() {{ printf 'lustrekit: node %s: %s\\n' \"$NODE\" \"$*\" >&2; exit 1; }}\n\n",
        cluster = plan.cluster,
    );
    s.push_str(&install_tests(shared));
    s.push_str(
        "\n# Names as the runner reaches them; the block is replaced, never appended twice.\n",
    );
    s.push_str("hostname \"$NODE\"\necho \"$NODE\" >/etc/hostname\n");
    s.push_str("sed -i '/# lustrekit-test$/d' /etc/hosts\n{\n");
    for (node, addr) in &env.hosts {
        let _ = writeln!(
            s,
            "    echo {}",
            quote(&format!("{addr} {node} # lustrekit-test"))
        );
    }
    s.push_str("} >>/etc/hosts\n");
    s.push_str(&users());
    if plan.backend == "zfs" {
        s.push_str(&standby_disks(&plan.fsname));
    }
    s.push_str(&ssh_setup(shared, env));
    let _ = write!(
        s,
        "\n# The framework reads cfg/$NAME.sh on every node it reaches.\n\
         install -m 0644 {shared}/cfg/local.sh {tests}/cfg/{CFG_NAME}.sh\n\
         cat >>{tests}/cfg/{CFG_NAME}.sh <<'EOF'\n\
         # The framework's own defaults (cfg/local.sh) for everything lustrekit does not set.\n\
         . \"${{LUSTRE:-/usr/lib/lustre}}/tests/cfg/local.sh\"\n\
         EOF\n\
         mkdir -p {shared}/shared\n\
         log ready\n",
        tests = TESTS_DIR,
    );
    s
}

fn install_tests(shared: &str) -> String {
    format!(
        "# lustre-tests: in the image with Lustre, or from the cluster's own repository.\n\
         status=$(dpkg-query -W -f='${{Status}}' lustre-tests 2>/dev/null || true)\n\
         if [ \"$status\" != \"install ok installed\" ]; then\n    \
         [ -f {shared}/packages/Packages ] || fail \"lustre-tests is not installed and the cluster has no package repository: rebuild the image with Lustre (lustrekit image build --lustre TOPOLOGY) or use source: build\"\n    \
         list=/etc/apt/sources.list.d/lustrekit.list\n    \
         echo 'deb [trusted=yes] file:{shared}/packages ./' >\"$list\"\n    \
         apt_local=(-o Dir::Etc::sourcelist=\"$list\" -o Dir::Etc::sourceparts=- -o APT::Get::List-Cleanup=0)\n    \
         apt-get \"${{apt_local[@]}}\" -qq update\n    \
         log 'installing lustre-tests from the cluster repository'\n    \
         if ! DEBIAN_FRONTEND=noninteractive apt-get \"${{apt_local[@]}}\" install -y -qq --no-install-recommends lustre-tests >/tmp/lustrekit-tests-install.log 2>&1; then\n        \
         tail -n 20 /tmp/lustrekit-tests-install.log >&2\n        \
         fail 'apt-get install lustre-tests failed (see above)'\n    \
         fi\n\
         fi\n",
    )
}

/// The unprivileged users the suites run as: RUNAS_ID 500 (sanity), quota_usr and quota_2usr
/// (sanity-quota), with the same ids on every node.
fn users() -> String {
    "\n# The framework's test users, with the same ids on every node.\n\
     for u in lustre-runas:500 quota_usr:60000 quota_2usr:60001; do\n    \
     name=${u%%:*} id=${u##*:}\n    \
     getent group \"$id\" >/dev/null || groupadd -g \"$id\" \"$name\"\n    \
     getent passwd \"$id\" >/dev/null || useradd -u \"$id\" -g \"$id\" -M -N -s /bin/bash \"$name\"\n\
     done\n"
        .to_string()
}

/// The framework's `fail FACET` imports the facet's pool on its failover partner with
/// `zpool import -d /dev/disk/by-id`. A partner that booted before the primary created the
/// pool has not seen the shared disk's partitions, so the import finds nothing: every node
/// re-reads the partition table of each target disk it has. A disk in use (its pool imported
/// here) refuses, which is fine: this node already sees it.
fn standby_disks(fsname: &str) -> String {
    format!(
        "\n# Target disks shared with a failover partner: their partitions, as the primary made them.\n\
         for dev in /dev/disk/by-id/virtio-{fs}-*; do\n    \
         case $dev in *-part[0-9]*) continue ;; esac\n    \
         [ -e \"$dev\" ] || continue\n    \
         blockdev --rereadpt \"$dev\" 2>/dev/null || true\n\
         done\n\
         udevadm settle || true\n",
        fs = fsname,
    )
}

fn ssh_setup(shared: &str, env: &TestEnv) -> String {
    let names: Vec<&str> = env.hosts.keys().map(String::as_str).collect();
    format!(
        "\n# Host keys: clones of one image share them; each node gets its own, once.\n\
         if [ ! -f /etc/ssh/.lustrekit-host-keys ]; then\n    \
         rm -f /etc/ssh/ssh_host_*\n    ssh-keygen -A >/dev/null\n    touch /etc/ssh/.lustrekit-host-keys\n\
         fi\n\
         # Root logs in between the cluster's nodes with the cluster's key (made on the host for\n\
         # this cluster only); the framework's pdsh and ssh never prompt.\n\
         install -d -m 0700 /root/.ssh\n\
         install -m 0600 {shared}/{TEST_DIR}/ssh/id_ed25519 /root/.ssh/id_ed25519\n\
         install -m 0644 {shared}/{TEST_DIR}/ssh/id_ed25519.pub /root/.ssh/id_ed25519.pub\n\
         key=$(cat /root/.ssh/id_ed25519.pub)\n\
         touch /root/.ssh/authorized_keys\n\
         if ! grep -qxF \"$key\" /root/.ssh/authorized_keys; then echo \"$key\" >>/root/.ssh/authorized_keys; fi\n\
         chmod 0600 /root/.ssh/authorized_keys\n\
         cat >/root/.ssh/config <<'EOF'\n\
         Host {hosts}\n    StrictHostKeyChecking no\n    UserKnownHostsFile /dev/null\n    LogLevel ERROR\n    ConnectTimeout 20\n\
         EOF\n\
         mkdir -p /etc/pdsh\necho ssh >/etc/pdsh/rcmd_default\n\
         systemctl enable --now ssh >/dev/null 2>&1 || fail 'cannot start sshd'\n\
         systemctl reload-or-restart ssh\n",
        hosts = names.join(" "),
    )
}

/// `run.sh LOGDIR`: auster with the suite on the runner; results.yml lands in LOGDIR (a
/// directory of the shared folder, so the host reads it directly).
pub fn run_script(plan: &Plan, req: &SuiteRequest) -> String {
    let mut suite_args = vec![req.suite.as_str().to_string()];
    if !req.only.is_empty() {
        suite_args.push("--only".into());
        suite_args.push(req.only.join(","));
    }
    if !req.except.is_empty() {
        suite_args.push("--except".into());
        suite_args.push(req.except.join(","));
    }
    let args: Vec<String> = suite_args.iter().map(|a| quote(a)).collect();
    format!(
        "#!/bin/bash\n# Generated by lustrekit: cluster {cluster}, suite {suite}. Runs Lustre's test framework\n\
         # (auster) with cfg/{CFG_NAME}.sh; every subtest's result goes to LOGDIR/results.yml.\n\
         set -uo pipefail\nLOGDIR=${{1:?usage: run.sh LOGDIR}}\nmkdir -p \"$LOGDIR\"\n\
         cd {tests} || {{ echo 'lustrekit: no {tests}: lustre-tests is not installed'; exit 1; }}\n\
         export NAME={CFG_NAME} PDSH_RCMD_TYPE=ssh\n\
         # -k: go on after a failed subtest. The framework finds the filesystem mounted and\n\
         # checks it against the config instead of formatting.\n\
         ./auster -f {CFG_NAME} -D \"$LOGDIR\" -k -v {args}\n\
         rc=$?\n\
         echo \"lustrekit: auster exit code $rc\"\n\
         exit $rc\n",
        cluster = plan.cluster,
        suite = req.suite,
        tests = TESTS_DIR,
        args = args.join(" "),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suites_parse_and_unknown_lists_known() {
        assert_eq!("sanity-lnet".parse::<Suite>(), Ok(Suite::SanityLnet));
        let e = "sanity-nope".parse::<Suite>().unwrap_err().to_string();
        assert!(
            e.contains("sanity-nope") && e.contains("recovery-small"),
            "{e}"
        );
    }

    #[test]
    fn subtest_lists_are_checked() {
        let r = SuiteRequest::new(Suite::Sanity, "0a,1 17g", "").unwrap();
        assert_eq!(r.only, ["0a", "1", "17g"]);
        let e = SuiteRequest::new(Suite::Sanity, "", "0a;rm -rf /")
            .unwrap_err()
            .to_string();
        assert!(e.contains("--except") && e.contains("0a;rm"), "{e}");
        assert!(SuiteRequest::new(Suite::Sanity, "a1", "").is_err());
    }
}
