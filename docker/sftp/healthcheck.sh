#!/bin/bash
# docker/sftp/healthcheck.sh: healthy when sshd accepts a connection on port 22 and greets
# with an SSH-2.0 banner.
exec 3<>/dev/tcp/127.0.0.1/22 && read -r -t 3 banner <&3 && [[ $banner == SSH-2.0-* ]]
