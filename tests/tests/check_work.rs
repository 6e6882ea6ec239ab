//! `sim check`'s work stays linear in the size of the expanded scenario when a mistake sits
//! inside a loop: the mistake is reported once, with the number of iterations that repeat it,
//! and its did-you-mean is computed once, not once per iteration over every name of the
//! scenario. The work is read off a counter (`Loaded::names_compared`), not a clock.

use sim_dsl::{Loaded, Options, load_str};

/// A star of `hosts` hosts around router `r`, as `scenarios/bench/star_udp_1000.net`, with
/// `link_to` and `app_on` as the far end of each link and the node of each app.
fn star(link_to: &str, app_on: &str, extra: &str) -> String {
    format!(
        "param hosts = 10
param rate = 1Gbit
router r {{
    for i in 0..$hosts {{ iface eth{{i}} {{ ip {{10.0.0.0 + 4 * i + 2}}/30 }} }}
}}
for i in 0..$hosts {{
    host H{{i}} {{ iface eth0 {{ ip {{10.0.0.0 + 4 * i + 1}}/30 }} }}
    link H{{i}}.eth0 -- {link_to} {{ rate $rate  delay 100us }}
    app {app_on}: udp_sink {{ port 9 }}
    {extra}
}}
"
    )
}

fn check(src: &str, hosts: u32) -> Loaded {
    let opts = Options {
        overrides: vec![("hosts".into(), hosts.to_string())],
    };
    load_str("star.net", src, &opts)
}

/// The one error of `l`, rendered.
fn only_error(l: &Loaded) -> String {
    let errors: Vec<String> = l.errors().map(|d| d.render(&l.sources)).collect();
    assert_eq!(errors.len(), 1, "{}", errors.join("\n"));
    errors[0].clone()
}

#[test]
fn a_clean_star_needs_no_suggestion() {
    let l = check(&star("r.eth{i}", "H{i}", ""), 4000);
    assert!(!l.has_errors(), "{}", l.render_diagnostics());
    assert_eq!(l.names_compared, 0);
}

/// Each typo, in every one of 4000 iterations: one report, noting the 3999 repeats, and a
/// did-you-mean that looked at each name of the scenario at most once in all (4000
/// interfaces of `r`, 4001 nodes): linear, where one suggestion per iteration compared
/// 4000 × 4000 names.
#[test]
fn a_typo_in_a_loop_is_one_report_and_one_suggestion() {
    let n = 4000;
    let cases = [
        (star("r.ethx{i}", "H{i}", ""), "unknown interface `r.ethx0`"),
        (star("rr.eth{i}", "H{i}", ""), "unknown node `rr`"),
        (star("r.eth{i}", "Hx{i}", ""), "unknown node `Hx0`"),
        (
            star(
                "r.eth{i}",
                "H{i}",
                "app H{i}: ping 10.0.0.2 { size $sizee }",
            ),
            "unknown param `$sizee`",
        ),
    ];
    for (src, message) in cases {
        let l = check(&src, n);
        let shown = only_error(&l);
        assert!(shown.contains(message), "{shown}");
        assert!(
            shown.contains("in loop iteration i = 0"),
            "the first iteration is shown: {shown}"
        );
        assert!(
            shown.contains(&format!(
                "the same problem occurs {} more times here",
                n - 1
            )),
            "{shown}"
        );
        assert!(
            l.names_compared <= u64::from(n) + 10,
            "{message}: the did-you-mean compared {} names for a scenario of about {n}",
            l.names_compared
        );
    }
}

/// Ten times the hosts, ten times the work: the work per host does not grow with the
/// scenario.
#[test]
fn the_work_grows_linearly() {
    let src = star("r.eth{i}", "Hx{i}", "");
    let small = check(&src, 1000).names_compared;
    let large = check(&src, 10_000).names_compared;
    assert!(small > 0);
    assert!(
        large <= 10 * small + 10,
        "1000 hosts: {small} names compared; 10 000 hosts: {large}"
    );
}
