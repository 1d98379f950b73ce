"""The ``mcpServers`` configuration (shapes, sources, what a listing may show) and what a
server's answer becomes (text, JSON, images, errors), with the SDK's own types."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from mcp.types import (
    AudioContent,
    BlobResourceContents,
    CallToolResult,
    EmbeddedResource,
    ImageContent,
    ResourceLink,
    TextContent,
    TextResourceContents,
)

from groq_magic.chat.tools import ResultWithImages, ToolFailure
from groq_magic.mcp import (
    MCPConfigError,
    MCPSettings,
    check_servers,
    configured_servers,
    read_config_file,
)
from groq_magic.mcp.config import HttpServer, StdioServer, describe
from groq_magic.mcp.tools import result_value, schema_check


def test_the_documented_shapes() -> None:
    servers = check_servers(
        {
            "files": {"command": "npx", "args": ["-y", "server"], "env": {"A": "1"}, "cwd": "/tmp"},
            "docs": {"type": "http", "url": "https://h/mcp", "headers": {"X": "y"}},
            "plain": {"type": "stdio", "command": "srv"},
        },
        "test",
    )
    assert servers["files"] == StdioServer("files", "npx", ("-y", "server"), (("A", "1"),), "/tmp")
    assert servers["docs"] == HttpServer("docs", "https://h/mcp", (("X", "y"),))
    assert servers["plain"] == StdioServer("plain", "srv")
    assert "'A'" not in repr(servers["files"])  # env values stay out of reprs
    assert "'1'" not in repr(servers["files"])


def test_a_file_the_environment_names_and_the_dict_over_it(tmp_path: Path) -> None:
    path = tmp_path / "mcp.json"
    path.write_text(json.dumps({"mcpServers": {"a": {"command": "one"}, "b": {"command": "two"}}}))
    settings = MCPSettings(servers={"b": {"command": "three"}})
    found = configured_servers(settings, {"GROQ_MAGIC_MCP_CONFIG": str(path)})
    assert {n: s.command for n, s in found.items()} == {"a": "one", "b": "three"}  # type: ignore[union-attr]
    # GroqMagics.mcp_config wins over the environment; VS Code's "servers" key works too.
    other = tmp_path / "vscode.json"
    other.write_text(json.dumps({"servers": {"c": {"type": "stdio", "command": "four"}}}))
    found = configured_servers(
        MCPSettings(config_file=str(other)), {"GROQ_MAGIC_MCP_CONFIG": str(path)}
    )
    assert list(found) == ["c"]


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("{nope", "not JSON (Expecting property name enclosed in double quotes, line 1)"),
        ("[1]", "expected an object (got list)"),
        ('{"servers2": {}}', 'no "mcpServers" object in it'),
        (
            '{"mcpServers": {"x": {"command": ""}}}',
            "server 'x': command must be a program name (got str)",
        ),
        ('{"mcpServers": {"": {"command": "a"}}}', "a server name must be letters, digits"),
    ],
    ids=["not-json", "not-object", "no-servers", "empty-command", "bad-name"],
)
def test_a_bad_file_is_one_line_naming_it(tmp_path: Path, text: str, line: str) -> None:
    path = tmp_path / "mcp.json"
    path.write_text(text)
    with pytest.raises(MCPConfigError) as caught:
        read_config_file(path)
    message = str(caught.value)
    assert message.startswith(f"mcp config {path}: ")
    assert line in message
    assert "\n" not in message


def test_a_missing_file_or_a_folder_is_one_line(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.json"
    with pytest.raises(MCPConfigError) as caught:
        read_config_file(missing)
    assert str(caught.value) == f"cannot read mcp config '{missing}': No such file or directory"
    with pytest.raises(MCPConfigError) as caught:
        read_config_file(tmp_path)
    assert str(caught.value) == f"mcp config '{tmp_path}' is a folder, not a file"


def test_header_and_env_values_are_never_in_a_line() -> None:
    secret = "gsk_" + "x" * 40
    with pytest.raises(MCPConfigError) as caught:
        check_servers(
            {"x": {"url": "http://h", "headers": {"Authorization": ["Bearer", secret]}}}, "t"
        )
    assert str(caught.value) == "t: server 'x': header 'Authorization' must be a string (got list)"


@pytest.mark.parametrize(
    ("entry", "shown"),
    [
        (
            {"command": "srv", "args": ["--token", "abc", "--port", "1"]},
            "srv --token [redacted] --port 1",
        ),
        ({"command": "srv", "args": ["--api-key=abc"]}, "srv --api-key=[redacted]"),
        ({"command": "srv", "args": ["gsk_" + "k" * 30]}, "srv [redacted]"),
        ({"url": "https://user:pw@host/mcp"}, "https://host/mcp"),
    ],
)
def test_a_listing_shows_no_secrets(entry: dict[str, Any], shown: str) -> None:
    [spec] = check_servers({"s": entry}, "t").values()
    assert describe(spec) == shown


def result(*content: Any, structured: Any = None, error: bool = False) -> CallToolResult:
    return CallToolResult(content=list(content), structuredContent=structured, isError=error)


def test_text_json_and_images() -> None:
    assert (
        result_value(
            "srv",
            "t",
            result(TextContent(type="text", text="a"), TextContent(type="text", text="b")),
        )
        == "a\nb"
    )
    weather = {"city": "Oslo", "c": 12}
    text = TextContent(type="text", text=json.dumps(weather, indent=2))
    assert result_value("srv", "t", result(text, structured=weather)) == weather
    # A number or a string wrapped as {"result": ...} by the server comes out unwrapped.
    five = TextContent(type="text", text="5")
    assert result_value("srv", "t", result(five, structured={"result": 5})) == 5
    said = TextContent(type="text", text="echo: hi")
    assert result_value("srv", "t", result(said, structured={"result": "echo: hi"})) == "echo: hi"
    other = TextContent(type="text", text="not the same")
    assert result_value("srv", "t", result(other, structured={"result": 5})) == "not the same"
    assert result_value("srv", "t", result(structured={"only": "json"})) == {"only": "json"}
    image = ImageContent(type="image", data="AAAA", mimeType="image/png")
    value = result_value("srv", "t", result(TextContent(type="text", text="see"), image))
    assert isinstance(value, ResultWithImages)
    assert (value.text, value.images[0].mime_type, value.images[0].data) == (
        "see",
        "image/png",
        "AAAA",
    )


def test_other_content_is_named_not_sent() -> None:
    value = result_value(
        "srv",
        "t",
        result(
            AudioContent(type="audio", data="AAAA", mimeType="audio/wav"),
            EmbeddedResource(
                type="resource", resource=TextResourceContents(uri="file:///a.txt", text="inside")
            ),
            EmbeddedResource(
                type="resource",
                resource=BlobResourceContents(
                    uri="file:///b.bin", blob="AAAA", mimeType="application/zip"
                ),
            ),
            ResourceLink(type="resource_link", uri="file:///c", name="c"),
        ),
    )
    assert value.splitlines() == [
        "[audio: audio/wav, not sent]",
        "inside",
        "[resource file:///b.bin: application/zip, not sent]",
        "[resource: file:///c]",
    ]


def test_an_error_result_is_a_line_naming_the_server() -> None:
    with pytest.raises(ToolFailure) as caught:
        result_value(
            "mcp server 'w'",
            "fetch",
            result(TextContent(type="text", text="404\nnot found"), error=True),
        )
    assert str(caught.value) == "mcp server 'w': fetch returned an error: 404 not found"


def test_the_schema_check() -> None:
    check = schema_check(
        {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}
    )
    assert check is not None
    assert check({"n": 1}) is None
    assert check({}) == "'n' is a required property"
    assert check({"n": "x"}) == "n: 'x' is not of type 'integer'"
    assert schema_check({"type": 12}) is None  # a schema that is not one: the server judges
