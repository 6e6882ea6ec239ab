//! The "Summary" section: what was run (scenario, seed, params, the command that reruns it),
//! what happened (simulated time, events, frames, drops, an early stop), how long it took
//! and how fast it ran (`run.json`), and what the folder holds.

use std::fmt::Write as _;

use super::RunFolder;
use super::html::{count, esc, note, seconds};
use crate::progress::si;

/// A speed ratio: `0.32`, `4.5`, `4.5 k`, as the summary's `× real time` with two
/// significant digits below 10.
fn ratio(x: f64) -> String {
    if x < 1.0 {
        format!("{x:.2}")
    } else if x < 10.0 {
        format!("{x:.1}")
    } else {
        si(x).trim_end().replace(' ', "&nbsp;")
    }
}

/// The section's HTML.
pub fn section(run: &RunFolder) -> String {
    let p = &run.params;
    let s = &run.stats;
    let mut rows: Vec<(&str, String)> = Vec::new();
    rows.push((
        "scenario",
        format!(
            "<b>{}</b> — <code>{}</code>",
            esc(&p.scenario),
            esc(&p.file.display().to_string())
        ),
    ));
    rows.push(("seed", p.seed.to_string()));
    if !p.params.is_empty() {
        let list: Vec<String> = p
            .params
            .iter()
            .map(|(k, v)| {
                let set = p.set.iter().any(|(sk, _)| sk == k);
                format!(
                    "<code>{}={}</code>{}",
                    esc(k),
                    esc(v),
                    if set { " (--set)" } else { "" }
                )
            })
            .collect();
        rows.push(("params", list.join(", ")));
    }
    rows.push(("command", format!("<code>{}</code>", esc(&p.command))));
    rows.push(("tool", esc(&p.tool)));
    let sim_ns = s.get("sim_time_ns").u64_or_zero();
    let events = s.get("events").u64_or_zero();
    rows.push(("simulated", seconds(sim_ns)));
    let why = s.get("interrupted");
    if why.is_object() {
        let reason = why.get("reason").as_str().unwrap_or("?");
        let detail = match reason {
            "signal" => format!("by {}", why.get("signal").as_str().unwrap_or("a signal")),
            "max_events" => format!("by --max-events {}", why.get("max_events").u64_or_zero()),
            "max_wall" => format!(
                "by --max-wall ({} s)",
                why.get("max_wall_ns").u64_or_zero() as f64 / 1e9
            ),
            _ => reason.to_string(),
        };
        rows.push((
            "stopped early",
            format!(
                "<span class=\"bad\">stopped {} at {}</span>; the outputs hold what was simulated",
                esc(&detail),
                seconds(why.get("at_ns").u64_or_zero())
            ),
        ));
    }
    rows.push(("events", count(events)));
    rows.push(("frames on links", count(s.get("frames").u64_or_zero())));
    let drops: Vec<String> = s
        .get("drops")
        .members()
        .iter()
        .filter(|(_, v)| v.u64_or_zero() > 0)
        .map(|(k, v)| format!("{} {}", esc(k), count(v.u64_or_zero())))
        .collect();
    rows.push((
        "drops",
        if drops.is_empty() {
            "none".into()
        } else {
            format!("<span class=\"bad\">{}</span>", drops.join(", "))
        },
    ));
    match &run.timing {
        Some(t) => {
            rows.push((
                "wall time",
                format!(
                    "{:.3} s of simulation (loading and writing not counted)",
                    t.wall_ns as f64 / 1e9
                ),
            ));
            rows.push((
                "speed",
                format!(
                    "{}events/s · {}× real time",
                    si(t.events_per_s).replace(' ', "&nbsp;") + " ",
                    ratio(t.sim_per_wall)
                ),
            ));
        }
        None => rows.push((
            "wall time",
            "<span class=\"note\">not recorded: the folder has no run.json (an older sim \
             wrote it)</span>"
                .into(),
        )),
    }
    if let Some(files) = &p.files {
        let list: Vec<String> = files
            .iter()
            .filter(|f| !f.contains('/'))
            .map(|f| format!("<code>{}</code>", esc(f)))
            .collect();
        rows.push(("files", list.join(" ")));
    }
    let mut h = String::from("<table class=\"kv\">\n");
    for (k, v) in rows {
        let _ = writeln!(h, "<tr><th>{}</th><td>{v}</td></tr>", esc(k));
    }
    h.push_str("</table>\n");
    if let Some(why) = &run.scenario_note {
        h.push_str(&note(&esc(why)));
    }
    h
}
