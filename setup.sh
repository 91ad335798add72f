#!/usr/bin/env bash
# Sets up ovs-harness on Debian 12 or Ubuntu 22.04/24.04, as root; safe to run again.
#   1. Debian packages: Mininet, Open vSwitch, Docker (for container hosts) and the tools the
#      experiments run, plus what the tests need on the machine that runs them (qemu,
#      debootstrap, and Vagrant with libvirt and the tools that make its box);
#   2. the project's virtualenv .venv (from /usr/bin/python3, seeing Debian's Mininet) with
#      the project and its test dependencies;
#   3. Open vSwitch running.
# The README, .ci/run, the Vagrantfile and the kernel-datapath test VM all use this script.
#
#   ./setup.sh           a machine that runs experiments and the tests
#   ./setup.sh --image   inside the VM image (a chroot): no VM-test tools, and Open vSwitch
#                        not started here but when the VM boots
#   ./setup.sh --guest   inside a VM that runs experiments (the Vagrantfile's provisioner):
#                        no VM-test tools
set -euo pipefail
cd "$(dirname "$0")"

image=false
vm_tools=true
case "${1:-}" in
  "") ;;
  --image) image=true; vm_tools=false ;;
  --guest) vm_tools=false ;;
  *) echo "setup.sh: unknown option $1; use no option, --image when provisioning a VM image," \
          "or --guest inside a VM" >&2
     exit 2 ;;
esac

if [ "$(id -u)" -ne 0 ]; then
  echo "setup.sh: run it as root: sudo ./setup.sh" >&2
  exit 2
fi

# iptables and conntrack: the security groups and routers of neutron_journey; ethtool: the
# hosts' checksum offload on the userspace datapath; Docker and busybox-static: the container
# hosts and their instance image (on every server of a run on several, as in the VM image).
packages=(mininet openvswitch-switch iproute2 iputils-ping fping iperf3 procps kmod tcpdump iptables conntrack
          ethtool docker.io busybox-static python3-venv)
if $vm_tools; then
  # The kernel-datapath VM (qemu, debootstrap, mkfs.ext4), and the Vagrant VM on libvirt
  # with the box the tests make (a boot partition by syslinux and mtools, sfdisk, qemu-img);
  # nft: the Vagrant test takes back the firewall rules libvirt adds.
  packages+=(qemu-system-x86 debootstrap e2fsprogs vagrant vagrant-libvirt libvirt-daemon-system
             dnsmasq-base qemu-utils rsync syslinux syslinux-common mtools dosfstools fdisk nftables)
fi
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "ok installed" || missing+=("$package")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup.sh: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ ! -x .venv/bin/python ]; then
  echo "setup.sh: creating .venv from /usr/bin/python3"
  /usr/bin/python3 -m venv --system-site-packages .venv
fi
# constraints.txt pins every package to the version the project was tested with. The stamp
# says what .venv was last installed from (this folder and its dependency files): while none
# changed, pip is not run again. The VM image's .venv is made in /vagrant, where the Vagrant
# VM keeps the checkout, so that VM's set-up needs neither PyPI nor the minute pip takes there.
stamp=.venv/.ovs-harness-installed
installed_from=$( (pwd; cat pyproject.toml setup.cfg constraints.txt) | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" = "$installed_from" ]; then
  echo "setup.sh: .venv is up to date (pyproject.toml, setup.cfg and constraints.txt unchanged)"
else
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --constraint constraints.txt \
    --editable '.[test]'
  echo "$installed_from" > "$stamp"
fi

if $image; then
  # Docker starts when a run with container hosts needs it (harness.containers), not with
  # every boot of the Vagrant VM made from the image.
  systemctl disable --quiet docker.service docker.socket containerd.service
  echo "setup.sh: image provisioned; Open vSwitch starts when it boots"
  exit 0
fi
if ! ovs-vsctl --timeout=5 show >/dev/null 2>&1; then
  echo "setup.sh: starting Open vSwitch"
  if [ -d /run/systemd/system ]; then
    systemctl start openvswitch-switch
  else
    # No systemd (containers, CI): start the daemons directly.
    /usr/share/openvswitch/scripts/ovs-ctl start --system-id=random 2>&1 | grep -v ulimit || true
  fi
  ovs-vsctl --timeout=10 show >/dev/null
fi
echo "setup.sh: ready; run experiments with: sudo .venv/bin/python -m harness run normal_mode"
