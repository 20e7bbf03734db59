//! A topology's `services` on their client nodes: each MDT's changelog user (`changelog-users`,
//! on the nodes serving MDTs), then the Swift gateway and its changelog sync as systemd units
//! over the client's mount (`start-services`); teardown stops them and deregisters the users.
//!
//! The guest runs `lustrekit-storage` (lustrekit's storage binary, without libvirt), which
//! `lustrekit up` places in the shared folder's `bin/`; the script installs a copy on the
//! node so that a later `up` replacing the shared one never changes a running binary.
//! Changelog user ids (`cl1-lk-swift`) differ per MDT; the MDT's server records each in the
//! shared folder, where the service's node reads them.

use lk_lustre::shell::quote;
use lk_model::topology::{Node, Service, ServiceSync, TargetKind};

use super::script::{Script, HELPER_WAIT_FOR};
use super::Ctx;
use crate::build::GUEST_SHARED;

/// Where a node keeps its copy of the binary and each service's index.
const GUEST_BIN: &str = "/usr/local/lib/lustrekit/lustrekit-storage";
const STATE_ROOT: &str = "/var/lib/lustrekit/services";
/// Seconds the gateway may take to answer after its unit starts (it reconciles its index
/// with the tree first).
const GATEWAY_START_SECS: u32 = 300;
/// Seconds the sync may take to follow every MDT's changelog.
const SYNC_START_SECS: u32 = 120;

/// The shared-folder file holding `service`'s changelog user id on MDT `label`.
pub fn changelog_user_file(service: &str, label: &str) -> String {
    format!("services/{service}/changelog/{label}")
}

/// systemd unit names of a service.
pub fn unit_names(service: &str) -> [String; 2] {
    [
        format!("lustrekit-{service}-gateway.service"),
        format!("lustrekit-{service}-sync.service"),
    ]
}

const HELPER_CHANGELOG_USER: &str = r#"# changelog_user MDT NAME: the id (clN-NAME) registered for NAME on MDT, empty if none.
changelog_user() {
    local users
    users=$(lctl get_param -n "mdd.$1.changelog_users")
    awk -v n="$2" '$1 ~ ("^cl[0-9]+-" n "$") { print $1; exit }' <<<"$users"
}
# mdt_here MDT: true when MDT is mounted on this node.
mdt_here() { lctl get_param -n "mdd.$1.changelog_users" >/dev/null 2>&1; }
"#;

const HELPER_UNIT: &str = r#"# put_file PATH: writes stdin to PATH when it differs; sets changed=1 then.
changed=0
put_file() {
    local tmp
    tmp=$(mktemp)
    cat >"$tmp"
    if cmp -s "$tmp" "$1"; then
        rm -f "$tmp"
    else
        install -D -m 0644 "$tmp" "$1"
        rm -f "$tmp"
        changed=1
    fi
}
# answers PORT: the gateway on 127.0.0.1:PORT answers GET /info with 200.
answers() {
    local status
    exec 3<>"/dev/tcp/127.0.0.1/$1" || return 1
    printf 'GET /info HTTP/1.0\r\nHost: localhost\r\n\r\n' >&3
    read -r -t 10 _ status _ <&3 || status=
    exec 3>&-
    [ "$status" = 200 ]
}
# sync_ready UNIT: the unit's current run printed `lk-sync ready` (a crash-looping unit never
# does: each restart is a new invocation).
sync_ready() {
    local id
    id=$(systemctl show -p InvocationID --value "$1")
    [ -n "$id" ] && grep -q 'lk-sync ready' <<<"$(journalctl -o cat "_SYSTEMD_INVOCATION_ID=$id" 2>/dev/null)"
}
"#;

impl Ctx<'_> {
    fn changelog_services(&self) -> impl Iterator<Item = &Service> {
        self.t
            .services
            .iter()
            .filter(|s| s.sync == ServiceSync::Changelog)
    }

    /// Registers each changelog service's user on the MDTs mounted on `node`, recording the
    /// id in the shared folder. An MDT served elsewhere (after a failover) is left to the
    /// node that has it.
    pub(super) fn changelog_users(&self, node: &Node, sc: &mut Script) {
        sc.helper(HELPER_CHANGELOG_USER);
        for mdt in self.served_targets(&node.name, TargetKind::Mdt) {
            let label = self.target(mdt).label();
            let l = quote(&label);
            sc.line(format!("if ! mdt_here {l}; then"));
            sc.line(format!(
                "    log '{label} is not mounted here: its server registers'"
            ));
            sc.line("else");
            for svc in self.changelog_services() {
                let user = svc.changelog_user();
                let file = format!("{GUEST_SHARED}/{}", changelog_user_file(&svc.name, &label));
                sc.commands.push(format!(
                    "lctl --device {label} changelog_register -n -u {user}"
                ));
                sc.line(format!("    id=$(changelog_user {l} {})", quote(&user)));
                sc.line("    if [ -z \"$id\" ]; then");
                sc.line(format!(
                    "        id=$(lctl --device {l} changelog_register -n -u {}) || fail 'cannot register changelog user {user} on {label}'",
                    quote(&user)
                ));
                sc.line(format!(
                    "        log \"registered changelog user $id on {label}\""
                ));
                sc.line("    else");
                sc.line(format!(
                    "        log \"already registered: $id on {label}\""
                ));
                sc.line("    fi");
                sc.line(format!("    mkdir -p \"$(dirname {})\"", quote(&file)));
                sc.line(format!(
                    "    printf '%s\\n' \"$id\" >{f}.tmp && mv {f}.tmp {f}",
                    f = quote(&file)
                ));
            }
            sc.line("fi");
        }
    }

    /// Deregisters each changelog service's user from the MDTs mounted on `node`.
    pub(super) fn changelog_deregister(&self, node: &Node, sc: &mut Script) {
        sc.helper(HELPER_CHANGELOG_USER);
        for mdt in self.served_targets(&node.name, TargetKind::Mdt) {
            let label = self.target(mdt).label();
            let l = quote(&label);
            sc.line(format!("if mdt_here {l}; then"));
            for svc in self.changelog_services() {
                let user = quote(&svc.changelog_user());
                sc.commands
                    .push(format!("lctl --device {label} changelog_deregister ID"));
                sc.line(format!("    id=$(changelog_user {l} {user})"));
                sc.line(format!(
                    "    if [ -n \"$id\" ]; then lctl --device {l} changelog_deregister \"$id\"; log \"deregistered $id from {label}\"; fi"
                ));
            }
            sc.line("fi");
        }
    }

    /// Installs the binary, writes the units and starts them; waits until the gateway answers.
    pub(super) fn start_services(&self, node: &Node, sc: &mut Script) {
        sc.helper(HELPER_UNIT);
        sc.helper(HELPER_WAIT_FOR);
        let src = format!("{GUEST_SHARED}/bin/lustrekit-storage");
        sc.line(format!(
            "[ -x {src} ] || fail 'no {src}: lustrekit up copies lustrekit-storage there (install it beside lustrekit)'"
        ));
        sc.commands.push(format!("install {src} {GUEST_BIN}"));
        sc.line(format!(
            "if ! cmp -s {src} {GUEST_BIN}; then install -D -m 0755 {src} {GUEST_BIN}; changed=1; fi"
        ));
        for svc in self.t.services.iter().filter(|s| s.node == node.name) {
            self.start_service(svc, sc);
        }
    }

    fn start_service(&self, svc: &Service, sc: &mut Script) {
        let [gw_unit, sync_unit] = unit_names(&svc.name);
        let mount = quote(&svc.mount_point);
        let root = quote(&svc.root);
        let state = format!("{STATE_ROOT}/{}", svc.name);
        sc.line(format!(
            "mountpoint -q {mount} || fail '{} is not mounted: the {} service serves it'",
            svc.mount_point, svc.name
        ));
        sc.line(format!("mkdir -p {root} {state}"));
        let mut gw = format!(
            "{GUEST_BIN} gateway --root {} --listen 0.0.0.0:{} --state-dir {state}",
            svc.root, svc.port
        );
        for u in &svc.users {
            gw.push_str(&format!(" --user {u}"));
        }
        sc.commands.push(gw.clone());
        sc.line(format!(
            "put_file /etc/systemd/system/{gw_unit} <<'EOF'\n{}EOF",
            unit_text(svc, "Swift gateway", &gw, None)
        ));
        if svc.sync == ServiceSync::Changelog {
            sc.line("mdt_args=''");
            for mdt in &self.t.mdts {
                let label = self.target(mdt).label();
                let file = format!("{GUEST_SHARED}/{}", changelog_user_file(&svc.name, &label));
                sc.line(format!(
                    "[ -s {file} ] || fail 'no changelog user recorded for {label} (changelog-users: is {label} mounted?)'"
                ));
                sc.line(format!("mdt_args+=\" --mdt {label}=$(cat {file})\""));
            }
            let sync = format!(
                "{GUEST_BIN} sync --root {} --state-dir {state} --backend changelog --mount {}",
                svc.root, svc.mount_point
            );
            sc.commands.push(format!("{sync} --mdt MDT=ID..."));
            sc.line(format!(
                "put_file /etc/systemd/system/{sync_unit} <<EOF\n{}EOF",
                unit_text(
                    svc,
                    "changelog sync",
                    &format!("{sync}$mdt_args"),
                    Some(&gw_unit)
                )
            ));
        }
        sc.line("if [ \"$changed\" = 1 ]; then systemctl daemon-reload; fi");
        let units = if svc.sync == ServiceSync::Changelog {
            format!("{gw_unit} {sync_unit}")
        } else {
            gw_unit.clone()
        };
        sc.commands.push(format!("systemctl restart {units}"));
        sc.line(format!(
            "if [ \"$changed\" = 1 ]; then systemctl restart {units}; else systemctl start {units}; fi"
        ));
        sc.line(format!(
            "if ! (wait_for {GATEWAY_START_SECS} 'the {} gateway on port {}' answers {}); then journalctl -u {gw_unit} -n 30 --no-pager >&2 || true; exit 1; fi",
            svc.name, svc.port, svc.port
        ));
        if svc.sync == ServiceSync::Changelog {
            sc.commands
                .push(format!("wait for `lk-sync ready` from {sync_unit}"));
            sc.line(format!(
                "if ! (wait_for {SYNC_START_SECS} 'the {} changelog sync' sync_ready {sync_unit}); then journalctl -u {sync_unit} -n 30 --no-pager >&2 || true; exit 1; fi",
                svc.name
            ));
        }
        sc.line(format!(
            "log 'service {} answers on port {}'",
            svc.name, svc.port
        ));
    }

    /// Stops and removes the units of the services on `node`.
    pub(super) fn stop_services(&self, node: &Node, sc: &mut Script) {
        for svc in self.t.services.iter().filter(|s| s.node == node.name) {
            let units = unit_names(&svc.name).join(" ");
            sc.commands.push(format!("systemctl stop {units}"));
            sc.line(format!("systemctl stop {units} 2>/dev/null || true"));
            for u in unit_names(&svc.name) {
                sc.line(format!("rm -f /etc/systemd/system/{u}"));
            }
            sc.line(format!("rm -rf {STATE_ROOT}/{}", svc.name));
        }
        sc.line("systemctl daemon-reload");
    }
}

/// A unit that runs `exec` only while the mount is there (never over the bare mount point),
/// restarting it when it fails.
fn unit_text(svc: &Service, what: &str, exec: &str, after: Option<&str>) -> String {
    let after = after.map_or(String::new(), |u| format!("After={u}\n"));
    format!(
        "[Unit]\nDescription=lustrekit service {name}: {what} over {root}\n{after}\n[Service]\nExecStartPre=/bin/mountpoint -q {mount}\nExecStart={exec}\nRestart=on-failure\nRestartSec=2\n",
        name = svc.name,
        root = svc.root,
        mount = svc.mount_point,
    )
}
