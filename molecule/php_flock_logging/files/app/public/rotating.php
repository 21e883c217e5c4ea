<?php
require __DIR__ . '/../src/Rotating.php';

rotating_log('/var/log/app/rotating.log', sprintf('rot req=%s end', $_GET['id'] ?? '0'));
echo "ok\n";
