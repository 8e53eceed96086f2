#! /usr/bin/env bash
# The test suite as CI runs it inside the stack: prestart, then pytest.
set -e
set -x

bash scripts/prestart.sh
python -m pytest -q tests "$@"
