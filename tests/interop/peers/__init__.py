"""Native SP peers (libnanomsg, NNG) run as subprocesses by the interop tests."""
