"""README.md, the guides in docs/ and the examples' READMEs: every link resolves, every code block runs as written.

- Links: a relative link names a file that exists and, with ``#anchor``, a heading of that file
  (GitHub's anchors: lower case, punctuation dropped, spaces to ``-``, ``-1``, ``-2``... for repeats);
  an external link is checked for syntax only (this machine reaches no web site).
- Python blocks run in one process, each in a stack of its own in one ``App``, synthesized once at the
  end. A block that defines its own app runs as it is; a fragment (``self``, ``data``, ``role``...) runs
  in a stack that holds the README example's objects, named as the guides name them (``CONTEXT``), made
  only when the fragment uses them.
- Shell blocks: every command exists: a make target of the Makefile, a console script of the package
  whose own parser accepts the arguments (``<placeholders>`` filled in), the CDK or AWS CLI, or a
  common shell tool.
"""

from __future__ import annotations

import ast
import re
import shlex
import tomllib
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = [
    ROOT / "README.md",
    *sorted((ROOT / "docs").glob("*.md")),
    *sorted((ROOT / "examples").glob("*/README.md")),  # their links and commands (no Python blocks)
]
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)|<(https?://[^>\s]+)>")
#: Programs a shell block may name besides make targets and the package's console scripts.
TOOLS = {"cdk", "aws", "git", "cd", "python", "python3", "pip", "npm", "export", "eval", ".", "source", "uv"}


def _prose(text: str) -> str:
    """The text outside code blocks and code spans, where links are links."""
    text = FENCE.sub("", text)
    return re.sub(r"`[^`\n]*`", "", text)


def _blocks(language: str) -> list[tuple[Path, int, str]]:
    found = []
    for page in PAGES:
        text = page.read_text()
        for match in FENCE.finditer(text):
            if match.group(1) == language:
                found.append((page, text.count("\n", 0, match.start()) + 1, match.group(2)))
    return found


def github_anchors(text: str) -> set[str]:
    """The anchors GitHub gives the headings of a markdown file."""
    anchors: set[str] = set()
    counts: dict[str, int] = {}
    for heading in re.findall(r"^#{1,6} +(.+?) *#*$", FENCE.sub("", text), re.M):
        slug = re.sub(r"[^\w\- ]", "", heading.lower().replace("`", "")).replace(" ", "-")
        n = counts.get(slug, 0)
        counts[slug] = n + 1
        anchors.add(slug if n == 0 else f"{slug}-{n}")
    return anchors


def test_anchors_follow_github():
    text = "# Why, next to the alternatives\n## `sm-pipeline`: run, watch\n## Notes\n## Notes\n"
    assert github_anchors(text) == {"why-next-to-the-alternatives", "sm-pipeline-run-watch", "notes", "notes-1"}


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_link_resolves(page):
    broken = []
    for match in LINK.finditer(_prose(page.read_text())):
        link = match.group(1) or match.group(2)
        if re.match(r"^[a-z][a-z0-9+.-]*:", link):
            parsed = urlparse(link)
            if parsed.scheme not in ("http", "https", "mailto") or (parsed.scheme != "mailto" and not parsed.netloc):
                broken.append(f"{link}: not a valid URL")
            continue
        path, _, anchor = link.partition("#")
        target = (page.parent / path).resolve() if path else page
        if not target.exists():
            broken.append(f"{link}: no file {target.relative_to(ROOT) if target.is_relative_to(ROOT) else target}")
        elif anchor and anchor not in github_anchors(target.read_text()):
            broken.append(f"{link}: no heading #{anchor} in {target.name}")
    assert not broken, f"{page.name}: " + "; ".join(broken)


# ---- Python blocks ---------------------------------------------------------------------------------
#: What the guides' fragments call the objects they build on: name → how it is made in the fragment's
#: stack (``self``) from the others (the README example's MlStack, a model package group and a VPC as
#: the reference app has them, and the multi-account guide's accounts).
CONTEXT = {
    "data": 'MlDataBucket(self, "ExampleData")',
    "role": 'SageMakerExecutionRole(self, "ExampleRole")',
    "execution_role": "role",
    "run": "sfn.JsonPath.execution_name",
    "prep": (
        'ProcessingDefinition(self, "ExamplePreprocess", role=role, image=ContainerImage.sklearn("1.2-1"),'
        ' code=SCRIPT, inputs=[ProcessingInput("raw", sfn.JsonPath.string_at("$.input.inputDataUri"))],'
        ' outputs=[ProcessingOutput("train", sfn.JsonPath.format("s3://{}/processed/{}/train/", data.bucket_name,'
        ' run))], name_prefix="example-preprocess")'
    ),
    "prepare": "prep",
    "train": (
        'TrainingDefinition(self, "ExampleTrain", role=role, image=ContainerImage.xgboost("1.7-1"),'
        ' output_path=sfn.JsonPath.format("s3://{}/models/{}", data.bucket_name, run),'
        ' channels=[TrainingChannel("train", prep.output_uri("train"), content_type="text/csv")],'
        ' hyperparameters={"objective": "binary:logistic", "num_round": 100})'
    ),
    "registry": 'ModelPackageGroup(self, "ExampleGroup", group_name="example-models")',
    "network": 'MlVpc(self, "ExampleNetwork")',
    # the multi-account guide's build, staging and production accounts and the build account's bucket
    "accounts": (
        'ReleaseAccounts(build=StageEnvironment(account="111111111111", region="us-east-1"),'
        ' staging=StageEnvironment(account="222222222222", region="us-east-1"),'
        ' production=StageEnvironment(account="333333333333", region="us-east-1"))'
    ),
    "artifacts_bucket_name": '"churn-artifacts-111111111111"',
    "model_role": 'SageMakerExecutionRole(self, "ExampleModelRole")',
    "pipeline": 'MlPipeline(self, "ExamplePipeline", preprocessing=[prep], training=train)',
}


def _names(code: str) -> set[str]:
    return {node.id for node in ast.walk(ast.parse(code)) if isinstance(node, ast.Name)}


#: Which context names each one needs, so a fragment gets only what it uses.
NEEDS = {name: [n for n in CONTEXT if n in _names(source)] for name, source in CONTEXT.items()}


def _context(fragment: str) -> list[str]:
    """The context names a fragment uses, with what they need, in the order to make them."""
    wanted: list[str] = []

    def want(name: str) -> None:
        for need in NEEDS[name]:
            want(need)
        if name not in wanted:
            wanted.append(name)

    for name in CONTEXT:
        if name in _names(fragment):
            want(name)
    return wanted


@pytest.fixture(scope="module")
def synthesized(tmp_path_factory) -> dict[str, Any]:
    """Every Python block run, then the app synthesized once: block → error (None when it ran), and
    ``templates``: every synthesized template by stack."""
    import aws_cdk
    from aws_cdk import App, Stack
    from aws_cdk import aws_iam as iam
    from aws_cdk import aws_s3 as s3
    from aws_cdk import aws_stepfunctions as sfn

    import sm_constructs

    scripts = tmp_path_factory.mktemp("scripts")
    script = scripts / "preprocess.py"
    script.write_text("print('prep')\n")
    app = App(outdir=str(tmp_path_factory.mktemp("cdk.out")))
    results: dict[str, Any] = {}
    templates: dict[str, Any] = {}
    for number, (page, line, code) in enumerate(_blocks("python")):
        where = f"{page.relative_to(ROOT)}:{line}"
        # the blocks name a script of the user's project; the jsii kernel resolves assets from its cwd
        code = code.replace('"scripts/preprocess.py"', repr(str(script)))
        namespace: dict[str, Any] = {name: getattr(sm_constructs, name) for name in sm_constructs.__all__}
        namespace.update(sfn=sfn, s3=s3, iam=iam, Duration=aws_cdk.Duration, Stack=Stack, SCRIPT=str(script))
        try:
            if "App()" in code:  # a whole app: run as written, in its own App
                exec(compile(code, where, "exec"), namespace)
                for value in list(namespace.values()):
                    if isinstance(value, App):
                        templates.update({f"{where} {s.stack_name}": s.template for s in value.synth().stacks})
            else:
                stack = Stack(app, f"Block{number}")
                namespace.update(self=stack, app=app)
                for name in _context(code):
                    namespace[name] = eval(CONTEXT[name], namespace)
                exec(compile(code, where, "exec"), namespace)
            results[where] = None
        except Exception as error:
            results[where] = error
    try:
        templates.update({s.stack_name: s.template for s in app.synth().stacks})
        results["app.synth()"] = None
    except Exception as error:
        results["app.synth()"] = error
    results["templates"] = templates
    return results


def test_there_are_python_blocks():
    assert len(_blocks("python")) >= 5


@pytest.mark.parametrize(
    "where", [f"{p.relative_to(ROOT)}:{line}" for p, line, _ in _blocks("python")] + ["app.synth()"]
)
def test_python_block_runs_and_synthesizes(synthesized, where):
    error = synthesized[where]
    assert error is None, f"{where}: {type(error).__name__}: {error}"


def test_every_sagemaker_request_of_the_blocks_fits_botocores_model(synthesized):
    """The requests the examples render (read back from the templates) pass botocore's validator; the
    README's example renders at least its processing and training jobs."""
    from sfn_requests import assert_all_requests_valid

    templates = synthesized["templates"]
    (readme,) = [name for name in templates if name.startswith("README.md")]
    assert_all_requests_valid(templates[readme], expect_at_least=2)
    for template in templates.values():
        assert_all_requests_valid(template, expect_at_least=0)


# ---- shell blocks ----------------------------------------------------------------------------------
def _make_targets() -> set[str]:
    return set(re.findall(r"^([a-z][a-z0-9-]*):", (ROOT / "Makefile").read_text(), re.M))


def _commands(block: str) -> list[list[str]]:
    """Each command of a shell block as words: comments dropped, ``<placeholders>`` filled in, split at
    ``&&``, ``;`` and ``|``; ``$(...)`` (as in ``eval "$(sm-local env)"``) names its inner command too."""
    commands = []
    for raw in block.replace("\\\n", " ").splitlines():
        line = re.sub(r"<[^<>]+>", "PLACEHOLDER", raw.strip())
        lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        words: list[str] = []
        for token in [*lexer, ";"]:
            if token in ("&&", ";", "|", "||"):
                if words:
                    commands.append(words)
                words = []
                continue
            for inner in re.findall(r"\$\(([^()]*)\)", token):
                commands.append(shlex.split(inner))
            words.append(token)
    return commands


def _accepts(program: str, argv: list[str]) -> str | None:
    """None when the console script's own parser takes these arguments, else why not."""
    import contextlib
    import io

    from sm_constructs import cli
    from sm_constructs.local.cli import main as local

    parser = cli._parser() if program == "sm-pipeline" else local.build_parser()
    errors = io.StringIO()
    try:
        with contextlib.redirect_stderr(errors):
            args, rest = parser.parse_known_args(argv)
    except SystemExit:
        return errors.getvalue().strip().splitlines()[-1]
    if rest and not (program == "sm-local" and args.command in local.PASS_THROUGH):
        return f"unrecognized arguments: {' '.join(rest)}"
    return None


def test_shell_blocks_name_commands_that_exist():
    scripts = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"])
    targets = _make_targets()
    unknown = []
    for page, line, block in [*_blocks("bash"), *_blocks("sh"), *_blocks("shell")]:
        for words in _commands(block):
            program, argv = words[0], words[1:]
            where = f"{page.relative_to(ROOT)}:{line}: {' '.join(words)}"
            if program == "make":
                unknown += [f"{where}: no make target {t}" for t in argv if t not in targets]
            elif program in scripts:
                problem = _accepts(program, argv)
                if problem:
                    unknown.append(f"{where}: {problem}")
            elif program not in TOOLS:
                unknown.append(f"{where}: {program} is not a make target, console script or known tool")
    assert not unknown, "\n".join(unknown)
