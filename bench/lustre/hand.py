"""The floor's commands: a plan's LNet, mkfs.lustre, mount and OSP-wait commands, in order, as a
person would type them, without lustrekit's scripts and checks. One line per command:
phase<TAB>node<TAB>command. The floor runs a phase on all its nodes at once (as with pdsh), each
node's commands in order."""
import json
import shlex
import sys

plan = json.load(open(sys.argv[1]))
PHASES = ["install", "lnet", "format", "mount-mgs", "mount-mdt", "mount-ost", "wait-ost", "mount-client"]
MODPROBE = "/etc/modprobe.d/lustrekit-lnet.conf: "


def hand(command):
    """The command as typed by hand, or None when it is lustrekit bookkeeping."""
    if command.startswith(MODPROBE):
        # LNet's module options (networks, router buffers): a person writes them too.
        opts = command[len(MODPROBE):]
        return "printf '%%s\\n' %s >%s" % (shlex.quote(opts), MODPROBE[:-2])
    if command.startswith("lnetctl export"):
        return None
    if command.startswith("wait for osp."):
        dev = command.split()[2][len("osp."):].rsplit(".state", 1)[0]
        return ("until lctl get_param -n osp.%s.state | grep -q 'current_state: FULL'; "
                "do sleep 1; done" % dev)
    if command.startswith("mount -t lustre "):
        # A client mount through routers fails until they forward: retried, as by hand.
        return "mkdir -p %s && until %s; do sleep 5; done" % (command.split()[-1], command)
    if command.startswith("mount "):
        return "mkdir -p %s && %s" % (command.split()[-1], command)
    if command.startswith("mkfs.lustre"):
        return "[ -e /etc/hostid ] || zgenhostid; " + command
    if command.startswith(("modprobe", "lnetctl", "mkfs", "zpool", "lctl")):
        return command
    return None


for phase in PHASES:
    for n in plan["nodes"]:
        for s in n["steps"]:
            if s["phase"] != phase:
                continue
            for c in s["commands"]:
                h = hand(c)
                if h is not None:
                    print("%s\t%s\t%s" % (phase, n["node"], h))
