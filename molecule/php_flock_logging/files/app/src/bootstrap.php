<?php
require __DIR__ . '/Log/StreamHandler.php';

use App\Log\StreamHandler;

function app_logger(): StreamHandler
{
    return new StreamHandler('/var/log/app/mono.log', 100, true, null, true);
}
