"""Chaos and soak suite: killed peers, connection churn, slow consumers, shared-socket
threads, close/term under blocked calls, fd exhaustion and fork. SHORT mode by default
(whole suite < 4 min, CI); ``NANOPY_CHAOS=long`` selects the soak durations."""
