#!/usr/bin/env bash
# Re-create the captured fixtures under tests/fixtures (root needed):
#   host/      this machine's own namespace, as found
#   overflow/  a namespace of our own: somaxconn 16, a TCP listener asking for
#              backlog 64 that never accepts, flooded past its cap, and a unix
#              listener filled the same way; a server on :9001 holding 6
#              connections its clients closed (CLOSE_WAIT); one process holding
#              LOCK_EX on a log file with three others blocked on it
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
py=${PYTHON:-$root/.venv/bin/python}
out=$root/tests/fixtures
ns=acceptq-capture-$$

"$py" "$out/capture.py" "$out/host"

ip netns add "$ns"
cleanup() { ip netns pids "$ns" 2>/dev/null | xargs -r kill 2>/dev/null || true; ip netns del "$ns"; }
trap cleanup EXIT
ip netns exec "$ns" ip link set lo up
ip netns exec "$ns" sysctl -qw net.core.somaxconn=16
ip netns exec "$ns" "$py" - <<'PY' &
import socket, time
tcp = socket.socket(); tcp.bind(("127.0.0.1", 9000)); tcp.listen(64)
unix = socket.socket(socket.AF_UNIX); unix.bind("/tmp/acceptq-capture.sock"); unix.listen(8)
time.sleep(30)
PY
sleep 1
ip netns exec "$ns" "$py" - <<'PY' &
import socket, time
server = socket.socket(); server.bind(("127.0.0.1", 9001)); server.listen(8)
accepted = []
for _ in range(6):
    client = socket.create_connection(("127.0.0.1", 9001))
    accepted.append(server.accept()[0]); client.close()
time.sleep(30)
PY
lockfile=/tmp/acceptq-capture.log
"$py" -c "import fcntl, time; f = open('$lockfile', 'a'); fcntl.flock(f, fcntl.LOCK_EX); time.sleep(30)" &
sleep 0.5
for _ in 1 2 3; do
  "$py" -c "import fcntl; f = open('$lockfile', 'a'); fcntl.flock(f, fcntl.LOCK_EX)" &
done
ip netns exec "$ns" "$py" - <<'PY' &
import socket, time
held = []
for _ in range(40):
    client = socket.socket(); client.setblocking(False)
    client.connect_ex(("127.0.0.1", 9000)); held.append(client)
for _ in range(12):
    client = socket.socket(socket.AF_UNIX); client.setblocking(False)
    client.connect_ex("/tmp/acceptq-capture.sock"); held.append(client)
time.sleep(30)
PY
sleep 3
ip netns exec "$ns" "$py" "$out/capture.py" "$out/overflow"
rm -f /tmp/acceptq-capture.sock
pkill -f "acceptq-capture.log" || true
rm -f "$lockfile"
echo "captured into $out/host and $out/overflow"
