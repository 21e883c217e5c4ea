<?php
require __DIR__ . '/../src/bootstrap.php';

app_logger()->handle(sprintf('mono req=%s pid=%d end', $_GET['id'] ?? '0', getmypid()));
echo "ok\n";
