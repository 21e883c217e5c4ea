<?php
// Every request appends one line under an exclusive lock: the incident's logger.
function request_log(string $path, string $line): void
{
    file_put_contents($path, $line . "\n", FILE_APPEND | LOCK_EX);
}
