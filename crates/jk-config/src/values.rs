//! Attribute values: integers with `k`/`M` suffixes, booleans, the enum words, lists.
//!
//! mod_jk reads these with `atoi` and first-letter tests, so `80x9` is port 80 and `Fastest` is
//! the Request method. Here a value that does not mean anything is an error whose message
//! quotes it; a value mod_jk reads by its first letter only is accepted with a warning.

use nom::branch::alt;
use nom::character::complete::{char, digit1, one_of};
use nom::combinator::{eof, opt, recognize};
use nom::sequence::{pair, terminated, tuple};
use nom::IResult;

use crate::lb::{Activation, LbLock, LbMethod};
use crate::model::{PingMode, WorkerType};

/// mod_jk's limit for worker names, hosts, routes, cookie names, ...
pub const MAX_NAME_BYTES: usize = 60;

/// `[+-]digits[kKmM]`, the whole value: returns the signed digits and the suffix.
pub fn int_literal(input: &str) -> IResult<&str, (&str, Option<char>)> {
    terminated(
        pair(
            recognize(pair(opt(one_of("+-")), digit1)),
            opt(one_of("kKmM")),
        ),
        eof,
    )(input)
}

/// An integer as mod_jk writes them: `k`/`K` multiplies by 1024, `m`/`M` by 1048576.
pub fn parse_int(value: &str) -> Option<i64> {
    let (_, (digits, suffix)) = int_literal(value).ok()?;
    let n: i64 = digits.parse().ok()?;
    let factor = match suffix {
        Some('k' | 'K') => 1024,
        Some('m' | 'M') => 1_048_576,
        _ => 1,
    };
    n.checked_mul(factor)
}

/// An integer in `min..=max`, with the operator-facing message otherwise.
pub fn int_in(value: &str, min: i64, max: i64) -> Result<i64, String> {
    match parse_int(value) {
        None => Err(format!("\"{value}\" is not a number")),
        Some(n) if n < min || n > max => Err(format!(
            "\"{value}\" is out of range ({})",
            describe_range(min, max)
        )),
        Some(n) => Ok(n),
    }
}

fn describe_range(min: i64, max: i64) -> String {
    if max >= i64::from(i32::MAX) {
        format!("{min} or more")
    } else {
        format!("{min}-{max}")
    }
}

/// A non-negative count or duration that fits mod_jk's `int`.
pub fn non_negative(value: &str) -> Result<u32, String> {
    int_in(value, 0, i64::from(i32::MAX)).map(|n| n as u32)
}

pub fn port(value: &str) -> Result<u16, String> {
    match parse_int(value) {
        Some(n @ 0..=65535) => Ok(n as u16),
        _ => Err(format!("\"{value}\" is not a port number (0-65535)")),
    }
}

/// mod_jk booleans, case-insensitive: `on`, `1`, `t…`, `y…` / `off`, `0`, `f…`, `n…`.
pub fn boolean(value: &str) -> Result<bool, String> {
    let lower = value.to_ascii_lowercase();
    match lower.as_str() {
        "on" | "1" => Ok(true),
        "off" | "0" => Ok(false),
        l if l.starts_with(['t', 'y']) => Ok(true),
        l if l.starts_with(['f', 'n']) => Ok(false),
        _ => Err(format!(
            "\"{value}\" is not a boolean (use true/false, on/off, yes/no or 1/0)"
        )),
    }
}

pub fn worker_type(value: &str) -> Result<WorkerType, String> {
    Ok(match value {
        "ajp13" => WorkerType::Ajp13,
        "ajp14" => WorkerType::Ajp14,
        "ajp12" => WorkerType::Ajp12,
        "lb" => WorkerType::Lb,
        "status" => WorkerType::Status,
        "jni" => {
            return Err("worker type \"jni\" does not exist in mod_jk 1.2.48 \
                        (known: ajp13, ajp14, ajp12, lb, status)"
                .into())
        }
        _ => {
            let hint = crate::attributes::nearest(value, WorkerType::NAMES)
                .map(|n| format!(", did you mean '{n}'?"))
                .unwrap_or_default();
            return Err(format!(
                "unknown worker type \"{value}\" (known: ajp13, ajp14, ajp12, lb, status{hint})"
            ));
        }
    })
}

/// An enum word mod_jk recognises by its first character (case-insensitive).
/// `exact` is false when the rest of the word is not one of the documented spellings.
#[derive(Debug, PartialEq, Eq)]
pub struct Word<T> {
    pub value: T,
    pub exact: bool,
}

fn first_char_word<T: Copy>(
    value: &str,
    parse: fn(&str) -> Option<T>,
    spellings: fn(T) -> &'static [&'static str],
    what: &str,
    choices: &str,
) -> Result<Word<T>, String> {
    let v = parse(value).ok_or_else(|| format!("\"{value}\" is not {what} (use {choices})"))?;
    let lower = value.to_ascii_lowercase();
    let exact = lower.len() == 1 || spellings(v).contains(&lower.as_str());
    Ok(Word { value: v, exact })
}

pub fn lb_method(value: &str) -> Result<Word<LbMethod>, String> {
    first_char_word(
        value,
        LbMethod::from_word,
        LbMethod::spellings,
        "a balancing method",
        "Request, Session, Next, Traffic or Busyness",
    )
}

pub fn lb_lock(value: &str) -> Result<Word<LbLock>, String> {
    first_char_word(
        value,
        LbLock::from_word,
        LbLock::spellings,
        "a lock type",
        "Optimistic or Pessimistic",
    )
}

pub fn activation(value: &str) -> Result<Word<Activation>, String> {
    first_char_word(
        value,
        Activation::from_word,
        Activation::spellings,
        "an activation",
        "Active, Disabled or Stopped",
    )
}

/// Letters `C`, `P`, `I`, `A` (all), any case and combination; commas and spaces ignored.
pub fn ping_mode(value: &str) -> Result<PingMode, String> {
    let mut mode = PingMode::NONE;
    for c in value.chars() {
        mode = mode.union(match c.to_ascii_uppercase() {
            'C' => PingMode::CONNECT,
            'P' => PingMode::PREPOST,
            'I' => PingMode::INTERVAL,
            'A' => PingMode::ALL,
            ',' | ' ' | '\t' => PingMode::NONE,
            _ => {
                return Err(format!(
                    "\"{value}\" is not a ping mode (letters C, P, I or A)"
                ))
            }
        });
    }
    Ok(mode)
}

/// mod_jk splits lists on space, tab and comma.
pub fn list(value: &str) -> impl Iterator<Item = &str> {
    value.split([' ', '\t', ',']).filter(|s| !s.is_empty())
}

/// `fail_on_status`: HTTP status codes, negative ones fail only the request.
pub fn status_codes(value: &str) -> Result<Vec<i32>, String> {
    list(value)
        .map(|item| match parse_int(item) {
            Some(n) if (100..=999).contains(&n.unsigned_abs()) => Ok(n as i32),
            _ => Err(format!(
                "\"{item}\" is not an HTTP status code (100-999, or -100 to -999)"
            )),
        })
        .collect()
}

/// One status-worker rating: an activation or state letter, or `activation.state`.
pub fn rating(input: &str) -> IResult<&str, &str> {
    const ACTIVATIONS: &str = "adsADS";
    const STATES: &str = "oinbreOINBRE";
    terminated(
        alt((
            recognize(tuple((one_of(ACTIVATIONS), char('.'), one_of(STATES)))),
            recognize(one_of("adsoinbreADSOINBRE")),
        )),
        eof,
    )(input)
}

pub fn ratings(value: &str) -> Result<Vec<String>, String> {
    list(value)
        .map(|item| {
            rating(item).map(|_| item.to_owned()).map_err(|_| {
                format!(
                    "\"{item}\" is not a rating (a letter of a/d/s or o/i/n/b/r/e, \
                     or activation.state such as a.o)"
                )
            })
        })
        .collect()
}

/// `NAME:PORT` (a host name or IPv4 address, or `[IPv6]`, and a port 1..=65535).
pub fn host_port(value: &str) -> Result<(String, u16), String> {
    let v = value.trim();
    let bad = || format!("\"{value}\" is not NAME:PORT (a host name and a port 1..65535)");
    let (host, port) = v.rsplit_once(':').ok_or_else(bad)?;
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    if host.is_empty()
        || host.len() > 253
        || !host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b':'))
    {
        return Err(bad());
    }
    let port: u16 = port.parse().map_err(|_| bad())?;
    if port == 0 {
        return Err(bad());
    }
    Ok((host.to_owned(), port))
}

/// The most servers a `zk://` URL may name.
pub const MAX_ZK_SERVERS: usize = 16;

/// `zk://HOST:PORT[,HOST:PORT...]/PATH` (`worker.<lb>.discovery`): the ensemble and the
/// members' znode (absolute, without a trailing `/`, no empty, `.` or `..` segments, at most
/// 200 printable ASCII bytes).
pub fn zk_url(value: &str) -> Result<(Vec<(String, u16)>, String), String> {
    let v = value.trim();
    let bad = |why: &str| format!("\"{value}\" is not zk://HOST:PORT[,HOST:PORT...]/PATH: {why}");
    let rest = v
        .strip_prefix("zk://")
        .ok_or_else(|| bad("only zk:// (ZooKeeper) is known (DNS discovery is discover_dns)"))?;
    let (hosts, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => return Err(bad("the path is missing")),
    };
    let mut servers = Vec::new();
    for h in hosts.split(',') {
        let (name, port) = host_port(h).map_err(|_| bad(&format!("\"{h}\" is not HOST:PORT")))?;
        servers.push((name, port));
    }
    if servers.len() > MAX_ZK_SERVERS {
        return Err(bad(&format!("more than {MAX_ZK_SERVERS} servers")));
    }
    let path = path.strip_suffix('/').unwrap_or(path);
    if path.is_empty()
        || path.len() > 200
        || !path.bytes().all(|b| b.is_ascii_graphic())
        || path[1..]
            .split('/')
            .any(|seg| seg.is_empty() || seg == "." || seg == "..")
    {
        return Err(bad(
            "the path must be an absolute znode path like /services/app",
        ));
    }
    Ok((servers, path.to_owned()))
}

/// Names, hosts, routes and cookie settings are limited to 60 bytes by mod_jk.
pub fn short_string(value: &str) -> Result<&str, String> {
    if value.len() > MAX_NAME_BYTES {
        Err(format!(
            "\"{value}\" is {} bytes long, at most {MAX_NAME_BYTES} bytes are supported",
            value.len()
        ))
    } else {
        Ok(value)
    }
}

/// The documented worker-name characters.
pub fn is_documented_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn int_literal_shapes() {
        assert_eq!(int_literal("8009").unwrap().1, ("8009", None));
        assert_eq!(int_literal("-5k").unwrap().1, ("-5", Some('k')));
        assert!(int_literal("80x9").is_err());
        assert!(int_literal("8k9").is_err());
        assert!(int_literal("").is_err());
        assert!(int_literal(" 1").is_err());
    }

    #[test]
    fn parse_int_suffixes() {
        assert_eq!(parse_int("8k"), Some(8192));
        assert_eq!(parse_int("8K"), Some(8192));
        assert_eq!(parse_int("2m"), Some(2_097_152));
        assert_eq!(parse_int("+3"), Some(3));
        assert_eq!(parse_int("-1"), Some(-1));
        assert_eq!(parse_int("abc"), None);
        assert_eq!(parse_int("1g"), None);
        assert_eq!(parse_int("99999999999999999999"), None);
        assert_eq!(parse_int("9999999999999m"), None);
    }

    #[test]
    fn int_in_messages() {
        assert_eq!(int_in("5", 0, 10), Ok(5));
        assert_eq!(int_in("abc", 0, 10).unwrap_err(), "\"abc\" is not a number");
        assert_eq!(
            int_in("11", 0, 10).unwrap_err(),
            "\"11\" is out of range (0-10)"
        );
        assert_eq!(
            non_negative("-1").unwrap_err(),
            "\"-1\" is out of range (0 or more)"
        );
        assert_eq!(non_negative("3m"), Ok(3_145_728));
        assert!(non_negative("4096m").is_err());
    }

    #[test]
    fn ports() {
        assert_eq!(port("8009"), Ok(8009));
        assert_eq!(port("0"), Ok(0));
        assert_eq!(port("65535"), Ok(65535));
        assert_eq!(
            port("80x9").unwrap_err(),
            "\"80x9\" is not a port number (0-65535)"
        );
        assert!(port("70000").is_err());
        assert!(port("-1").is_err());
    }

    #[test]
    fn booleans() {
        for t in ["on", "ON", "1", "true", "True", "t", "yes", "Y"] {
            assert_eq!(boolean(t), Ok(true), "{t}");
        }
        for f in ["off", "Off", "0", "false", "F", "no", "n", "nope"] {
            assert_eq!(boolean(f), Ok(false), "{f}");
        }
        assert!(boolean("maybe").is_err());
        assert!(boolean("2").is_err());
        assert!(boolean("o").is_err());
    }

    #[test]
    fn worker_types() {
        assert_eq!(worker_type("lb"), Ok(WorkerType::Lb));
        assert_eq!(worker_type("ajp13"), Ok(WorkerType::Ajp13));
        assert!(worker_type("jni")
            .unwrap_err()
            .contains("\"jni\" does not exist"));
        assert!(worker_type("LB")
            .unwrap_err()
            .contains("did you mean 'lb'?"));
        assert!(worker_type("ajp15")
            .unwrap_err()
            .contains("did you mean 'ajp13'?"));
    }

    #[test]
    fn methods() {
        assert_eq!(
            lb_method("Request").unwrap(),
            Word {
                value: LbMethod::Request,
                exact: true
            }
        );
        assert_eq!(lb_method("S").unwrap().value, LbMethod::Sessions);
        assert_eq!(lb_method("busyness").unwrap().value, LbMethod::Busyness);
        assert_eq!(lb_method("4").unwrap().value, LbMethod::Next);
        assert_eq!(
            lb_method("Tx").unwrap(),
            Word {
                value: LbMethod::Traffic,
                exact: false
            }
        );
        assert_eq!(
            lb_method("Fastest").unwrap_err(),
            "\"Fastest\" is not a balancing method (use Request, Session, Next, Traffic or \
             Busyness)"
        );
    }

    #[test]
    fn locks_and_activation() {
        assert_eq!(lb_lock("P").unwrap().value, LbLock::Pessimistic);
        assert_eq!(lb_lock("0").unwrap().value, LbLock::Optimistic);
        assert!(lb_lock("x").is_err());
        assert_eq!(activation("disabled").unwrap().value, Activation::Disabled);
        assert_eq!(activation("2").unwrap().value, Activation::Stopped);
        assert_eq!(activation("a").unwrap().value, Activation::Active);
        assert!(activation("Q").is_err());
    }

    #[test]
    fn ping_modes() {
        assert_eq!(ping_mode("A"), Ok(PingMode::ALL));
        assert_eq!(ping_mode("cp").unwrap().to_string(), "CP");
        assert_eq!(ping_mode("C, I").unwrap().to_string(), "CI");
        assert_eq!(
            ping_mode("Z").unwrap_err(),
            "\"Z\" is not a ping mode (letters C, P, I or A)"
        );
    }

    #[test]
    fn lists_and_codes() {
        assert_eq!(
            list(" a, b\tc,,d ").collect::<Vec<_>>(),
            ["a", "b", "c", "d"]
        );
        assert_eq!(status_codes("500,-404 503"), Ok(vec![500, -404, 503]));
        assert!(status_codes("500,abc").is_err());
        assert!(status_codes("42").is_err());
        assert!(status_codes("-9223372036854775808").is_err());
    }

    #[test]
    fn rating_entries() {
        assert!(rating("a.o").is_ok());
        assert!(rating("s").is_ok());
        assert!(rating("E").is_ok());
        assert!(rating("a.x").is_err());
        assert!(rating("ao").is_err());
        assert!(rating("o.a").is_err());
        assert_eq!(
            ratings("a.o, s,e"),
            Ok(vec!["a.o".into(), "s".into(), "e".into()])
        );
        assert!(ratings("q").is_err());
    }

    #[test]
    fn short_strings_and_names() {
        assert!(short_string(&"h".repeat(60)).is_ok());
        assert_eq!(
            short_string(&"h".repeat(61)).unwrap_err(),
            format!(
                "\"{}\" is 61 bytes long, at most 60 bytes are supported",
                "h".repeat(61)
            )
        );
        assert!(is_documented_name("tomcat-1_a"));
        assert!(!is_documented_name("tomcat.1"));
        assert!(!is_documented_name(""));
    }
}

#[cfg(test)]
mod zk_url_tests {
    #![allow(clippy::unwrap_used)]
    use super::zk_url;

    #[test]
    fn accepts_an_ensemble_and_a_path() {
        let (s, p) = zk_url("zk://zk1:2181,127.0.0.1:2182/services/app/").unwrap();
        assert_eq!(s, vec![("zk1".into(), 2181), ("127.0.0.1".into(), 2182)]);
        assert_eq!(p, "/services/app");
        let (s, _) = zk_url("zk://[::1]:2181/a").unwrap();
        assert_eq!(s, vec![("::1".into(), 2181)]);
    }

    #[test]
    fn rejects_what_is_not_one() {
        for bad in [
            "http://zk1:2181/a",
            "zk://zk1:2181",
            "zk://zk1/a",
            "zk://:2181/a",
            "zk://zk1:0/a",
            "zk://zk1:2181/",
            "zk://zk1:2181//a",
            "zk://zk1:2181/a/../b",
            "zk://zk1:2181/a b",
            "zk://zk1:2181,/a",
        ] {
            let e = zk_url(bad).expect_err(bad);
            assert!(e.contains("is not zk://"), "{bad}: {e}");
        }
    }
}
