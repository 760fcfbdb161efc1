"""Hosts that fail: network namespaces joined through a bridge stand for machines; links are
cut and healed, processes killed and restarted, hosts deleted. Short form in CI;
``NANOPY_LONG=1`` for the long form. Figures go to stdout (pytest -s) and to
$NANOPY_NETNS_RESULTS (default /tmp/nanopy-netns-results.jsonl)."""
