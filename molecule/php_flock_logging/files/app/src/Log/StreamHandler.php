<?php
namespace App\Log;

// A Monolog-style handler: it locks each record only when told to.
class StreamHandler
{
    private $url;
    private $stream;
    private $useLocking;

    public function __construct($stream, $level = 100, bool $bubble = true, ?int $filePermission = null, bool $useLocking = false)
    {
        $this->url = $stream;
        $this->useLocking = $useLocking;
    }

    public function handle(string $message): void
    {
        if (!is_resource($this->stream)) {
            $this->stream = fopen($this->url, 'a');
        }
        if ($this->useLocking) {
            flock($this->stream, LOCK_EX);
        }
        $this->streamWrite($this->stream, $message . "\n");
        if ($this->useLocking) {
            flock($this->stream, LOCK_UN);
        }
    }

    protected function streamWrite($stream, string $message): void
    {
        fwrite($stream, $message);
    }
}
