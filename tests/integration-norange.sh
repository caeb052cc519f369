#!/bin/sh
exec "$(dirname "$0")/integration.sh" norange
