#!/usr/bin/env python3
"""Drive ks-devops-mcp with the MCP clients people use, against the sandbox.

Run through scripts/real-clients.sh, which builds the release binary and
sets up the pinned clients (a virtualenv with the official Python SDK, Node
22, the MCP Inspector CLI and Claude Code) in a cache directory first.

Checks, each printed as PASS / FAIL / SKIP; the exit code is 1 when any
check failed:

* Python SDK (`mcp`), over stdio and, when the binary offers `--http`, over
  streamable HTTP, in both handshake styles (`initialize` and
  `server/discover`): the handshake, tools/list, every inputSchema and
  outputSchema is a valid JSON Schema, every read-only tool called with the
  example arguments the binary exports (`ks-devops-mcp tools --examples`,
  from each tool's EXAMPLE constant; a read-only tool without one FAILS) and its structuredContent validated against its
  outputSchema, bad arguments answered with a clear isError result, an
  unknown tool answered with a protocol error, the prompts listed and each
  fetched with arguments, completion of a project name prefix, and one
  elicitation round trip through the SDK's elicitation callback, accepted
  and declined.
* Dynamic toolsets (the server's default, no --toolsets), Python SDK over
  stdio and HTTP in both handshake styles: `tools.listChanged` declared,
  `enable_toolset {"toolset": "gitops"}` answered, the
  `notifications/tools/list_changed` received (an `initialize` connection:
  the message handler; `server/discover`: a `subscriptions/listen` stream),
  tools/list again (the SDK's own cache must have let go of the old list)
  shows the gitops tools, and a newly visible tool is called. Over HTTP a
  `server/discover` client has no session (2026-07-28 has none): there
  enabling must be refused with a clear message.
* MCP Inspector CLI: tools/list in both protocol eras (with --strict: no
  error-severity schema portability problem) and one tools/call; with the
  default settings, tools/list shows the two dynamic tools and
  enable_toolset answers (one process per call: it cannot follow a change).
* Claude Code: `claude mcp add` in a throwaway HOME, then `claude mcp get`
  must report the server connected (and a broken server must not be), also
  with the default settings (dynamic toolsets, `tools.listChanged`).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import traceback
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import anyio
import httpx2
import jsonschema
import mcp_types as types
from jsonschema import Draft202012Validator
from mcp import Client
from mcp.client.stdio import StdioServerParameters
from mcp.client.subscriptions import ToolsListChanged
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS, MODERN_PROTOCOL_VERSIONS

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES_SOURCE = "ks-devops-mcp tools --examples"
SERVER_NAME = "ks-devops-mcp"
# Every toolset, so opt-in tools (gitops, repos) are covered too.
SERVER_ARGS = ["--sandbox", "--toolsets", "all", "--log", "warn"]
# The server's defaults: dynamic toolsets, the default toolsets on.
DEFAULT_ARGS = ["--sandbox", "--log", "warn"]
# The toolset the dynamic checks open, and one of its read-only tools.
DYNAMIC_TOOLSET = "gitops"
DYNAMIC_TOOL, DYNAMIC_ARGS = "list_applications", {"project": "stone-devops"}
# The sandbox's ambiguous project name: two projects share the short name.
AMBIGUOUS_PROJECT = "devopstest"
CALL_TIMEOUT = 60.0
PROC_TIMEOUT = 120.0


# --------------------------------------------------------------------------
# Reporting


@dataclass
class Report:
    passed: int = 0
    failed: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    def ok(self, name: str, detail: str = "") -> None:
        self.passed += 1
        print(f"PASS  {name}" + (f": {detail}" if detail else ""), flush=True)

    def fail(self, name: str, detail: str) -> None:
        self.failed.append(name)
        print(f"FAIL  {name}: {detail}", flush=True)

    def skip(self, name: str, reason: str) -> None:
        self.skipped.append(name)
        print(f"SKIP  {name}: {reason}", flush=True)

    def check(self, name: str, cond: bool, detail: str) -> bool:
        """PASS when `cond`, else FAIL; `detail` says what was seen."""
        if cond:
            self.ok(name, detail)
        else:
            self.fail(name, detail)
        return cond


class CheckFailed(Exception):
    """Stops one group of checks; its message is the reason."""


def short(value: Any, limit: int = 300) -> str:
    """A bounded one-liner for the report, with bearer tokens masked."""
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    text = re.sub(r"(Bearer\s+)[^\s\"',|]+", r"\1[redacted]", text)
    return text if len(text) <= limit else text[:limit] + "..."


# --------------------------------------------------------------------------
# The example table


def load_examples(binary: str) -> dict[str, Any]:
    """The example calls, as the binary exports them from its registry."""
    out = run([binary, "tools", "--examples"], env=clean_env())
    if out.returncode != 0:
        raise SystemExit(f"{EXAMPLES_SOURCE} failed: {out.stderr.strip()}")
    data = json.loads(out.stdout)
    if not isinstance(data.get("examples"), dict) or not isinstance(data.get("bad_arguments"), list):
        raise SystemExit(f"{EXAMPLES_SOURCE}: needs an `examples` object and a `bad_arguments` list")
    return data


def json_pointer(doc: Any, pointer: str) -> Any:
    if pointer == "":
        return doc
    if not pointer.startswith("/"):
        raise KeyError(f"JSON pointer {pointer!r} must start with /")
    for raw in pointer[1:].split("/"):
        part = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(doc, list):
            doc = doc[int(part)]
        elif isinstance(doc, dict):
            doc = doc[part]
        else:
            raise KeyError(f"JSON pointer {pointer!r} runs past a scalar")
    return doc


class ExampleArgs:
    """Resolves example arguments, calling the tools `$from` refers to first."""

    def __init__(self, examples: dict[str, Any], call: Callable[[str, dict[str, Any]], Any]):
        self.examples = examples
        self.call = call  # async (tool, args) -> structuredContent
        self.results: dict[str, Any] = {}

    async def result_of(self, tool: str, depth: int = 0) -> Any:
        if tool not in self.results:
            args = await self.args_for(tool, depth + 1)
            self.results[tool] = await self.call(tool, args)
        return self.results[tool]

    async def args_for(self, tool: str, depth: int = 0) -> dict[str, Any]:
        if depth > 8:
            raise CheckFailed(f"`$from` references in {EXAMPLES_SOURCE} form a cycle through {tool}")
        if tool not in self.examples:
            raise CheckFailed(f"no example for {tool} in {EXAMPLES_SOURCE}")
        return await self._resolve(self.examples[tool], depth)

    async def _resolve(self, value: Any, depth: int) -> Any:
        if isinstance(value, dict) and "$from" in value:
            source = await self.result_of(value["$from"], depth)
            try:
                return json_pointer(source, value.get("pointer", ""))
            except (KeyError, IndexError, ValueError) as e:
                raise CheckFailed(
                    f"{value['$from']} result has nothing at {value.get('pointer')!r}: {e}; result: {short(source)}"
                ) from e
        if isinstance(value, dict):
            return {k: await self._resolve(v, depth) for k, v in value.items()}
        if isinstance(value, list):
            return [await self._resolve(v, depth) for v in value]
        return value


# --------------------------------------------------------------------------
# JSON Schema helpers


def schema_problem(schema: Any) -> str | None:
    """None when `schema` is a valid JSON Schema (its own $schema, else 2020-12)."""
    if not isinstance(schema, dict):
        return f"not an object: {short(schema)}"
    cls = jsonschema.validators.validator_for(schema, default=Draft202012Validator)
    try:
        cls.check_schema(schema)
    except jsonschema.SchemaError as e:
        return f"{e.message} at {'/'.join(map(str, e.absolute_path)) or '(root)'}"
    return None


def validation_errors(schema: dict[str, Any], instance: Any) -> list[str]:
    cls = jsonschema.validators.validator_for(schema, default=Draft202012Validator)
    validator = cls(schema, format_checker=cls.FORMAT_CHECKER)
    return [
        f"{e.message} at /{'/'.join(map(str, e.absolute_path))}"
        for e in sorted(validator.iter_errors(instance), key=lambda e: list(map(str, e.path)))
    ]


def result_text(result: types.CallToolResult) -> str:
    return "\n".join(c.text for c in result.content if isinstance(c, types.TextContent))


# --------------------------------------------------------------------------
# Python SDK


@dataclass
class Target:
    """How to reach the server: a label, and a factory for the SDK's `server=` argument."""

    label: str
    make: Callable[[], Any]


class Elicitor:
    """The SDK elicitation callback: answers with a scripted reply and records the requests."""

    def __init__(self) -> None:
        self.reply: Callable[[types.ElicitRequestParams], types.ElicitResult] | None = None
        self.seen: list[types.ElicitRequestParams] = []

    async def __call__(self, context: Any, params: types.ElicitRequestParams) -> types.ElicitResult | types.ErrorData:
        self.seen.append(params)
        if self.reply is None:
            return types.ErrorData(code=types.INVALID_REQUEST, message="this test expected no elicitation here")
        return self.reply(params)


async def sdk_checks(report: Report, target: Target, mode: str, data: dict[str, Any]) -> None:
    """All Python SDK checks over one transport in one handshake style."""
    style = "initialize" if mode == "legacy" else "server/discover"
    tag = f"python-sdk {target.label} {style}"
    elicitor = Elicitor()
    connected = False
    try:
        client_cm = Client(target.make(), mode=mode, elicitation_callback=elicitor, read_timeout_seconds=CALL_TIMEOUT)
        async with client_cm as client:
            connected = True
            await _sdk_session(report, tag, mode, client, elicitor, data)
    except CheckFailed as e:
        report.fail(f"{tag}: stopped", str(e))
    except Exception as e:  # noqa: BLE001 - any failure is the finding
        if not connected:
            report.fail(f"{tag}: handshake", f"{type(e).__name__}: {e}")
        else:
            report.fail(f"{tag}: stopped", f"{type(e).__name__}: {e}\n{traceback.format_exc()}")


async def _sdk_session(
    report: Report, tag: str, mode: str, client: Client, elicitor: Elicitor, data: dict[str, Any]
) -> None:
    session = client.session
    # 1. Handshake.
    info = client.server_info
    if mode == "legacy":
        report.check(
            f"{tag}: handshake",
            client.protocol_version in HANDSHAKE_PROTOCOL_VERSIONS
            and session._initialize_result is not None  # noqa: SLF001 - which handshake ran
            and info is not None
            and info.name == SERVER_NAME,
            f"initialize -> protocol {client.protocol_version}, server {info.name if info else None} "
            f"{info.version if info else ''}",
        )
    else:
        report.check(
            f"{tag}: handshake",
            client.protocol_version in MODERN_PROTOCOL_VERSIONS
            and session._discover_result is not None,  # noqa: SLF001 - discover ran, no fallback
            f"server/discover -> protocol {client.protocol_version}"
            + (" (fell back to initialize!)" if session._discover_result is None else ""),  # noqa: SLF001
        )
    report.check(
        f"{tag}: tools capability",
        client.server_capabilities.tools is not None,
        f"capabilities {short(client.server_capabilities.model_dump(by_alias=True, exclude_none=True))}",
    )

    # 2. tools/list, every page.
    tools: list[types.Tool] = []
    cursor = None
    for _ in range(100):
        with anyio.fail_after(CALL_TIMEOUT):
            page = await client.list_tools(cursor=cursor, cache_mode="refresh")
        tools.extend(page.tools)
        cursor = page.next_cursor
        if cursor is None:
            break
    names = [t.name for t in tools]
    if not report.check(f"{tag}: tools/list", len(tools) > 0 and len(set(names)) == len(names), f"{len(tools)} tools"):
        raise CheckFailed("no tools listed")
    by_name = {t.name: t for t in tools}

    # 3. Every schema is a valid JSON Schema; inputs are plain objects; hints explicit.
    problems = []
    for t in tools:
        if (p := schema_problem(t.input_schema)) is not None:
            problems.append(f"{t.name} inputSchema: {p}")
        elif t.input_schema.get("type") != "object":
            problems.append(f"{t.name} inputSchema: type is {t.input_schema.get('type')!r}, not 'object'")
        if t.output_schema is not None and (p := schema_problem(t.output_schema)) is not None:
            problems.append(f"{t.name} outputSchema: {p}")
        if t.annotations is None or t.annotations.read_only_hint is None:
            problems.append(f"{t.name}: no explicit readOnlyHint")
    with_output = sum(1 for t in tools if t.output_schema is not None)
    report.check(
        f"{tag}: schemas",
        not problems,
        "; ".join(problems) or f"{len(tools)} inputSchemas and {with_output} outputSchemas are valid JSON Schema",
    )

    # 4. Every read-only tool, called with its example arguments.
    examples: dict[str, Any] = data["examples"]
    read_only = [t.name for t in tools if t.annotations is not None and t.annotations.read_only_hint is True]
    missing = [n for n in read_only if n not in examples]
    report.check(
        f"{tag}: examples cover every read-only tool",
        not missing,
        f"no example for: {', '.join(missing)} (give each read-only tool an EXAMPLE constant)"
        if missing
        else f"{len(read_only)} read-only tools",
    )
    stale = [n for n in examples if n not in by_name]
    report.check(
        f"{tag}: examples name served tools",
        not stale,
        f"examples for tools the server does not serve: {', '.join(stale)}" if stale else "all served",
    )

    elicitor.reply = None  # read-only example calls must not ask the human anything

    async def call_checked(name: str, args: dict[str, Any]) -> Any:
        tool = by_name.get(name)
        if tool is None:
            raise CheckFailed(f"example refers to {name}, which the server does not serve")
        errs = validation_errors(tool.input_schema, args)
        if errs:
            raise CheckFailed(f"the example arguments for {name} violate its inputSchema: {'; '.join(errs)}")
        with anyio.fail_after(CALL_TIMEOUT):
            result = await client.call_tool(name, args)
        if result.is_error:
            raise CheckFailed(f"{name} {short(args)} returned isError: {short(result_text(result))}")
        if tool.output_schema is not None:
            if result.structured_content is None:
                raise CheckFailed(f"{name} has an outputSchema but returned no structuredContent")
            errs = validation_errors(tool.output_schema, result.structured_content)
            if errs:
                raise CheckFailed(f"{name} structuredContent violates its outputSchema: {'; '.join(errs[:5])}")
        if not result_text(result):
            raise CheckFailed(f"{name} returned no text content for clients without structured output")
        return result.structured_content

    resolver = ExampleArgs(examples, call_checked)
    for name in read_only:
        if name not in examples:
            continue
        try:
            if name not in resolver.results:
                resolver.results[name] = await call_checked(name, await resolver.args_for(name))
            size = len(json.dumps(resolver.results[name], separators=(",", ":")))
            report.ok(f"{tag}: call {name}", f"structuredContent matches outputSchema ({size} bytes)")
        except CheckFailed as e:
            report.fail(f"{tag}: call {name}", str(e))
    if elicitor.seen:
        report.fail(f"{tag}: read-only calls", f"{len(elicitor.seen)} unexpected elicitation(s)")

    # 5. Bad arguments: a tool result with isError and a message saying what to fix.
    for case in data["bad_arguments"]:
        name, args, mentions = case["tool"], case["args"], case["mentions"]
        check = f"{tag}: bad arguments {name} {short(args, 80)}"
        tool = by_name.get(name)
        if tool is None:
            report.fail(check, f"{name} is not served")
            continue
        if not validation_errors(tool.input_schema, args):
            report.fail(check, "these arguments satisfy the inputSchema; the case proves nothing")
            continue
        with anyio.fail_after(CALL_TIMEOUT):
            result = await client.call_tool(name, args)
        text = result_text(result)
        absent = [m for m in mentions if m not in text]
        report.check(
            check,
            result.is_error is True and not absent and result.structured_content is None,
            f"isError={result.is_error}, text: {short(text, 200)}"
            + (f"; text lacks {absent}" if absent else ""),
        )

    # 6. An unknown tool is a protocol error, not a tool result.
    try:
        with anyio.fail_after(CALL_TIMEOUT):
            result = await client.call_tool("no_such_tool", {})
        report.fail(f"{tag}: unknown tool", f"answered with a tool result: {short(result_text(result))}")
    except MCPError as e:
        report.check(f"{tag}: unknown tool", "no_such_tool" in str(e), f"protocol error {e.error.code}: {e}")

    # 7. Prompts: listed, each fetched with arguments (the server pre-fetches
    # its data), and completion of a project name prefix.
    await prompt_checks(report, tag, client)

    # 8. Elicitation round trip: the ambiguous project name, accepted then declined.
    if "list_pipelines" not in by_name:
        report.fail(f"{tag}: elicitation", "list_pipelines is not served")
        return
    chosen: dict[str, str] = {}

    def accept(params: types.ElicitRequestParams) -> types.ElicitResult:
        schema = getattr(params, "requested_schema", None)
        if not isinstance(schema, dict):
            raise CheckFailed(f"elicitation has no requestedSchema: {short(params.model_dump())}")
        prop_name, prop = next(iter(schema.get("properties", {}).items()))
        options = [o["const"] for o in prop.get("oneOf", [])] or list(prop.get("enum", []))
        # The last candidate, so the check sees the choice honoured rather than a default.
        chosen["value"] = options[-1] if options else ""
        return types.ElicitResult(action="accept", content={prop_name: chosen["value"]})

    elicitor.seen.clear()
    elicitor.reply = accept
    with anyio.fail_after(CALL_TIMEOUT):
        result = await client.call_tool("list_pipelines", {"project": AMBIGUOUS_PROJECT})
    seen = list(elicitor.seen)
    detail = ""
    ok = len(seen) == 1
    if seen:
        params = seen[0]
        schema = getattr(params, "requested_schema", {})
        problem = schema_problem(schema)
        options = json.dumps(schema)
        ok = ok and problem is None and "devopstestc2nj7" in options and "devopstestxyz12" in options
        answer = {next(iter(schema.get("properties", {"": None}))): chosen.get("value")}
        errs = validation_errors(schema, answer) if problem is None else [problem]
        ok = ok and not errs
        got = (result.structured_content or {}).get("project", {})
        picked = chosen.get("value", "")
        ok = ok and result.is_error is not True and bool(picked) and picked.endswith(got.get("name", "\0"))
        detail = (
            f"asked {params.message!r} with {len(schema.get('properties', {}))} field(s); answered {picked!r}; "
            f"tool listed pipelines of {got.get('name')} on {got.get('cluster')}"
            + (f"; answer invalid: {errs}" if errs else "")
        )
    else:
        detail = f"the elicitation callback was not called; result: {short(result_text(result))}"
    report.check(f"{tag}: elicitation accept", ok, detail)

    elicitor.seen.clear()
    elicitor.reply = lambda params: types.ElicitResult(action="decline")
    with anyio.fail_after(CALL_TIMEOUT):
        result = await client.call_tool("list_pipelines", {"project": AMBIGUOUS_PROJECT})
    text = result_text(result)
    report.check(
        f"{tag}: elicitation decline",
        len(elicitor.seen) == 1
        and result.is_error is True
        and "devopstestc2nj7" in text
        and "devopstestxyz12" in text
        and "ask the user" in text.lower(),
        f"{len(elicitor.seen)} elicitation(s); isError={result.is_error}; text: {short(text, 160)}",
    )

    # 9. A second kind: trigger_run on a multi-branch pipeline without a
    # branch asks which branch; accepted it starts exactly that branch,
    # declined it creates nothing.
    if "trigger_run" in by_name and "list_runs" in by_name:
        runs_args = {"project": "stone-devops", "pipeline": "echo-pipeline"}

        async def run_names() -> set[str]:
            with anyio.fail_after(CALL_TIMEOUT):
                r = await client.call_tool("list_runs", {**runs_args, "limit": 100})
            return {x["name"] for x in (r.structured_content or {}).get("runs", [])}

        for action in ("accept", "decline"):
            before = await run_names()
            elicitor.seen.clear()
            chosen.clear()
            elicitor.reply = accept if action == "accept" else (lambda params: types.ElicitResult(action="decline"))
            with anyio.fail_after(CALL_TIMEOUT):
                result = await client.call_tool("trigger_run", runs_args)
            created = (await run_names()) - before
            sc = result.structured_content or {}
            errs = validation_errors(by_name["trigger_run"].output_schema or {}, sc) if sc else ["no structuredContent"]
            asked = json.dumps(elicitor.seen[0].requested_schema) if elicitor.seen else ""
            if action == "accept":
                ok = sc.get("status") == "started" and sc.get("run", {}).get("branch") == chosen.get("value")
                ok = ok and len(created) == 1 and sc.get("run", {}).get("name") in created
            else:
                ok = sc.get("status") == "needs_branch" and not created
            report.check(
                f"{tag}: elicitation {action} (trigger_run branch)",
                ok and len(elicitor.seen) == 1 and '"main"' in asked and not errs and result.is_error is not True,
                f"{len(elicitor.seen)} elicitation(s); answered {chosen.get('value', action)!r}; status "
                f"{sc.get('status')!r}, run {sc.get('run', {}).get('name')!r} on {sc.get('run', {}).get('branch')!r}; "
                f"{len(created)} run(s) created" + (f"; outputSchema: {errs}" if errs else ""),
            )
    elicitor.reply = None


# Each prompt with sandbox arguments and strings its pre-fetched text must hold.
PROMPT_CASES: dict[str, tuple[dict[str, str], list[str]]] = {
    "debug_failed_run": (
        {"project": "stone-devops", "pipeline": "broken-build"},
        ["failing_stage", "Tests run: 12, Failures: 2", "How to proceed"],
    ),
    "set_up_ci": (
        {"project": "stone-devops", "repository": "https://github.com/acme/app.git"},
        ["github-token", "base", "create_multibranch_pipeline"],
    ),
    "deploy_with_gitops": (
        {"project": "stone-devops", "repository": "https://github.com/acme/deploy.git"},
        ["guestbook", "in-cluster", "create_application"],
    ),
}


async def prompt_checks(report: Report, tag: str, client: Client) -> None:
    caps = client.server_capabilities
    report.check(
        f"{tag}: prompts and completions capabilities",
        caps.prompts is not None and caps.completions is not None,
        f"prompts={caps.prompts is not None}, completions={caps.completions is not None}",
    )
    with anyio.fail_after(CALL_TIMEOUT):
        listed = await client.list_prompts(cache_mode="refresh")
    names = [p.name for p in listed.prompts]
    report.check(
        f"{tag}: prompts/list",
        sorted(names) == sorted(PROMPT_CASES),
        f"prompts {names}",
    )
    for name, (args, wants) in PROMPT_CASES.items():
        check = f"{tag}: prompts/get {name}"
        try:
            with anyio.fail_after(CALL_TIMEOUT):
                got = await client.get_prompt(name, args)
        except MCPError as e:
            report.fail(check, f"protocol error: {e}")
            continue
        text = "\n".join(getattr(m.content, "text", "") for m in got.messages)
        absent = [w for w in wants if w not in text]
        report.check(
            check,
            len(got.messages) > 0 and not absent,
            f"{len(got.messages)} message(s), {len(text)} chars" + (f"; lacks {absent}" if absent else ""),
        )
    check = f"{tag}: completion/complete project prefix"
    try:
        with anyio.fail_after(CALL_TIMEOUT):
            done = await client.complete(
                types.PromptReference(type="ref/prompt", name="debug_failed_run"),
                {"name": "project", "value": "devops"},
            )
        values = list(done.completion.values)
        report.check(
            check,
            values == ["devopstestc2nj7", "devopstestxyz12"],
            f"'devops' -> {values}",
        )
    except MCPError as e:
        report.fail(check, f"protocol error: {e}")
    check = f"{tag}: completion/complete pipeline with context"
    try:
        with anyio.fail_after(CALL_TIMEOUT):
            done = await client.complete(
                types.PromptReference(type="ref/prompt", name="debug_failed_run"),
                {"name": "pipeline", "value": "br"},
                {"project": "stone-devops"},
            )
        values = list(done.completion.values)
        report.check(check, values == ["broken-build"], f"'br' in stone-devops -> {values}")
    except MCPError as e:
        report.fail(check, f"protocol error: {e}")


# --------------------------------------------------------------------------
# Dynamic toolsets


async def dynamic_checks(report: Report, target: Target, mode: str) -> None:
    """enable_toolset -> notifications/tools/list_changed -> re-list -> call, through the Python SDK."""
    style = "initialize" if mode == "legacy" else "server/discover"
    tag = f"python-sdk {target.label} {style} dynamic toolsets"
    changed = anyio.Event()

    async def on_message(message: Any) -> None:
        if isinstance(message, types.ToolListChangedNotification):
            changed.set()

    connected = False
    try:
        client_cm = Client(target.make(), mode=mode, message_handler=on_message, read_timeout_seconds=CALL_TIMEOUT)
        async with client_cm as client:
            connected = True
            await _dynamic_session(report, tag, target, mode, client, changed)
    except CheckFailed as e:
        report.fail(f"{tag}: stopped", str(e))
    except Exception as e:  # noqa: BLE001 - any failure is the finding
        stage = "stopped" if connected else "handshake"
        report.fail(f"{tag}: {stage}", f"{type(e).__name__}: {e}\n{traceback.format_exc()}")


async def _dynamic_session(report: Report, tag: str, target: Target, mode: str, client: Client, changed: anyio.Event) -> None:
    tools_cap = client.server_capabilities.tools
    report.check(
        f"{tag}: tools.listChanged declared",
        tools_cap is not None and tools_cap.list_changed is True,
        f"tools capability {short(tools_cap.model_dump(by_alias=True, exclude_none=True) if tools_cap else None)}",
    )
    with anyio.fail_after(CALL_TIMEOUT):
        before = {t.name: t for t in (await client.list_tools()).tools}
    report.check(
        f"{tag}: default catalog",
        {"list_toolsets", "enable_toolset"} <= set(before) and DYNAMIC_TOOL not in before and len(before) <= 25,
        f"{len(before)} tools, list_toolsets/enable_toolset {'listed' if 'enable_toolset' in before else 'MISSING'}, "
        f"{DYNAMIC_TOOL} {'listed (should be off)' if DYNAMIC_TOOL in before else 'off'}",
    )
    no_session = target.label == "http" and mode != "legacy"

    async def enable() -> types.CallToolResult:
        with anyio.fail_after(CALL_TIMEOUT):
            return await client.call_tool("enable_toolset", {"toolset": DYNAMIC_TOOLSET})

    if no_session:
        result = await enable()
        text = result_text(result)
        report.check(
            f"{tag}: enable_toolset refused without a session",
            result.is_error is True and "no session" in text,
            f"isError={result.is_error}: {short(text, 240)}",
        )
        return

    got_change = False
    if mode == "legacy":
        result = await enable()
        with anyio.move_on_after(10):
            await changed.wait()
            got_change = True
        how = "message handler"
    else:
        async with client.listen(tools_list_changed=True) as sub:
            result = await enable()
            with anyio.move_on_after(10):
                event = await sub.__anext__()
                got_change = isinstance(event, ToolsListChanged)
        how = "subscriptions/listen stream"
    sc = result.structured_content or {}
    report.check(
        f"{tag}: enable_toolset {DYNAMIC_TOOLSET}",
        result.is_error is False and sc.get("status") == "enabled" and DYNAMIC_TOOL in sc.get("tools", []),
        f"isError={result.is_error}, {short(sc, 200)}",
    )
    report.check(f"{tag}: notifications/tools/list_changed received", got_change, f"via the {how}" if got_change else "nothing within 10 s")
    with anyio.fail_after(CALL_TIMEOUT):
        after = {t.name: t for t in (await client.list_tools()).tools}
    if not report.check(
        f"{tag}: tools/list after the change",
        DYNAMIC_TOOL in after and set(before) < set(after),
        f"{len(before)} -> {len(after)} tools; new: {sorted(set(after) - set(before))}",
    ):
        return
    with anyio.fail_after(CALL_TIMEOUT):
        called = await client.call_tool(DYNAMIC_TOOL, DYNAMIC_ARGS)
    schema = after[DYNAMIC_TOOL].output_schema
    errs = validation_errors(schema, called.structured_content) if schema and called.structured_content is not None else []
    report.check(
        f"{tag}: call newly visible {DYNAMIC_TOOL}",
        called.is_error is False and called.structured_content is not None and not errs,
        f"isError={called.is_error}" + (f"; outputSchema: {'; '.join(errs[:3])}" if errs else "; structuredContent matches outputSchema"),
    )
    again = await enable()
    report.check(
        f"{tag}: enabling twice is harmless",
        again.is_error is False and (again.structured_content or {}).get("status") == "already_on",
        short(again.structured_content, 160),
    )


# --------------------------------------------------------------------------
# Processes


def clean_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment minus anything that configures the server or a client account."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("KUBESPHERE_", "KS_DEVOPS_MCP_", "ANTHROPIC_", "CLAUDE_", "MCP_"))
        and k not in ("RUST_LOG",)
    }
    env.update(extra or {})
    return env


def run(cmd: list[str], *, env: dict[str, str], cwd: str | None = None, timeout: float = PROC_TIMEOUT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def supports_http(binary: str) -> bool:
    out = run([binary, "--help"], env=clean_env())
    return re.search(r"--http[\s=<]", out.stdout) is not None


@dataclass
class HttpServer:
    url: str
    headers: dict[str, str]
    proc: subprocess.Popen[str]
    log_path: Path


def http_auth_headers(log_text: str, mcp_port: int) -> dict[str, str]:
    """The Authorization header an HTTP caller sends to `--sandbox --http`.

    The HTTP transport authenticates callers by `Authorization: Bearer
    <KubeSphere token>` (or an API key). `KS_MCP_HTTP_AUTHORIZATION`, when
    set, is used as is. Otherwise the sandbox's simulated KubeSphere address
    is read from the server log (the `using the simulated KubeSphere
    url=http://127.0.0.1:PORT` line, or any other loopback URL there that is
    not the MCP endpoint) and a token for the demo tenant is obtained there
    with the OAuth password grant, as any KubeSphere user would. No header
    when neither works (a sandbox that needs no caller auth).
    """
    if value := os.environ.get("KS_MCP_HTTP_AUTHORIZATION"):
        return {"Authorization": value}
    form = {
        "grant_type": "password",
        "username": "tenant",
        "password": "P@88w0rd",
        "client_id": "kubesphere",
        "client_secret": "kubesphere",
    }
    candidates = re.findall(r"simulated KubeSphere.*?url=(http://127\.0\.0\.1:\d+)", log_text)
    candidates += re.findall(r"(http://127\.0\.0\.1:\d+)", log_text)
    for base in dict.fromkeys(candidates):
        if base.endswith(f":{mcp_port}"):
            continue
        try:
            resp = httpx2.post(f"{base}/oauth/token", data=form, timeout=10)
            if resp.status_code == 200 and "access_token" in resp.json():
                return {"Authorization": f"Bearer {resp.json()['access_token']}"}
        except (httpx2.HTTPError, ValueError):
            continue
    return {}


@contextmanager
def http_server(binary: str, workdir: Path, server_args: list[str] | None = None) -> Iterator[HttpServer]:
    port = free_port()
    log_path = workdir / f"http-server-{port}.log"
    log = log_path.open("w")
    base = server_args if server_args is not None else ["--sandbox", "--toolsets", "all"]
    args = [binary, *base, "--log", "info", "--http", f"127.0.0.1:{port}"]
    proc = subprocess.Popen(args, env=clean_env(), stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                raise CheckFailed(f"`{' '.join(args)}` exited with {proc.returncode}: {log_path.read_text()[-800:]}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise CheckFailed(f"nothing listens on 127.0.0.1:{port} after 30 s") from None
                time.sleep(0.1)
        time.sleep(0.2)  # let the start-up log lines land
        headers = http_auth_headers(log_path.read_text(), port)
        yield HttpServer(url=f"http://127.0.0.1:{port}/mcp", headers=headers, proc=proc, log_path=log_path)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


# --------------------------------------------------------------------------
# MCP Inspector CLI


def node_bin(tools: Path) -> Path:
    """The directory holding Node 22's `node`, put first on PATH for the npm clients."""
    return tools / "node22" / "node_modules" / ".bin"


def inspector_checks(report: Report, binary: str, tools: Path, workdir: Path, http: HttpServer | None, names: set[str]) -> None:
    label = "http" if http else "stdio"
    home = Path(tempfile.mkdtemp(prefix="inspector-home-", dir=workdir))
    env = clean_env({"HOME": str(home), "PATH": f"{node_bin(tools)}{os.pathsep}{os.environ.get('PATH', '')}"})
    inspector = [str(tools / "npm" / "node_modules" / ".bin" / "mcp-inspector"), "--cli"]
    if http:
        target = ["--transport", "http", "--server-url", http.url]
        for k, v in http.headers.items():
            target += ["--header", f"{k}: {v}"]
    else:
        target = ["--", binary, *SERVER_ARGS]

    for era in ("legacy", "modern"):
        tag = f"inspector {label} {era}: tools/list"
        strict = ["--strict"] if era == "legacy" else []
        out = run([*inspector, "--protocol-era", era, "--format", "json", *strict, "--method", "tools/list", *target], env=env)
        try:
            listed = {t["name"] for t in json.loads(out.stdout)["result"]["tools"]}
        except (ValueError, KeyError, TypeError):
            report.fail(tag, f"exit {out.returncode}; stdout {short(out.stdout)}; stderr {short(out.stderr)}")
            continue
        warnings = len(re.findall(r"^Warning: tool", out.stderr, re.M))
        report.check(
            tag,
            out.returncode == 0 and listed == names,
            f"exit {out.returncode}, {len(listed)} tools"
            + ("" if listed == names else f", differs from the Python SDK's list: {sorted(listed ^ names)}")
            + (f"; --strict: no error-severity portability problem, {warnings} warnings" if strict else "")
            + ("" if out.returncode == 0 else f"; stderr {short(out.stderr)}"),
        )

    tag = f"inspector {label}: tools/call list_pipelines"
    out = run(
        [
            *inspector,
            "--format",
            "json",
            "--method",
            "tools/call",
            "--tool-name",
            "list_pipelines",
            "--tool-args-json",
            json.dumps({"project": "stone-devops"}),
            *target,
        ],
        env=env,
    )
    try:
        result = json.loads(out.stdout)["result"]
        sc = result.get("structuredContent") or {}
        pipelines = sorted(p["name"] for p in sc.get("pipelines", []))
        ok = out.returncode == 0 and result.get("isError") is False and {"hello", "echo-pipeline"} <= set(pipelines)
        report.check(tag, ok, f"exit {out.returncode}, isError {result.get('isError')}, pipelines {pipelines}")
    except (ValueError, KeyError, TypeError):
        report.fail(tag, f"exit {out.returncode}; stdout {short(out.stdout)}; stderr {short(out.stderr)}")


def inspector_dynamic_checks(report: Report, binary: str, tools: Path, workdir: Path) -> None:
    """The Inspector CLI against the default settings (stdio): it lists the dynamic tools and calls enable_toolset.

    Each CLI run is one process and one request: it cannot follow a
    notifications/tools/list_changed, so only the listing and the answer are checked.
    """
    home = Path(tempfile.mkdtemp(prefix="inspector-home-", dir=workdir))
    env = clean_env({"HOME": str(home), "PATH": f"{node_bin(tools)}{os.pathsep}{os.environ.get('PATH', '')}"})
    inspector = [str(tools / "npm" / "node_modules" / ".bin" / "mcp-inspector"), "--cli"]
    target = ["--", binary, *DEFAULT_ARGS]
    tag = "inspector stdio default settings: tools/list"
    out = run([*inspector, "--format", "json", "--method", "tools/list", *target], env=env)
    try:
        listed = {t["name"] for t in json.loads(out.stdout)["result"]["tools"]}
        report.check(
            tag,
            out.returncode == 0 and {"list_toolsets", "enable_toolset"} <= listed and len(listed) <= 25,
            f"exit {out.returncode}, {len(listed)} tools",
        )
    except (ValueError, KeyError, TypeError):
        report.fail(tag, f"exit {out.returncode}; stdout {short(out.stdout)}; stderr {short(out.stderr)}")
    tag = "inspector stdio default settings: tools/call enable_toolset"
    out = run(
        [*inspector, "--format", "json", "--method", "tools/call", "--tool-name", "enable_toolset",
         "--tool-args-json", json.dumps({"toolset": DYNAMIC_TOOLSET}), *target],
        env=env,
    )
    try:
        result = json.loads(out.stdout)["result"]
        sc = result.get("structuredContent") or {}
        report.check(
            tag,
            out.returncode == 0 and result.get("isError") is False and sc.get("status") == "enabled",
            f"exit {out.returncode}, status {sc.get('status')}, notified {sc.get('notified')}",
        )
    except (ValueError, KeyError, TypeError):
        report.fail(tag, f"exit {out.returncode}; stdout {short(out.stdout)}; stderr {short(out.stderr)}")


# --------------------------------------------------------------------------
# Claude Code

CONNECTED = re.compile(r"Status:\s*\S*\s*Connected\b")


def claude_checks(
    report: Report, binary: str, tools: Path, workdir: Path, http: HttpServer | None, defaults: bool = False
) -> None:
    """`defaults`: the server with its default settings (dynamic toolsets), stdio only."""
    label = ("http" if http else "stdio") + (" default settings" if defaults else "")
    home = Path(tempfile.mkdtemp(prefix="claude-home-", dir=workdir))
    env = clean_env(
        {
            "HOME": str(home),
            "XDG_CONFIG_HOME": str(home / ".config"),
            "PATH": f"{node_bin(tools)}{os.pathsep}{os.environ.get('PATH', '')}",
            # Offline and quiet: no telemetry, error reports or update checks.
            "DISABLE_AUTOUPDATER": "1",
            "DISABLE_TELEMETRY": "1",
            "DISABLE_ERROR_REPORTING": "1",
            "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        }
    )
    claude = str(tools / "npm" / "node_modules" / ".bin" / "claude")
    name = f"ksdevops-{'http' if http else 'stdio'}{'-defaults' if defaults else ''}"
    if http:
        add = [claude, "mcp", "add", "--transport", "http", name, http.url]
        for k, v in http.headers.items():
            add += ["--header", f"{k}: {v}"]
    else:
        add = [claude, "mcp", "add", name, "--", binary, *SERVER_ARGS]
    server_log = workdir / "claude-defaults-server.log"
    if defaults and not http:
        # The server's stderr (its log) is kept, to see what Claude Code asks for.
        wrapper = workdir / "claude-defaults-server.sh"
        command = " ".join(shlex.quote(a) for a in [binary, "--sandbox", "--log", "info"])
        wrapper.write_text(f"#!/bin/sh\nexec {command} 2>>{shlex.quote(str(server_log))}\n")
        wrapper.chmod(0o755)
        add = [claude, "mcp", "add", name, "--", str(wrapper)]
    out = run(add, env=env, cwd=str(home))
    if not report.check(
        f"claude-code {label}: mcp add",
        out.returncode == 0 and name in out.stdout,
        f"exit {out.returncode}: {short((out.stdout + out.stderr).strip(), 200)}",
    ):
        return
    out = run([claude, "mcp", "get", name], env=env, cwd=str(home))
    text = out.stdout + out.stderr
    report.check(
        f"claude-code {label}: mcp get reports connected",
        CONNECTED.search(text) is not None,
        short(" | ".join(line.strip() for line in text.splitlines() if line.strip()), 400),
    )
    if defaults:
        log = server_log.read_text() if server_log.exists() else ""
        report.check(
            f"claude-code {label}: subscribes to tools/list_changed",
            "listen stream opened" in log,
            "opened a subscriptions/listen stream for notifications/tools/list_changed on connect"
            if "listen stream opened" in log
            else f"no listen stream in the server log: {short(log[-400:], 400)}",
        )
    if http or defaults:
        return
    # Negative control: a server that cannot start must not read as connected,
    # so the check above can fail.
    broken = [claude, "mcp", "add", "ksdevops-broken", "--", binary, "--url", "not a url"]
    run(broken, env=env, cwd=str(home))
    out = run([claude, "mcp", "get", "ksdevops-broken"], env=env, cwd=str(home))
    text = out.stdout + out.stderr
    status = next((line.strip() for line in text.splitlines() if "Status" in line), short(text, 200))
    report.check(
        "claude-code stdio: a broken server is not reported connected",
        "ksdevops-broken" in text and CONNECTED.search(text) is None,
        status,
    )


# --------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", required=True, help="the ks-devops-mcp release binary")
    parser.add_argument(
        "--tools", required=True, type=Path, help="the client cache (node22/ with Node 22, npm/ with the npm clients)"
    )
    parser.add_argument(
        "--only", default="python,inspector,claude", help="comma list of python, inspector, claude (default: all)"
    )
    args = parser.parse_args()
    binary = str(Path(args.binary).resolve())
    only = {s.strip() for s in args.only.split(",") if s.strip()}
    data = load_examples(binary)
    report = Report()
    workdir = Path(tempfile.mkdtemp(prefix="ks-real-clients-"))

    stdio = Target("stdio", lambda: StdioServerParameters(command=binary, args=SERVER_ARGS, env=clean_env()))
    has_http = supports_http(binary)
    print(f"server: {binary} ({'with' if has_http else 'without'} --http)", flush=True)

    names: set[str] = set()

    async def list_names() -> None:
        async with Client(stdio.make(), mode="legacy") as c:
            names.update(t.name for t in (await c.list_tools()).tools)

    anyio.run(list_names)

    stdio_defaults = Target("stdio", lambda: StdioServerParameters(command=binary, args=DEFAULT_ARGS, env=clean_env()))
    if "python" in only:
        for mode in ("legacy", "auto"):
            anyio.run(sdk_checks, report, stdio, mode, data)
        for mode in ("legacy", "auto"):
            anyio.run(dynamic_checks, report, stdio_defaults, mode)
    if "inspector" in only:
        inspector_checks(report, binary, args.tools, workdir, None, names)
        inspector_dynamic_checks(report, binary, args.tools, workdir)
    if "claude" in only:
        claude_checks(report, binary, args.tools, workdir, None)
        claude_checks(report, binary, args.tools, workdir, None, defaults=True)

    if not has_http:
        report.skip(
            "streamable HTTP (python-sdk, inspector, claude-code)",
            "this binary has no --http option yet; the HTTP checks run once `ks-devops-mcp --help` lists it",
        )
    else:
        try:
            with http_server(binary, workdir) as server:
                print(f"HTTP server at {server.url} (auth: {', '.join(server.headers) or 'none'})", flush=True)

                def make_http() -> Any:
                    client = httpx2.AsyncClient(headers=server.headers, timeout=CALL_TIMEOUT)
                    return streamable_http_client(server.url, http_client=client)

                if "python" in only:
                    for mode in ("legacy", "auto"):
                        anyio.run(sdk_checks, report, Target("http", make_http), mode, data)
                if "inspector" in only:
                    inspector_checks(report, binary, args.tools, workdir, server, names)
                if "claude" in only:
                    claude_checks(report, binary, args.tools, workdir, server)
                if server.proc.poll() is not None:
                    report.fail("http server", f"exited during the checks: {server.log_path.read_text()[-800:]}")
        except CheckFailed as e:
            report.fail("http server", str(e))
        if "python" in only:
            try:
                with http_server(binary, workdir, ["--sandbox"]) as server:
                    print(f"HTTP server with the default settings at {server.url}", flush=True)

                    def make_http_defaults() -> Any:
                        client = httpx2.AsyncClient(headers=server.headers, timeout=CALL_TIMEOUT)
                        return streamable_http_client(server.url, http_client=client)

                    for mode in ("legacy", "auto"):
                        anyio.run(dynamic_checks, report, Target("http", make_http_defaults), mode)
            except CheckFailed as e:
                report.fail("http server (default settings)", str(e))

    shutil.rmtree(workdir, ignore_errors=True)
    print(
        f"\n{report.passed} passed, {len(report.failed)} failed, {len(report.skipped)} skipped"
        + (f"\nfailed: {', '.join(report.failed)}" if report.failed else ""),
        flush=True,
    )
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main())
