"""OpenFlow controller apps (Ryu API on os-ken) that install an experiment's flows.

Empty until the controller backend lands: today every flow is added with `ovs-ofctl`.
"""
