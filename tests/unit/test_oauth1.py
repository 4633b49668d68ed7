"""OAuth 1.0a signing (flockpilot.adapters.oauth1): X's documented example, and header for
header what oauthlib (the signer tweepy uses) makes of the same requests."""

from __future__ import annotations

import random
import string
from urllib.parse import parse_qsl, quote, unquote, urlencode

import pytest
from oauthlib.oauth1 import Client

from flockpilot.adapters.oauth1 import authorization, base_string_uri, escape, signature_base

KEYS = {"consumer_key": "xvz1evFS4wEEPTGEFPHBog", "consumer_secret": "kAcSOqF21Fu85e7zjz7ZN2U4ZRhfV3WpwPAoE3Z7kBw",
        "token": "370773112-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb",
        "token_secret": "LswwdoUaIvS8ltyTt5jkRh4J50vUPVVHtR2YPi5kE"}


def fields(header: str) -> dict[str, str]:
    assert header.startswith("OAuth ")
    pairs = [part.strip().split("=", 1) for part in header[len("OAuth "):].split(",")]
    return {unquote(k): unquote(v.strip('"')) for k, v in pairs}


def test_xs_documented_example() -> None:
    """developer.x.com, "Creating a signature": the same parameters give the same signature."""
    params = [("status", "Hello Ladies + Gentlemen, a signed OAuth request!"), ("include_entities", "true")]
    header = authorization("POST", "https://api.twitter.com/1.1/statuses/update.json", params, **KEYS,
                           nonce="kYjzVBB8Y0ZFabxSWbWovY3uYSQ2pTgmZeNu2VS4cg", timestamp=1318622958)
    assert fields(header)["oauth_signature"] == "hCtSmYh+iHYCEqBWrE7C7hYmtUk="


def test_the_base_string_rules() -> None:
    assert escape("a b+c/~*!'()") == "a%20b%2Bc%2F~%2A%21%27%28%29"
    assert escape("ü") == "%C3%BC"
    assert base_string_uri("HTTPS://Api.X.com:443/2/users/me?x=1") == "https://api.x.com/2/users/me"
    assert base_string_uri("http://127.0.0.1:8123/2/tweets") == "http://127.0.0.1:8123/2/tweets"
    assert base_string_uri("http://example.com:80") == "http://example.com/"
    assert signature_base("get", "https://api.x.com/2/users/me", [("b", "2"), ("a", "3"), ("a", "1")]) == (
        "GET&https%3A%2F%2Fapi.x.com%2F2%2Fusers%2Fme&a%3D1%26a%3D3%26b%3D2")


def random_text(rng: random.Random) -> str:
    alphabet = string.ascii_letters + string.digits + " -._~+/,:;=&?%*!'()@#$[]\"" + "äöü€😀\u3042"
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 24)))


@pytest.mark.parametrize("seed", range(40))
def test_every_header_matches_oauthlibs(seed: int) -> None:
    rng = random.Random(seed)
    method = rng.choice(["GET", "POST", "DELETE", "PUT"])
    origin = rng.choice(["https://api.x.com", "http://127.0.0.1:8111", "https://API.x.com:443"])
    path = rng.choice(["/2/users/me", "/2/users/1700000000000000001/following", "/2/tweets", "/2/dm_events"])
    query = [(rng.choice(["max_results", "pagination_token", "user.fields", "start_time", "ids", "q"]) + str(i),
              random_text(rng)) for i in range(rng.randint(0, 5))]
    keys = {k: random_text(rng) or "k" for k in KEYS}
    nonce, timestamp = f"{rng.getrandbits(64):x}", rng.randint(1_600_000_000, 1_900_000_000)
    url = origin + path + ("?" + urlencode(query, quote_via=quote) if query else "")
    assert parse_qsl(url.partition("?")[2], keep_blank_values=True) == query  # what X decodes is what was signed

    ours = fields(authorization(method, origin + path, query, **keys, nonce=nonce, timestamp=timestamp))
    reference = Client(keys["consumer_key"], client_secret=keys["consumer_secret"], resource_owner_key=keys["token"],
                       resource_owner_secret=keys["token_secret"], nonce=nonce, timestamp=str(timestamp))
    _, headers, _ = reference.sign(url, http_method=method)
    assert ours == fields(headers["Authorization"])


def test_each_request_gets_a_new_nonce() -> None:
    first, second = (fields(authorization("GET", "https://api.x.com/2/users/me", [], **KEYS)) for _ in range(2))
    assert first["oauth_nonce"] != second["oauth_nonce"] and len(first["oauth_nonce"]) == 32


class Sent:
    status, data, headers = 200, b"{}", {}


def test_the_transport_sends_exactly_what_it_signed(monkeypatch: pytest.MonkeyPatch) -> None:
    """SignedTransport: the query is encoded as RFC 3986 says, and the header is oauthlib's
    signature of the URL actually sent (same nonce and time)."""
    from flockpilot.adapters.x import SignedTransport

    keys = {"consumer_key": "ck", "consumer_secret": "cs ~/+", "access_token": "1700000000000000001-at", "access_token_secret": "ts"}
    transport = SignedTransport(**keys, base_url="http://127.0.0.1:9/", timeout=1.0)
    sent: dict[str, object] = {}

    def request(method: str, url: str, *, body: object, headers: dict[str, str], preload_content: bool) -> Sent:
        sent.update(method=method, url=url, headers=headers, body=body)
        return Sent()

    monkeypatch.setattr(transport._pool, "request", request)
    params = {"query": "bread & butter ~ 100% rye", "user.fields": "username,created_at", "max_results": 5}
    assert transport.send("POST", "/2/tweets", params=params, json={"text": "hi"}).status == 200
    url, headers = str(sent["url"]), sent["headers"]
    assert isinstance(headers, dict) and headers["Content-Type"] == "application/json"
    assert url == ("http://127.0.0.1:9/2/tweets?query=bread%20%26%20butter%20~%20100%25%20rye"
                   "&user.fields=username%2Ccreated_at&max_results=5")
    got = fields(headers["Authorization"])
    reference = Client(keys["consumer_key"], client_secret=keys["consumer_secret"], resource_owner_key=keys["access_token"],
                       resource_owner_secret=keys["access_token_secret"], nonce=got["oauth_nonce"],
                       timestamp=got["oauth_timestamp"])
    _, expected, _ = reference.sign(url, http_method="POST")
    assert got == fields(expected["Authorization"])
    assert headers["Authorization"] == expected["Authorization"]  # encoding of the header's values too
