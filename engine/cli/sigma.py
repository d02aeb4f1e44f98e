"""`hindsight sigma convert RULES...`: Sigma rules -> Datadog detection rule JSON.

Each Sigma rule is reported on its own line: converted (and where its JSON went), or the
converter's reason why not. The exit status is 0 when every rule converted, 2 when some could
not be (they are reported; the others are still written). docs/sigma.md.
"""

from __future__ import annotations

import re
from pathlib import Path

import click
import orjson

from engine.cli.common import EXIT_USER_ERROR, cli, number
from engine.rules.sigma.convert import SigmaConversion, convert_sigma
from engine.rules.sigma.pipeline import SHIPPED

EXIT_CONVERTED = 0
EXIT_SOME_REFUSED = EXIT_USER_ERROR

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


@cli.group("sigma")
def sigma_group() -> None:
    """Sigma rules: convert them to Datadog rules (`hindsight run` also reads them directly)."""


@sigma_group.command("convert")
@click.argument("rules", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--pipeline",
    "pipelines",
    multiple=True,
    metavar="NAME|FILE",
    help=f"Field-mapping pipeline: {', '.join(SHIPPED)} or a pySigma pipeline YAML "
    "(repeatable; default: every shipped pipeline).",
)
@click.option(
    "--output",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Write one Datadog rule JSON file per rule into this folder (default: a JSON array "
    "on standard output).",
)
def convert_command(
    rules: tuple[Path, ...], pipelines: tuple[str, ...], output: Path | None
) -> int:
    """Convert Sigma RULES (YAML files or folders) to Datadog detection rule JSON."""
    for path in rules:
        if not path.exists():
            raise click.BadParameter(f"{path} does not exist", param_hint="RULES")
    conversions = convert_sigma(list(rules), list(pipelines) or None)
    _print(conversions, _write(conversions, output))
    refused = [item for item in conversions if item.rule is None]
    return EXIT_SOME_REFUSED if refused else EXIT_CONVERTED


def _write(conversions: list[SigmaConversion], output: Path | None) -> dict[int, Path]:
    """Write the converted rules; the file of each (by `id` of its conversion)."""
    rules = [item for item in conversions if item.rule is not None and item.output]
    if output is None:
        documents = [item.rule for item in rules]
        click.echo(orjson.dumps(documents, option=orjson.OPT_INDENT_2).decode())
        return {}
    output.mkdir(parents=True, exist_ok=True)
    written: dict[int, Path] = {}
    taken: set[str] = set()
    for item in rules:
        stem = _UNSAFE.sub("_", item.file.stem) or "rule"
        if item.source != str(item.file):
            stem += "-" + item.source.rsplit("[", 1)[-1].rstrip("]")
        name, number_ = stem, 2
        while name in taken:
            name, number_ = f"{stem}-{number_}", number_ + 1
        taken.add(name)
        path = output / f"{name}.json"
        path.write_bytes(orjson.dumps(item.rule, option=orjson.OPT_INDENT_2) + b"\n")
        written[id(item)] = path
    return written


def _print(conversions: list[SigmaConversion], written: dict[int, Path]) -> None:
    for item in conversions:
        if item.rule is None:
            line = f"refused    {item.source}: {item.error}"
        elif not item.output:
            line = f"converted  {item.source}: used by a correlation rule (not written alone)"
        else:
            where = written.get(id(item))
            line = f"converted  {item.source}" + (f" -> {where}" if where else "")
        click.echo(line, err=True)
        for note in item.notes:
            click.echo(f"  note: {note}", err=True)
    done = sum(1 for item in conversions if item.rule is not None)
    click.echo(
        f"{number(done)} of {number(len(conversions))} Sigma rule(s) converted"
        + (f", {number(len(conversions) - done)} refused" if done < len(conversions) else ""),
        err=True,
    )
