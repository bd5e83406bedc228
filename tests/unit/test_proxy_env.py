"""A proxy variable the control-plane client cannot use is one error naming the variable,
never httpx's traceback, and never the password the value holds."""

from __future__ import annotations

from importlib.util import find_spec

import pytest

from podkit._http import HttpClient
from podkit.errors import ConfigError
from podkit.proxy_env import PROXY_VARIABLES, proxy_problem

BAD = [
    ("HTTP_PROXY", "ftp://127.0.0.1:1", "has the scheme 'ftp'"),
    ("HTTPS_PROXY", "http://user:Pr0xyPassw0rd@[::1", "is not a URL"),
    ("all_proxy", "http://127.0.0.1:notaport", "is not a URL"),
]
if find_spec("socksio") is None:
    BAD.append(("ALL_PROXY", "socks5://127.0.0.1:1", "needs httpx's socks extra"))


@pytest.mark.parametrize(("name", "value", "words"), BAD)
def test_a_proxy_httpx_cannot_use_is_named_in_words(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, words: str
) -> None:
    for other in PROXY_VARIABLES:
        monkeypatch.delenv(other, raising=False)
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as caught:
        HttpClient("http://127.0.0.1:9")
    message = str(caught.value)
    assert message.startswith(f"the proxy in {name} cannot be used: ") and words in message
    assert "Pr0xyPassw0rd" not in message + (caught.value.hint or "")


@pytest.mark.parametrize("value", ["http://127.0.0.1:3128", "127.0.0.1:3128", "https://p:8443"])
def test_usable_proxies_pass(value: str) -> None:
    assert proxy_problem({"HTTPS_PROXY": value}) is None
