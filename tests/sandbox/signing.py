"""Plain requests signed as the demo owner with OAuth 1.0a: what tweepy sends, without the adapter."""

from __future__ import annotations

import requests
from requests_oauthlib import OAuth1

from devtools.xsandbox.seed import DEMO_CREDENTIALS


def signed_session() -> requests.Session:
    session = requests.Session()
    session.auth = OAuth1(DEMO_CREDENTIALS["consumer_key"], DEMO_CREDENTIALS["consumer_secret"],
                          DEMO_CREDENTIALS["access_token"], DEMO_CREDENTIALS["access_token_secret"])
    return session
