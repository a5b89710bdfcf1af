#!/bin/sh
# Plays bdlc for the runner's self-tests: `fake_bdlc.sh --color=never check
# FILE` prints FILE.stderr (with @FILE@ replaced by FILE) and exits 1, so the
# tests can feed the runner output that real bdlc never prints.
sed "s|@FILE@|$3|g" "$3.stderr" >&2
exit 1
