#!/bin/sh
# PID 1 of the kernel-datapath test VM (installed in the image as /sbin/ovs-harness-guest-init).
# Mounts the host's shares, copies the project source over the image's provisioned copy,
# starts Open vSwitch on the kernel datapath, runs /mnt/exchange/commands.sh and powers off.
# Everything it prints goes to the serial console, which the host keeps as console.log.
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export PATH HOME=/root LANG=C.UTF-8

power_off() {
  sync
  echo 1 > /proc/sys/kernel/sysrq
  echo o > /proc/sysrq-trigger
  sleep 10
}

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mkdir -p /dev/pts /dev/shm && mount -t devpts devpts /dev/pts && mount -t tmpfs tmpfs /dev/shm
mount -t tmpfs tmpfs /run
mount -t tmpfs tmpfs /tmp
hostname ovs-harness-vm
ip link set lo up

modprobe 9pnet_virtio && modprobe 9p
mkdir -p /mnt/source /mnt/exchange
mount -t 9p -o trans=virtio,version=9p2000.L,ro source /mnt/source &&
  mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 exchange /mnt/exchange || {
  echo "guest-init: cannot mount the host's shares"; power_off; }

# The image's venv has the project installed in editable mode from /vagrant (where the
# Vagrant VM made from the same image keeps it): put the host's current source there,
# keeping the venv.
tar -C /mnt/source --exclude=./.venv --exclude=./.git --exclude=./results -cf - . |
  tar -C /vagrant -xf -

modprobe openvswitch
# neutron_journey's security group filters bridged frames with iptables (physdev).
modprobe br_netfilter
# The userspace datapath opens /dev/net/tun, which udev would have made at boot.
modprobe tun
/usr/share/openvswitch/scripts/ovs-ctl start --system-id=random 2>&1 | grep -v ulimit

echo "guest-init: running commands"
cd /vagrant && sh /mnt/exchange/commands.sh
echo "guest-init: commands finished"
power_off
