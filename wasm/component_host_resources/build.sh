#!/usr/bin/env bash
# Builds the `component_host_resources` guest and installs it as a test fixture (see ../build_component.sh).
set -euo pipefail
exec "$(dirname "${BASH_SOURCE[0]}")/../build_component.sh" component_host_resources
