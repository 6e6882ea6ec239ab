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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::RunFolder;
    use crate::report::timing::RunTiming;

    fn folder(stats: &str, timing: Option<RunTiming>) -> RunFolder {
        let params = serde_json::from_str(
            r#"{"format": "netsim-run/1", "tool": "netsim 0.1.0", "file": "long.net",
                "file_abs": null, "scenario": "long", "seed": 3,
                "params": [["rate", "10Mbit"], ["delay", "1ms"]], "set": [["rate", "10Mbit"]],
                "until_ns": 100000000000, "pcap": "all", "pcapng": false, "trace": "frames",
                "stats": "json", "files": ["params.json", "snapshots", "snapshots/r.tc.txt"],
                "command": "sim run long.net --set rate=10Mbit --seed 3 --max-events 100000"}"#,
        )
        .unwrap();
        RunFolder {
            dir: "x".into(),
            params,
            stats: serde_json::from_str(stats).unwrap(),
            timing,
            scenario: None,
            scenario_note: Some("The scenario long.net could not be loaded again".into()),
            trace: None,
            snapshots: Vec::new(),
            has_samples: false,
        }
    }

    #[test]
    fn an_early_stop_and_a_missing_run_json_are_said() {
        let f = folder(
            r#"{"interrupted": {"reason": "max_events", "max_events": 100000, "at_ns": 1113839760},
                "sim_time_ns": 1113839760, "events": 100000, "frames": 44515,
                "drops": {"qdisc": 0, "arp_queue": 19}}"#,
            None,
        );
        let h = section(&f);
        assert!(
            h.contains("stopped by --max-events 100000 at 1.113839 s"),
            "{h}"
        );
        assert!(h.contains("<code>rate=10Mbit</code> (--set), <code>delay=1ms</code>"));
        assert!(h.contains("<span class=\"bad\">arp_queue 19</span>"));
        assert!(h.contains("not recorded"));
        assert!(
            h.contains("<code>params.json</code> <code>snapshots</code></td>"),
            "{h}"
        );
        assert!(h.contains("could not be loaded again"));
    }

    #[test]
    fn wall_time_and_speed_from_run_json() {
        let t = RunTiming::new(
            std::time::Duration::from_millis(2003),
            9_027_584,
            11_032_569_040,
        );
        let h = section(&folder(
            r#"{"sim_time_ns": 11032569040, "events": 9027584, "frames": 1, "drops": {}}"#,
            Some(t),
        ));
        assert!(h.contains("<td>2.003 s of simulation"), "{h}");
        assert!(h.contains("4.51&nbsp;M events/s · 5.5× real time"), "{h}");
        assert!(h.contains("<th>drops</th><td>none</td>"));
        assert_eq!(ratio(0.4396), "0.44");
        assert_eq!(ratio(31_500.0), "31.5&nbsp;k");
    }
}
