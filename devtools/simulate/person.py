"""The account's owner, simulated: reads each day's digest email and, the next morning, acts
on a share of its suggestions by hand (suggest mode), as the digest's one-tap links let them.

The person sees only what the email shows: follow and prune suggestions are read from the
plain-text part, by handle. What they were shown is kept, so the audit can tell whether
anyone was suggested twice, or suggested for unfollowing while not followed at all.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from datetime import date, datetime

from devtools.simulate.world import OWNER_ID, SimWorld
from flockpilot.ports import Clock

FOLLOW_LINE = re.compile(r"^- @(\w+): https://x\.com/intent/follow\?screen_name=(\w+)")
PRUNE_LINE = re.compile(r"^- @(\w+): https://x\.com/(\w+)\s*$")


@dataclass(frozen=True)
class Suggestion:
    """One suggestion the digest showed, and what the world said about it then."""

    day: date
    kind: str  # follow | unfollow
    user_id: str
    last_shown: date | None  # the same suggestion in an earlier digest, on this day
    redundant: bool  # follow: already followed (now or before); unfollow: not followed


@dataclass
class Mail:
    sent_at: datetime
    subject: str
    text: str


@dataclass
class Mailbox:
    """SES, as far as the simulated person can tell: every digest sent, kept in order."""

    clock: Clock
    mails: list[Mail] = field(default_factory=list)

    def send(self, *, region: str, sender: str, recipients: list[str], subject: str, html: str, text: str) -> str:
        now = self.clock.now()
        self.mails.append(Mail(now, subject, text))
        return f"sim-{len(self.mails)}"


def suggestions_in(text: str) -> tuple[list[str], list[str]]:
    """The handles a digest asks to follow and to unfollow (from its plain-text part)."""
    follow: list[str] = []
    prune: list[str] = []
    section = ""
    for line in text.splitlines():
        if line and not line.startswith((" ", "-")):
            section = line.strip()
            continue
        if section == "FOLLOW SUGGESTIONS" and (m := FOLLOW_LINE.match(line)):
            follow.append(m.group(2))
        elif section == "PRUNE SUGGESTIONS" and (m := PRUNE_LINE.match(line)):
            prune.append(m.group(2))
    return follow, prune


class Person:
    """Acts on `share` of each digest's suggestions, the morning after it arrives (or, with
    `acting` off, as in api mode, only reads them)."""

    def __init__(self, sim: SimWorld, mailbox: Mailbox, *, share: float, seed: int, acting: bool = True) -> None:
        self.sim = sim
        self.acting = acting
        self.mailbox = mailbox
        self.share = share
        self.rng = random.Random(f"person:{seed}")
        self.read_up_to = 0
        self.shown: list[Suggestion] = []
        self._seen: dict[tuple[str, str], date] = {}
        self.unresolved: list[str] = []  # handles the person could not find on X

    def act(self, at: datetime) -> tuple[int, int]:
        """Read the digests not read yet and act on them; (follows, unfollows) made."""
        follows = unfollows = 0
        world = self.sim.world
        for mail in self.mailbox.mails[self.read_up_to:]:
            follow, prune = suggestions_in(mail.text)
            day = mail.sent_at.date()
            for kind, handles in (("follow", follow), ("unfollow", prune)):
                for handle in handles:
                    uid = self.sim.by_username.get(handle.lower())
                    if uid is None:
                        self.unresolved.append(handle)
                        continue
                    following = world.is_following(OWNER_ID, uid)
                    redundant = (following or uid in self.sim.ever_followed) if kind == "follow" else not following
                    self.shown.append(Suggestion(day, kind, uid, self._seen.get((kind, uid)), redundant))
                    self._seen[(kind, uid)] = day
                    if not self.acting or self.rng.random() >= self.share:
                        continue
                    if kind == "follow" and not following:
                        self.sim.follow_by_hand(uid, at)
                        follows += 1
                    elif kind == "unfollow" and following:
                        self.sim.unfollow_by_hand(uid, at)
                        unfollows += 1
        self.read_up_to = len(self.mailbox.mails)
        return follows, unfollows
