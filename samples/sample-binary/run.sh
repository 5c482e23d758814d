#!/bin/sh
# Reads the binary message from the FIFO, reports its size and digests, and sends the bytes
# back as a result datagram so a test can compare them with what it sent.
set -e
cat /_abaco_binary_data > /tmp/data
echo "bytes: $(wc -c < /tmp/data)"
echo "md5: $(md5sum < /tmp/data | cut -d' ' -f1)"
echo "sha256: $(sha256sum < /tmp/data | cut -d" " -f1)"
echo "hex: $(head -c 64 /tmp/data | od -An -tx1 | tr -d ' \n')"
/bin/abaco-send /tmp/data
