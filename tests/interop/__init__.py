"""Interop tests: nanopy against native nanomsg and NNG peers running in subprocesses."""
