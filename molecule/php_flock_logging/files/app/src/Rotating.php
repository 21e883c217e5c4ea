<?php
// Rotates under its lock: removing the lock would race the rename. The codemod must refuse it.
function rotating_log(string $path, string $line): void
{
    $fp = fopen($path, 'a');
    flock($fp, LOCK_EX);
    clearstatcache();
    if (filesize($path) > 1048576) {
        rename($path, $path . '.1');
    }
    fwrite($fp, $line . "\n");
    flock($fp, LOCK_UN);
    fclose($fp);
}
