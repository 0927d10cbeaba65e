//! `JkOptions`: option words, their bits (mod_jk's `JK_OPT_*` values), the mutually exclusive
//! groups and the main-server → vhost inheritance rule.

use crate::words::getword_conf;
use std::fmt;
use std::ops::{BitAnd, BitOr, BitOrAssign, Not};

/// The warning mod_jk writes to the httpd error log for any `CollapseSlashes*` word.
pub const DEPRECATED_COLLAPSE_WARNING: &str = "Deprecated CollapseSlashes setting ignored";

/// A set of `JkOptions` bits, with mod_jk's numeric values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct OptionBits(pub u32);

impl OptionBits {
    /// No option.
    pub const NONE: OptionBits = OptionBits(0);
    /// `ForwardURICompat`: forward the decoded `r->uri` as is.
    pub const FORWARD_URI_COMPAT: OptionBits = OptionBits(0x0001);
    /// `ForwardURICompatUnparsed`: forward `r->unparsed_uri` up to the `?`.
    pub const FORWARD_URI_COMPAT_UNPARSED: OptionBits = OptionBits(0x0002);
    /// `ForwardURIEscaped`: forward `ap_escape_uri(r->uri)`. Note 0x3 = Compat | CompatUnparsed:
    /// the URI group is a 2-bit-plus-one code, not independent flags.
    pub const FORWARD_URI_ESCAPED: OptionBits = OptionBits(0x0003);
    /// `ForwardURIProxy` (default): re-encode the decoded `r->uri`.
    pub const FORWARD_URI_PROXY: OptionBits = OptionBits(0x0004);
    /// The URI group.
    pub const URI_MASK: OptionBits = OptionBits(0x0007);
    /// `ForwardDirectories`.
    pub const FORWARD_DIRECTORIES: OptionBits = OptionBits(0x0008);
    /// `ForwardLocalAddress` (address group).
    pub const FORWARD_LOCAL_ADDRESS: OptionBits = OptionBits(0x0010);
    /// `FlushPackets`.
    pub const FLUSH_PACKETS: OptionBits = OptionBits(0x0020);
    /// `FlushHeader`.
    pub const FLUSH_HEADER: OptionBits = OptionBits(0x0040);
    /// `DisableReuse`.
    pub const DISABLE_REUSE: OptionBits = OptionBits(0x0080);
    /// `ForwardSSLCertChain`.
    pub const FORWARD_SSL_CERT_CHAIN: OptionBits = OptionBits(0x0100);
    /// `ForwardKeySize` (default on).
    pub const FORWARD_KEY_SIZE: OptionBits = OptionBits(0x0200);
    /// `RejectUnsafeURI`.
    pub const REJECT_UNSAFE_URI: OptionBits = OptionBits(0x0400);
    /// `ForwardPhysicalAddress` (address group).
    pub const FORWARD_PHYSICAL_ADDRESS: OptionBits = OptionBits(0x0800);
    /// The address group.
    pub const ADDRESS_MASK: OptionBits = OptionBits(0x0810);
    /// `CollapseSlashesAll` (deprecated, ignored).
    pub const COLLAPSE_SLASHES_ALL: OptionBits = OptionBits(0x1000);
    /// `CollapseSlashesNone` (deprecated, ignored).
    pub const COLLAPSE_SLASHES_NONE: OptionBits = OptionBits(0x2000);
    /// `CollapseSlashesUnmount` (deprecated, ignored).
    pub const COLLAPSE_SLASHES_UNMOUNT: OptionBits = OptionBits(0x4000);
    /// The collapse group.
    pub const COLLAPSE_MASK: OptionBits = OptionBits(0x7000);
    /// What a server that never says `JkOptions` gets.
    pub const DEFAULT: OptionBits = OptionBits(0x0004 | 0x0200);

    /// Whether every bit of `other` is set.
    pub fn contains(self, other: OptionBits) -> bool {
        self.0 & other.0 == other.0
    }

    /// Whether any bit of `other` is set.
    pub fn intersects(self, other: OptionBits) -> bool {
        self.0 & other.0 != 0
    }

    /// Which URI is forwarded. An empty URI group means the default, `ForwardURIProxy`.
    pub fn forward_uri_mode(self) -> ForwardUri {
        match (self & OptionBits::URI_MASK).0 {
            0x1 => ForwardUri::Compat,
            0x2 => ForwardUri::CompatUnparsed,
            0x3 => ForwardUri::Escaped,
            // 0x4, and 0 (no choice). Other combinations cannot arise: every URI word replaces
            // the whole group, in one server and in the merge.
            _ => ForwardUri::Proxy,
        }
    }

    /// Which client address is forwarded. Within one server the address words replace each
    /// other; the vhost merge can leave both bits set (mod_jk ORs the main server's options in
    /// without clearing this group), and then `ForwardLocalAddress` wins, as it is tested first
    /// when mod_jk builds the request.
    pub fn forward_address(self) -> ForwardAddress {
        if self.contains(OptionBits::FORWARD_LOCAL_ADDRESS) {
            ForwardAddress::Local
        } else if self.contains(OptionBits::FORWARD_PHYSICAL_ADDRESS) {
            ForwardAddress::Physical
        } else {
            ForwardAddress::UserAgent
        }
    }

    /// `ForwardDirectories`.
    pub fn forward_directories(self) -> bool {
        self.contains(OptionBits::FORWARD_DIRECTORIES)
    }
    /// `FlushPackets`.
    pub fn flush_packets(self) -> bool {
        self.contains(OptionBits::FLUSH_PACKETS)
    }
    /// `FlushHeader`.
    pub fn flush_header(self) -> bool {
        self.contains(OptionBits::FLUSH_HEADER)
    }
    /// `DisableReuse`.
    pub fn disable_reuse(self) -> bool {
        self.contains(OptionBits::DISABLE_REUSE)
    }
    /// `ForwardSSLCertChain`.
    pub fn forward_ssl_cert_chain(self) -> bool {
        self.contains(OptionBits::FORWARD_SSL_CERT_CHAIN)
    }
    /// `ForwardKeySize`.
    pub fn forward_key_size(self) -> bool {
        self.contains(OptionBits::FORWARD_KEY_SIZE)
    }
    /// `RejectUnsafeURI`.
    pub fn reject_unsafe_uri(self) -> bool {
        self.contains(OptionBits::REJECT_UNSAFE_URI)
    }
}

impl BitOr for OptionBits {
    type Output = OptionBits;
    fn bitor(self, rhs: OptionBits) -> OptionBits {
        OptionBits(self.0 | rhs.0)
    }
}

impl BitOrAssign for OptionBits {
    fn bitor_assign(&mut self, rhs: OptionBits) {
        self.0 |= rhs.0;
    }
}

impl BitAnd for OptionBits {
    type Output = OptionBits;
    fn bitand(self, rhs: OptionBits) -> OptionBits {
        OptionBits(self.0 & rhs.0)
    }
}

impl Not for OptionBits {
    type Output = OptionBits;
    fn not(self) -> OptionBits {
        OptionBits(!self.0)
    }
}

impl fmt::Display for OptionBits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{:04x}", self.0)
    }
}

/// The `ForwardURI*` choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ForwardUri {
    /// `ForwardURIProxy` (default).
    Proxy,
    /// `ForwardURICompatUnparsed`.
    CompatUnparsed,
    /// `ForwardURICompat`.
    Compat,
    /// `ForwardURIEscaped`.
    Escaped,
}

/// Which address is sent as the client's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ForwardAddress {
    /// Default: `r->useragent_ip` (mod_remoteip-aware).
    UserAgent,
    /// `ForwardLocalAddress`: httpd's local IP, client port `"0"`.
    Local,
    /// `ForwardPhysicalAddress`: the TCP peer (`c->client_ip`).
    Physical,
}

/// One option word's bit and the group it replaces.
fn lookup(word: &str) -> Option<(OptionBits, OptionBits)> {
    const WORDS: [(&str, OptionBits, OptionBits); 15] = [
        (
            "ForwardURICompat",
            OptionBits::FORWARD_URI_COMPAT,
            OptionBits::URI_MASK,
        ),
        (
            "ForwardURICompatUnparsed",
            OptionBits::FORWARD_URI_COMPAT_UNPARSED,
            OptionBits::URI_MASK,
        ),
        (
            "ForwardURIEscaped",
            OptionBits::FORWARD_URI_ESCAPED,
            OptionBits::URI_MASK,
        ),
        (
            "ForwardURIProxy",
            OptionBits::FORWARD_URI_PROXY,
            OptionBits::URI_MASK,
        ),
        (
            "ForwardDirectories",
            OptionBits::FORWARD_DIRECTORIES,
            OptionBits::NONE,
        ),
        (
            "ForwardLocalAddress",
            OptionBits::FORWARD_LOCAL_ADDRESS,
            OptionBits::ADDRESS_MASK,
        ),
        (
            "ForwardPhysicalAddress",
            OptionBits::FORWARD_PHYSICAL_ADDRESS,
            OptionBits::ADDRESS_MASK,
        ),
        ("FlushPackets", OptionBits::FLUSH_PACKETS, OptionBits::NONE),
        ("FlushHeader", OptionBits::FLUSH_HEADER, OptionBits::NONE),
        ("DisableReuse", OptionBits::DISABLE_REUSE, OptionBits::NONE),
        (
            "ForwardSSLCertChain",
            OptionBits::FORWARD_SSL_CERT_CHAIN,
            OptionBits::NONE,
        ),
        (
            "ForwardKeySize",
            OptionBits::FORWARD_KEY_SIZE,
            OptionBits::NONE,
        ),
        (
            "RejectUnsafeURI",
            OptionBits::REJECT_UNSAFE_URI,
            OptionBits::NONE,
        ),
        (
            "CollapseSlashesAll",
            OptionBits::COLLAPSE_SLASHES_ALL,
            OptionBits::COLLAPSE_MASK,
        ),
        (
            "CollapseSlashesNone",
            OptionBits::COLLAPSE_SLASHES_NONE,
            OptionBits::COLLAPSE_MASK,
        ),
    ];
    if word.eq_ignore_ascii_case("CollapseSlashesUnmount") {
        return Some((
            OptionBits::COLLAPSE_SLASHES_UNMOUNT,
            OptionBits::COLLAPSE_MASK,
        ));
    }
    WORDS
        .iter()
        .find(|(name, _, _)| name.eq_ignore_ascii_case(word))
        .map(|&(_, bit, mask)| (bit, mask))
}

/// What one server's `JkOptions` lines said: `plus` are enabled options (`X` or `+X`), `minus`
/// the `-X` exclusions. Defaults are not stored; [`JkOptions::effective`] adds them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct JkOptions {
    /// Options enabled by `X` / `+X`.
    pub plus: OptionBits,
    /// Options excluded by `-X`.
    pub minus: OptionBits,
}

impl JkOptions {
    /// Applies one `JkOptions` line (its raw arguments), word by word as mod_jk's
    /// `jk_set_options`: a word replaces its group in `plus` (for `-X` too), then `+X`/`X`
    /// enables and `-X` excludes. Returns the warnings to log (one per `CollapseSlashes*`
    /// word). Words before a bad word stay applied; httpd stops at the error anyway.
    pub fn apply(&mut self, raw_args: &str) -> Result<Vec<String>, String> {
        let mut warnings = Vec::new();
        let mut line = raw_args;
        while let Some(word) = getword_conf(&mut line) {
            let (action, name) = match word.as_bytes().first() {
                Some(b'+') => (Some('+'), &word[1..]),
                Some(b'-') => (Some('-'), &word[1..]),
                _ => (None, word.as_str()),
            };
            // mod_jk tests the prefix before looking the word up, so even an unknown
            // "-ForwardURIxyz" gets this message.
            if action == Some('-')
                && name.len() >= "ForwardURI".len()
                && name.is_char_boundary("ForwardURI".len())
                && name[.."ForwardURI".len()].eq_ignore_ascii_case("ForwardURI")
            {
                return Err(format!(
                    "JkOptions: Illegal option '-{name}': option can not be disabled"
                ));
            }
            let Some((bit, mask)) = lookup(name) else {
                return Err(format!("JkOptions: Illegal option '{name}'"));
            };
            if mask == OptionBits::COLLAPSE_MASK {
                warnings.push(DEPRECATED_COLLAPSE_WARNING.to_string());
            }
            self.plus = self.plus & !mask;
            if action == Some('-') {
                self.minus |= bit;
            } else {
                self.plus |= bit;
            }
        }
        Ok(warnings)
    }

    /// The options in force: defaults (`ForwardURIProxy` unless another URI word was given,
    /// `ForwardKeySize`), then `plus`, minus `minus`.
    pub fn effective(&self) -> OptionBits {
        let mut bits = self.plus | OptionBits::FORWARD_KEY_SIZE;
        if !bits.intersects(OptionBits::URI_MASK) {
            bits |= OptionBits::FORWARD_URI_PROXY;
        }
        bits & !self.minus
    }

    /// The vhost's options after inheritance (mod_jk 1.2.48): the main server's
    /// `plus − minus`, with its URI and collapse groups dropped when the vhost chose its own,
    /// then the vhost's `plus`, then minus the vhost's `minus`. The address group is not
    /// replaced by the merge (see [`OptionBits::forward_address`]).
    ///
    /// The result is again a plus/minus pair, so that defaults still apply to it: a main-server
    /// exclusion is carried over unless the vhost enables that option itself (which is how a
    /// main `-ForwardKeySize` reaches vhosts while a vhost `+ForwardKeySize` overrides it).
    pub fn merged(main: &JkOptions, vhost: &JkOptions) -> JkOptions {
        let mut inherited = main.plus & !main.minus;
        for group in [OptionBits::URI_MASK, OptionBits::COLLAPSE_MASK] {
            if vhost.plus.intersects(group) {
                inherited = inherited & !group;
            }
        }
        JkOptions {
            plus: inherited | vhost.plus,
            minus: vhost.minus | (main.minus & !vhost.plus),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn opts(line: &str) -> JkOptions {
        let mut o = JkOptions::default();
        o.apply(line).unwrap();
        o
    }

    fn eff(line: &str) -> OptionBits {
        opts(line).effective()
    }

    fn merged(main: &str, vhost: &str) -> OptionBits {
        JkOptions::merged(&opts(main), &opts(vhost)).effective()
    }

    #[test]
    fn defaults() {
        let bits = JkOptions::default().effective();
        assert_eq!(bits, OptionBits::DEFAULT);
        assert_eq!(bits.forward_uri_mode(), ForwardUri::Proxy);
        assert!(bits.forward_key_size());
        assert_eq!(bits.forward_address(), ForwardAddress::UserAgent);
        assert!(!bits.flush_packets() && !bits.flush_header() && !bits.disable_reuse());
        assert!(!bits.forward_directories() && !bits.forward_ssl_cert_chain());
        assert!(!bits.reject_unsafe_uri());
        assert_eq!(bits.to_string(), "0x0204");
    }

    #[test]
    fn every_word_sets_its_bit() {
        let cases = [
            ("ForwardURICompat", 0x0001),
            ("ForwardURICompatUnparsed", 0x0002),
            ("ForwardURIEscaped", 0x0003),
            ("ForwardURIProxy", 0x0004),
            ("ForwardDirectories", 0x0008),
            ("ForwardLocalAddress", 0x0010),
            ("FlushPackets", 0x0020),
            ("FlushHeader", 0x0040),
            ("DisableReuse", 0x0080),
            ("ForwardSSLCertChain", 0x0100),
            ("ForwardKeySize", 0x0200),
            ("RejectUnsafeURI", 0x0400),
            ("ForwardPhysicalAddress", 0x0800),
            ("CollapseSlashesAll", 0x1000),
            ("CollapseSlashesNone", 0x2000),
            ("CollapseSlashesUnmount", 0x4000),
        ];
        for (word, bit) in cases {
            assert_eq!(opts(word).plus, OptionBits(bit), "{word}");
            assert_eq!(
                opts(&format!("+{}", word.to_lowercase())).plus,
                OptionBits(bit)
            );
        }
    }

    #[test]
    fn accessors() {
        assert!(eff("+FlushPackets").flush_packets());
        assert!(eff("FlushHeader").flush_header());
        assert!(eff("DisableReuse").disable_reuse());
        assert!(eff("ForwardDirectories").forward_directories());
        assert!(eff("ForwardSSLCertChain").forward_ssl_cert_chain());
        assert!(eff("RejectUnsafeURI").reject_unsafe_uri());
        assert!(!eff("-ForwardKeySize").forward_key_size());
        assert_eq!(
            eff("ForwardURICompat").forward_uri_mode(),
            ForwardUri::Compat
        );
        assert_eq!(
            eff("ForwardURICompatUnparsed").forward_uri_mode(),
            ForwardUri::CompatUnparsed
        );
        assert_eq!(
            eff("ForwardURIEscaped").forward_uri_mode(),
            ForwardUri::Escaped
        );
        assert_eq!(eff("ForwardURIProxy").forward_uri_mode(), ForwardUri::Proxy);
        assert_eq!(
            eff("ForwardLocalAddress").forward_address(),
            ForwardAddress::Local
        );
        assert_eq!(
            eff("ForwardPhysicalAddress").forward_address(),
            ForwardAddress::Physical
        );
    }

    #[test]
    fn groups_replace_each_other() {
        let o = opts("ForwardURIEscaped ForwardURICompat");
        assert_eq!(o.plus, OptionBits::FORWARD_URI_COMPAT);
        // Escaped after CompatUnparsed is 0x3, not 0x2|0x3.
        assert_eq!(
            opts("ForwardURICompatUnparsed +ForwardURIEscaped")
                .effective()
                .forward_uri_mode(),
            ForwardUri::Escaped
        );
        let o = opts("ForwardLocalAddress ForwardPhysicalAddress");
        assert_eq!(o.plus, OptionBits::FORWARD_PHYSICAL_ADDRESS);
        let o = opts("CollapseSlashesAll CollapseSlashesNone");
        assert_eq!(o.plus, OptionBits::COLLAPSE_SLASHES_NONE);
        // A minus word clears its group too.
        let o = opts("ForwardLocalAddress -ForwardPhysicalAddress");
        assert_eq!(o.plus, OptionBits::NONE);
        assert_eq!(o.minus, OptionBits::FORWARD_PHYSICAL_ADDRESS);
        // Non-group options accumulate.
        let o = opts("FlushPackets FlushHeader");
        assert_eq!(o.plus, OptionBits(0x60));
        // Several JkOptions lines accumulate as one.
        let mut o = opts("FlushPackets");
        o.apply("+DisableReuse").unwrap();
        assert_eq!(o.plus, OptionBits(0xa0));
    }

    #[test]
    fn minus_wins_within_one_server() {
        assert!(!eff("+FlushPackets -FlushPackets").flush_packets());
        // mod_jk never clears an exclusion on "+X".
        assert!(!eff("-FlushPackets +FlushPackets").flush_packets());
        assert!(!eff("-ForwardKeySize").forward_key_size());
    }

    #[test]
    fn errors() {
        let err = |l: &str| JkOptions::default().apply(l).unwrap_err();
        assert_eq!(err("Bogus"), "JkOptions: Illegal option 'Bogus'");
        assert_eq!(err("+Bogus"), "JkOptions: Illegal option 'Bogus'");
        assert_eq!(
            err("FlushPackets -Nope"),
            "JkOptions: Illegal option 'Nope'"
        );
        assert_eq!(err("\"\""), "JkOptions: Illegal option ''");
        assert_eq!(
            err("-ForwardURIProxy"),
            "JkOptions: Illegal option '-ForwardURIProxy': option can not be disabled"
        );
        assert_eq!(
            err("-forwarduricompat"),
            "JkOptions: Illegal option '-forwarduricompat': option can not be disabled"
        );
        assert_eq!(
            err("-ForwardURIWhatever"),
            "JkOptions: Illegal option '-ForwardURIWhatever': option can not be disabled"
        );
        assert_eq!(err("-ForwardUR"), "JkOptions: Illegal option 'ForwardUR'");
    }

    #[test]
    fn collapse_words_warn() {
        let mut o = JkOptions::default();
        let w = o
            .apply("CollapseSlashesAll FlushPackets -CollapseSlashesNone")
            .unwrap();
        assert_eq!(w, vec![DEPRECATED_COLLAPSE_WARNING; 2]);
        assert!(JkOptions::default()
            .apply("FlushPackets")
            .unwrap()
            .is_empty());
        assert!(JkOptions::default().apply("").unwrap().is_empty());
    }

    #[test]
    fn merge_inherits_main_options() {
        assert_eq!(merged("", ""), OptionBits::DEFAULT);
        let m = merged("+FlushPackets ForwardDirectories", "");
        assert!(m.flush_packets() && m.forward_directories() && m.forward_key_size());
        let m = merged("FlushPackets", "DisableReuse");
        assert!(m.flush_packets() && m.disable_reuse());
    }

    #[test]
    fn merge_uri_group_vhost_replaces_main() {
        assert_eq!(
            merged("ForwardURICompat", "").forward_uri_mode(),
            ForwardUri::Compat
        );
        assert_eq!(
            merged("ForwardURICompat", "ForwardURICompatUnparsed").forward_uri_mode(),
            ForwardUri::CompatUnparsed
        );
        // Without the group rule 0x1 | 0x4 would be left over.
        let m = merged("ForwardURICompat", "ForwardURIProxy");
        assert_eq!(m & OptionBits::URI_MASK, OptionBits::FORWARD_URI_PROXY);
        assert_eq!(
            merged("", "ForwardURIEscaped").forward_uri_mode(),
            ForwardUri::Escaped
        );
    }

    #[test]
    fn merge_collapse_group_vhost_replaces_main() {
        let m = merged("CollapseSlashesAll", "CollapseSlashesUnmount");
        assert_eq!(
            m & OptionBits::COLLAPSE_MASK,
            OptionBits::COLLAPSE_SLASHES_UNMOUNT
        );
        let m = merged("CollapseSlashesAll", "");
        assert_eq!(
            m & OptionBits::COLLAPSE_MASK,
            OptionBits::COLLAPSE_SLASHES_ALL
        );
    }

    #[test]
    fn merge_address_group_is_ored() {
        let m = merged("ForwardPhysicalAddress", "ForwardLocalAddress");
        assert!(m.contains(OptionBits::ADDRESS_MASK));
        assert_eq!(m.forward_address(), ForwardAddress::Local);
        let m = merged("ForwardLocalAddress", "");
        assert_eq!(m.forward_address(), ForwardAddress::Local);
        // A vhost can still drop an inherited address option.
        let m = merged("ForwardLocalAddress", "-ForwardLocalAddress");
        assert_eq!(m.forward_address(), ForwardAddress::UserAgent);
    }

    #[test]
    fn merge_exclusions() {
        // Main exclusions apply to the main server's own options before inheritance…
        assert!(!merged("+FlushPackets -FlushPackets", "").flush_packets());
        // …and reach vhosts for defaults.
        assert!(!merged("-ForwardKeySize", "").forward_key_size());
        // A vhost may enable what the main server excluded.
        assert!(merged("-ForwardKeySize", "+ForwardKeySize").forward_key_size());
        assert!(merged("-FlushPackets", "FlushPackets").flush_packets());
        // Vhost exclusions come last.
        assert!(!merged("+FlushPackets", "-FlushPackets").flush_packets());
        assert!(!merged("", "-ForwardKeySize").forward_key_size());
        assert!(!merged("+ForwardKeySize", "-ForwardKeySize").forward_key_size());
    }

    #[test]
    fn bit_operations() {
        let b = OptionBits::FLUSH_PACKETS | OptionBits::FLUSH_HEADER;
        assert!(b.contains(OptionBits::FLUSH_HEADER));
        assert!(!b.contains(OptionBits::ADDRESS_MASK));
        assert!(b.intersects(OptionBits(0x20)));
        assert_eq!(b & !OptionBits::FLUSH_HEADER, OptionBits::FLUSH_PACKETS);
        let mut c = OptionBits::NONE;
        c |= OptionBits::DISABLE_REUSE;
        assert_eq!(c.0, 0x80);
    }
}
