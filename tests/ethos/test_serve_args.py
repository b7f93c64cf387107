"""Every ``serve`` command takes the same --host and --port, and refuses a port out of range
with a usage error (exit 2) before anything starts."""

from __future__ import annotations

import pytest

from ethos.cli import build_parser

SERVE_COMMANDS = {
    ("cloud", "serve"): 8080,
    ("btcpay-sim", "serve"): 8082,
    ("hub", "serve"): 8181,
}


@pytest.mark.parametrize(("command", "default_port"), SERVE_COMMANDS.items())
def test_serve_defaults_and_given_address(command: tuple[str, str], default_port: int) -> None:
    parser = build_parser()
    defaults = parser.parse_args([*command])
    assert (defaults.host, defaults.port) == ("127.0.0.1", default_port)
    given = parser.parse_args([*command, "--host", "192.0.2.10", "--port", "65535"])
    assert (given.host, given.port) == ("192.0.2.10", 65535)


@pytest.mark.parametrize("command", SERVE_COMMANDS)
@pytest.mark.parametrize(
    ("port", "message"),
    [("0", "between 1 and 65535"), ("65536", "between 1 and 65535"), ("http", "not a port")],
)
def test_serve_refuses_a_port_out_of_range(
    command: tuple[str, str], port: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args([*command, "--port", port])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err
