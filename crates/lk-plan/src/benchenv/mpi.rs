//! ior and mdtest: MPI benchmarks the user supplies (installed in the image, or a host binary
//! lustrekit copies into the cluster's shared folder). They run on the first client under
//! `mpirun`, in a folder on the Lustre mount. Each script first checks that mpirun and the
//! binary are there (and that the binary's libraries load) and, if not, fails with one message
//! that names everything to provide, before anything runs.

use lk_lustre::shell::quote;

use super::{BenchEnvError, BenchKind, BenchParams, PREAMBLE};
use crate::Plan;

/// Where the client finds ior or mdtest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ToolBin {
    /// On the client's PATH (installed in the image).
    OnPath,
    /// A host binary (`--tool-bin`) copied into the shared folder: its path in the guest.
    Shared { guest_path: String },
}

/// Bytes of an ior size (`16m`, `1g`, `4096`, `512k`: digits and an optional k, m or g,
/// powers of 1024 as ior reads them); `None` if ior would not read it or it is 0.
pub fn ior_size_bytes(s: &str) -> Option<u64> {
    let (digits, unit) = match s.char_indices().last()? {
        (i, c) if c.is_ascii_alphabetic() => (&s[..i], c.to_ascii_lowercase()),
        _ => (s, ' '),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let shift = match unit {
        ' ' => 0,
        'k' => 10,
        'm' => 20,
        'g' => 30,
        _ => return None,
    };
    let n: u64 = digits.parse().ok()?;
    n.checked_mul(1u64 << shift).filter(|&b| b > 0)
}

/// Refuses parameters the tool would refuse (or that make no run), naming the flag.
pub fn check_params(kind: BenchKind, p: &BenchParams) -> Result<(), BenchEnvError> {
    let bad = |flag, value: String, rule| Err(BenchEnvError::BadParam { flag, value, rule });
    if !kind.is_mpi() {
        return Ok(());
    }
    if p.mpi_ranks == 0 {
        return bad("--ranks", "0".into(), "ior and mdtest need at least 1 rank");
    }
    if kind == BenchKind::Mdtest && p.mdtest_items == 0 {
        return bad(
            "--mdtest-items",
            "0".into(),
            "mdtest needs at least 1 item per rank",
        );
    }
    if kind != BenchKind::Ior {
        return Ok(());
    }
    const SIZE_RULE: &str = "not an ior size (digits and an optional k, m or g; not 0)";
    let Some(block) = ior_size_bytes(&p.ior_block_size) else {
        return bad("--ior-block-size", p.ior_block_size.clone(), SIZE_RULE);
    };
    let Some(transfer) = ior_size_bytes(&p.ior_transfer_size) else {
        return bad(
            "--ior-transfer-size",
            p.ior_transfer_size.clone(),
            SIZE_RULE,
        );
    };
    if block % transfer != 0 {
        let rule = "ior needs the block size to be a multiple of the transfer size";
        return bad("--ior-block-size", p.ior_block_size.clone(), rule);
    }
    Ok(())
}

/// The checks every MPI script starts with: `$tool` set, then mpirun, the binary and its
/// libraries, all problems in one message.
fn preflight(name: &str, node: &str, tool: &ToolBin) -> String {
    let (path, missing) = match tool {
        ToolBin::OnPath => (
            quote(name),
            format!("{name} not found on {node}: install it in the image or pass --tool-bin PATH"),
        ),
        ToolBin::Shared { guest_path } => (
            quote(guest_path),
            format!("{name} copied from the host (--tool-bin) is not executable on {node} at {guest_path}"),
        ),
    };
    format!(
        "tool={path}\n\
         problems=()\n\
         command -v mpirun >/dev/null || problems+=({mpirun})\n\
         if ! command -v \"$tool\" >/dev/null; then\n    \
         problems+=({missing})\n\
         elif libs=$(ldd \"$(command -v \"$tool\")\" 2>/dev/null | awk '/not found/ {{print $1}}' | paste -sd' ' -); [ -n \"$libs\" ]; then\n    \
         problems+=(\"{name} on {node} cannot load $libs: the image needs openmpi-bin (and what {name} was built against)\")\n\
         fi\n\
         if [ ${{#problems[@]}} -gt 0 ]; then\n    \
         msg=$(printf '%s; ' \"${{problems[@]}}\")\n    \
         echo \"lustrekit: ${{msg%; }}\" >&2\n    \
         exit 1\n\
         fi\n\
         export HOME=\"${{HOME:-/root}}\"\n",
        mpirun = quote(&format!(
            "mpirun not found on {node}: the image needs openmpi-bin"
        )),
        missing = quote(&missing),
    )
}

/// mpirun as root on this one node: `plm_rsh_agent false` so that a node without ssh still
/// starts its local ranks; `--oversubscribe` so that more ranks than vCPUs still run.
fn mpirun(p: &BenchParams) -> String {
    format!(
        "mpirun --allow-run-as-root --oversubscribe --mca plm_rsh_agent false -np {}",
        p.mpi_ranks
    )
}

/// ior on the client mount: each rank writes then reads its own file (`-F`), fsync after the
/// writes (`-e`), with O_DIRECT (`--posix.odirect`) because the ranks share one client: a
/// buffered read phase would measure that client's page cache, not the OSTs. The JSON summary
/// goes to the file named by $1 (ior's stdout goes to stderr).
pub fn ior_script(plan: &Plan, node: &str, mount: &str, p: &BenchParams, tool: &ToolBin) -> String {
    let dir = format!("{mount}/.lustrekit-bench/ior");
    format!(
        "#!/bin/bash\n# Generated by lustrekit: ior on cluster {cluster}'s client mount.\n{PREAMBLE}\
         out=${{1:?usage: ior.sh OUTPUT.json}}\n\
         {check}\
         mkdir -p {dir}\n\
         trap 'rm -rf {dir}' EXIT\n\
         log \"ior: {ranks} rank(s), {block} per rank in {transfer} transfers, on {dir}\"\n\
         {mpirun} \"$tool\" -a POSIX --posix.odirect -w -r -e -F -t {transfer_q} -b {block_q} \\\n    \
         -o {dir}/ior.dat -O summaryFormat=JSON -O \"summaryFile=$out\" >&2\n",
        cluster = plan.cluster,
        check = preflight("ior", node, tool),
        dir = quote(&dir),
        ranks = p.mpi_ranks,
        block = p.ior_block_size,
        transfer = p.ior_transfer_size,
        block_q = quote(&p.ior_block_size),
        transfer_q = quote(&p.ior_transfer_size),
        mpirun = mpirun(p),
    )
}

/// mdtest on the client mount: every phase (directories and files: create, stat, read,
/// rename, remove; the tree), `items` per rank; its stdout is the script's.
pub fn mdtest_script(
    plan: &Plan,
    node: &str,
    mount: &str,
    p: &BenchParams,
    tool: &ToolBin,
) -> String {
    let dir = format!("{mount}/.lustrekit-bench/mdtest");
    format!(
        "#!/bin/bash\n# Generated by lustrekit: mdtest on cluster {cluster}'s client mount.\n{PREAMBLE}\
         {check}\
         mkdir -p {parent}\n\
         rm -rf {dir}\n\
         trap 'rm -rf {dir}' EXIT\n\
         log \"mdtest: {ranks} rank(s), {items} items each, on {dir}\"\n\
         {mpirun} \"$tool\" -n {items} -d {dir}\n",
        cluster = plan.cluster,
        check = preflight("mdtest", node, tool),
        parent = quote(&format!("{mount}/.lustrekit-bench")),
        dir = quote(&dir),
        ranks = p.mpi_ranks,
        items = p.mdtest_items,
        mpirun = mpirun(p),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ior_sizes() {
        for (s, b) in [
            ("16m", 16 << 20),
            ("1M", 1 << 20),
            ("4096", 4096),
            ("2g", 2 << 30),
        ] {
            assert_eq!(ior_size_bytes(s), Some(b), "{s}");
        }
        for s in [
            "",
            "m",
            "0",
            "0k",
            "1t",
            "1.5m",
            "-1m",
            "1mb",
            " 1m",
            "99999999999999g",
        ] {
            assert_eq!(ior_size_bytes(s), None, "{s}");
        }
    }

    #[test]
    fn bad_params_name_their_flag() {
        let flag = |kind, p: BenchParams| match check_params(kind, &p) {
            Err(BenchEnvError::BadParam { flag, .. }) => flag,
            other => panic!("{other:?}"),
        };
        let d = BenchParams::default;
        assert_eq!(check_params(BenchKind::Ior, &d()), Ok(()));
        assert_eq!(check_params(BenchKind::Mdtest, &d()), Ok(()));
        let zero = BenchParams {
            mpi_ranks: 0,
            ..d()
        };
        assert_eq!(flag(BenchKind::Mdtest, zero.clone()), "--ranks");
        assert_eq!(check_params(BenchKind::Fio, &zero), Ok(()));
        let odd = BenchParams {
            ior_block_size: "3m".into(),
            ior_transfer_size: "2m".into(),
            ..d()
        };
        assert_eq!(flag(BenchKind::Ior, odd), "--ior-block-size");
        let junk = BenchParams {
            ior_transfer_size: "1m; reboot".into(),
            ..d()
        };
        assert_eq!(flag(BenchKind::Ior, junk), "--ior-transfer-size");
        let none = BenchParams {
            mdtest_items: 0,
            ..d()
        };
        assert_eq!(flag(BenchKind::Mdtest, none), "--mdtest-items");
    }
}
