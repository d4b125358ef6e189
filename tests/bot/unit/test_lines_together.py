"""The serving gateway's log lines, written together (bot/logs.py, LinesTogether): the lines of a
moment in one write, a warning at once, nothing lost when the process ends."""

from __future__ import annotations

import asyncio
import io
import logging

import pytest

from bot.logs import LinesTogether


class Writes(io.StringIO):
    """A stream that counts its writes."""

    def __init__(self) -> None:
        super().__init__()
        self.writes = 0

    def write(self, text: str) -> int:
        self.writes += 1
        return super().write(text)


def logger_to(handler: logging.Handler) -> logging.Logger:
    logger = logging.Logger("test.lines_together", logging.INFO)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    logger.addHandler(handler)
    return logger


def test_the_lines_of_a_moment_are_one_write_a_moment_later() -> None:
    stream = Writes()
    log = logger_to(LinesTogether(stream, seconds=0.05))

    async def chat() -> tuple[str, str]:
        for n in range(3):
            log.info("message %d", n)
        right_away = stream.getvalue()
        await asyncio.sleep(0.2)
        return right_away, stream.getvalue()

    right_away, later = asyncio.run(chat())
    assert right_away == ""
    assert later == "INFO message 0\nINFO message 1\nINFO message 2\n"
    assert stream.writes == 1


def test_a_warning_is_written_at_once_with_the_lines_before_it() -> None:
    stream = Writes()
    log = logger_to(LinesTogether(stream, seconds=60))

    async def chat() -> str:
        log.info("answered")
        log.warning("backend unavailable")
        return stream.getvalue()

    assert asyncio.run(chat()) == "INFO answered\nWARNING backend unavailable\n"


def test_outside_an_event_loop_a_line_is_written_at_once() -> None:
    stream = Writes()
    logger_to(LinesTogether(stream, seconds=60)).info("starting")
    assert stream.getvalue() == "INFO starting\n"


def test_what_waits_is_written_when_the_process_ends_and_on_a_later_loop() -> None:
    stream = Writes()
    handler = LinesTogether(stream, seconds=60)
    log = logger_to(handler)

    async def line(text: str) -> None:
        log.info(text)

    asyncio.run(line("first loop"))  # its timer goes with its loop
    asyncio.run(line("second loop"))
    assert stream.getvalue() == ""
    handler.flush()  # what logging.shutdown does for every handler at exit
    assert stream.getvalue() == "INFO first loop\nINFO second loop\n"


def test_a_stream_that_fails_is_reported_not_raised(capsys: pytest.CaptureFixture[str]) -> None:
    class Closed(io.StringIO):
        def write(self, text: str) -> int:
            raise OSError("closed pipe")

    logger_to(LinesTogether(Closed(), seconds=60)).warning("lost")  # no exception
    assert "closed pipe" in capsys.readouterr().err  # logging's own report, as StreamHandler's
