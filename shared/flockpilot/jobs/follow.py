"""The follow job: find, rank and deliver the day's follows inside the 10% band.

suggest mode (default): the day's ranked shortlist is stored with profile and follow links
for the digest, and the next day's sync of your own following records whom you followed.
api mode: the shortlist is followed through the API, paced over the active hours, each
follow recorded as sent before the call and as done after it; X's 403 switches the account
to suggest. dry-run: the whole run with no write to X.

Everyone who passes the filters goes to the reserve queue first; the day's picks are then
taken from its top (yesterday's runners-up included) and recorded before their status
moves, so a crash at any point leaves nobody lost and nobody suggested twice.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from flockpilot.domain.account import DayCounts
from flockpilot.domain.errors import (
    BudgetExhausted,
    CredentialsRevoked,
    NotFound,
    NotPermitted,
    NotSent,
    OutcomeUnknown,
    RateLimited,
    XError,
)
from flockpilot.domain.follow import (
    Source,
    SourceKind,
    choose_sources,
    follow_budget,
    paced_share,
    runs_left,
    score,
    screen,
)
from flockpilot.domain.hours import window_bounds
from flockpilot.domain.links import follow_url, profile_url
from flockpilot.domain.people import PENDING_SETTLE, Card, Person, PersonQueue, PersonStatus, SourceCredit
from flockpilot.domain.records import FollowDay
from flockpilot.domain.x import XUser
from flockpilot.events import FollowEvent
from flockpilot.jobs.skeleton import Account, JobRun, RunSummary, account_profile
from flockpilot.jobs.sync import daily_sync
from flockpilot.pricing import price
from flockpilot.settings import FollowMode, Mode, crossed_bounds

if TYPE_CHECKING:
    from flockpilot.ports import Ledger

API_FOLLOWS_PER_WINDOW = 45  # X allows 50 follows per 15 minutes; keep a margin
API_FOLLOW_SHARE = 0.5  # in api mode, half of the day's follow money pays for the follows
# Pages of one source a run may read when the first one falls short. A page asks for as many
# profiles as the source's pass rate says give the need: those read beyond it wait in the
# reserve for the next day, so nothing is paid twice (pages of exactly the need were tried:
# the same dollars over days, four times the requests and DynamoDB writes).
PAGES_PER_SOURCE = 3


@dataclass(kw_only=True)
class Suggestion:
    """A person on today's follow list, with the link to follow and why."""

    user_id: str
    username: str
    score: float
    source: str
    profile_url: str
    follow_url: str
    why: list[str]


@dataclass(kw_only=True)
class FollowSummary(RunSummary):
    """What a follow run did."""

    job: str = "follow"
    followers: int | None = None
    following: int | None = None
    budget: int = 0
    people_budget: int = 0  # = budget: people (not dollars) this run may shortlist or follow today
    budget_reason: str = ""
    shortlisted: list[Suggestion] = field(default_factory=list)
    followed: list[str] = field(default_factory=list)
    followed_by_hand: list[str] = field(default_factory=list)  # the day's sync's, its first 1,000 (jobs/sync.py SYNC_KEEP)
    follow_backs: list[str] = field(default_factory=list)  # likewise
    users_read: int = 0
    screened_out: int = 0
    reasons_out: dict[str, int] = field(default_factory=dict)
    sources_used: list[str] = field(default_factory=list)
    cost_per_shortlisted_usd: float | None = None
    # How many the day's sync moved in all (the lists above keep the first 1,000 ids of each).
    followed_by_hand_count: int = 0
    follow_backs_count: int = 0


@dataclass
class FollowDeps:
    """What the follow job needs: the account and its ledger."""

    account: Account
    ledger: Ledger


def take_back(ledger: Ledger, source_id: str) -> Source | None:
    """A dry source added again (after the filters changed): its count starts over under the
    filters of now and it is read on from where it stopped. Removed and added instead, it would
    start at its newest followers, the very people it was judged on, whom the ledger has seen
    (they fail as known for months): set aside again after DRY_AFTER_READ paid reads."""
    source = next((s for s in ledger.sources() if s.source_id == source_id and s.dry), None)
    if source is not None:
        ledger.advance_source(source_id, cursor=source.cursor, exhausted=source.exhausted, read=-source.read,
                              suggested=-source.suggested)
    return source


def add_account_source(ledger: Ledger, source: Source) -> str:
    """`sources add`: "added"; "added back" (removed before: it comes back as it was and is
    read on from where it stopped; one removed while dry is taken back as well); "taken back"
    (a dry source added again); "already" (a source already)."""
    if not ledger.add_source(source):
        return "taken back" if take_back(ledger, source.source_id) is not None else "already"
    back = next((s for s in ledger.sources() if s.source_id == source.source_id), None)
    if back is None or not (back.cursor or back.read or back.exhausted):
        return "added"
    take_back(ledger, source.source_id)
    return "added back"


def suggestion(person: Person, source_label: str) -> Suggestion:
    return Suggestion(user_id=person.user_id, username=person.username, score=person.score, source=source_label,
                      profile_url=profile_url(person.username), follow_url=follow_url(person.username), why=list(person.reasons))


@dataclass(frozen=True)
class _BuiltDay:
    """What a later tick of a day whose list is made says (the container memo skips the body)."""

    day: date
    depends_on: str
    reason: str
    followers: int | None
    following: int | None


# Per store scope: the day this container saw the list made, to report on ticks the memo skips.
_BUILT_DAYS: dict[str, _BuiltDay] = {}


def forget_built_days() -> None:
    _BUILT_DAYS.clear()


def run_follow(deps: FollowDeps, event: FollowEvent) -> FollowSummary:
    settings = deps.account.settings
    mode = FollowMode(event.mode) if event.mode in ("suggest", "api") else settings.follow_mode
    dry = settings.mode is Mode.DRY_RUN or event.mode == "dry-run"
    run = JobRun("follow", deps.account, lambda now, day: FollowSummary(
        account=deps.account.account_id, day=day, started_at=now, mode=f"{mode.value}{' (dry-run)' if dry else ''}", dry_run=dry))
    if dry and settings.mode is Mode.DRY_RUN:
        run.summary.warnings.append("dry-run mode: nothing is written to X (set Mode=live)")
    job = _FollowRun(deps, run, event, mode, dry)
    # suggest mode: once the day's list is built and on the suggest list, later ticks have nothing to do
    depends_on = f"{mode.value}:{dry}"
    summary = run.execute_unless_done(
        job.body, save=lambda s: bool(s.shortlisted or s.followed or s.followed_by_hand or s.follow_backs or s.users_read
                                      or s.warnings),
        depends_on=depends_on, remember=event.plain and mode is FollowMode.SUGGEST,
        finished=lambda: job.record.built and job.record.promoted)
    scope = deps.account.records.scope
    if run.skipped:  # this container saw the day's list made: nothing read, nothing to do; said as the run that saw it
        note = _BUILT_DAYS.get(scope)
        known = note is not None and note.day == run.day and note.depends_on == depends_on
        summary.budget_reason = note.reason if note is not None and known else "today's list was built earlier today"
        if note is not None and known:
            summary.followers, summary.following = note.followers, note.following
    elif job.record.built and not job.preview:
        _BUILT_DAYS[scope] = _BuiltDay(run.day, depends_on, job.built_reason(), summary.followers, summary.following)
    if summary.shortlisted and run.meter.usd:
        summary.cost_per_shortlisted_usd = round(run.meter.usd / len(summary.shortlisted), 4)
    return summary


class _FollowRun:
    def __init__(self, deps: FollowDeps, run: JobRun[FollowSummary], event: FollowEvent, mode: FollowMode, dry: bool) -> None:
        self.deps, self.run, self.event, self.mode, self.dry = deps, run, event, mode, dry
        self.ledger = deps.ledger
        self.settings = deps.account.settings
        self.records = deps.account.records
        self.record = FollowDay(day=run.day, dry=dry)
        self.set_aside: list[str] = []  # sources find() skipped as dry (said once, by the run that found out)
        # A console dry run of a live account is a preview: it shows who the day's list would
        # take and stores none of the list (as prune's), so the day's scheduled runs build the
        # whole list as if it had not happened. What it paid to read is kept: the candidates it
        # read wait in the reserve, and the day's list takes them without reading them again.
        # Dry-run mode stores its day, so its hourly ticks neither build nor pay again.
        self.preview = dry and self.settings.mode is not Mode.DRY_RUN
        self.stored = False

    def body(self, run: JobRun[FollowSummary]) -> None:
        stored = self.records.load_day(FollowDay, run.day)
        self.stored = stored is not None  # the day's record exists: saved over, not settled
        self.record = stored or FollowDay(day=run.day, dry=self.dry)
        if self.mode is FollowMode.API and not self.dry:
            self.resolve_pending()
        if not self.record.built or self.event.max is not None or self.event.sync:
            self.build()
        else:
            self.day_made()
        if self.preview:
            return
        self.promote()
        if self.mode is FollowMode.API:
            self.follow_paced()

    # --- the day's list ----------------------------------------------------------------
    def built_reason(self) -> str:
        """What a run that finds the day's list made says: when it was made and how many people."""
        record, settings = self.record, self.settings
        when = "earlier today"
        if record.built_at:
            when = f"at {datetime.fromisoformat(record.built_at).astimezone(settings.zone):%H:%M} {settings.time_zone}"
        return f"today's list was built {when} ({len(record.shortlisted)} people); the next one is made tomorrow"

    def day_made(self) -> None:
        """The day's list is made: nothing to read or add. The run says when it was made, and
        the account's figures (today's stored users/me: nothing paid) for the band."""
        summary = self.run.summary
        summary.budget_reason = self.built_reason()
        profile = self.records.profile()
        if profile is not None and profile.fresh(self.run.now, self.settings.zone):
            summary.followers, summary.following = profile.followers, profile.following

    def build(self) -> None:
        run, summary, settings = self.run, self.run.summary, self.settings
        if self.event.sync is not False:
            try:
                synced = daily_sync(run, self.ledger, force=bool(self.event.sync))
            except (CredentialsRevoked, NotPermitted, NotSent):
                raise
            except XError as exc:  # follow-backs wait for the next sync; today's list does not
                summary.mark_partial(f"could not sync your followers and following: {exc}")
            else:
                summary.followed_by_hand, summary.follow_backs = synced.followed_by_hand, synced.follow_backs
                summary.followed_by_hand_count, summary.follow_backs_count = synced.followed_by_hand_total, synced.follow_backs_total
                if not synced.complete:
                    summary.mark_partial("more new followers/following than one sync reads: the rest are read tomorrow")
        profile = account_profile(run)
        summary.followers, summary.following = profile.followers, profile.following
        if settings.follow_use_mentions:
            self.ledger.add_source(Source("mentions", SourceKind.MENTIONS, "your mentions", run.now))  # no-op once there
        per_follow = price("interaction_create") if self.mode is FollowMode.API and not self.dry else 0.0
        remaining = run.meter.remaining_usd() or 0.0
        affordable = math.floor(remaining * API_FOLLOW_SHARE / per_follow) if per_follow else settings.follow_daily_cap
        carried = self.carried_over()
        budget = follow_budget(followers=profile.followers, following=profile.following + carried,
                               tolerance=settings.ratio_tolerance, daily_cap=settings.follow_daily_cap,
                               already_today=len(self.record.shortlisted) + carried, affordable=affordable)
        wanted = budget.count if self.event.max is None else min(budget.count, self.event.max)
        summary.budget, summary.people_budget, summary.budget_reason = wanted, wanted, budget.reason
        crossed = crossed_bounds(settings)
        if wanted > 0 and crossed:  # stored before `settings set` refused it: reading would find no one
            summary.mark_partial(f"no candidates read: {'; '.join(crossed)} (fix it with flockpilot settings set)")
        elif wanted > 0:
            self.find(wanted)
            picks = self.ledger.queue(PersonQueue.RESERVE, limit=wanted)
            if self.preview:  # shown, not kept: the day's list is the scheduled runs'
                labels = {s.source_id: s.label for s in self.ledger.sources()}
                summary.shortlisted += [suggestion(p, labels.get(p.source_id or "", "")) for p in picks]
            else:
                self.record.shortlisted += [p.user_id for p in picks if p.user_id not in self.record.shortlisted]
                self.record.promoted = False
            if len(picks) < wanted:
                dry = f" ({', '.join(self.set_aside)} set aside as dry: `flockpilot sources list`)" if self.set_aside else ""
                summary.mark_partial(f"found {len(picks)} of the {wanted} people wanted today{dry}")
        elif budget.band_room <= 0:
            summary.warnings.append(f"no follows today: {budget.reason}")
        if self.preview:
            summary.warnings.append("a preview (a dry run of a live account): nothing of it is kept; today's scheduled "
                                    "runs make the day's list, and take the people it read without paying for them again")
            return
        first = not self.stored
        # A console run asked for fewer than the day's list holds: the day is not built yet, and the
        # next scheduled run adds the rest (the people taken so far count against the day's cap).
        if not self.record.built and (self.event.max is None or wanted >= budget.count):
            self.record.built, self.record.built_at = True, run.now.isoformat()
        self.stored = True
        if not first:
            self.records.save_day(self.record, run.now)
        elif not self.records.settle_day(self.record, run.now):  # a concurrent run made today's list first
            self.record = self.records.load_day(FollowDay, run.day) or self.record
            summary.shortlisted.clear()

    def carried_over(self) -> int:
        """api mode: follows queued on an earlier day that its active hours could not hold.
        They are followed today, so they count against today's cap and the band."""
        if self.mode is not FollowMode.API or self.dry:
            return 0
        today = set(self.record.shortlisted)
        return sum(1 for p in self.ledger.queue(PersonQueue.QUEUED, limit=400) if p.user_id not in today)

    def find(self, wanted: int) -> None:
        """Read candidates from the chosen sources until the reserve holds `wanted` good ones."""
        run, summary, settings, ledger = self.run, self.run.summary, self.settings, self.ledger
        in_reserve = len(ledger.queue(PersonQueue.RESERVE, limit=wanted))
        allowed = {SourceKind.ACCOUNT} | ({SourceKind.MY_FOLLOWER} if settings.follow_use_my_followers else set()) | (
            {SourceKind.MENTIONS} if settings.follow_use_mentions else set())
        sources = [s for s in ledger.sources() if s.kind in allowed]
        self.set_aside = [s.label for s in sources if s.dry and not s.exhausted]
        rng = random.Random(f"{self.deps.account.account_id}:{run.day.isoformat()}")
        for source in choose_sources(sources, settings.follow_sources_per_run, rng):
            need = wanted - in_reserve
            if need <= 0:
                break
            summary.sources_used.append(source.label)
            try:
                for _ in range(PAGES_PER_SOURCE):  # pages are sized to the need: a short one is followed by the next
                    found, source = self.read_source(source, need)
                    in_reserve += found
                    need = wanted - in_reserve
                    if source.dry:
                        summary.warnings.append(
                            f"{source.label}: {source.suggested} of the {source.read} people read there passed your follow "
                            "filters, so it is read no more (`flockpilot sources list`); add sources closer to your "
                            "audience, or after changing the filters add it again (`flockpilot sources add`)")
                        break
                    if need <= 0 or source.exhausted or source.kind is SourceKind.MENTIONS:
                        break
            except BudgetExhausted as exc:
                summary.mark_partial(f"the day's follow money is spent: no more candidates read today ({exc})")
                break
            except (CredentialsRevoked, NotPermitted):
                raise
            except XError as exc:  # one source failing (rate limit, X down, gone) does not stop the others
                summary.mark_partial(f"could not read {source.label}: {exc}")
                continue

    def read_source(self, source: Source, need: int) -> tuple[int, Source]:
        """One page of a source's followers (or your mentions) into the reserve: how many
        good new candidates it gave, and the source with its cursor moved on."""
        run, summary, ledger, settings = self.run, self.run.summary, self.ledger, self.settings
        x = run.x
        if source.kind is SourceKind.MENTIONS:
            users, newest = x.mentions(since_id=source.cursor, max_results=min(100, need * 3))
            cursor, exhausted = newest or source.cursor, False
        else:
            size = source.page_size(need)
            remaining = run.meter.remaining_usd()
            if remaining is not None:
                size = min(size, math.floor(remaining / price("user_read") + 1e-9))
            if size < 1:
                raise BudgetExhausted("no money left to read candidates")
            page = x.followers_page(source.source_id, max_results=size, token=source.cursor)
            users, cursor, exhausted = page.items, page.next_token, page.next_token is None
        summary.users_read += len(users)
        known = ledger.known([u.id for u in users])
        rejected: list[tuple[str, str]] = []
        passed: list[Person] = []
        for user in users:
            verdict = screen(user, settings.follow_filters, owner_id=self.deps.account.account_id, known=set(known), now=run.now)
            if verdict.passed:
                passed.append(self.candidate(user, source, score(user, source.rate, settings.keywords)))
            else:
                if user.id not in known:
                    rejected.append((user.id, verdict.reasons[0]))
                key = verdict.keys[0]
                summary.reasons_out[key] = summary.reasons_out.get(key, 0) + 1
        # One write for the page's candidates (not one each): whoever another run added since
        # known() is left out, as a conditional put of their own would leave them.
        found = len(ledger.add_people(passed)) if passed else 0
        summary.screened_out += len(users) - found
        if rejected:
            ledger.mark_seen(rejected, run.now)
        ledger.advance_source(source.source_id, cursor=cursor, exhausted=exhausted, read=len(users), suggested=found)
        return found, replace(source, cursor=cursor, exhausted=exhausted, read=source.read + len(users),
                              suggested=source.suggested + found)

    def candidate(self, user: XUser, source: Source, value: float) -> Person:
        reasons = (f"score {value:.2f}: follow-back {source.rate:.0%} at {source.label}",
                   f"{user.followers} followers, follows {user.following}")
        return Person(user_id=user.id, username=user.username, status=PersonStatus.RESERVE, source_id=source.source_id,
                      score=value, reasons=reasons, day=self.run.day.isoformat(), card=Card.of(user))

    def promote(self) -> None:
        """Move today's picks out of the reserve: to the suggest list, or the api queue (again
        after a crash between recording the picks and moving them)."""
        if self.record.promoted or not self.record.shortlisted:
            return
        run, summary = self.run, self.run.summary
        labels = {s.source_id: s.label for s in self.ledger.sources()}
        people = self.ledger.people_by_id(self.record.shortlisted)
        moves = [person.queued(run.now) if self.mode is FollowMode.API else person.suggested(run.now)
                 for user_id in dict.fromkeys(self.record.shortlisted)
                 if (person := people.get(user_id)) is not None and person.status is PersonStatus.RESERVE]
        moved = self.ledger.update_people([(m, (PersonStatus.RESERVE,)) for m in moves]) if moves else set()
        summary.shortlisted += [suggestion(m, labels.get(m.source_id or "", "")) for m in moves if m.user_id in moved]
        self.record.promoted = True
        self.records.save_day(self.record, run.now)

    # --- api mode ----------------------------------------------------------------------
    def resolve_pending(self) -> None:
        """Follows sent by a run that never learned the outcome: ask X (connection_status)."""
        pending = [p for p in self.ledger.queue(PersonQueue.PENDING, due_by=self.run.now - PENDING_SETTLE, limit=100)
                   if p.status is PersonStatus.FOLLOW_PENDING]
        if not pending:
            return
        run = self.run
        seen = {u.id: u for u in run.x.lookup_users([p.user_id for p in pending])}
        for person in pending:
            user = seen.get(person.user_id)
            if user is None or user.i_follow is None:
                run.summary.mark_partial(f"X did not say whether the follow of @{person.username} went through; asked again next run")
            elif user.i_follow:
                self.record_followed(person)
            else:
                self.ledger.update_person(replace(person, status=PersonStatus.QUEUED, acted_at=None),
                                          expected=(PersonStatus.FOLLOW_PENDING,))

    def record_followed(self, person: Person) -> None:
        done = person.now_followed(self.run.now, by_api=True, grace_days=self.settings.prune_grace_days)
        if self.ledger.update_person(done, expected=(PersonStatus.FOLLOW_PENDING,), counts=(self.run.day, DayCounts(follows=1)),
                                     credit=SourceCredit(person.source_id, followed=1)):
            self.run.summary.followed.append(person.username)
            self.record.followed.append(person.user_id)

    def quota(self, runs: int) -> tuple[int, int]:
        """This run's follows and how many wait in the queue: the queue split over the
        `runs` left in today's active hours (give or take one), never 45 in 15 minutes."""
        run = self.run
        queued = self.ledger.queue_size(PersonQueue.QUEUED, limit=400)
        share = paced_share(queued, runs) + random.Random(f"{self.deps.account.account_id}:{run.now.isoformat()}").randint(0, 1)
        recent = sum(1 for t in self.record.action_times if run.now - datetime.fromisoformat(t) < timedelta(minutes=15))
        quota = min(share, API_FOLLOWS_PER_WINDOW - recent, queued)
        if self.event.max is not None:
            quota = min(quota, self.event.max)
        return max(0, quota), queued

    def follow_paced(self) -> None:
        """Follow the queue spread over today's active hours, never 45 in 15 minutes. Outside
        the active hours nobody is followed (a run before them has nothing to do); what the
        window's last run cannot follow waits for tomorrow's, and that run says so."""
        run, summary, ledger, settings = self.run, self.run.summary, self.ledger, self.settings
        window = window_bounds(run.day, settings.zone, settings.window)
        runs = runs_left(run.now, window)
        if runs == 0:
            if run.now >= window[1] and summary.shortlisted:  # today's picks were queued after the window closed
                summary.mark_partial(f"today's active hours ({settings.window}) had ended: the {len(summary.shortlisted)} "
                                     "people queued today are followed in tomorrow's")
            elif self.event.trigger != "schedule" and summary.shortlisted:  # a console run before them: say when the follows go
                summary.warnings.append(f"api follows go out inside the active hours ({settings.window}), spread over "
                                        f"them from the first run: the {len(summary.shortlisted)} people queued wait until then")
            return
        quota, queued = self.quota(runs)
        if runs == 1 and self.event.max is None and not self.dry and queued > quota:
            summary.mark_partial(f"{queued - quota} follows did not fit in today's active hours ({settings.window}, "
                                 f"at most {API_FOLLOWS_PER_WINDOW} in 15 minutes): they wait for tomorrow's")
        if quota <= 0:
            return
        for person in ledger.queue(PersonQueue.QUEUED, limit=quota):
            if self.dry:
                summary.followed.append(person.username)
                continue
            sent = person.follow_sent(run.now)
            if not ledger.update_person(sent, expected=(PersonStatus.QUEUED,)):
                continue  # another run took them
            self.record.action_times.append(run.now.isoformat())
            self.records.save_day(self.record, run.now)
            try:
                run.x.follow(person.user_id)
            except NotPermitted as exc:
                self.back_to_queue(sent)
                self.switch_to_suggest(exc)
                return
            except OutcomeUnknown as exc:
                summary.mark_partial(f"X did not confirm the follow of @{person.username} ({exc}); the next run asks X first")
                return
            except (RateLimited, NotSent) as exc:
                self.back_to_queue(sent)
                summary.mark_partial(f"follows stopped: {exc}")
                return
            except CredentialsRevoked:
                self.back_to_queue(sent)
                raise
            except NotFound:
                ledger.update_person(sent.now_unfollowed(run.now, by_api=False), expected=(PersonStatus.FOLLOW_PENDING,))
                summary.warnings.append(f"@{person.username} no longer exists on X: dropped")
                continue
            except XError as exc:
                ledger.update_person(sent.suggested(run.now), expected=(PersonStatus.FOLLOW_PENDING,))
                summary.warnings.append(f"X refused to follow @{person.username} ({exc}): left in the digest to follow by hand")
                continue
            self.record_followed(sent)
        self.records.save_day(self.record, run.now)

    def back_to_queue(self, person: Person) -> None:
        """X did not act (refused before acting): the follow waits in the queue again."""
        self.ledger.update_person(replace(person, status=PersonStatus.QUEUED, acted_at=None), expected=(PersonStatus.FOLLOW_PENDING,))
        if self.record.action_times:
            self.record.action_times.pop()
        self.records.save_day(self.record, self.run.now)

    def switch_to_suggest(self, exc: Exception) -> None:
        run = self.run
        self.records.set_override("follow_mode", FollowMode.SUGGEST.value)
        run.summary.warnings.append(
            f"X does not let this app follow ({exc}); the account is switched to suggest mode: "
            "today's list is in the digest with one-tap follow links")
        run.summary.mark_partial("api follows are not permitted for this app: switched to suggest mode")
        for person in self.ledger.queue(PersonQueue.QUEUED, limit=400):
            self.ledger.update_person(person.suggested(run.now), expected=(PersonStatus.QUEUED,))
