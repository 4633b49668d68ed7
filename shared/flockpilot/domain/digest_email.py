"""The digest email, as HTML (tables and inline styles: Gmail and Outlook, no scripts, no
remote images, no SVG) and as plain text. Everything from strangers is escaped here."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from html import escape
from zoneinfo import ZoneInfo

from flockpilot.domain.account import GrowthPoint
from flockpilot.domain.digest import IGNORE, MAYBE, WORTH, DigestEntry, Message, safe_name, safe_text
from flockpilot.domain.insights import WeekInsights

_LINK = re.compile(r"https?://\S+")

INK, MUTED, ACCENT, FOLLOWERS_BAR, FOLLOWING_BAR = "#0f1419", "#536471", "#1d9bf0", "#1d9bf0", "#cfd9de"


@dataclass(frozen=True)
class LinkItem:
    """A follow or prune suggestion in the email: who, the link to act, why."""

    username: str
    profile_url: str
    action_url: str
    action: str
    why: str
    details: str = ""  # what a person decides by: name, the bio's first line, figures, last post


@dataclass(frozen=True)
class PostLine:
    """A post published today or coming next."""

    at: datetime
    kind: str
    text: str
    cost_usd: float


@dataclass
class DigestReport:
    """Everything the day's email shows."""

    handle: str
    day: date
    time_zone: str
    dry_run: bool
    entries: list[DigestEntry] = field(default_factory=list)
    waiting: str = ""  # what the email's bound left for the next digest, said in the email
    messages_waiting: int = 0
    lost: str = ""  # messages given up unshown since the last sent digest, said in the email
    messages_lost: int = 0
    follow: list[LinkItem] = field(default_factory=list)
    prune: list[LinkItem] = field(default_factory=list)
    prune_note: str = ""
    published: list[PostLine] = field(default_factory=list)
    upcoming: list[PostLine] = field(default_factory=list)
    followers: int | None = None
    following: int | None = None
    band: str = ""
    checks: str = ""  # how far the rolling check of who follows back has got (from the last prune run)
    growth: list[GrowthPoint] = field(default_factory=list)
    sources: list[tuple[str, int, int]] = field(default_factory=list)  # label, followed, followed back
    spend_today_usd: float = 0.0
    spend_month_usd: float = 0.0
    budget_month_usd: float = 0.0
    warnings: list[str] = field(default_factory=list)
    week: WeekInsights | None = None

    @property
    def subject(self) -> str:
        counts = {b: sum(1 for e in self.entries if e.bucket == b) for b in (WORTH, MAYBE)}
        handle = "".join(ch for ch in self.handle if ch.isalnum() or ch == "_")[:15]
        return (f"Flockpilot {self.day:%a %d %b}: {counts[WORTH]} worth replying, {counts[MAYBE]} maybe"
                f" - @{handle}")


def _local(at: datetime, time_zone: str) -> datetime:
    """A moment on the account's own clock (the one its digest hour, active hours and plan use)."""
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(ZoneInfo(time_zone))


def _e(text: str, limit: int = 600) -> str:
    return escape(safe_text(text, limit), quote=True)


def _n(name: str, limit: int = 50) -> str:
    """A stranger's name or handle, on one line, escaped."""
    return escape(safe_name(name, limit), quote=True)


def _indented(text: str, indent: str = "      ") -> str:
    """Continuation lines of a stranger's text, indented: a DM cannot fake a digest line."""
    return text.replace("\n", "\n" + indent)


def _h(title: str) -> str:
    return (f'<tr><td style="padding:24px 16px 8px 16px;font:bold 18px Arial,sans-serif;color:{INK};'
            f'border-top:1px solid #eff3f4">{escape(title)}</td></tr>')


def _p(html: str, muted: bool = False) -> str:
    color = MUTED if muted else INK
    return (f'<tr><td style="padding:4px 16px;font:14px/1.45 Arial,sans-serif;color:{color};'
            f'word-break:break-word;overflow-wrap:anywhere">{html}</td></tr>')


def _button(url: str, label: str) -> str:
    return (f'<a href="{escape(url, quote=True)}" style="display:inline-block;padding:6px 12px;margin:4px 4px 0 0;'
            f'background:{ACCENT};color:#ffffff;border-radius:14px;text-decoration:none;font:bold 13px Arial,sans-serif">'
            f"{escape(label)}</a>")


def _chart(points: list[GrowthPoint]) -> str:
    """Followers (blue) and following (grey) per day as table bars: renders everywhere."""
    if not points:
        return _p("No history yet: the chart fills in as the follow function runs.", muted=True)
    top = max(max(p.followers, p.following) for p in points) or 1
    height = 80
    cells = []
    for p in points[-30:]:
        bars = []
        for value, color in ((p.followers, FOLLOWERS_BAR), (p.following, FOLLOWING_BAR)):
            h = max(1, round(height * value / top))
            bars.append(
                f'<td valign="bottom" width="4" style="padding:0 0 0 1px"><table role="presentation" cellpadding="0" '
                f'cellspacing="0" border="0"><tr><td height="{height - h}" style="font-size:0;line-height:0">&nbsp;</td></tr>'
                f'<tr><td height="{h}" width="4" bgcolor="{color}" style="font-size:0;line-height:0;background:{color}">'
                f"&nbsp;</td></tr></table></td>"
            )
        cells.append("".join(bars))
    first, last = points[0], points[-1]
    return (
        '<tr><td style="padding:8px 16px"><table role="presentation" cellpadding="0" cellspacing="0" border="0" '
        f'title="followers and following, last {len(points)} days"><tr>{"".join(cells)}</tr></table>'
        f'<div style="font:12px Arial,sans-serif;color:{MUTED};padding-top:4px">'
        f'<span style="color:{FOLLOWERS_BAR}">&#9632;</span> followers {first.followers} &rarr; {last.followers} '
        f'&nbsp;<span style="color:#8899a6">&#9632;</span> following {first.following} &rarr; {last.following} '
        f"({first.day:%d %b} to {last.day:%d %b})</div></td></tr>"
    )


def _who(m: Message, e: DigestEntry) -> str:
    """Who wrote a message, as the email names them (unescaped): in a group, each by name."""
    if m.from_me:
        return "You"
    return (m.sender or e.conversation.other).name or f"@{(m.sender or e.conversation.other).username}"


def _entry_html(e: DigestEntry, tz_name: str) -> str:
    o, conv = e.conversation.other, e.conversation
    where = " &middot; in a group conversation" if conv.group else ""
    lines = [
        f'<tr><td style="padding:12px 16px 4px 16px;font:bold 15px Arial,sans-serif;color:{INK};word-break:break-word;'
        f'overflow-wrap:anywhere">{_n(o.name, 50)} <span style="font-weight:normal;color:{MUTED}">@{_n(o.username, 20)}'
        f" &middot; {o.followers:,} followers{where}</span></td></tr>",
        _p(f"<i>{escape(e.bucket)}</i>: {escape('; '.join(e.reasons))}", muted=True),
    ]
    for m in conv.messages:
        when = f"{_local(m.created_at, tz_name):%d %b %H:%M} &middot; {_n(_who(m, e), 30)}:"
        if m.id in conv.new:
            lines.append(_p(f'<b style="color:{ACCENT};font-size:11px">NEW</b> <span style="color:{MUTED}">{when}</span> '
                            f"{_e(m.text)}"))
        else:
            lines.append(_p(f'<span style="font-size:11px">seen before</span> &middot; {when} {_e(m.text)}', muted=True))
    if conv.waiting:
        lines.append(_p(f"{conv.waiting} more new message{'s' if conv.waiting != 1 else ''} here wait for the next digest.",
                        muted=True))
    label = "Open the group in X" if conv.group else "Reply in X"
    lines.append(_p(f'<span style="color:{MUTED}">Draft:</span> {_e(e.draft, 280)}<br>{_button(e.compose_url, label)}'))
    return "".join(lines)


def _brief(text: str, limit: int) -> str:
    """A post's words without its link, cut at a word with an ellipsis (the figures say the rest)."""
    words = safe_name(_LINK.sub("", text), 10 * limit)
    if len(words) <= limit:
        return words
    cut = words[:limit].rsplit(" ", 1)[0] if " " in words[:limit] else words[:limit]
    return cut.rstrip(" ,.;:-") + "…"


def week_lines(w: WeekInsights | None) -> list[str]:
    """The week's figures as lines of text (the HTML and text emails both show these)."""
    if w is None or (not w.posts_measured and not w.retired and w.followers_gained is None):
        return ["No results yet: they come in as your posts are a day old."]
    lines = [f"{w.first_day:%d %b} to {w.last_day:%d %b}: {w.posts_measured} posts measured"
             + (f", {w.followers_gained:+d} followers" if w.followers_gained is not None else "")]
    for n, t in enumerate(w.top_posts, start=1):
        lines.append(f"Top {n}: {_brief(t.text, 70)} ({t.kind}; {t.rate:.1%} engagement, {t.impressions:,} impressions"
                     + (f", {t.link_clicks} link clicks" if t.link_clicks else "") + f", cost ${t.cost_usd:.3f})")
    if w.best_hours:
        lines.append("Best hours (your time): " + ", ".join(f"{h.hour:02d}:00 ({h.factor:.1f}x your typical post, "
                                                            f"{h.posts} post{'s' if h.posts != 1 else ''})"
                                                            for h in w.best_hours))
    if w.link_spend_usd:
        per_dollar = f"{w.clicks_per_dollar:.1f}" if w.clicks_per_dollar is not None else "-"
        lines.append(f"Link clicks: {w.link_clicks} for ${w.link_spend_usd:.2f} of link posts ({per_dollar} per dollar)")
    lines += [f"Retired: {_brief(text, 60)}: {safe_text(why, 200)}" for text, why in w.retired]
    return lines


def _week_html(w: WeekInsights | None) -> list[str]:
    return [_p(_e(line, 400), muted=w is None) for line in week_lines(w)]


def render_html(r: DigestReport) -> str:
    rows: list[str] = []
    rows.append(
        f'<tr><td style="padding:20px 16px 4px 16px;font:bold 22px Arial,sans-serif;color:{INK}">Flockpilot digest</td></tr>'
    )
    rows.append(_p(f"@{_e(r.handle, 20)} &middot; {r.day:%A %d %B %Y} &middot; {escape(r.time_zone)}", muted=True))
    if r.dry_run:
        rows.append(_p('<b style="color:#b45309">Dry-run mode: nothing was sent to X today.</b>'))

    rows.append(_h("Messages"))
    if not r.entries:
        rows.append(_p("No new direct messages.", muted=True))
    if r.lost:
        rows.append(_p(f"&#9888; {_e(r.lost, 400)}"))
    if r.waiting:
        rows.append(_p(f"&#9888; {_e(r.waiting, 400)}"))
    for bucket in (WORTH, MAYBE, IGNORE):
        group = [e for e in r.entries if e.bucket == bucket]
        if group:
            rows.append(_p(f'<b style="text-transform:uppercase;font-size:12px;color:{MUTED}">{escape(bucket)} ({len(group)})</b>'))
            rows.extend(_entry_html(e, r.time_zone) for e in group)

    rows.append(_h("Follow suggestions"))
    if not r.follow:
        rows.append(_p("No follow suggestions today.", muted=True))
    for f in r.follow:
        rows.append(_p(f"<b>@{_n(f.username, 20)}</b> {_e(f.details, 300)}<br><span style=\"color:{MUTED}\">{_e(f.why, 200)}</span><br>"
                       f"{_button(f.action_url, f.action)}{_button(f.profile_url, 'Profile')}"))

    rows.append(_h("Prune suggestions"))
    if r.prune_note:
        rows.append(_p(escape(r.prune_note), muted=True))
    for f in r.prune:
        rows.append(_p(f"<b>@{_n(f.username, 20)}</b> {_e(f.details, 300)}<br><span style=\"color:{MUTED}\">{_e(f.why, 200)}</span><br>"
                       f"{_button(f.profile_url, 'Profile')}"))

    rows.append(_h("Posts"))
    rows.append(_p(f"<b>Published today ({len(r.published)})</b>"))
    for p in r.published:
        rows.append(_p(f'<span style="color:{MUTED}">{_local(p.at, r.time_zone):%H:%M} &middot; {escape(p.kind)} &middot; '
                       f'${p.cost_usd:.3f}</span> '
                       f"{_e(p.text, 300)}"))
    rows.append(_p(f"<b>Coming next ({len(r.upcoming)})</b>"))
    for p in r.upcoming:
        rows.append(_p(f'<span style="color:{MUTED}">{_local(p.at, r.time_zone):%H:%M} &middot; {escape(p.kind)}</span> '
                       f"{_e(p.text, 300)}"))

    rows.append(_h("Your week"))
    rows.extend(_week_html(r.week))

    rows.append(_h("Account"))
    if r.followers is not None:
        rows.append(_p(f"<b>{r.followers:,}</b> followers &middot; <b>{(r.following or 0):,}</b> following &middot; {escape(r.band)}"))
    if r.checks:
        rows.append(_p(_e(r.checks, 200), muted=True))
    rows.append(_chart(r.growth))
    if r.sources:
        table = "".join(
            f'<tr><td style="padding:2px 12px 2px 0">{_e(label, 30)}</td><td align="right">{back}/{followed}</td>'
            f'<td align="right" style="padding-left:12px">{(back / followed if followed else 0):.0%}</td></tr>'
            for label, followed, back in r.sources
        )
        rows.append(_p(f'<table role="presentation" style="font:13px Arial,sans-serif;color:{INK}">'
                       f"<tr><td><b>Source</b></td><td><b>Back</b></td><td><b>Rate</b></td></tr>{table}</table>"))

    rows.append(_h("X API spend"))
    rows.append(_p(f"Today ${r.spend_today_usd:.2f} &middot; this month ${r.spend_month_usd:.2f} of ${r.budget_month_usd:.2f}"))

    rows.append(_h("Warnings"))
    if not r.warnings:
        rows.append(_p("None.", muted=True))
    for w in r.warnings:
        rows.append(_p(f"&#9888; {_e(w, 400)}"))

    body = "".join(rows)
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(r.subject)}</title></head>"
        '<body style="margin:0;padding:0;background:#f7f9f9">'
        '<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" style="background:#f7f9f9">'
        '<tr><td align="center" style="padding:12px 8px">'
        '<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" '
        'style="max-width:600px;width:100%;table-layout:fixed;background:#ffffff;border-radius:12px">'
        f"{body}"
        '<tr><td style="padding:16px;font:12px Arial,sans-serif;color:#8899a6">Sent by your own Flockpilot. '
        "It never replies or follows for you: every action above is one tap, by you.</td></tr>"
        "</table></td></tr></table></body></html>"
    )


def render_text(r: DigestReport) -> str:
    out = [f"Flockpilot digest - @{safe_text(r.handle, 20)} - {r.day:%A %d %B %Y} (times: {r.time_zone})"]
    if r.dry_run:
        out.append("DRY-RUN MODE: nothing was sent to X today.")
    out += ["", "MESSAGES"]
    if not r.entries:
        out.append("  No new direct messages.")
    if r.lost:
        out.append(f"  {safe_text(r.lost, 400)}")
    if r.waiting:
        out.append(f"  {safe_text(r.waiting, 400)}")
    for e in r.entries:
        o, conv = e.conversation.other, e.conversation
        out.append(f"- [{e.bucket}] {safe_name(o.name, 50)} (@{safe_name(o.username, 20)}, {o.followers:,} followers"
                   f"{', in a group conversation' if conv.group else ''}): {'; '.join(e.reasons)}")
        for m in conv.messages:
            mark = "NEW " if m.id in conv.new else "seen"
            out.append(f"    {mark} {_local(m.created_at, r.time_zone):%d %b %H:%M} {safe_name(_who(m, e), 30)}: "
                       f"{_indented(safe_text(m.text), ' ' * 11)}")
        if conv.waiting:
            out.append(f"    {conv.waiting} more new message{'s' if conv.waiting != 1 else ''} here wait for the next digest")
        out.append(f"    Draft: {_indented(safe_text(e.draft, 280))}")
        out.append(f"    {'Group' if conv.group else 'Reply'}: {e.compose_url}")
    out += ["", "FOLLOW SUGGESTIONS"] + ([f"- @{safe_name(f.username, 20)}: {f.action_url}\n    {safe_name(f.details, 300)}"
                                          f" ({safe_text(f.why, 200)})" for f in r.follow] or ["  None today."])
    out += ["", "PRUNE SUGGESTIONS"] + ([f"- @{safe_name(f.username, 20)}: {f.profile_url}\n    {safe_name(f.details, 300)}"
                                         f" ({safe_text(f.why, 200)})" for f in r.prune] or [f"  {r.prune_note or 'None today.'}"])
    out += ["", f"POSTS: published today {len(r.published)}"]
    out += [f"  {_local(p.at, r.time_zone):%H:%M} {p.kind} ${p.cost_usd:.3f} {safe_text(p.text, 300)}" for p in r.published]
    out += [f"  next {_local(p.at, r.time_zone):%H:%M} {p.kind} {safe_text(p.text, 300)}" for p in r.upcoming]
    out += ["", "YOUR WEEK"] + [f"  {_indented(safe_text(line, 400))}" for line in week_lines(r.week)]
    out += ["", "ACCOUNT"]
    if r.followers is not None:
        out.append(f"  {r.followers:,} followers, {(r.following or 0):,} following; {r.band}")
    if r.checks:
        out.append(f"  {safe_text(r.checks, 200)}")
    if r.growth:
        out.append(f"  followers {r.growth[0].followers} -> {r.growth[-1].followers} since {r.growth[0].day:%d %b}")
    out += [f"  {safe_text(label, 30)}: {back}/{followed} followed back" for label, followed, back in r.sources]
    out += ["", f"X API SPEND: today ${r.spend_today_usd:.2f}, month ${r.spend_month_usd:.2f} of ${r.budget_month_usd:.2f}"]
    out += ["", "WARNINGS"] + ([f"- {safe_text(w, 400)}" for w in r.warnings] or ["  None."])
    return "\n".join(out) + "\n"
