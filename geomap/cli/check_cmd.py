"""``geomap check``: validate the atlas; findings on stdout, exit 1 on errors."""

from __future__ import annotations

import json

import click

from geomap.check import check_atlas, format_finding, has_errors, summary_line
from geomap.cli.main import get_atlas
from geomap.cli.options import json_option


@click.command(name="check")
@json_option
@click.option(
    "--strict", is_flag=True, help="警告也视为失败 (exit 1 on warnings too, not only on errors)."
)
@click.pass_context
def command(ctx: click.Context, as_json: bool, strict: bool) -> None:
    """检查图集 (validate every layer, table and map spec); exit 1 if any error."""
    findings = check_atlas(get_atlas(ctx))
    if as_json:
        click.echo(json.dumps([f.as_dict() for f in findings], ensure_ascii=False, indent=2))
    else:
        for finding in findings:
            click.echo(format_finding(finding))
        click.echo(summary_line(findings))
    # Exit without an exception message: the findings above already say everything.
    if has_errors(findings) or (strict and findings):
        ctx.exit(1)
