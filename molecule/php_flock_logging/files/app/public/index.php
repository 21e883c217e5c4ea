<?php
require __DIR__ . '/../src/RequestLog.php';

$id = $_GET['id'] ?? '0';
request_log(
    '/var/log/app/app.log',
    sprintf('req=%s pid=%d uri=%s pad=%s end', $id, getmypid(), $_SERVER['REQUEST_URI'], str_repeat('x', 300))
);
echo "ok\n";
