//! The example's own `sim` runs its scenario: both user apps are built from the
//! scenario's properties, driven through the socket calls, and report in stats.json; a
//! scenario that gets their properties wrong is refused by `sim check` with located errors.

use std::path::PathBuf;
use std::process::Command;

fn sim() -> Command {
    Command::new(env!("CARGO_BIN_EXE_sim-rpc"))
}

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("netsim-rpc-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

#[test]
fn the_rpc_scenario_runs_and_reports_its_latencies() {
    let out = scratch("run");
    let scenario = concat!(env!("CARGO_MANIFEST_DIR"), "/rpc.net");
    let o = sim()
        .args(["run", scenario, "--out"])
        .arg(&out)
        .output()
        .expect("runs");
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        stdout.contains("rpc_client 10.0.1.2:7000: 100 requests"),
        "{stdout}"
    );
    let stats: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("stats.json")).expect("stats.json"))
            .expect("JSON");
    let c = &stats["nodes"]["c"]["rpc_client"];
    assert_eq!(c["app"], "rpc_client");
    assert_eq!(c["completed"], 100);
    // Request 200 B then response 4 KiB through a 10 Mbit/s link with 5 ms each way, plus
    // 2 ms of service: at least one RTT (10.2 ms), the service time and the response's
    // serialization (4096 B in 3 segments: > 3.3 ms).
    let p50 = c["latency_p50_ms"].as_f64().expect("a number");
    assert!(p50 > 15.5 && p50 < 17.0, "p50 {p50} ms");
    let hist = c["histogram_us"].as_object().expect("a histogram");
    assert_eq!(hist.values().map(|v| v.as_u64().unwrap()).sum::<u64>(), 100);
    assert_eq!(stats["nodes"]["s"]["rpc_server"]["requests"], 100);
    assert_eq!(stats["nodes"]["s"]["rpc_server"]["bytes_out"], 100 * 4096);
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn wrong_properties_of_a_user_app_are_located_errors() {
    let dir = scratch("check");
    std::fs::create_dir_all(&dir).expect("scratch");
    let file = dir.join("bad.net");
    std::fs::write(
        &file,
        "host a { iface eth0 { ip 10.0.0.1/24 } }\n\
         app a: rpc_client { server 10.0.0.9  reqests 5 }\n\
         app a: rpc_servr { port 7000 }\n",
    )
    .expect("written");
    let o = sim().args(["check"]).arg(&file).output().expect("runs");
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("bad.net:2:"), "{err}");
    assert!(err.contains("`server` takes ADDRESS:PORT"), "{err}");
    assert!(
        err.contains("unknown rpc_client property `reqests`"),
        "{err}"
    );
    assert!(err.contains("requests"), "a did-you-mean: {err}");
    assert!(err.contains("unknown app `rpc_servr`"), "{err}");
    assert!(err.contains("rpc_server"), "a did-you-mean: {err}");
    let _ = std::fs::remove_dir_all(&dir);
}
