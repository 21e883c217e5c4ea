<?php
// The seed incident's page: about 40 ms of work (a wait, as on a database),
// one log line appended under flock(LOCK_EX), about 32 KB of response.
// A request whose response cannot be delivered (nginx or the client left
// while it sat in the accept queue) is a stale execution: counted in the
// shutdown path, where PHP knows whether its writes failed.
ignore_user_abort(true);

register_shutdown_function(static function (): void {
    flush();
    if (connection_status() !== CONNECTION_NORMAL) {
        // One O_APPEND write, no lock: counting must not add to the stall.
        file_put_contents('/var/log/incident/stale.log', sprintf("%.3f %s\n", microtime(true), $_SERVER['HTTP_HOST'] ?? '-'), FILE_APPEND);
    }
});

usleep(40000);

$log = fopen('/var/log/incident/app.log', 'a');
flock($log, LOCK_EX);
fwrite($log, sprintf("%.3f %s %d\n", microtime(true), $_SERVER['HTTP_HOST'] ?? '-', getmypid()));
flock($log, LOCK_UN);
fclose($log);

header('Content-Type: text/plain');
echo str_repeat("acceptq incident lab response line, 64 bytes of padding text..\n", 512);
