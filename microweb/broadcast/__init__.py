"""Broadcast: named channels with publish and subscribe, in one process or across
workers and hosts through Redis (`bus.py`; the Redis side in `redis_relay.py`)."""

from .bus import Broadcast, BroadcastUnavailable, SubscriberTooSlow, Subscription

__all__ = ["Broadcast", "BroadcastUnavailable", "SubscriberTooSlow", "Subscription"]
