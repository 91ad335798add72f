#!/bin/sh
# Makes a test VM one server of a two-server cluster (tests/test_cluster.py): the first command
# the VM runs, from the project folder. Usage: cluster_node.sh NAME ADDRESS PEER PEER_ADDRESS
# The VM's Ethernet link (kernel_vm.guest.udp_link) gets ADDRESS/24; both servers are named in
# /etc/hosts, as Cluster Edition needs; root logs in with the test's key (id_ed25519 in the
# exchange folder); sshd offers only the host key the test made for this server (host_key),
# and known_hosts (also the test's) has both servers' under their names and addresses, so no
# key is fetched over the network. Returns once the peer's sshd lets root in. The disk is a
# snapshot: none of this outlives the VM.
set -eu
name=$1 address=$2 peer=$3 peer_address=$4

modprobe ip_gre
hostname "$name"
# Below what a test run's hosts need (Linux's default is 128; it is the floor under which the
# kernel keeps every ARP entry, not a limit), so that the tests see a run raise each server's
# neighbour thresholds and put them back.
sysctl -q -w net.ipv4.neigh.default.gc_thresh1=1
# The initrd's udev named the NIC (ens3 on qemu's PC): it is the one with qemu's MAC prefix.
nic=$(grep -l '^52:54:00:' /sys/class/net/*/address | head -n 1 | cut -d / -f 5)
[ -n "$nic" ] || { echo "cluster_node: no NIC with a qemu MAC"; exit 1; }
ip address add "$address/24" dev "$nic"
ip link set "$nic" up
printf '%s %s\n%s %s\n' "$address" "$name" "$peer_address" "$peer" >> /etc/hosts

mkdir -p -m 700 /root/.ssh
install -m 600 /mnt/exchange/id_ed25519 /root/.ssh/id_ed25519
install -m 644 /mnt/exchange/id_ed25519.pub /root/.ssh/authorized_keys
install -m 600 /mnt/exchange/host_key /etc/ssh/ovs-harness-test-host-key
install -m 644 /mnt/exchange/known_hosts /root/.ssh/known_hosts
# What doctor --cluster asks of a server's sshd (README): a run's sessions over its one connection.
mkdir -p /etc/ssh/sshd_config.d
echo "MaxSessions 1000" > /etc/ssh/sshd_config.d/ovs-harness.conf
mkdir -p /run/sshd
/usr/sbin/sshd -h /etc/ssh/ovs-harness-test-host-key
# Docker, started at boot as Debian's units start it, for the container hosts: containerd on
# its own, and dockerd using it (docker.service's --containerd). A dockerd that starts its
# own containerd restarts it after three missed health checks of 3 s each, which a VM starved
# by a busy machine may miss: in two suite runs, Docker on a VM did not answer for minutes
# (its log was not kept then, so the cause is not known). Their logs go to the exchange
# folder, kept with the test's results (the harness names dockerd's log).
mount -t cgroup2 cgroup2 /sys/fs/cgroup
modprobe overlay
setsid containerd > /mnt/exchange/containerd.log 2>&1 < /dev/null &
ln -sf /mnt/exchange/dockerd.log /var/log/ovs-harness-dockerd.log
setsid dockerd --containerd=/run/containerd/containerd.sock > /mnt/exchange/dockerd.log 2>&1 < /dev/null &

# The peer boots at the same time, under emulation: give its sshd up to 5 minutes (a
# deadline, not a number of tries: a try that waits for the connection can take 30 s).
deadline=$(($(date +%s) + 300))
until ssh -n -o BatchMode=yes -o ConnectTimeout=30 "$peer" true 2> /dev/null; do
  [ "$(date +%s)" -lt "$deadline" ] || { echo "cluster_node: root cannot log in to $peer"; exit 1; }
  sleep 2
done
echo "cluster_node: $name ($address) logs in to $peer ($peer_address)"
