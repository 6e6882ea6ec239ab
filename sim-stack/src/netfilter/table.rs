//! The tables (`raw`, `mangle`, `nat`, `filter`), their chains, and `ipt_do_table`: walking
//! a hook's chain with jumps into user chains, `RETURN`, `-g`, and the policy at the end.

use serde::{Deserialize, Serialize};
use sim_core::SimRng;

use super::Hook;
use super::rule::{PacketInfo, Rule};
use super::target::{ConnmarkMode, LogTarget, NatTo, RejectWith, Target};
use super::xt_match::MatchResult;

/// A table, by `-t` name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum TableId {
    /// `raw`: before connection tracking (`NOTRACK`).
    Raw,
    /// `mangle`: marks and header changes, at every hook.
    Mangle,
    /// `nat`: consulted for the first packet of each connection only.
    Nat,
    /// `filter`: the default.
    Filter,
}

impl TableId {
    /// In `-t` order of names, with the hooks each has built-in chains for (in the order
    /// iptables lists the chains).
    pub const ALL: [(Self, &'static str, &'static [Hook]); 4] = [
        (Self::Raw, "raw", &[Hook::PreRouting, Hook::LocalOut]),
        (
            Self::Mangle,
            "mangle",
            &[
                Hook::PreRouting,
                Hook::LocalIn,
                Hook::Forward,
                Hook::LocalOut,
                Hook::PostRouting,
            ],
        ),
        (
            Self::Nat,
            "nat",
            &[
                Hook::PreRouting,
                Hook::LocalIn,
                Hook::LocalOut,
                Hook::PostRouting,
            ],
        ),
        (
            Self::Filter,
            "filter",
            &[Hook::LocalIn, Hook::Forward, Hook::LocalOut],
        ),
    ];

    /// The `-t` name.
    pub fn name(self) -> &'static str {
        Self::ALL[self as usize].1
    }

    /// The hooks it has built-in chains for.
    pub fn hooks(self) -> &'static [Hook] {
        Self::ALL[self as usize].2
    }

    /// The table `-t NAME` names.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.iter().find(|(_, n, _)| *n == name).map(|t| t.0)
    }
}

/// A built-in chain's policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Policy {
    /// `ACCEPT`.
    Accept,
    /// `DROP`.
    Drop,
}

/// A chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Chain {
    /// `INPUT`, … or a user chain's name.
    pub name: String,
    /// The built-in chain's hook (`None`: a user chain).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hook: Option<Hook>,
    /// The policy (built-in chains only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<Policy>,
    /// The rules, in order.
    #[serde(default)]
    pub rules: Vec<Rule>,
    /// Packets that met the policy.
    #[serde(skip)]
    pub policy_packets: u64,
    /// Their bytes.
    #[serde(skip)]
    pub policy_bytes: u64,
}

/// A table: its built-in chains (in hook order) then the user chains (in creation order).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Table {
    /// Which table.
    pub id: TableId,
    /// The chains.
    pub chains: Vec<Chain>,
    /// Per rule of each chain, the index of the chain its jump or goto names (resolved by
    /// [`Table::link`]).
    #[serde(skip)]
    jumps: Vec<Vec<usize>>,
}

/// Why a rule set cannot be loaded (what the kernel or iptables refuses).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TableError {
    /// A jump to a chain that does not exist.
    #[error("chain `{0}` does not exist (in table `{1}`)")]
    NoChain(String, &'static str),
    /// Chains jump into each other in a loop.
    #[error("the chains of table `{0}` jump in a loop through `{1}`")]
    Loop(&'static str, String),
    /// A target used from a hook it cannot run at.
    #[error(
        "{target} is used from chain {chain} of table `{table}`, reached from {hook}; it is only usable from {allowed}"
    )]
    BadHook {
        /// The target.
        target: String,
        /// The chain it is in.
        chain: String,
        /// The table.
        table: &'static str,
        /// The hook that reaches it.
        hook: &'static str,
        /// Where it may be used.
        allowed: String,
    },
    /// A target of one table used in another.
    #[error("{target} is only valid in the `{want}` table, not in `{table}`")]
    BadTable {
        /// The target.
        target: String,
        /// Its table.
        want: &'static str,
        /// Where it was used.
        table: &'static str,
    },
}

impl Table {
    /// The table with its built-in chains, empty, policies ACCEPT.
    pub fn new(id: TableId) -> Self {
        Self {
            id,
            chains: id
                .hooks()
                .iter()
                .map(|&h| Chain {
                    name: h.chain_name().to_string(),
                    hook: Some(h),
                    policy: Some(Policy::Accept),
                    rules: Vec::new(),
                    policy_packets: 0,
                    policy_bytes: 0,
                })
                .collect(),
            jumps: Vec::new(),
        }
    }

    /// The chain called `name`.
    pub fn chain(&self, name: &str) -> Option<usize> {
        self.chains.iter().position(|c| c.name == name)
    }

    /// The built-in chain of `hook`, if the table has one.
    pub fn hook_chain(&self, hook: Hook) -> Option<usize> {
        self.chains.iter().position(|c| c.hook == Some(hook))
    }

    /// Whether the table has no rules and every policy is ACCEPT (it changes nothing).
    pub fn is_trivial(&self) -> bool {
        self.chains
            .iter()
            .all(|c| c.rules.is_empty() && c.policy != Some(Policy::Drop))
    }

    /// Resolves jumps and checks what the kernel checks when a table is loaded
    /// (`translate_table`/`mark_source_chains`, `xt_check_target`): jumps name existing
    /// chains, no loop, every target usable from each hook that reaches it and in this
    /// table.
    pub fn link(&mut self) -> Result<(), TableError> {
        let tname = self.id.name();
        let mut jumps = Vec::with_capacity(self.chains.len());
        for c in &self.chains {
            let mut j = Vec::with_capacity(c.rules.len());
            for r in &c.rules {
                match &r.target {
                    Target::Jump(to) | Target::Goto(to) => {
                        let k = self
                            .chain(to)
                            .filter(|&k| self.chains[k].hook.is_none())
                            .ok_or_else(|| TableError::NoChain(to.clone(), tname))?;
                        j.push(k);
                    }
                    t => {
                        if let Some(want) = t.table()
                            && want != self.id
                        {
                            return Err(TableError::BadTable {
                                target: t.name().to_string(),
                                want: want.name(),
                                table: tname,
                            });
                        }
                        j.push(usize::MAX);
                    }
                }
            }
            jumps.push(j);
        }
        self.jumps = jumps;
        // From each hook's chain, every chain it reaches: no loop, targets allowed there.
        for start in 0..self.chains.len() {
            let Some(hook) = self.chains[start].hook else {
                continue;
            };
            let mut on_path = vec![false; self.chains.len()];
            self.walk(start, hook, &mut on_path)?;
        }
        Ok(())
    }

    fn walk(&self, c: usize, hook: Hook, on_path: &mut [bool]) -> Result<(), TableError> {
        if on_path[c] {
            return Err(TableError::Loop(
                self.id.name(),
                self.chains[c].name.clone(),
            ));
        }
        on_path[c] = true;
        for (i, r) in self.chains[c].rules.iter().enumerate() {
            if let Some(allowed) = r.target.hooks()
                && !allowed.contains(&hook)
            {
                return Err(TableError::BadHook {
                    target: r.target.name().to_string(),
                    chain: self.chains[c].name.clone(),
                    table: self.id.name(),
                    hook: hook.chain_name(),
                    allowed: allowed
                        .iter()
                        .map(|h| h.chain_name())
                        .collect::<Vec<_>>()
                        .join("/"),
                });
            }
            let to = self.jumps[c][i];
            if to != usize::MAX {
                self.walk(to, hook, on_path)?;
            }
        }
        on_path[c] = false;
        Ok(())
    }

    /// `ipt_do_table`: runs the chain of `hook` over the packet. Returns the verdict, with
    /// MARK and CONNMARK applied to `p.mark`/`p.ct_mark` on the way and every LOG target
    /// passed to `log`. The table must have been [`link`](Self::link)ed.
    pub fn run(
        &mut self,
        hook: Hook,
        p: &mut PacketInfo<'_>,
        rng: &mut SimRng,
        log: &mut dyn FnMut(&LogTarget, &PacketInfo<'_>),
    ) -> TableVerdict {
        let Some(start) = self.hook_chain(hook) else {
            return TableVerdict::Accept;
        };
        let len = u64::from(p.len);
        // Return addresses: (chain, next rule).
        let mut stack: Vec<(usize, usize)> = Vec::new();
        let (mut c, mut i) = (start, 0usize);
        loop {
            let Some(rule) = self.chains[c].rules.get_mut(i) else {
                // End of a chain: a user chain returns, a built-in one applies its policy.
                if let Some((rc, ri)) = stack.pop() {
                    (c, i) = (rc, ri);
                    continue;
                }
                let ch = &mut self.chains[start];
                ch.policy_packets += 1;
                ch.policy_bytes += len;
                return match ch.policy {
                    Some(Policy::Drop) => TableVerdict::Drop,
                    _ => TableVerdict::Accept,
                };
            };
            if !rule.ip.matches(p) {
                i += 1;
                continue;
            }
            let mut hit = true;
            for m in &mut rule.matches {
                match m.matches(p, rng) {
                    MatchResult::Yes => {}
                    MatchResult::No => {
                        hit = false;
                        break;
                    }
                    MatchResult::HotDrop => return TableVerdict::Drop,
                }
            }
            if !hit {
                i += 1;
                continue;
            }
            rule.packets += 1;
            rule.bytes += len;
            match &rule.target {
                Target::Continue => i += 1,
                Target::Accept => return TableVerdict::Accept,
                Target::Drop => return TableVerdict::Drop,
                Target::Return => {
                    if let Some((rc, ri)) = stack.pop() {
                        (c, i) = (rc, ri);
                    } else {
                        // RETURN from a built-in chain: its policy.
                        i = usize::MAX;
                    }
                }
                Target::Jump(_) => {
                    stack.push((c, i + 1));
                    (c, i) = (self.jumps[c][i], 0);
                }
                Target::Goto(_) => (c, i) = (self.jumps[c][i], 0),
                Target::Reject(w) => return TableVerdict::Reject(*w),
                Target::Log(l) => {
                    log(l, p);
                    i += 1;
                }
                Target::Mark { value, mask } => {
                    p.mark = (p.mark & !mask) ^ value;
                    i += 1;
                }
                Target::Connmark(mode) => {
                    match *mode {
                        ConnmarkMode::Set { value, mask } => {
                            p.ct_mark = (p.ct_mark & !mask) ^ value;
                        }
                        ConnmarkMode::Save { nfmask, ctmask } => {
                            p.ct_mark = (p.ct_mark & !ctmask) ^ (p.mark & nfmask);
                        }
                        ConnmarkMode::Restore { nfmask, ctmask } => {
                            p.mark = (p.mark & !nfmask) ^ (p.ct_mark & ctmask);
                        }
                    }
                    i += 1;
                }
                Target::Snat(to) => return TableVerdict::Nat(NatKind::Snat, *to),
                Target::Dnat(to) => return TableVerdict::Nat(NatKind::Dnat, *to),
                Target::Masquerade(to) => return TableVerdict::Nat(NatKind::Masquerade, *to),
                Target::Redirect(to) => return TableVerdict::Nat(NatKind::Redirect, *to),
                Target::Tcpmss(t) => {
                    p.tcpmss = Some(*t);
                    i += 1;
                }
                Target::Notrack { .. } => {
                    p.ct_state = super::xt_match::state::UNTRACKED;
                    i += 1;
                }
            }
        }
    }
}

/// The NAT targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NatKind {
    /// `SNAT`.
    Snat,
    /// `DNAT`.
    Dnat,
    /// `MASQUERADE`.
    Masquerade,
    /// `REDIRECT`.
    Redirect,
}

/// What a table decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableVerdict {
    /// `NF_ACCEPT` (on to the next table at this hook).
    Accept,
    /// `NF_DROP`.
    Drop,
    /// `REJECT`: send the reply, then drop.
    Reject(RejectWith),
    /// A NAT target chose a mapping (nat table).
    Nat(NatKind, NatTo),
}

/// The four tables of a node (`iptables-save` holds this).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ruleset {
    /// `raw`, `mangle`, `nat`, `filter`, in that order.
    pub tables: Vec<Table>,
}

impl Default for Ruleset {
    fn default() -> Self {
        Self {
            tables: TableId::ALL.iter().map(|t| Table::new(t.0)).collect(),
        }
    }
}

impl Ruleset {
    /// Table `id`.
    pub fn table(&self, id: TableId) -> &Table {
        &self.tables[id as usize]
    }

    /// Table `id`, writable.
    pub fn table_mut(&mut self, id: TableId) -> &mut Table {
        &mut self.tables[id as usize]
    }

    /// Whether no table has a rule or a DROP policy.
    pub fn is_empty(&self) -> bool {
        self.tables.iter().all(Table::is_trivial)
    }

    /// Whether any rule needs connection tracking (the nat table in use, a state match, a
    /// CONNMARK, NOTRACK): as loading `nf_conntrack` into the netns does, it then tracks
    /// every packet.
    pub fn needs_conntrack(&self) -> bool {
        !self.table(TableId::Nat).is_trivial()
            || self.tables.iter().any(|t| {
                t.chains.iter().any(|c| {
                    c.rules.iter().any(|r| {
                        r.target.needs_conntrack() || r.matches.iter().any(|m| m.needs_conntrack())
                    })
                })
            })
    }

    /// [`Table::link`] for every table.
    pub fn link(&mut self) -> Result<(), TableError> {
        self.tables.iter_mut().try_for_each(Table::link)
    }
}
