"""The local load balancer for LOAD_BALANCER endpoints: worker processes serving HTTP on
`PORT`, their health path polled, requests routed and streamed to ready workers.

Layers: `workers` (one process and its health), `balancer` (scaling and routing state, a
supervising thread), `proxy` and `websocket` (the ASGI front door), `wiring` (plugs it into
the emulator's app beside the data plane).
"""

from podkit.emulator.loadbalancer.balancer import LoadBalancer
from podkit.emulator.loadbalancer.proxy import LoadBalancerMiddleware
from podkit.emulator.loadbalancer.settings import LoadBalancerSettings
from podkit.emulator.loadbalancer.wiring import wire

__all__ = ["LoadBalancer", "LoadBalancerMiddleware", "LoadBalancerSettings", "wire"]
