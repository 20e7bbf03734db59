//! `lustrekit bench`: the benchmarks it runs, their parameters, and the scripts that run them
//! on the cluster's nodes. Each script prints only the tool's own output on stdout (what the
//! strict parsers of lk-results read); its progress goes to stderr. ior and mdtest (which the
//! user supplies) are in [`mpi`].

use std::fmt::Write as _;

use lk_lustre::shell::quote;

use crate::Plan;

mod mpi;
pub use mpi::{check_params, ior_script, ior_size_bytes, mdtest_script, ToolBin};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BenchKind {
    /// `lst` bulk read and write between the clients and the servers.
    LnetSelftest,
    /// obdfilter-survey on every OSS (the OSTs' backend rate, no network).
    ObdfilterSurvey,
    /// fio on the first client: streaming and small random I/O.
    Fio,
    /// ior under mpirun on the first client (the user supplies ior and openmpi).
    Ior,
    /// mdtest under mpirun on the first client (the user supplies mdtest and openmpi).
    Mdtest,
}

impl BenchKind {
    pub const ALL: [BenchKind; 5] = [
        BenchKind::LnetSelftest,
        BenchKind::ObdfilterSurvey,
        BenchKind::Fio,
        BenchKind::Ior,
        BenchKind::Mdtest,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            BenchKind::LnetSelftest => "lnet-selftest",
            BenchKind::ObdfilterSurvey => "obdfilter-survey",
            BenchKind::Fio => "fio",
            BenchKind::Ior => "ior",
            BenchKind::Mdtest => "mdtest",
        }
    }

    /// ior and mdtest: run under mpirun, with a binary the user supplies.
    pub fn is_mpi(self) -> bool {
        matches!(self, BenchKind::Ior | BenchKind::Mdtest)
    }
}

impl std::fmt::Display for BenchKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for BenchKind {
    type Err = BenchEnvError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        BenchKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| BenchEnvError::UnknownKind {
                name: s.into(),
                known: BenchKind::ALL.map(BenchKind::as_str).join(", "),
            })
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BenchEnvError {
    #[error("unknown benchmark `{name}`; lustrekit runs: {known}")]
    UnknownKind { name: String, known: String },
    #[error("{kind} needs {what}; cluster {cluster} has none")]
    Missing {
        kind: BenchKind,
        what: &'static str,
        cluster: String,
    },
    #[error("{flag} {value:?}: {rule}")]
    BadParam {
        flag: &'static str,
        value: String,
        rule: &'static str,
    },
}

impl BenchEnvError {
    /// A mistake on the command line (exit code 2), not a cluster that lacks something.
    pub fn is_usage(&self) -> bool {
        matches!(
            self,
            BenchEnvError::UnknownKind { .. } | BenchEnvError::BadParam { .. }
        )
    }
}

/// Parameters, with defaults sized for small VMs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BenchParams {
    /// lst: seconds between samples, and how many samples.
    pub lst_delay: u32,
    pub lst_count: u32,
    /// lst: RPCs in flight per client; bulk size.
    pub lst_concurrency: u32,
    pub lst_size: String,
    /// obdfilter-survey: MiB per OST, the most objects and threads.
    pub survey_size_mib: u32,
    pub survey_objects: u32,
    pub survey_threads: u32,
    /// fio: bytes per job for streaming and random I/O; block sizes.
    pub fio_size: String,
    pub fio_runtime_s: u32,
    /// ior and mdtest: MPI ranks (processes) on the client.
    pub mpi_ranks: u32,
    /// ior: bytes per rank (`-b`) and per transfer (`-t`), ior's size syntax (`16m`).
    pub ior_block_size: String,
    pub ior_transfer_size: String,
    /// mdtest: files and directories per rank (`-n`).
    pub mdtest_items: u32,
}

impl Default for BenchParams {
    fn default() -> Self {
        BenchParams {
            lst_delay: 5,
            lst_count: 3,
            lst_concurrency: 4,
            lst_size: "1M".into(),
            survey_size_mib: 512,
            survey_objects: 1,
            survey_threads: 2,
            fio_size: "128M".into(),
            fio_runtime_s: 20,
            mpi_ranks: 2,
            ior_block_size: "16m".into(),
            ior_transfer_size: "1m".into(),
            mdtest_items: 100,
        }
    }
}

/// Which nodes a benchmark runs on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BenchNodes {
    /// Where the script runs (lst's console, fio) or, for the survey, every OSS.
    pub run_on: Vec<String>,
    /// Nodes that need `lnet_selftest` loaded (lst only).
    pub selftest: Vec<String>,
    pub client_nids: Vec<String>,
    pub server_nids: Vec<String>,
}

fn has(node: &crate::NodePlan, role: &str) -> bool {
    node.roles.iter().any(|r| r == role)
}

/// Picks the nodes; refuses a cluster without what the benchmark needs.
pub fn nodes(plan: &Plan, kind: BenchKind) -> Result<BenchNodes, BenchEnvError> {
    let missing = |what| BenchEnvError::Missing {
        kind,
        what,
        cluster: plan.cluster.clone(),
    };
    let clients: Vec<&crate::NodePlan> = plan.nodes.iter().filter(|n| has(n, "client")).collect();
    let servers: Vec<&crate::NodePlan> = plan
        .nodes
        .iter()
        .filter(|n| ["mgs", "mds", "oss"].iter().any(|r| has(n, r)))
        .collect();
    let first_nid = |n: &crate::NodePlan| n.nids.first().cloned();
    match kind {
        BenchKind::LnetSelftest => {
            let c = clients.first().ok_or_else(|| missing("a client node"))?;
            let mut selftest: Vec<String> = clients.iter().map(|n| n.node.clone()).collect();
            for s in &servers {
                if !selftest.contains(&s.node) {
                    selftest.push(s.node.clone());
                }
            }
            Ok(BenchNodes {
                run_on: vec![c.node.clone()],
                selftest,
                client_nids: clients.iter().filter_map(|n| first_nid(n)).collect(),
                server_nids: servers.iter().filter_map(|n| first_nid(n)).collect(),
            })
        }
        BenchKind::ObdfilterSurvey => {
            let oss: Vec<String> = plan
                .nodes
                .iter()
                .filter(|n| has(n, "oss"))
                .map(|n| n.node.clone())
                .collect();
            if oss.is_empty() {
                return Err(missing("an OSS node"));
            }
            Ok(BenchNodes {
                run_on: oss,
                selftest: vec![],
                client_nids: vec![],
                server_nids: vec![],
            })
        }
        BenchKind::Fio | BenchKind::Ior | BenchKind::Mdtest => {
            let c = clients.first().ok_or_else(|| missing("a client node"))?;
            Ok(BenchNodes {
                run_on: vec![c.node.clone()],
                selftest: vec![],
                client_nids: vec![],
                server_nids: vec![],
            })
        }
    }
}

const PREAMBLE: &str = "set -euo pipefail\nlog() { printf '%s\\n' \"$*\" >&2; }\n";

/// lst: a session with the clients and servers groups, one batch (`write` or `read` bulk
/// RPCs), sampled `count` times every `delay` seconds. The NIDs in one group may be a node's
/// own (all-in-one): lst then measures the loopback path.
pub fn lst_script(nodes: &BenchNodes, p: &BenchParams, op: &str) -> String {
    let mut s = format!(
        "#!/bin/bash\n# Generated by lustrekit: lnet-selftest, bulk {op}.\n{PREAMBLE}\
         export LST_SESSION=$$\n\
         lst new_session --timeout 120 lustrekit >&2\n\
         trap 'lst end_session >&2 || true' EXIT\n"
    );
    let _ = writeln!(
        s,
        "lst add_group clients {} >&2",
        nodes
            .client_nids
            .iter()
            .map(|n| quote(n))
            .collect::<Vec<_>>()
            .join(" ")
    );
    let _ = writeln!(
        s,
        "lst add_group servers {} >&2",
        nodes
            .server_nids
            .iter()
            .map(|n| quote(n))
            .collect::<Vec<_>>()
            .join(" ")
    );
    let _ = write!(
        s,
        "lst add_batch bulk >&2\n\
         lst add_test --batch bulk --concurrency {conc} --from clients --to servers brw {op} size={size} >&2\n\
         lst run bulk >&2\n\
         log 'sampling {count} x {delay} s'\n\
         lst stat --delay {delay} --count {count} servers\n\
         lst stop bulk >&2\n",
        conc = p.lst_concurrency,
        size = quote(&p.lst_size),
        count = p.lst_count,
        delay = p.lst_delay,
    );
    s
}

/// obdfilter-survey against the OSTs of this OSS (case=disk: echo objects on the local OSTs).
pub fn survey_script(p: &BenchParams) -> String {
    format!(
        "#!/bin/bash\n# Generated by lustrekit: obdfilter-survey on this OSS's OSTs.\n{PREAMBLE}\
         modprobe obdecho\n\
         targets=$(lctl dl | awk '$3 == \"obdfilter\" {{print $4}}' | paste -sd' ' -)\n\
         [ -n \"$targets\" ] || {{ echo 'lustrekit: no OST is mounted on this node' >&2; exit 1; }}\n\
         log \"surveying $targets\"\n\
         export size={size} nobjlo=1 nobjhi={objs} thrlo=1 thrhi={thr} case=disk targets=\"$targets\"\n\
         export tests_str='write rewrite read' rslt_loc=/tmp/lustrekit-survey\n\
         mkdir -p \"$rslt_loc\"\n\
         obdfilter-survey\n",
        size = p.survey_size_mib,
        objs = p.survey_objects,
        thr = p.survey_threads,
    )
}

/// fio on the client mount: 1 MiB streaming write then read, then 4 KiB random read/write;
/// JSON to the file named by $1 (fio's warnings stay out of it).
pub fn fio_script(plan: &Plan, mount: &str, p: &BenchParams) -> String {
    let dir = format!("{mount}/.lustrekit-bench");
    format!(
        "#!/bin/bash\n# Generated by lustrekit: fio on cluster {cluster}'s client mount.\n{PREAMBLE}\
         out=${{1:?usage: fio.sh OUTPUT.json}}\n\
         command -v fio >/dev/null || {{ echo 'lustrekit: fio is not installed on this node (the image with Lustre has it: lustrekit image build --lustre)' >&2; exit 1; }}\n\
         mkdir -p {dir}\n\
         trap 'rm -rf {dir}' EXIT\n\
         fio --output-format=json --output=\"$out\" --directory={dir} --size={size} --runtime={rt} \\\n    \
         --ioengine=psync --end_fsync=1 \\\n    \
         --name=seq-write --filename=seq.dat --rw=write --bs=1M \\\n    \
         --name=seq-read --filename=seq.dat --stonewall --rw=read --bs=1M \\\n    \
         --name=rand-rw --stonewall --rw=randrw --bs=4k --time_based\n",
        cluster = plan.cluster,
        dir = quote(&dir),
        size = quote(&p.fio_size),
        rt = p.fio_runtime_s,
    )
}
