#!/bin/sh
# The registry image's entry point: a config file runs `registry serve` with it; a registry
# subcommand runs the registry; anything else runs as given (the upstream image behaves so).
set -e
case "$1" in
  *.yaml | *.yml) set -- registry serve "$@" ;;
  serve | garbage-collect | help | -*) set -- registry "$@" ;;
esac
exec "$@"
