"""A disk that is full, over quota or read-only reads as one line saying what to do."""

import errno

import pytest

from ganlab.errors import StorageError, storage_error


@pytest.mark.parametrize(
    "code,todo",
    [
        (errno.ENOSPC, "Make room on that disk, or write to another one"),
        (errno.EDQUOT, "Make room on that disk, or write to another one"),
        (errno.EROFS, "Write to another disk"),
    ],
)
def test_storage_errors_name_the_file_and_what_to_do(code, todo):
    err = storage_error(OSError(code, "strerror here", "/runs/a/metrics.csv"))
    assert isinstance(err, StorageError)
    assert str(err) == (
        f"strerror here (/runs/a/metrics.csv). {todo} (runs go under GANLAB_LOG_DIR, or "
        "paths.log_dir), and run again."
    )


def test_other_errors_are_not_storage_errors():
    assert storage_error(OSError(errno.ENOENT, "No such file or directory", "x")) is None
    assert storage_error(OSError(errno.EACCES, "Permission denied", "x")) is None
    assert storage_error(RuntimeError("No space left on device")) is None
    assert str(storage_error(OSError(errno.ENOSPC, "No space left on device"))) == (
        "No space left on device. Make room on that disk, or write to another one (runs go "
        "under GANLAB_LOG_DIR, or paths.log_dir), and run again."
    )
