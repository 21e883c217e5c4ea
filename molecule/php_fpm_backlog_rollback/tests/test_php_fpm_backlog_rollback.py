"""php_fpm_backlog rollback: a failed php-fpm -t restores every file and restarts nothing."""

POOL_DIR = "/etc/php/8.2/fpm/pool.d"
ORIGINAL = "/var/lib/acceptq-test/original"


def test_the_role_stopped_on_validation(host):
    failure = host.file("/var/lib/acceptq-test/failure.txt").content_string
    assert "php-fpm -t rejected the configuration after the edits" in failure
    assert "zz-deploy.conf" in failure  # php-fpm's own words name the broken file


def test_edited_files_were_restored_byte_for_byte(host):
    for name in ("seed.conf", "www.conf"):
        assert host.file("%s/%s" % (POOL_DIR, name)).sha256sum == host.file("%s/%s" % (ORIGINAL, name)).sha256sum


def test_php_fpm_was_not_restarted_and_keeps_its_old_backlog(host):
    pid = host.check_output("systemctl show --property MainPID --value php8.2-fpm")
    assert pid == host.file("/var/lib/acceptq-test/php-fpm.pid").content_string.strip()
    assert int(host.check_output("ss -Hltn sport = :9000").split()[2]) == 4096  # 65535 cut by somaxconn


def test_the_backup_of_the_edited_file_is_kept(host):
    backups = host.check_output("find /var/backups/acceptq/php-fpm -name seed.conf").split()
    assert len(backups) == 1
    assert host.file(backups[0]).sha256sum == host.file("%s/seed.conf" % ORIGINAL).sha256sum
