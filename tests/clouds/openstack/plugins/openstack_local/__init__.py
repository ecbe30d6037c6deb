"""Neutron plugins that stand in for the agents a real data plane would run."""
