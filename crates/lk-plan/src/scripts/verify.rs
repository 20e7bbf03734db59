//! `verify-servers` and `verify-clients`: targets UP and healthy, every OST visible and data
//! read back intact.

use lk_lustre::shell::quote;
use lk_model::topology::{Node, TargetKind};

use super::script::Script;
use super::Ctx;

impl Ctx<'_> {
    pub(super) fn verify_server(&self, node: &Node, sc: &mut Script) {
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

    pub(super) fn verify_client(&self, node: &Node, sc: &mut Script) {
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
}
