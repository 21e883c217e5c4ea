<?php
// A page that works for ?ms= milliseconds, for GET and POST alike.
usleep((int) ($_GET['ms'] ?? 0) * 1000);
echo "ok " . getmypid() . "\n";
