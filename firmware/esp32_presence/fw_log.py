"""Tiny leveled logger for the firmware: MicroPython has no ``logging`` module.

Messages go to the serial console (stdout). On CPython the simulator routes them into
``logging`` instead, by calling :func:`set_sink`.
"""

DEBUG = 10
INFO = 20
WARNING = 30
ERROR = 40

_NAMES = {DEBUG: "DEBUG", INFO: "INFO", WARNING: "WARNING", ERROR: "ERROR"}
_state = {"level": INFO, "sink": None}


def set_level(level: int) -> None:
    _state["level"] = level


def set_sink(sink: object) -> None:
    """Send records to ``sink(level, message)`` instead of printing them."""
    _state["sink"] = sink


def log(level: int, message: str, *args: object) -> None:
    if level < _state["level"]:
        return
    text = message % args if args else message
    sink = _state["sink"]
    if sink is None:
        print(_NAMES.get(level, "LOG"), text)
    else:
        sink(level, text)


def debug(message: str, *args: object) -> None:
    log(DEBUG, message, *args)


def info(message: str, *args: object) -> None:
    log(INFO, message, *args)


def warning(message: str, *args: object) -> None:
    log(WARNING, message, *args)


def error(message: str, *args: object) -> None:
    log(ERROR, message, *args)
