"""Command-line options declared once, on the ``ServerConfig`` fields they set.

Each knob used to be written three times (argparse flag and environment variable, the
config default, the keyword mapping). Now a field is declared with :func:`setting` (flag,
default, parser, help; the environment variable follows from the flag), and
``coscribe-server`` builds its parser and the config from the dataclass: the default shown
in ``--help`` is the field's default, and an option cannot be added without its
environment variable and its parser.

The parsers raise ``argparse.ArgumentTypeError`` with a message that says what is wrong,
so every bad value is a one-line error naming the option.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

Parser = Callable[[str], Any]
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Option:
    """How one config field appears on the command line."""

    flag: str
    env: str
    help: str
    parse: Parser = str
    choices: tuple[str, ...] | None = None
    metavar: str | None = None
    #: ``--insecure-open`` style switch: present = True; the variable takes 1/true/yes.
    switch: bool = False
    #: Repeatable (``--allow-origin A --allow-origin B``); the variable is comma-separated.
    repeat: bool = False
    #: Turns the parsed value into the field's value (ProtocolLimits from a size, say).
    to_field: Callable[[Any], Any] | None = None
    #: How the default is shown in --help when it is not the field's repr.
    shown_default: str | None = None


def setting(
    flag: str,
    default: T,
    parse: Parser = str,
    *,
    help: str,
    env: str | None = None,
    repr: bool = True,
    **more: Any,
) -> T:
    """A config field that is also the option ``flag`` and the environment variable ``env``
    (by default ``COSCRIBE_`` and the flag in capitals: ``--max-rooms`` is
    ``COSCRIBE_MAX_ROOMS``); ``more`` are the other :class:`Option` attributes."""
    if env is None:
        env = "COSCRIBE_" + flag.removeprefix("--").upper().replace("-", "_")
    cli = Option(flag=flag, env=env, help=help, parse=parse, **more)
    return field(default=default, repr=repr, metadata={"cli": cli})


def cli_fields(config_type: type) -> list[tuple[dataclasses.Field[Any], Option]]:
    """The fields of ``config_type`` that have a command-line option, in declaration order."""
    out = []
    for f in dataclasses.fields(config_type):
        opt = f.metadata.get("cli")
        if isinstance(opt, Option):
            out.append((f, opt))
    return out


def _default_text(f: dataclasses.Field[Any], opt: Option) -> str:
    if opt.shown_default is not None:
        return opt.shown_default
    if f.default is not dataclasses.MISSING:
        value = f.default
    elif f.default_factory is not dataclasses.MISSING:
        value = f.default_factory()
    else:
        return "required"
    if value is None or value == () or value == frozenset():
        return "none"
    if isinstance(value, bool):
        return "off" if not value else "on"
    return str(value)


def add_options(parser: argparse.ArgumentParser, config_type: type) -> None:
    """Add every declared option; environment variables become the argparse defaults."""
    for f, opt in cli_fields(config_type):
        env_value = os.environ.get(opt.env) or None  # set but empty = not set
        metavar = opt.metavar or opt.flag.lstrip("-").upper().replace("-", "_")
        help_ = f"{opt.help} [{opt.env}] (default: {_default_text(f, opt)})"
        if opt.switch:
            parser.add_argument(
                opt.flag,
                dest=f.name,
                action="store_true",
                default=(env_value or "").lower() in {"1", "true", "yes"} or None,
                help=help_,
            )
        elif opt.repeat:
            parser.add_argument(
                opt.flag,
                dest=f.name,
                action="append",
                type=opt.parse,
                metavar=metavar,
                default=[opt.parse(v) for v in (env_value or "").split(",") if v.strip()] or None,
                help=help_,
            )
        else:
            parser.add_argument(
                opt.flag,
                dest=f.name,
                type=opt.parse,
                choices=opt.choices,
                metavar=None if opt.choices else metavar,
                default=env_value,  # a string: argparse runs it through ``type`` too
                help=help_,
            )


def config_values(args: argparse.Namespace, config_type: type) -> dict[str, Any]:
    """Keyword arguments for ``config_type`` from what was given (flag or variable)."""
    values: dict[str, Any] = {}
    for f, opt in cli_fields(config_type):
        value = getattr(args, f.name, None)
        if value is None or (opt.switch and value is False):
            continue
        if opt.repeat:
            value = tuple(value)
        values[f.name] = opt.to_field(value) if opt.to_field is not None else value
    return values


# ---------------------------------------------------------------------- parsers


def port(value: str) -> int:
    try:
        n = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {value!r}") from None
    if not 0 <= n <= 65535:
        raise argparse.ArgumentTypeError(f"port {n} is outside 0-65535")
    return n


def number(kind: type[int] | type[float], *, zero_means_unlimited: bool) -> Parser:
    """An int or float that must be positive (or 0 = unlimited)."""
    noun = "an integer" if kind is int else "a number"
    rule = "must be 0 (unlimited) or positive" if zero_means_unlimited else "must be positive"

    def parse(value: str) -> int | float:
        try:
            n = kind(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not {noun}: {value!r}") from None
        if not (n >= 0 if zero_means_unlimited else n > 0):
            shown = n if kind is int else repr(value)
            raise argparse.ArgumentTypeError(f"{rule}: {shown}")
        return n

    return parse


positive_int = number(int, zero_means_unlimited=False)
non_negative_int = number(int, zero_means_unlimited=True)
positive_float = number(float, zero_means_unlimited=False)
rate = number(float, zero_means_unlimited=True)


def size(value: str) -> int:
    """Accept 1048576, 64K, 16M, 1G."""
    text = value.strip().upper().removesuffix("B").removesuffix("I")
    mult = {"K": 1024, "M": 1024**2, "G": 1024**3}.get(text[-1:], 1)
    digits = text[:-1] if mult > 1 else text
    try:
        n = int(digits) * mult
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not a size: {value!r} (use e.g. 65536, 64K, 16M)"
        ) from None
    if n <= 0:
        raise argparse.ArgumentTypeError(f"must be positive: {value!r}")
    return n


def url(*schemes: str) -> Parser:
    """A URL with one of ``schemes`` (e.g. ``postgresql://``)."""

    def parse(value: str) -> str:
        if not value.startswith(schemes):
            example = f"{schemes[0]}..."
            raise argparse.ArgumentTypeError(
                f"must start with {' or '.join(schemes)} (e.g. {example})"
            )
        return value

    return parse
