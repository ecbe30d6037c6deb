"""nova-compute with the namespace guest driver: nova loads drivers from nova.virt only."""

import sys


def main():
    # nova's own starter first: it patches the standard library before anything else loads.
    from nova.cmd import compute
    from openstack_local import guests
    sys.modules['nova.virt.namespace_guests'] = guests
    sys.exit(compute.main())
