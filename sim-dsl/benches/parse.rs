//! Parse + elaborate + check + lower the shipped scenarios (`cargo bench -p sim-dsl`).
//! The target: the 1000-host star in under 50 ms in release.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use sim_dsl::{Options, load_str};

fn bench(c: &mut Criterion) {
    let cases = [
        (
            "star_udp_1000",
            include_str!("../../scenarios/bench/star_udp_1000.net"),
        ),
        (
            "dumbbell_udp",
            include_str!("../../scenarios/bench/dumbbell_udp.net"),
        ),
        (
            "dns_then_http",
            include_str!("../../scenarios/dns_then_http.net"),
        ),
    ];
    let opts = Options::default();
    for (name, text) in cases {
        c.bench_function(&format!("load {name}"), |b| {
            b.iter(|| {
                let l = load_str(name, black_box(text), &opts);
                assert!(l.scenario.is_some());
                l
            });
        });
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
