"""The Ryu API, from os-ken (OpenStack's maintained fork) or, where only Ryu is installed,
from Ryu itself: the apps import it from here, so the same app runs on both.

FRAMEWORK says which one was found ("os_ken" or "ryu")."""
import threading

try:
    from os_ken import cfg
    from os_ken.base import app_manager
    from os_ken.base.app_manager import OSKenApp as App
    from os_ken.controller import ofp_event
    from os_ken.controller.handler import CONFIG_DISPATCHER, MAIN_DISPATCHER, set_ev_cls
    from os_ken.lib import hub
    from os_ken.lib.packet import ethernet, packet
    from os_ken.ofproto import ofproto_v1_3
    FRAMEWORK = "os_ken"
except ImportError:
    from ryu import cfg
    from ryu.base import app_manager
    from ryu.base.app_manager import RyuApp as App
    from ryu.controller import ofp_event
    from ryu.controller.handler import CONFIG_DISPATCHER, MAIN_DISPATCHER, set_ev_cls
    from ryu.lib import hub
    from ryu.lib.packet import ethernet, packet
    from ryu.ofproto import ofproto_v1_3
    FRAMEWORK = "ryu"

# An event that a thread of an app waits for with a time limit. os-ken's default hub runs the
# apps in native threads, where hub.Event.wait(timeout) never times out (its Timeout cannot
# interrupt a thread's wait); eventlet's, Ryu's hub, does.
TimedEvent = threading.Event if getattr(hub, "HUB_TYPE", "eventlet") == "native" else hub.Event

__all__ = ["App", "CONFIG_DISPATCHER", "FRAMEWORK", "MAIN_DISPATCHER", "TimedEvent", "app_manager", "cfg",
           "ethernet", "hub", "ofp_event", "ofproto_v1_3", "packet", "set_ev_cls"]
