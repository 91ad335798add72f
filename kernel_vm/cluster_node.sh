#!/bin/sh
# Makes a test VM one server of a two-server cluster (tests/test_cluster.py): the first command
# the VM runs, from the project folder. Usage: cluster_node.sh NAME ADDRESS PEER PEER_ADDRESS
# The VM's Ethernet link (kernel_vm.guest.udp_link) gets ADDRESS/24; both servers are named in
# /etc/hosts, as Cluster Edition needs; root logs in with the test's key (id_ed25519 in the
# exchange folder), and knows the peer's host key under its name and address once its sshd
# answers. The disk is a snapshot: none of this outlives the VM.
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
mkdir -p /run/sshd
/usr/sbin/sshd

# The peer boots at the same time, under emulation: up to 5 minutes for its sshd. Its keys
# must be known under both its name and its address (one lookup may time out alone).
tries=0
until ssh-keyscan -T 2 "$peer" "$peer_address" > /root/.ssh/known_hosts 2> /dev/null &&
      ssh-keygen -F "$peer" > /dev/null && ssh-keygen -F "$peer_address" > /dev/null; do
  tries=$((tries + 1))
  [ "$tries" -lt 150 ] || { echo "cluster_node: no sshd answers on $peer"; exit 1; }
  sleep 2
done
echo "cluster_node: $name ($address) knows $peer ($peer_address)"
