#!/bin/sh
# Prints the message, then the whole environment, so tests can check what a run was given.
echo "MSG=$MSG"
env | sort
