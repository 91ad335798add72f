"""Cluster Edition's remote nodes and GRE link (mininet/examples/cluster.py) made of the
harness's own node classes (harness.mininet_nodes), changed where the harness's promises need
them changed. Imported only by a run with --cluster.

- A remote node's command is quoted word by word: Cluster Edition hands it to ssh, which
  joins the words with spaces for the remote shell (an argument with a space or a `;` would
  be split or run).
- As root, ssh runs directly, not through `sudo -E -u root` (Cluster Edition's way of
  dropping to the user who ran sudo): this machine need not have sudo.
- A link between servers is a gretap tunnel whose key comes from the run (Cluster Edition
  counts from 1 in every process, so two runs between the same servers would share keys);
  its ends are marked as the run's and get no IPv6 before they come up (their own router
  solicitations and MLD reports would cross the tunnel into the other switch and be
  counted); an interface that exists already is an error, never deleted (Cluster Edition
  deletes whatever has the name first). Between two OVS nodes (hosts), each end is moved
  into its node's namespace, as Cluster Edition does.
"""
import hashlib
import shlex

from mininet.examples.cluster import RemoteGRELink, RemoteMixin

from .cleanup import interface_mark
from .cluster import Server, this_machine
from .errors import HarnessError
from .mininet_nodes import ContainerHost, HarnessSwitch, MarkedLink, QuietHost
from .ovs import DRIVER_KEY
from .tools import probe, where_ran

GRE_MTU = 1450      # Cluster Edition's: 1500 less the outer IPv4 and GRE headers, with room


class HarnessRemote(RemoteMixin):
    """Cluster Edition's remote node, with quoted commands and no local sudo."""

    def startShell(self, *args, **kwargs):
        if self.isRemote and self.user == "root" and self.sshcmd[:4] == ["sudo", "-E", "-u", "root"]:
            self.sshcmd = self.sshcmd[4:]
        super().startShell(*args, **kwargs)

    def _popen(self, cmd, sudo=True, tt=True, **params):
        if self.isRemote:
            cmd = [shlex.quote(str(word)) for word in (cmd.split() if isinstance(cmd, str) else cmd)]
        return super()._popen(cmd, sudo=sudo, tt=tt, **params)

    def in_namespace(self, argv):
        """The argv (harness.tools.OnServer) that runs `argv` in this node's namespace on its
        server, as popen does there (mnexec), over the run's connection to it: several such,
        of one server, go there in one session (harness.tools.CommandRunner.start_all)."""
        server = Server(self.server, self.serverIP, False)
        return server.argv(["mnexec", "-da", str(self.pid), *argv], self.controlPath,
                           where=where_ran(self), shown=argv)


class RemoteQuietHost(HarnessRemote, QuietHost):
    """A QuietHost on its server."""


class RemoteContainerHost(HarnessRemote, ContainerHost):
    """A ContainerHost on its server: its shell joins the container's namespace there."""

    def _popen(self, cmd, **params):
        return super()._popen(self.joined(cmd), **params)


class RemoteHarnessSwitch(HarnessRemote, HarnessSwitch):
    """A HarnessSwitch on its server; `cluster` (harness.cluster.Cluster) says how to reach it."""

    def __init__(self, name, cluster=None, **params):
        self.cluster = cluster
        super().__init__(name, **params)

    def on_server(self, argv):
        return self.cluster.on(self.name, argv)

    def marks(self):
        return {**super().marks(), DRIVER_KEY: this_machine()}

    def has_internal_port(self):
        return self.pexec(["test", "-e", f"/sys/class/net/{self.name}"])[2] == 0


def _require_quiet(where, argv, output):
    """Raise HarnessError if `argv`, run on `where`, said anything (ip and sysctl say only errors)."""
    if output.strip():
        raise HarnessError(f"`{shlex.join(argv)}` failed on {where}: {output.strip()}")


def gre_key_base(run_id):
    """The first GRE key of run `run_id`'s links (each link adds its own number): from the
    run id, so that two runs between the same servers use different keys."""
    return int(hashlib.sha256(run_id.encode()).hexdigest()[:5], 16) << 8


class RunGRELink(MarkedLink, RemoteGRELink):
    """A MarkedLink that is a veth within a server and a gretap tunnel between servers."""

    def __init__(self, node1, node2, run_id=None, key=None, **params):
        self.key = key
        super().__init__(node1, node2, run_id=run_id, **params)

    def makeTunnel(self, node1, node2, intfname1, intfname2, addr1=None, addr2=None):
        if node1.server == node2.server:
            raise HarnessError(f"a tunnel between {node1} and {node2}, both on {node1.server}")
        ends = [(node1, intfname1, addr1), (node2, intfname2, addr2)]
        addresses = [tunnel_address(node, other) for node, other in ((node1, node2), (node2, node1))]
        for (node, name, mac), local, remote in zip(ends, addresses, addresses[::-1]):
            # A host's end (an OVS node's underlay) is made under a name of the run's own, as
            # its own name (eth1) may be a real interface of the server, and goes into the
            # host's namespace, down, to take its name there: its QuietIntf turns IPv6 off
            # before bringing it up. (Moved, it still sends from the root namespace, where
            # the tunnel was made.)
            if node.inNamespace:
                made_as = tunnel_name(self.key)
                commands = gretap_argvs(made_as, local, remote, self.key, self.run_id, mac)[:-2] + \
                    [["ip", "link", "set", "dev", made_as, "netns", str(node.pid)]]
            else:
                made_as, commands = name, gretap_argvs(name, local, remote, self.key, self.run_id, mac)
            for argv in commands:
                _require_quiet(node.server, argv, node.rcmd(argv))
            if node.inNamespace:
                argv = ["ip", "link", "set", "dev", made_as, "name", name]
                out, err, _code = node.pexec(argv)
                _require_quiet(f"{node.server} ({node.name})", argv, out + err)
        return None


def tunnel_name(key):
    """The name a tunnel end of key `key` is made under where the name it will have is not
    the run's to take (see RunGRELink.makeTunnel, and Network.move)."""
    return f"ovsh{key:08x}"


def gretap_argvs(name, local, remote, key, run_id, mac=None):
    """The commands that make gretap end `name` in a server's root namespace, from address
    `local` to `remote` with GRE key `key`, marked as run `run_id`'s, with no IPv6 (see the
    module's docstring), and bring it up: the last two are those of the end's own name."""
    return [["ip", "link", "add", "name", name, "type", "gretap", "local", local, "remote", remote,
             "ttl", "64", "key", str(key)],
            ["ip", "link", "set", "dev", name, "alias", interface_mark(run_id)],
            ["ip", "link", "set", "dev", name, "mtu", str(GRE_MTU), *(["address", mac] if mac else [])],
            ["sysctl", "-q", "-w", f"net/ipv6/conf/{name}/disable_ipv6=1"],
            ["ip", "link", "set", "dev", name, "up"]]


def tunnel_address(node, other):
    """The address a tunnel end on Mininet node `node`'s server, toward `other`'s, is sent
    from: its server's, or for this machine, the one its route to the other server leaves from."""
    if node.server != "localhost":
        return node.serverIP
    status, route, error = probe(["ip", "-o", "route", "get", other.serverIP])
    words = route.split()
    if status != 0 or "src" not in words:
        raise HarnessError(f"no route from this machine to {other.server} ({other.serverIP}): {error.strip()}")
    return words[words.index("src") + 1]
