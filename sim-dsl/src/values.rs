//! Parsers for the scalar values of the language, with messages that say what was expected.
//! Rates, sizes and durations parse with `sim-stack`'s and `sim-core`'s own `FromStr`.

use std::net::Ipv4Addr;

use sim_core::time::{DecimalError, scale_decimal};

/// A decimal integer, underscores allowed between digits, optional leading `-`.
pub(crate) fn int(text: &str) -> Result<i64, String> {
    let t = text.trim();
    let (neg, digits) = match t.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, t),
    };
    if digits.is_empty()
        || !digits.starts_with(|c: char| c.is_ascii_digit())
        || digits.ends_with('_')
        || !digits.chars().all(|c| c.is_ascii_digit() || c == '_')
    {
        return Err(format!("`{t}` is not an integer"));
    }
    let mut v: i64 = 0;
    for c in digits.chars().filter(|c| *c != '_') {
        v = v
            .checked_mul(10)
            .and_then(|v| v.checked_add(i64::from(c as u8 - b'0')))
            .ok_or_else(|| format!("`{t}` is too large"))?;
    }
    Ok(if neg { -v } else { v })
}

/// An integer within `min..=max`.
pub(crate) fn int_in(text: &str, min: i64, max: i64) -> Result<i64, String> {
    let v = int(text)?;
    if v < min || v > max {
        return Err(format!("{v} is out of range; expected {min} to {max}"));
    }
    Ok(v)
}

/// A dotted-quad IPv4 address, with a precise message for the usual mistakes.
pub(crate) fn ip(text: &str) -> Result<Ipv4Addr, String> {
    let t = text.trim();
    if let Ok(a) = t.parse::<Ipv4Addr>() {
        return Ok(a);
    }
    if t.contains('/') {
        return Err(format!(
            "`{t}` has a prefix length; expected a plain address here"
        ));
    }
    let parts: Vec<&str> = t.split('.').collect();
    if parts.len() != 4 {
        return Err(format!(
            "`{t}` is not an IPv4 address; expected four numbers separated by dots, such as `10.0.0.1`"
        ));
    }
    for p in parts {
        match p.parse::<u64>() {
            Ok(v) if v > 255 => {
                return Err(format!(
                    "`{t}` is not an IPv4 address: {v} is larger than 255"
                ));
            }
            Ok(_) if p.len() > 1 && p.starts_with('0') => {
                return Err(format!(
                    "`{t}` is not an IPv4 address: `{p}` has a leading zero"
                ));
            }
            Ok(_) => {}
            Err(_) => {
                return Err(format!(
                    "`{t}` is not an IPv4 address: `{p}` is not a number"
                ));
            }
        }
    }
    Err(format!("`{t}` is not an IPv4 address"))
}

/// A probability in parts per million: `0.01` (a fraction), `1%`, `100ppm`.
pub(crate) fn ppm(text: &str) -> Result<u32, String> {
    let t = text.trim();
    let (num, scale, unit) = if let Some(n) = t.strip_suffix('%') {
        (n, 10_000, "%")
    } else if let Some(n) = t.strip_suffix("ppm") {
        (n, 1, "ppm")
    } else {
        (t, 1_000_000, "")
    };
    let v = scale_decimal(num, scale).map_err(|e| match e {
        DecimalError::Bad => format!(
            "`{t}` is not a probability; expected a fraction such as `0.01`, a percentage such as `1%`, or `100ppm`"
        ),
        DecimalError::TooPrecise => {
            format!("`{t}` is finer than one part per million")
        }
        DecimalError::Overflow => format!("`{t}` is more than 100%"),
    })?;
    if v > 1_000_000 {
        return Err(format!(
            "`{t}` is more than 100%{}",
            if unit.is_empty() {
                " (a probability is at most 1)"
            } else {
                ""
            }
        ));
    }
    Ok(v as u32)
}

/// `0`/`1`, `on`/`off`, `true`/`false`, `yes`/`no`.
pub(crate) fn boolean(text: &str) -> Result<bool, String> {
    match text.trim() {
        "1" | "on" | "true" | "yes" => Ok(true),
        "0" | "off" | "false" | "no" => Ok(false),
        t => Err(format!("`{t}` is not a boolean; expected 0 or 1")),
    }
}

/// A TCP/UDP port, 1..=65535.
pub(crate) fn port(text: &str) -> Result<u16, String> {
    int_in(text, 1, 65535)
        .map(|v| v as u16)
        .map_err(|e| format!("bad port: {e}"))
}

/// `ADDR:PORT`.
pub(crate) fn addr_port(text: &str) -> Result<(Ipv4Addr, u16), String> {
    let t = text.trim();
    let Some((a, p)) = t.rsplit_once(':') else {
        return Err(format!(
            "`{t}` has no port; expected an address and a port such as `10.0.0.2:9`"
        ));
    };
    Ok((ip(a)?, port(p)?))
}

/// A DNS name: labels of letters, digits and `-`, at most 253 characters. Lower-cased, a
/// trailing dot removed.
pub(crate) fn dns_name(text: &str) -> Result<String, String> {
    let t = text.trim().trim_end_matches('.').to_ascii_lowercase();
    let ok = !t.is_empty()
        && t.len() <= 253
        && t.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        });
    if ok {
        Ok(t)
    } else {
        Err(format!("`{text}` is not a valid DNS name"))
    }
}

/// A parsed `http://host[:port][/path]` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Url {
    pub host: String,
    pub port: u16,
    pub path: String,
}

/// Parses an `http://` URL.
pub(crate) fn url(text: &str) -> Result<Url, String> {
    let t = text.trim();
    let Some(rest) = t.strip_prefix("http://") else {
        if t.starts_with("https://") {
            return Err(format!("`{t}`: only plain `http://` is modeled (no TLS)"));
        }
        return Err(format!(
            "`{t}` is not an http URL; expected `http://host[:port]/path`"
        ));
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    if let Some(inner) = authority.strip_prefix('[') {
        // An IPv6 literal (RFC 3986 §3.2.2): `[2001:db8::1]` or `[2001:db8::1]:8080`; the
        // host keeps its brackets, as curl's Host header has them.
        let Some((a, rest)) = inner.split_once(']') else {
            return Err(format!("`{t}`: the `[` of an IPv6 address is not closed"));
        };
        if a.parse::<std::net::Ipv6Addr>().is_err() {
            return Err(format!("`{t}`: `{a}` is not an IPv6 address"));
        }
        let port = match rest {
            "" => 80,
            r => match r.strip_prefix(':') {
                Some(p) => port(p)?,
                None => return Err(format!("`{t}`: expected `:PORT` after `[{a}]`")),
            },
        };
        return Ok(Url {
            host: format!("[{a}]"),
            port,
            path: path.to_string(),
        });
    }
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) => (h, port(p)?),
        None => (authority, 80),
    };
    if host.is_empty() {
        return Err(format!("`{t}` has no host"));
    }
    let host = if ip(host).is_ok() {
        host.to_string()
    } else {
        dns_name(host)?
    };
    Ok(Url {
        host,
        port,
        path: path.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ints() {
        assert_eq!(int("1_000"), Ok(1000));
        assert_eq!(int("-5"), Ok(-5));
        assert!(int("ten").is_err());
        assert!(int("99999999999999999999").is_err());
        assert!(int_in("70000", 1, 65535).is_err());
    }

    #[test]
    fn ips() {
        assert_eq!(ip("10.0.0.1"), Ok(Ipv4Addr::new(10, 0, 0, 1)));
        assert!(
            ip("10.0.300.1")
                .unwrap_err()
                .contains("300 is larger than 255")
        );
        assert!(ip("10.0.0").unwrap_err().contains("four numbers"));
        assert!(ip("10.0.0.1/24").unwrap_err().contains("prefix"));
    }

    #[test]
    fn probabilities() {
        assert_eq!(ppm("0.01"), Ok(10_000));
        assert_eq!(ppm("1%"), Ok(10_000));
        assert_eq!(ppm("0.5%"), Ok(5_000));
        assert_eq!(ppm("100ppm"), Ok(100));
        assert_eq!(ppm("1"), Ok(1_000_000));
        assert!(ppm("1.5").is_err());
        assert!(ppm("0.0000001").is_err());
        assert!(ppm("lots").is_err());
    }

    #[test]
    fn urls() {
        assert_eq!(
            url("http://baidu.com/"),
            Ok(Url {
                host: "baidu.com".into(),
                port: 80,
                path: "/".into()
            })
        );
        assert_eq!(
            url("http://10.0.1.80:8080/x/y").unwrap(),
            Url {
                host: "10.0.1.80".into(),
                port: 8080,
                path: "/x/y".into()
            }
        );
        assert_eq!(url("http://Example.COM").unwrap().path, "/");
        assert_eq!(
            url("http://[2001:db8:1::80]/").unwrap(),
            Url {
                host: "[2001:db8:1::80]".into(),
                port: 80,
                path: "/".into()
            }
        );
        assert_eq!(url("http://[2001:db8::1]:8080/x").unwrap().port, 8080);
        assert!(url("http://[2001:db8::1/").is_err());
        assert!(url("http://[10.0.0.1]/").is_err());
        assert!(url("https://x/").is_err());
        assert!(url("ftp://x/").is_err());
        assert!(url("http://:80/").is_err());
    }
}
