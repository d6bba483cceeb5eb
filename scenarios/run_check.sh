#!/bin/sh
# Runs `xfsim check` on one scenario; the scenario's expectations decide.
exec "$1" check "$2"
