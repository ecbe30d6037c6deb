"""The L3 router plugin, with floating IP status set where an L3 agent would set it."""

from neutron_lib import constants
from neutron.objects import router as l3_obj
from neutron.services.l3_router import l3_router_plugin


class AgentlessRouterPlugin(l3_router_plugin.L3RouterPlugin):
    """A floating IP is ACTIVE while associated with a port, DOWN otherwise."""

    def create_floatingip(self, context, floatingip):
        return self._set_status(context, super().create_floatingip(context, floatingip))

    def update_floatingip(self, context, id, floatingip):
        return self._set_status(context, super().update_floatingip(context, id, floatingip))

    def disassociate_floatingips(self, context, port_id, *args, **kwargs):
        fips = l3_obj.FloatingIP.get_objects(context.elevated(), fixed_port_id=port_id)
        result = super().disassociate_floatingips(context, port_id, *args, **kwargs)
        for fip in fips:
            self.update_floatingip_status(context.elevated(), fip.id,
                                          constants.FLOATINGIP_STATUS_DOWN)
        return result

    def _set_status(self, context, fip):
        status = (constants.FLOATINGIP_STATUS_ACTIVE if fip.get('port_id')
                  else constants.FLOATINGIP_STATUS_DOWN)
        if fip.get('status') != status:
            self.update_floatingip_status(context.elevated(), fip['id'], status)
            fip['status'] = status
        return fip
