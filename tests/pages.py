"""Reading rendered pages in tests as a person would."""

import html
import re


def text(response) -> str:
    """The page as a reader sees it: tags dropped, whitespace collapsed."""
    plain = html.unescape(re.sub(r"<[^>]+>", "", response.content.decode()))
    return " ".join(plain.split())


def shown_messages(response) -> list[str]:
    """The flash messages on the page (success and errors), unescaped."""
    return [
        html.unescape(m)
        for m in re.findall(r'<li class="message [^"]*">(.*?)</li>', response.content.decode())
    ]
