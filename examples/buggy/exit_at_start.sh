#!/bin/sh
# exit_at_start.sh: an "implementation" that exits with status 3 before reading anything.
echo "exit_at_start.sh: failing on purpose" >&2
exit 3
