#!/bin/sh
# Catch2's ctest discovery splits a test name at ';' and mangles '[' and ']':
# such a test silently stops running under ctest. Refuse those names.
bad=$(grep -rnE '(TEST_CASE|SCENARIO)\("[^"]*[][;]' "$1" --include='*.cpp')
if [ -n "$bad" ]; then
  echo "test names must not contain ';', '[' or ']' (ctest would not run them):"
  echo "$bad"
  exit 1
fi
