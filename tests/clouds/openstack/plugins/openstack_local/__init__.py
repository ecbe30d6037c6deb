"""The hypervisor of the OpenStack that tests/clouds/openstack/up runs: namespace guests on OVN."""
