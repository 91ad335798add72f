"""OpenFlow controller apps (Ryu API on os-ken) for ovs-harness: `flow_installer` is the
`--flows ryu` backend (it installs an experiment's flows as FlowMods), `learning_switch` the
learning_switch experiment's app; both answer the harness through `harness_control`."""
