#!/bin/sh
# garbage.sh: answers every request line with a line that is not JSON.
while IFS= read -r line; do
    echo "hello, this is not JSON"
done
