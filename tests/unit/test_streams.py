"""Output whose reader went away (a closed pipe, a hung-up terminal) is dropped, and
the command goes on; other write errors (a full disk) are said once and make the
exit status 1, and the command goes on too."""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator

import pytest

from provisioner import streams
from provisioner.streams import write


class FailingStream:
    """A text stream over a real file descriptor whose next write fails with ``error``."""

    def __init__(self, fd: int, error: OSError | None) -> None:
        self.fd, self.error, self.written = fd, error, ""

    def write(self, text: str) -> int:
        if self.error is not None:
            error, self.error = self.error, None
            raise error
        self.written += text
        os.write(self.fd, text.encode())
        return len(text)

    def flush(self) -> None: ...

    def fileno(self) -> int:
        return self.fd


@pytest.fixture
def pipe() -> Iterator[tuple[int, int]]:
    read_end, write_end = os.pipe()
    yield read_end, write_end
    for fd in (read_end, write_end):
        os.close(fd)


@pytest.mark.parametrize("error", [BrokenPipeError(errno.EPIPE, "Broken pipe"),
                                   OSError(errno.EIO, "Input/output error")])
def test_a_reader_that_went_away_sends_the_rest_to_devnull(
        pipe: tuple[int, int], error: OSError) -> None:
    read_end, write_end = pipe
    stream = FailingStream(write_end, error)
    write(stream, "lost\n")  # type: ignore[arg-type]
    write(stream, "after\n")  # type: ignore[arg-type]
    os.set_blocking(read_end, False)
    # the pipe's only writer now points at /dev/null: its reader sees the end, no data
    assert os.read(read_end, 100) == b""
    assert stream.written == "after\n"


def test_other_write_errors_are_said_once_and_make_the_exit_status_1(
        pipe: tuple[int, int], monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(streams, "_lost", [])
    stream = FailingStream(pipe[1], OSError(errno.ENOSPC, "No space left on device"))
    write(stream, "text\n")  # type: ignore[arg-type]
    write(stream, "more\n")  # type: ignore[arg-type]
    assert streams.lost_output() == "cannot write to the output: No space left on device"
    assert capsys.readouterr().err.count("No space left on device") == 1
    assert stream.written == "more\n"  # to /dev/null: the command goes on
