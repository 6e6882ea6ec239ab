//! The `replay` app: its capture is read when the scenario loads — relative to the file
//! that names it, each file once however many apps or loop iterations name it — and checked
//! there, so that a missing, unreadable or unsupported file is an error at the path's span,
//! never a failure during the run. The file's SHA-256 goes with the scenario and into the
//! run's recorded inputs.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use sim_stack::apps::replay::{
    Capture, CaptureError, CidrMap, LINKTYPE_LINUX_SLL, ReplayConfig, ReplaySpeed, Rewrite,
    read_capture, sll_to_ethernet,
};
use sim_stack::wire::EthernetAddress;

use super::*;
use crate::{DataInput, FileLoader, SourceMap};

/// The data files apps read, through the scenario's loader.
pub(crate) struct DataFiles<'a> {
    loader: &'a dyn FileLoader,
    sources: &'a SourceMap,
    /// Each file read, by canonical path: its SHA-256 and capture, or why it has none.
    cache: BTreeMap<PathBuf, Result<(String, Capture), String>>,
    inputs: Vec<DataInput>,
}

impl<'a> DataFiles<'a> {
    /// Files read with `loader`, relative to the files of `sources`.
    pub(crate) fn new(loader: &'a dyn FileLoader, sources: &'a SourceMap) -> Self {
        Self {
            loader,
            sources,
            cache: BTreeMap::new(),
            inputs: Vec::new(),
        }
    }

    /// The files read, in the order first read.
    pub(crate) fn into_inputs(self) -> Vec<DataInput> {
        self.inputs
    }

    /// The capture at `rel`, relative to the file of `span`: its path, and its SHA-256 and
    /// frames or why it cannot be replayed.
    fn capture(&mut self, span: Span, rel: &str) -> (PathBuf, Result<(String, Capture), String>) {
        let base = self
            .sources
            .path(span.file)
            .parent()
            .unwrap_or(Path::new(""));
        let path = base.join(rel);
        let canon = self.loader.canonical(&path);
        if let Some(r) = self.cache.get(&canon) {
            return (path, r.clone());
        }
        let r = match self.loader.read(&path) {
            Err(e) => Err(format!("cannot read `{}`: {e}", path.display())),
            Ok(bytes) => {
                let sha256 = format!("{:x}", Sha256::digest(&bytes));
                self.inputs.push(DataInput {
                    path: path.clone(),
                    sha256: sha256.clone(),
                });
                read_capture(&bytes)
                    .map(|c| (sha256, c))
                    .map_err(|e| format!("`{}` cannot be replayed: {e}", path.display()))
            }
        };
        self.cache.insert(canon, r.clone());
        (path, r)
    }
}

impl Lower<'_> {
    /// `app h: replay "FILE" { iface eth0  multiplier 2  srcipmap A/len:B/len … }`.
    pub(super) fn replay_app(&mut self, a: &IrApp, node: u32, ctx: &Ctx) -> Option<AppKind> {
        const KEYS: &[&str] = &[
            "iface",
            "multiplier",
            "mbps",
            "pps",
            "topspeed",
            "loop",
            "limit",
            "srcipmap",
            "dstipmap",
            "pnat",
            "enet_smac",
            "enet_dmac",
            "fixcsum",
        ];
        let file = a.arg.as_ref().expect("checked");
        let mut iface = None;
        let mut speed: Option<(ReplaySpeed, Span)> = None;
        let mut loops = 1u32;
        let mut limit = None;
        let mut rewrite = Rewrite::default();
        let mut ok = true;
        for (k, v) in self.plain_rep(
            &a.props,
            KEYS,
            &["srcipmap", "dstipmap", "pnat"],
            "replay",
            ctx,
        ) {
            match k.name.as_str() {
                "iface" => {
                    let known = &self.meta[node as usize].iface_index;
                    if known.contains_key(&v.text) {
                        iface = Some(v.text.clone());
                    } else {
                        let names: Vec<String> = known.keys().cloned().collect();
                        let d = Diagnostic::error(
                            "unknown-interface",
                            v.span,
                            format!("`{}` has no interface `{}`", a.node.text, v.text),
                        )
                        .label(format!(
                            "expected {}",
                            crate::diag::one_of(
                                &names.iter().map(String::as_str).collect::<Vec<_>>()
                            )
                        ))
                        .suggest(
                            self.diags
                                .suggest(&v.text, names.iter().map(String::as_str)),
                        );
                        self.push(d, ctx);
                        ok = false;
                    }
                }
                "multiplier" | "mbps" | "pps" | "topspeed" => {
                    let s = if k.name == "topspeed" {
                        match self.boolean(v, "`topspeed`", ctx) {
                            Some(true) => {}
                            Some(false) => continue,
                            None => {
                                ok = false;
                                continue;
                            }
                        }
                        ReplaySpeed::Topspeed
                    } else {
                        let Some(m) = self.decimal(v, &k.name, ctx) else {
                            ok = false;
                            continue;
                        };
                        match k.name.as_str() {
                            "multiplier" => ReplaySpeed::Multiplier(m),
                            "mbps" => ReplaySpeed::Mbps(m),
                            _ => ReplaySpeed::Pps(m),
                        }
                    };
                    if let Some((_, first)) = speed {
                        let d = Diagnostic::error(
                            "bad-app",
                            k.span,
                            "give one of `multiplier`, `mbps`, `pps` and `topspeed`",
                        )
                        .label("a second speed")
                        .note_at(first, "the first");
                        self.push(d, ctx);
                        return None;
                    }
                    speed = Some((s, k.span));
                }
                "loop" => match self.int(v, 0, i64::from(u32::MAX), "`loop`", ctx) {
                    Some(n) => loops = n as u32,
                    None => ok = false,
                },
                "limit" => match self.int(v, 1, i64::MAX, "`limit`", ctx) {
                    Some(n) => limit = Some(n as u64),
                    None => ok = false,
                },
                "enet_smac" | "enet_dmac" => {
                    let what = format!("`{}`", k.name);
                    let Some(m) = self.typed(v, ParamType::Word, &what, ctx, |t| {
                        t.parse::<EthernetAddress>().map_err(|_| ValErr {
                            label: Some(format!("{what} takes a MAC such as `02:00:00:00:00:01`")),
                            ..ValErr::from(format!("`{t}` is not a MAC address"))
                        })
                    }) else {
                        ok = false;
                        continue;
                    };
                    if k.name == "enet_smac" {
                        rewrite.enet_smac = Some(m.0);
                    } else {
                        rewrite.enet_dmac = Some(m.0);
                    }
                }
                "fixcsum" => match self.boolean(v, "`fixcsum`", ctx) {
                    Some(b) => rewrite.fixcsum = b,
                    None => ok = false,
                },
                _ => {
                    // srcipmap, dstipmap, pnat: `A/len:B/len`, several separated by commas.
                    let what = format!("`{}`", k.name);
                    let maps = self.typed(v, ParamType::String, &what, ctx, |t| {
                        t.split(',')
                            .map(|m| CidrMap::parse(m.trim()))
                            .collect::<Result<Vec<_>, _>>()
                            .map_err(|msg| ValErr {
                                label: Some(format!(
                                    "{what} takes `A/len:B/len` maps such as `10.0.0.0/24:10.9.0.0/24`"
                                )),
                                ..ValErr::from(msg)
                            })
                    });
                    let Some(maps) = maps else {
                        ok = false;
                        continue;
                    };
                    match k.name.as_str() {
                        "srcipmap" => rewrite.srcipmap.extend(maps),
                        "dstipmap" => rewrite.dstipmap.extend(maps),
                        _ => rewrite.pnat.extend(maps),
                    }
                }
            }
        }
        let (path, read) = self.data.capture(file.span, &file.text);
        let (sha256, mut capture) = match read {
            Ok(r) => r,
            Err(msg) => {
                let d = Diagnostic::error("replay-file", file.span, msg)
                    .label("the capture to replay")
                    .help(
                        "a pcap or pcapng file of Ethernet frames, its path relative to this file",
                    );
                self.push(d, ctx);
                return None;
            }
        };
        if capture.linktype == LINKTYPE_LINUX_SLL {
            let converted = match rewrite.enet_dmac {
                Some(dmac) => sll_to_ethernet(&mut capture.frames, dmac, rewrite.enet_smac),
                None => Err(CaptureError::SllNeedsDmac),
            };
            if let Err(e) = converted {
                let d = Diagnostic::error(
                    "replay-file",
                    file.span,
                    format!("`{}` cannot be replayed: {e}", path.display()),
                )
                .label("a Linux cooked capture (tcpdump -i any)");
                self.push(d, ctx);
                return None;
            }
        }
        if !ok {
            return None;
        }
        let Some(iface) = iface else {
            return self.missing(a, "iface", "\"captures/client.pcap\" { iface eth0 }");
        };
        Some(AppKind::Replay(Box::new(ReplayConfig {
            file: file.text.clone(),
            sha256,
            format: capture.format.to_string(),
            linktype: capture.linktype,
            iface,
            speed: speed.map_or(ReplaySpeed::Multiplier(1_000_000), |(s, _)| s),
            loops,
            limit,
            rewrite,
            frames: capture.frames,
        })))
    }

    /// A positive decimal (`2`, `0.5`, `12.25`) in millionths.
    fn decimal(&mut self, v: &Val, name: &str, ctx: &Ctx) -> Option<u64> {
        let what = format!("`{name}`");
        self.typed(
            v,
            ParamType::Word,
            &what,
            ctx,
            |t| match sim_core::time::scale_decimal(t, 1_000_000) {
                Ok(0) => Err(ValErr {
                    label: Some("must be above 0".into()),
                    ..ValErr::from(format!("a {name} of {t} sends nothing"))
                }),
                Ok(m) => Ok(m),
                Err(_) => Err(ValErr {
                    label: Some(format!(
                        "{what} takes a number such as `2` or `0.5` (at most 6 decimals)"
                    )),
                    ..ValErr::from(format!("`{t}` is not a number"))
                }),
            },
        )
    }
}
