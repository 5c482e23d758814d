#!/bin/sh
# Exits with the code given in MSG (0 when MSG is empty).
echo "exiting with ${MSG:-0}"
exit "${MSG:-0}"
