"""sim/report.html: one self-contained page (inline SVG charts drawn with matplotlib, no
scripts, no remote assets), one column that reads on a phone; and sim/simulation.json.
Every text that came from the run (warnings, findings, labels) is escaped."""

from __future__ import annotations

import calendar
import html
import io
import json
import re
from pathlib import Path
from typing import Any

from devtools.simulate.driver import JOBS, Run
from devtools.simulate.results import BAND_FROM_DAY, audit, summary

ROOT = Path(__file__).resolve().parents[2]
README_CHART = ROOT / "docs" / "what-to-expect.png"
COLOURS = {"post": "#3b6ea5", "follow": "#e08a2c", "prune": "#6a9f58", "digest": "#9b6bb3"}


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({"svg.fonttype": "none", "font.size": 12, "axes.titlesize": 13, "legend.fontsize": 10,
                         "xtick.labelsize": 11, "ytick.labelsize": 11, "axes.spines.top": False, "axes.spines.right": False,
                         "figure.dpi": 100, "svg.hashsalt": "flockpilot-sim"})
    return plt


def _svg(fig: Any) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    _pyplot().close(fig)
    text = buf.getvalue()
    text = text[text.index("<svg"):]
    # Scale with the page: drop the fixed size, keep the viewBox.
    return re.sub(r'<svg([^>]*?) width="[^"]+" height="[^"]+"', r'<svg\1 width="100%" preserveAspectRatio="xMidYMid meet"', text,
                  count=1)


def draw_growth(ax: Any, body: dict[str, Any]) -> None:
    days = body["days"]
    x = [d["day"] for d in days]
    ax.plot(x, [d["followers"] for d in days], color="#3b6ea5", lw=2, label="followers")
    ax.plot(x, [d["following"] for d in days], color="#e08a2c", lw=2, label="following")
    ax.plot(x, [d["band_limit"] for d in days], color="#888", lw=1, ls="--", label="band: followers x 1.1")
    for d in days:
        if not d["in_band"]:
            ax.axvspan(d["day"] - 0.5, d["day"] + 0.5, color="#d9534f", alpha=0.25, lw=0)
    ax.axvline(BAND_FROM_DAY, color="#bbb", lw=1, ls=":")
    ax.set_xlabel("day")
    ax.set_title("Followers, following and the 10% band")
    ax.legend(frameon=False, loc="upper left")
    ax.grid(alpha=0.3)


def draw_cost(ax: Any, body: dict[str, Any]) -> None:
    days = body["days"]
    x = [d["day"] for d in days]
    budget = body["params"]["budget"]
    bottom = [0.0] * len(days)
    for job in JOBS:
        values = [d["cost_by_function"].get(job, 0.0) for d in days]
        ax.bar(x, values, bottom=bottom, width=0.85, color=COLOURS[job], label=job)
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    ax.step(x, [d["allowance_usd"] for d in days], where="mid", color="#d9534f", lw=1.5, label="day's allowance")
    even = [budget / calendar.monthrange(*map(int, d["date"].split("-")[:2]))[1] for d in days]
    ax.plot(x, even, color="#555", lw=1, ls=":", label="even day (budget / days in month)")
    ax.set_xlabel("day")
    ax.set_ylabel("USD")
    ax.set_title("X API cost per day, by function")
    ax.legend(frameon=False, fontsize=9, ncol=2, loc="upper left")
    ax.set_ylim(0, max(max(bottom), max(d["allowance_usd"] for d in days)) * 1.35 or 1)
    ax.grid(axis="y", alpha=0.3)


def single(draw: Any, body: dict[str, Any]) -> Any:
    fig, ax = _pyplot().subplots(figsize=(5.2, 4.0))
    draw(ax, body)
    return fig


def sources_figure(body: dict[str, Any]) -> Any:
    plt = _pyplot()
    rows = [r for r in body["sources"] if r["followed_in_world"]]
    fig, ax = plt.subplots(figsize=(5.2, 1.8 + 0.8 * max(1, len(rows))))
    labels = [f"{r['label']} ({r['followed_in_world']})" for r in rows]
    y = list(range(len(rows)))
    series = (("true_rate", "true (hidden chance of those followed)", "#6a9f58", -0.27),
              ("world_rate", "followed back in the world", "#3b6ea5", 0.0),
              ("estimated_rate", "Flockpilot's estimate", "#e08a2c", 0.27))
    for key, label, colour, offset in series:
        ax.barh([i + offset for i in y], [r[key] or 0.0 for r in rows], height=0.26, color=colour, label=label)
    ax.set_yticks(y, labels)
    ax.invert_yaxis()
    ax.set_xlabel("follow-back rate (people followed in brackets)")
    ax.set_title("Follow-back rate per source")
    ax.legend(frameon=False, fontsize=9, loc="upper center", bbox_to_anchor=(0.4, -0.18), ncol=1)
    ax.grid(axis="x", alpha=0.3)
    return fig


def posts_figure(body: dict[str, Any]) -> Any:
    plt = _pyplot()
    results = body["post_results"]
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(5.2, 6.4))
    kinds = list(results["by_kind"])
    top.bar(kinds, [results["by_kind"][k]["engagement_rate"] * 100 for k in kinds], color="#3b6ea5")
    for i, k in enumerate(kinds):
        top.annotate(f"{results['by_kind'][k]['posts']} posts", (i, results["by_kind"][k]["engagement_rate"] * 100),
                     ha="center", va="bottom", fontsize=10)
    top.set_ylabel("engagement %")
    top.set_title("Post results by kind")
    hours = sorted(results["by_hour"], key=int)
    bottom.bar([int(h) for h in hours], [results["by_hour"][h]["mean_impressions"] for h in hours], color="#e08a2c")
    bottom.set_xlabel("hour posted (account's time)")
    bottom.set_ylabel("mean impressions")
    bottom.set_title("Post results by hour")
    for ax in (top, bottom):
        ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    return fig


def _table(rows: list[list[str]], head: list[str]) -> str:
    cells = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows)
    return f"<div class=scroll><table><thead><tr>{cells}</tr></thead><tbody>{body}</tbody></table></div>"


def _rate(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def render(body: dict[str, Any]) -> str:
    s, p = body["summary"], body["params"]
    e = html.escape
    band = s[f"band_violations_from_day_{BAND_FROM_DAY}"] if p["days"] >= BAND_FROM_DAY else None  # no day 14 in a shorter run
    verdicts = [(f"Band held from day {BAND_FROM_DAY}", band), ("Limit violations", s["limit_violations"]),
                ("Double actions", s["double_actions"]), ("Budget overruns", s["budget_overruns"]),
                ("X spec violations", s["spec_violations"])]
    verdict_rows = "".join(
        f"<tr><td>{e(name)}</td><td>n/a: the run is shorter than {BAND_FROM_DAY} days</td></tr>" if n is None else
        f"<tr><td>{e(name)}</td><td class={'ok' if n == 0 else 'bad'}>{'yes' if n == 0 and name.startswith('Band') else n}"
        f"{'' if n == 0 or not name.startswith('Band') else ' days outside'}</td></tr>" for name, n in verdicts)
    figures = [
        ("Followers, following and the band", single(draw_growth, body),
         "Shaded days end above floor(followers x 1.1); the dotted line marks day 14."),
        ("Daily cost by function", single(draw_cost, body), "Metered by the world's X meter, attributed to the function that called."),
        ("Follow-back rate per source", sources_figure(body),
         "True: the mean hidden chance of the people followed from the source; estimate: Flockpilot's own figure."),
        ("Post results by kind and hour", posts_figure(body), "Final figures of every post the world saw."),
    ]
    charts = "".join(f"<figure><h2>{e(title)}</h2>{_svg(fig)}<figcaption>{e(caption)}</figcaption></figure>"
                     for title, fig, caption in figures)
    sources = _table([[r["label"], _rate(r.get("hidden_rate")), _rate(r["true_rate"]), _rate(r["world_rate"]), _rate(r["estimated_rate"]),
                       r["followed_in_world"]] for r in body["sources"]],
                     ["source", "hidden rate", "true (followed)", "followed back", "Flockpilot's estimate", "followed"])
    findings = ""
    for key, title in (("limit", "Limit violations"), ("double", "Double actions"), ("budget", "Budget overruns"), ("band", "Band violations")):
        group = body["violations"][key]
        listed = _table([[f["day"], f["kind"], f["detail"]] for f in group["listed"]], ["day", "kind", "detail"]) if group["listed"] else ""
        findings += f"<h3>{e(title)}: {group['count']}</h3>{listed}"
    if body["violations"]["spec"]:
        findings += "<h3>X spec violations</h3><ul>" + "".join(f"<li>{e(v)}</li>" for v in body["violations"]["spec"]) + "</ul>"
    warnings = _table([[w["count"], w["job"], w["first_day"], w["last_day"], w["text"]] for w in body["warnings"]],
                      ["times", "job", "first", "last", "warning (one example)"]) if body["warnings"] else "<p>None.</p>"
    months = ", ".join(f"{e(m)}: ${v:.2f}" for m, v in s["cost_by_month_usd"].items())
    return f"""<!doctype html>
<html lang=en><head><meta charset=utf-8><meta name=viewport content="width=device-width, initial-scale=1">
<title>Flockpilot flight simulator: {e(str(p['days']))} days</title>
<style>
body{{font:16px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;padding:12px;color:#222;background:#fafafa}}
main{{max-width:760px;margin:0 auto}} h1{{font-size:1.4em}} h2{{font-size:1.15em;margin:.2em 0}} h3{{font-size:1em}}
figure{{margin:16px 0;padding:8px;background:#fff;border:1px solid #e3e3e3;border-radius:6px}}
figure svg{{width:100%;height:auto;display:block}} figcaption{{font-size:.85em;color:#555}}
table{{border-collapse:collapse;font-size:.85em;width:100%}}
td,th{{border-bottom:1px solid #e3e3e3;padding:4px 6px;text-align:left;vertical-align:top}}
.scroll{{overflow-x:auto}} .ok{{color:#2e7d32;font-weight:600}} .bad{{color:#c62828;font-weight:600}}
.note{{font-size:.9em;background:#fff8e1;border:1px solid #f0e0a0;padding:8px;border-radius:6px}}
</style></head><body><main>
<h1>Flockpilot flight simulator</h1>
<p>{e(str(p['days']))} days from {e(s['first_day'])}: {e(str(p['followers']))} followers and {e(str(p['following']))} following at the
start, <b>{e(p['mode'])}</b> mode, ${p['budget']:g} a month, seed {e(str(p['seed']))}, {e(p['store'])} store.</p>
<p class=note>The world is a model: follow-back rates, reach, churn and the rest are plausible guesses, not X's figures.
The jobs are the real ones, run by their Lambda handlers on a simulated clock.</p>
<table>
<tr><td>Followers</td><td>{s['start_followers']} &rarr; <b>{s['final_followers']}</b> ({s['followers_gained']:+d})</td></tr>
<tr><td>Following</td><td>{s['start_following']} &rarr; <b>{s['final_following']}</b></td></tr>
<tr><td>X API cost</td><td><b>${s['total_cost_usd']:.2f}</b> in all, ${s['cost_per_day_usd']:.2f} a day, about
${s['cost_per_30_days_usd']:.2f} per 30 days; by month: {months}</td></tr>
<tr><td>Posts / follows / unfollows</td><td>{s['posts']} / {s['follows']} / {s['unfollows']}
(follow-back rate {_rate(s['follow_back_rate'])})</td></tr>
{verdict_rows}
</table>
{charts}
<h2>Sources</h2>{sources}
<h2>Findings</h2>{findings}
<h2>Warnings the jobs raised ({s['warnings']})</h2>{warnings}
<p style="font-size:.8em;color:#777">{s['invocations']} handler invocations in {s['wall_seconds']} s; mean per invocation:
{e(', '.join(f"{job} {ms} ms" for job, ms in s['handler_ms_by_function'].items()))}. The jobs' own log: jobs.log beside this file.</p>
</main></body></html>
"""


def readme_text(body: dict[str, Any], chart: Path) -> str:
    """The README's "What to expect" section, from a run (the lead pastes it into README.md)."""
    s, p = body["summary"], body["params"]
    months = "; ".join(f"{m}: ${v:.2f}" for m, v in s["cost_by_month_usd"].items())
    by_job = {job: sum(d["cost_by_function"].get(job, 0.0) for d in body["days"]) for job in JOBS}
    split = ", ".join(f"{job} ${usd:.2f}" for job, usd in sorted(by_job.items(), key=lambda kv: -kv[1]))
    rel = chart.relative_to(ROOT) if chart.is_relative_to(ROOT) else chart
    held = p["days"] - s["band_violations"]
    return f"""## What to expect

A {p['days']}-day flight in the simulator (`make simulate`): an account with {p['followers']} followers that follows
{p['following']}, {p['mode']} mode (you act on {p['act_share']:.0%} of the digest's suggestions the next morning), the
default ${p['budget']:g} monthly budget, {p['posts_per_day']} posts a day.

![Followers, following and the 10% band; X API cost per day by function]({rel})

- **Followers** {s['start_followers']} -> {s['final_followers']} ({s['followers_gained']:+d}): {s['organic_followers']} came from
  your posts, {s['follow_backs']} followed back, {s['churned']} left. Following ended at {s['final_following']}, inside the
  10% band on {held} of {p['days']} days.
- **Cost** ${s['total_cost_usd']:.2f} of X API calls in {p['days']} days: ${s['cost_per_day_usd']:.2f} a day, about
  **${s['cost_per_30_days_usd']:.2f} a month** ({months}). By function: {split}.
- **Safety** {s['limit_violations']} actions beyond X's published limits or our caps, {s['double_actions']} double
  actions, {s['budget_overruns']} days over their allowance.

The world is a model, not X: follow-back rates, reach, churn and engagement are plausible guesses
(`devtools/simulate/README.md` lists them), so read the figures as orders of magnitude and the safety
counts as what the jobs do under that model. `make simulate` writes the full report to `sim/report.html`.
"""


def write_outputs(run: Run, out: Path, *, readme_section: Path | None = None) -> dict[str, Any]:
    """Write OUT/simulation.json and OUT/report.html (and, if asked, the README section
    and its chart); return the JSON body."""
    body = summary(run, audit(run))
    out.mkdir(parents=True, exist_ok=True)
    (out / "simulation.json").write_text(json.dumps(body, indent=2) + "\n", encoding="utf-8")
    (out / "report.html").write_text(render(body), encoding="utf-8")
    if readme_section is not None:
        plt = _pyplot()
        fig, (top, bottom) = plt.subplots(2, 1, figsize=(6.4, 7.2))
        draw_growth(top, body)
        draw_cost(bottom, body)
        fig.tight_layout()
        README_CHART.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(README_CHART, format="png", dpi=80, metadata={"Software": None})
        plt.close(fig)
        readme_section.write_text(readme_text(body, README_CHART), encoding="utf-8")
    return body
