"""A tiny MCP server for the tour in tools_and_images.ipynb, written with the official SDK.

The notebook starts it over stdio (``{"command": sys.executable, "args":
["mcp_tour_server.py"]}``, from this folder); any MCP client can, too:
``python mcp_tour_server.py`` speaks the protocol on its stdin and stdout.
"""

from mcp.server.fastmcp import FastMCP

server = FastMCP("tour", log_level="WARNING")


@server.tool()
def letter_count(word: str, letter: str) -> int:
    """How many times a letter appears in a word (upper or lower case alike)."""
    return word.lower().count(letter.strip().lower()[:1]) if letter.strip() else 0


@server.tool()
def word_count(text: str) -> int:
    """How many words a text has."""
    return len(text.split())


if __name__ == "__main__":
    server.run("stdio")
