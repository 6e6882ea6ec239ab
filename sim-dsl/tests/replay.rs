//! The `replay` app in the language: the capture read relative to the file naming it, each
//! file once and recorded as an input with its SHA-256; located errors for a missing,
//! foreign or cut file and for bad options; the scenario with its frames through RON.

use sim_dsl::{Loaded, MemLoader, Options, Scenario, load_with};
use sim_stack::apps::replay::{CidrMap, ReplaySpeed};
use sim_stack::config::AppKind;

/// A pcap (microseconds, big-endian, Ethernet) of `frames` at `times` µs.
fn pcap(linktype: u32, frames: &[(u32, &[u8])]) -> Vec<u8> {
    let mut b = vec![0xa1, 0xb2, 0xc3, 0xd4, 0, 2, 0, 4];
    b.extend_from_slice(&[0; 8]);
    b.extend_from_slice(&65535u32.to_be_bytes());
    b.extend_from_slice(&linktype.to_be_bytes());
    for (us, f) in frames {
        b.extend_from_slice(&1u32.to_be_bytes());
        b.extend_from_slice(&us.to_be_bytes());
        b.extend_from_slice(&(f.len() as u32).to_be_bytes());
        b.extend_from_slice(&(f.len() as u32).to_be_bytes());
        b.extend_from_slice(f);
    }
    b
}

const FRAME: [u8; 60] = [0x5a; 60];

fn net(app: &str) -> String {
    format!(
        "host a {{ iface eth0 {{ ip 10.0.0.2/24 }} }}
host b {{ iface eth0 {{ ip 10.0.0.3/24 }} }}
link a.eth0 -- b.eth0 {{ rate 1Gbit  delay 1ms }}
{app}
"
    )
}

fn load(loader: &MemLoader) -> Loaded {
    load_with(loader, "dir/main.net".as_ref(), &Options::default())
}

fn first_error(l: &Loaded) -> (usize, usize, String) {
    let d = l.errors().next().expect("an error");
    let (line, col) = l.line_col(d).expect("located");
    (line, col, d.message.clone())
}

#[test]
fn the_capture_is_read_relative_to_its_file_once_and_recorded() {
    let cap = pcap(1, &[(0, &FRAME), (250, &FRAME)]);
    let loader = MemLoader::default()
        .with(
            "dir/main.net",
            net("include \"apps/r.net\"\napp b: replay \"caps/c.pcap\" { iface eth0  pps 0.5  loop 3  limit 4 }"),
        )
        .with(
            "dir/apps/r.net",
            "app a: replay \"../caps/c.pcap\" { iface eth0  multiplier 2.5  srcipmap \"10.0.0.0/24:10.9.0.0/24, 10.1.0.0/16:10.8.0.0/16\"  srcipmap 10.2.0.0/16:10.7.0.0/16  pnat 1.2.3.4:5.6.7.8  enet_dmac 02:00:00:00:00:99  fixcsum on } at 1s\n",
        )
        .with("dir/caps/c.pcap", cap.clone());
    let l = load(&loader);
    assert!(!l.has_errors(), "{}", l.render_diagnostics());
    // One input however many apps name it: the path as first resolved, and its hash.
    assert_eq!(l.data_inputs.len(), 1);
    assert_eq!(
        l.data_inputs[0].path.to_str(),
        Some("dir/apps/../caps/c.pcap")
    );
    assert_eq!(l.data_inputs[0].sha256.len(), 64);
    let s = l.scenario.expect("a scenario");
    let r: Vec<_> = s
        .apps
        .iter()
        .map(|a| match &a.kind {
            AppKind::Replay(r) => r.clone(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(r[0].file, "../caps/c.pcap");
    assert_eq!(r[0].speed, ReplaySpeed::Multiplier(2_500_000));
    assert_eq!(r[0].rewrite.srcipmap.len(), 3);
    assert_eq!(
        r[0].rewrite.pnat,
        [CidrMap::parse("1.2.3.4/32:5.6.7.8/32").unwrap()]
    );
    assert_eq!(r[0].rewrite.enet_dmac, Some([2, 0, 0, 0, 0, 0x99]));
    assert!(r[0].rewrite.fixcsum);
    assert_eq!((r[0].loops, r[0].limit), (1, None));
    assert_eq!(r[1].speed, ReplaySpeed::Pps(500_000));
    assert_eq!((r[1].loops, r[1].limit), (3, Some(4)));
    assert_eq!(r[1].frames.len(), 2);
    assert_eq!(r[1].frames[1].offset_ns, 250_000);
    assert_eq!(r[1].frames[1].data, FRAME);
    assert_eq!(r[0].sha256, l.data_inputs[0].sha256);
    // Through RON, the frames as hex.
    let ron = ron::to_string(&s).expect("serializes");
    assert!(ron.contains(&"5a".repeat(60)), "{ron}");
    let back: Scenario = ron::from_str(&ron).expect("reads back");
    assert_eq!(back, s);
}

#[test]
fn a_missing_or_foreign_capture_is_an_error_at_its_path() {
    let app = "app a: replay \"c.pcap\" { iface eth0 }";
    let l = load(&MemLoader::default().with("dir/main.net", net(app)));
    assert_eq!(
        first_error(&l),
        (
            4,
            15,
            "cannot read `dir/c.pcap`: No such file or directory".into()
        )
    );
    assert!(l.data_inputs.is_empty());
    let l = load(
        &MemLoader::default()
            .with("dir/main.net", net(app))
            .with("dir/c.pcap", "hello"),
    );
    let (_, _, m) = first_error(&l);
    assert_eq!(
        m,
        "`dir/c.pcap` cannot be replayed: not a pcap or pcapng file (it starts with 68 65 6c 6c)"
    );
    // Read all the same: a run would record it.
    assert_eq!(l.data_inputs.len(), 1);
    let cut = pcap(1, &[(0, &FRAME)]);
    let l = load(
        &MemLoader::default()
            .with("dir/main.net", net(app))
            .with("dir/c.pcap", cut[..cut.len() - 1].to_vec()),
    );
    assert!(
        first_error(&l)
            .2
            .ends_with("the file is cut short inside frame 1")
    );
    let l = load(
        &MemLoader::default()
            .with("dir/main.net", net(app))
            .with("dir/c.pcap", pcap(105, &[(0, &FRAME)])),
    );
    assert!(
        first_error(&l)
            .2
            .ends_with("its link type is IEEE802_11 (105); replay sends Ethernet frames (EN10MB, or LINUX_SLL made into Ethernet)"),
        "{}",
        l.render_diagnostics()
    );
    // A cooked capture needs a destination MAC.
    let l = load(
        &MemLoader::default()
            .with("dir/main.net", net(app))
            .with("dir/c.pcap", pcap(113, &[(0, &FRAME)])),
    );
    assert!(first_error(&l).2.contains("give `enet_dmac`"));
}

#[test]
fn options_are_checked_where_they_are_written() {
    let cap = pcap(1, &[(0, &FRAME)]);
    let with = |app: &str| {
        load(
            &MemLoader::default()
                .with("dir/main.net", net(app))
                .with("dir/c.pcap", cap.clone()),
        )
    };
    let l = with("app a: replay \"c.pcap\" { iface eth1 }");
    assert_eq!(
        first_error(&l),
        (4, 32, "`a` has no interface `eth1`".into())
    );
    let l = with("app a: replay \"c.pcap\" { iface eth0  dstipmap 10.0.0.0/24 }");
    assert_eq!(
        first_error(&l),
        (4, 47, "`10.0.0.0/24` is not a map `A/len:B/len`".into())
    );
    let l = with("app a: replay \"c.pcap\" { iface eth0  multiplier 0 }");
    assert_eq!(first_error(&l).2, "a multiplier of 0 sends nothing");
    let l = with("app a: replay \"c.pcap\" { iface eth0  mbps 10  topspeed on }");
    assert_eq!(
        first_error(&l).2,
        "give one of `multiplier`, `mbps`, `pps` and `topspeed`"
    );
    let l = with("app a: replay \"c.pcap\" { iface eth0  enet_smac 02:00 }");
    assert_eq!(first_error(&l).2, "`02:00` is not a MAC address");
    let l = with("app a: replay \"c.pcap\" { multiplier 2 }");
    assert_eq!(first_error(&l).2, "`replay` needs `iface`");
    let l = with("app a: replay { iface eth0 }");
    assert_eq!(first_error(&l).2, "`replay` needs a capture file");
}
