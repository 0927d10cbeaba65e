//! The status worker's own properties (`worker.<name>.read_only`, `user`, …) and the
//! good/degraded/bad rating of lb members.

use crate::model::{Activation, MemberState, MemberView};

/// Configuration of one status worker, with mod_jk's defaults.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusConfig {
    /// `read_only` (default false).
    pub read_only: bool,
    /// `user`: allowed REMOTE_USER names; empty = everybody.
    pub users: Vec<String>,
    /// `user_case_insensitive` (default false).
    pub user_case_insensitive: bool,
    /// `good` rating entries (default `a.o,a.n,a.b,a.r`).
    pub good: Vec<String>,
    /// `bad` rating entries (default `s,e`).
    pub bad: Vec<String>,
    /// `css`: stylesheet URL for the HTML page.
    pub css: Option<String>,
    /// `prefix` of `mime=prop` keys (default `worker`).
    pub prefix: String,
    /// `ns`: XML element prefix (default `jk:`; `-` in the properties = none, stored as "").
    pub ns: String,
    /// `xmlns`: namespace declaration (default `xmlns:jk="http://tomcat.apache.org"`;
    /// `-` = none, stored as "").
    pub xmlns: String,
    /// `doctype`: line after the XML declaration.
    pub doctype: Option<String>,
    /// The configuration generation's write token (mod_jk-rs): the HTML page's forms carry
    /// it, `mime=json` shows it to whoever may read the page. Empty: none (no token matches).
    pub write_token: String,
    /// `write_requires_token` (mod_jk-rs, default false): every change must be a POST
    /// carrying [`StatusConfig::write_token`].
    pub write_requires_token: bool,
}

impl Default for StatusConfig {
    fn default() -> Self {
        StatusConfig {
            read_only: false,
            users: Vec::new(),
            user_case_insensitive: false,
            good: ["a.o", "a.n", "a.b", "a.r"].map(String::from).to_vec(),
            bad: ["s", "e"].map(String::from).to_vec(),
            css: None,
            prefix: "worker".into(),
            ns: "jk:".into(),
            xmlns: "xmlns:jk=\"http://tomcat.apache.org\"".into(),
            doctype: None,
            write_token: String::new(),
            write_requires_token: false,
        }
    }
}

/// mod_jk's boolean words: `Some(false)` for `off`, `0`, `f…`, `n…`; `Some(true)` for `on`,
/// `1`, `t…`, `y…` (case-insensitive); `None` otherwise.
pub fn parse_bool(v: &str) -> Option<bool> {
    let l = v.trim().to_ascii_lowercase();
    if l == "off" || l == "0" || l.starts_with('f') || l.starts_with('n') {
        Some(false)
    } else if l == "on" || l == "1" || l.starts_with('t') || l.starts_with('y') {
        Some(true)
    } else {
        None
    }
}

fn split_list(v: &str) -> impl Iterator<Item = &str> {
    v.split([' ', '\t', ',']).filter(|s| !s.is_empty())
}

impl StatusConfig {
    /// Applies one status worker property (`key` = the attribute after `worker.<name>.`).
    /// Returns false for keys this crate does not handle (e.g. `type`, `mount`).
    /// `user`, `good` and `bad` are lists (space/tab/comma separated); `user` accumulates
    /// (repeatable), `good`/`bad` replace the defaults.
    pub fn set(&mut self, key: &str, value: &str) -> bool {
        match key {
            "read_only" => self.read_only = parse_bool(value).unwrap_or(false),
            "user_case_insensitive" => {
                self.user_case_insensitive = parse_bool(value).unwrap_or(false)
            }
            "user" => self.users.extend(split_list(value).map(String::from)),
            "good" => self.good = split_list(value).map(String::from).collect(),
            "bad" => self.bad = split_list(value).map(String::from).collect(),
            "css" => self.css = Some(value.to_string()),
            "prefix" => self.prefix = value.to_string(),
            "ns" => {
                self.ns = if value == "-" {
                    String::new()
                } else {
                    value.to_string()
                }
            }
            "xmlns" => {
                self.xmlns = if value == "-" {
                    String::new()
                } else {
                    value.to_string()
                }
            }
            "doctype" => self.doctype = Some(value.to_string()),
            "write_requires_token" => {
                self.write_requires_token = parse_bool(value).unwrap_or(false)
            }
            _ => return false,
        }
        true
    }

    /// Whether `remote_user` may use the status worker ("Access denied." otherwise).
    pub fn user_allowed(&self, remote_user: Option<&str>) -> bool {
        if self.users.is_empty() {
            return true;
        }
        let Some(u) = remote_user else {
            return false;
        };
        self.users.iter().any(|a| {
            if self.user_case_insensitive {
                a.eq_ignore_ascii_case(u)
            } else {
                a == u
            }
        })
    }

    /// The good mask (see [`Rating`]).
    pub fn good_mask(&self) -> u32 {
        rating_mask(&self.good)
    }

    /// The bad mask.
    pub fn bad_mask(&self) -> u32 {
        rating_mask(&self.bad)
    }

    /// mod_jk logs a warning when good and bad overlap; the glue can ask here.
    pub fn good_bad_overlap(&self) -> bool {
        self.good_mask() & self.bad_mask() != 0
    }

    /// The rating of one lb member.
    pub fn rate(&self, m: &MemberView) -> Rating {
        let bit = member_bit(m.activation, m.state);
        if bit & self.bad_mask() != 0 {
            Rating::Bad
        } else if bit & self.good_mask() != 0 {
            Rating::Good
        } else {
            Rating::Degraded
        }
    }

    /// (good, degraded, bad) over `members`.
    pub fn rate_all(&self, members: &[MemberView]) -> (usize, usize, usize) {
        let mut r = (0, 0, 0);
        for m in members {
            match self.rate(m) {
                Rating::Good => r.0 += 1,
                Rating::Degraded => r.1 += 1,
                Rating::Bad => r.2 += 1,
            }
        }
        r
    }
}

/// Result of rating one member.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rating {
    /// Counted in `good`.
    Good,
    /// Counted in `degraded`.
    Degraded,
    /// Counted in `bad`.
    Bad,
}

// The rating grid: 3 activations (a, d, s) x 5 state classes (o, n/i, b, r, e).
const STATE_CLASSES: usize = 5;

fn act_row(c: char) -> Option<usize> {
    match c {
        'a' => Some(0),
        'd' => Some(1),
        's' => Some(2),
        _ => None,
    }
}

fn state_col(c: char) -> Option<usize> {
    match c {
        'o' => Some(0),
        'i' | 'n' => Some(1),
        'b' => Some(2),
        'r' => Some(3),
        'e' => Some(4),
        _ => None,
    }
}

fn cell(row: usize, col: usize) -> u32 {
    1 << (row * STATE_CLASSES + col)
}

fn row_mask(row: usize) -> u32 {
    (0..STATE_CLASSES).fold(0, |m, c| m | cell(row, c))
}

fn col_mask(col: usize) -> u32 {
    (0..3).fold(0, |m, r| m | cell(r, col))
}

fn letter_mask(c: char) -> u32 {
    act_row(c)
        .map(row_mask)
        .or_else(|| state_col(c).map(col_mask))
        .unwrap_or(0)
}

/// The mask of a rating list: an entry is one letter (a whole activation row or state
/// column) or `x.y` (their intersection). Unknown letters contribute nothing.
pub fn rating_mask(entries: &[String]) -> u32 {
    let mut mask = 0;
    for e in entries {
        let e = e.to_ascii_lowercase();
        let mut parts = e.split('.');
        let first = parts.next().and_then(|p| p.chars().next());
        let second = parts.next().and_then(|p| p.chars().next());
        mask |= match (first, second) {
            (Some(a), None) => letter_mask(a),
            (Some(a), Some(b)) => letter_mask(a) & letter_mask(b),
            _ => 0,
        };
    }
    mask
}

fn member_bit(a: Activation, s: MemberState) -> u32 {
    let row = usize::from(a.code());
    let col = match s {
        MemberState::Ok => 0,
        MemberState::Idle => 1,
        MemberState::Busy => 2,
        MemberState::Recover | MemberState::Force | MemberState::Probe => 3,
        MemberState::Error => 4,
    };
    cell(row, col)
}
