r"""Intrinsic functions' string literals read as Step Functions reads them (a plug-in for moto's Step Functions).

In an intrinsic function's string, ``'``, ``{``, ``}`` and ``\`` are reserved: each stands for itself
written after a backslash (AWS Step Functions Developer Guide, "Intrinsic functions for JSONPath
states", reserved characters); in a ``States.Format`` template a bare ``{}`` is a placeholder and
``\{`` a brace (aws/aws-cdk#29261: Step Functions fails a template with a bare brace, "Invalid
template in States.Format"). moto gets two things wrong:

* it hands its intrinsic parser the function's text as the definition's JSON spells it, its JSON
  escapes still in (``\\'`` for ``\'``), so an escaped quote ends the string early and the
  function succeeds with the wrong text;
* its ``States.Format`` fills the template with Python's ``str.format``, so an escaped brace fails
  the run (``KeyError``).

The emulator reads the text as JSON first, then a ``States.Format`` template's and literal
arguments' escapes as Step Functions does; a bare brace that is not ``{}`` fails the run.
"""

from __future__ import annotations

import json
from typing import Any

from .. import patches

__all__ = ["format_template", "install"]

#: The characters a backslash makes stand for themselves in an intrinsic function's string (see above).
_RESERVED = "'{}\\"


def _unescape(text: str) -> str:
    """A string literal's value: each reserved character after a backslash stands for itself."""
    out, i = [], 0
    while i < len(text):
        if text[i] == "\\" and i + 1 < len(text) and text[i + 1] in _RESERVED:
            i += 1
        out.append(text[i])
        i += 1
    return "".join(out)


def format_template(template: str, values: list[str]) -> str:
    """``States.Format``: ``template`` (a literal, its escapes as written) with each ``{}`` the next of ``values``."""
    out, i, at = [], 0, 0
    while i < len(template):
        c = template[i]
        if c == "\\" and i + 1 < len(template) and template[i + 1] in _RESERVED:
            out.append(template[i + 1])
            i += 2
            continue
        if template.startswith("{}", i):
            if at >= len(values):
                raise ValueError("Invalid template in States.Format: more placeholders than arguments")
            out.append(values[at])
            at += 1
            i += 2
            continue
        if c in "{}":
            raise ValueError(f"Invalid template in States.Format: an unescaped '{c}' is not a placeholder")
        out.append(c)
        i += 1
    return "".join(out)


def install() -> None:
    from moto.stepfunctions.parser.asl.component.intrinsic.argument.argument import ArgumentLiteral

    preprocessor = "moto.stepfunctions.parser.asl.parse.preprocessor:Preprocessor"
    string_format = (
        "moto.stepfunctions.parser.asl.component.intrinsic.function.statesfunction.generic.string_format:StringFormat"
    )

    def visit_intrinsic(self: Any, ctx: Any) -> Any:
        from moto.stepfunctions.parser.asl.component.common.string.string_expression import (
            StringIntrinsicFunction,
        )
        from moto.stepfunctions.parser.asl.parse.intrinsic.intrinsic_parser import IntrinsicParser

        derivation = json.loads(ctx.STRINGINTRINSICFUNC().getText())
        function, _ = IntrinsicParser.parse(derivation)
        return StringIntrinsicFunction(intrinsic_function_derivation=derivation, function=function)

    patches.replace(
        preprocessor,
        "visitString_intrinsic_function",
        visit_intrinsic,
        why="an intrinsic function's text is the definition's JSON string read as JSON (its escapes resolved)",
    )

    def eval_body(self: Any, env: Any) -> None:
        self.argument_list.eval(env=env)
        args = env.stack.pop()
        literal = [
            isinstance(a, ArgumentLiteral) and isinstance(a.definition_value, str) for a in self.argument_list.arguments
        ]
        values = [_unescape(v) if is_literal else v for v, is_literal in zip(args[1:], literal[1:], strict=True)]
        template = args[0] if literal[0] else args[0].replace("\\", "\\\\")  # a template read at run time: as it is
        env.stack.append(format_template(template, [self._to_str_repr(v) for v in values]))

    patches.replace(
        string_format,
        "_eval_body",
        eval_body,
        why="States.Format reads its template's escapes (\\{ \\} \\' \\\\) and placeholders as Step Functions does",
    )
    patches.apply()
