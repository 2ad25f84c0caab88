//! Manifests: which endpoints each module may use, and how modules' channel
//! ports are wired. Plain text, one directive per line, `#` starts a comment:
//!
//! ```text
//! # examples/gateway.manifest
//! grant   aggregator  hal/adc/* hal/tx log
//! grant   mesh        hal/ble log
//! connect aggregator:0 mesh:1      # the app's port 0 and the service's port 1 share a channel
//! sink    iir:2                    # port 2's messages go to the host, which counts them
//! ```
//!
//! - `grant <module> <pattern>…`: the module's URI patterns ([`Grants::parse`]);
//!   one line per module. A module the manifest does not mention gets nothing.
//! - `connect <module>:<port> <module>:<port>`: one kernel channel behind both ports.
//! - `sink <module>:<port>`: a channel the system drains (a `ch_send` there
//!   never blocks for long; a `ch_recv` there waits forever).
//! - `restart <module> <times>`: when the module faults, the system loads it
//!   again, fresh, in the same partition, at most `times` times (default 0).
//!
//! A port neither connected nor sunk is refused ([`fireball_coos::sched::NO_CHANNEL`]):
//! the kernel logs the attempt through the router and the call returns.
//! The text is borrowed, nothing is allocated: the parser checks every line
//! once, and the accessors walk the text again.

use crate::router::Grants;

/// A module's channel port, as written `name:port`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortRef<'a> {
    /// Module name.
    pub module: &'a str,
    /// Port number (`0..fireball_coos::sched::PORTS`).
    pub port: u8,
}

/// A channel directive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wire<'a> {
    /// Two ports share one channel.
    Connect(PortRef<'a>, PortRef<'a>),
    /// The port's channel is drained by the host.
    Sink(PortRef<'a>),
}

/// A manifest line the parser refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ManifestError {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong.
    pub what: &'static str,
}

impl core::fmt::Display for ManifestError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "manifest line {}: {}", self.line, self.what)
    }
}

/// Grant and wire lines a manifest may hold: a grant per module and a wire per port
/// of the most modules a system runs ([`crate::router::MAX_MODULES`] × `PORTS`).
const MAX_LINES: usize = crate::router::MAX_MODULES * (1 + fireball_coos::sched::PORTS);

/// A checked manifest over its text.
#[derive(Debug, Clone, Copy)]
pub struct Manifest<'a> {
    text: &'a str,
}

enum Line<'a> {
    Grant(&'a str, &'a str),
    Wire(Wire<'a>),
    Restart(&'a str, u8),
}

fn port_ref(word: Option<&str>) -> Result<PortRef<'_>, &'static str> {
    let word = word.ok_or("expected <module>:<port>")?;
    let (module, port) = word.rsplit_once(':').ok_or("expected <module>:<port>")?;
    let port: u8 = port.parse().map_err(|_| "the port is not a number")?;
    if module.is_empty() {
        return Err("empty module name");
    }
    if usize::from(port) >= fireball_coos::sched::PORTS {
        return Err("port out of range (0..8)");
    }
    Ok(PortRef { module, port })
}

/// The ports a wire directive names.
fn ends(w: Wire<'_>) -> (PortRef<'_>, Option<PortRef<'_>>) {
    match w {
        Wire::Connect(a, b) => (a, Some(b)),
        Wire::Sink(a) => (a, None),
    }
}

/// `s` without ASCII whitespace at either end.
fn ascii_trim(s: &str) -> &str {
    s.trim_matches(|c: char| c.is_ascii_whitespace())
}

fn parse_line(line: &str) -> Result<Option<Line<'_>>, &'static str> {
    // Words are split at ASCII whitespace only, and trimmed the same way: another
    // space (a no-break space, say) is part of a word, never a place to slice at.
    let line = ascii_trim(line.split('#').next().unwrap_or(""));
    let mut words = line.split_ascii_whitespace();
    let Some(directive) = words.next() else { return Ok(None) };
    let parsed = match directive {
        "grant" => {
            let module = words.next().ok_or("grant: expected a module name")?;
            // The patterns: what follows the module name (the line's first two words are
            // `grant` and the name, so the name starts right after the spaces that follow
            // `grant`, and ends on a character boundary).
            let after = line.get(directive.len()..).map(ascii_trim).unwrap_or("");
            let rest = after.get(module.len()..).map(ascii_trim).unwrap_or("");
            Line::Grant(module, rest)
        }
        "connect" => Line::Wire(Wire::Connect(port_ref(words.next())?, port_ref(words.next())?)),
        "sink" => Line::Wire(Wire::Sink(port_ref(words.next())?)),
        "restart" => {
            let module = words.next().ok_or("restart: expected a module name")?;
            let times = words.next().ok_or("restart: expected how many times")?;
            Line::Restart(module, times.parse().map_err(|_| "restart: times must be 0..=255")?)
        }
        _ => return Err("unknown directive (grant, connect, sink, restart)"),
    };
    if !matches!(parsed, Line::Grant(..)) && words.next().is_some() {
        return Err("unexpected words at the end of the line");
    }
    Ok(Some(parsed))
}

impl<'a> Manifest<'a> {
    /// Check every line of `text`.
    pub fn parse(text: &'a str) -> Result<Manifest<'a>, ManifestError> {
        let m = Manifest { text };
        // Each grant and wire line is checked against the lines before it; there are at
        // most MAX_LINES of those that mean something (more than the modules and ports a
        // system has), so a huge manifest is refused, not checked in quadratic time.
        let mut checked = 0usize;
        for (i, line) in text.lines().enumerate() {
            let err = |what| ManifestError { line: i + 1, what };
            let parsed = parse_line(line).map_err(err)?;
            if matches!(parsed, Some(Line::Grant(..) | Line::Wire(_))) {
                checked += 1;
                if checked > MAX_LINES {
                    return Err(err("more grant and wire lines than a system has modules and ports"));
                }
            }
            match parsed {
                Some(Line::Grant(module, _)) if m.lines().take(i).any(|l| matches!(l, Line::Grant(other, _) if other == module)) => {
                    return Err(err("a second grant line for this module"));
                }
                // A port has one channel behind it: wired twice, the last line would
                // silently win (and the first peer wait forever).
                Some(Line::Wire(w)) => {
                    let (a, b) = ends(w);
                    if b == Some(a) {
                        return Err(err("connects a port to itself"));
                    }
                    let wired = |p: PortRef<'_>| m.lines().take(i).any(|l| matches!(l, Line::Wire(e) if ends(e).0 == p || ends(e).1 == Some(p)));
                    if wired(a) || b.is_some_and(wired) {
                        return Err(err("a port already wired on an earlier line (each port has one channel)"));
                    }
                }
                _ => {}
            }
        }
        Ok(m)
    }

    fn lines(&self) -> impl Iterator<Item = Line<'a>> + 'a {
        self.text.lines().map(|l| parse_line(l).ok().flatten())
            .map(|l| l.unwrap_or(Line::Grant("", "")))
    }

    /// The grants of `module` ([`Grants::NONE`] if the manifest does not mention it).
    pub fn grants(&self, module: &str) -> Grants<'a> {
        self.lines()
            .find_map(|l| match l {
                Line::Grant(m, patterns) if m == module && !m.is_empty() => Some(Grants::parse(patterns)),
                _ => None,
            })
            .unwrap_or(Grants::NONE)
    }

    /// The channel directives, in order.
    pub fn wires(&self) -> impl Iterator<Item = Wire<'a>> + 'a {
        self.lines().filter_map(|l| match l {
            Line::Wire(w) => Some(w),
            _ => None,
        })
    }

    /// How many times `module` may be restarted after a fault (0 if not said).
    pub fn restarts(&self, module: &str) -> u8 {
        self.lines()
            .find_map(|l| match l {
                Line::Restart(m, n) if m == module => Some(n),
                _ => None,
            })
            .unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_refuses() {
        let m = Manifest::parse("# x\ngrant app hal/adc/* log  # c\n\nconnect app:0 svc:1\nsink svc:2\n").unwrap();
        assert!(m.grants("app").allows("hal/adc/3"));
        assert!(!m.grants("app").allows("hal/tx"));
        assert!(!m.grants("svc").allows("log"));
        let w: std::vec::Vec<_> = m.wires().collect();
        assert_eq!(w.len(), 2);
        assert_eq!(w[0], Wire::Connect(PortRef { module: "app", port: 0 }, PortRef { module: "svc", port: 1 }));
        assert_eq!(Manifest::parse("grant a x\ngrant a y").unwrap_err().line, 2);
        assert_eq!(Manifest::parse("connect a:9 b:1").unwrap_err().what, "port out of range (0..8)");
        // One channel per port: a port wired twice (connect or sink), or to itself, is refused.
        let twice = Manifest::parse("connect p:0 c:2\nconnect p:0 c:5").unwrap_err();
        assert_eq!((twice.line, twice.what), (2, "a port already wired on an earlier line (each port has one channel)"));
        assert_eq!(Manifest::parse("sink c:5\nconnect p:0 c:5").unwrap_err().line, 2);
        assert_eq!(Manifest::parse("connect p:1 p:1").unwrap_err().what, "connects a port to itself");
        assert!(Manifest::parse("connect p:0 c:2\nconnect p:1 c:3\nsink c:4").is_ok());
        // Only ASCII whitespace separates words: another space is part of a name, and
        // never a place the parser slices at.
        for text in ["grant \u{a0}x", "grant \u{2003}x y", "grant \u{a0}ab \u{e9}\u{e9}", "grant x\u{a0} log"] {
            assert!(Manifest::parse(text).is_ok(), "{text:?}");
        }
        let m = Manifest::parse("grant \u{a0}sensor hal/adc/0 log").unwrap();
        assert!(!m.grants("sensor").allows("hal/adc/0"));
        assert!(m.grants("\u{a0}sensor").allows("hal/adc/0") && !m.grants("\u{a0}sensor").allows("al/adc/0"));
        // A huge manifest is refused at the first line past what a system can use.
        let many: std::string::String = (0..100).map(|k| std::format!("connect a{k}:0 b{k}:1\n")).collect();
        assert_eq!(Manifest::parse(&many).unwrap_err().line, MAX_LINES + 1);
        let comments: std::string::String = (0..30_000).map(|k| std::format!("# line {k}\n")).collect();
        assert!(Manifest::parse(&(comments + "sink a:0")).is_ok());
        assert_eq!(Manifest::parse("allow a x").unwrap_err().line, 1);
        let r = Manifest::parse("restart svc 3").unwrap();
        assert_eq!((r.restarts("svc"), r.restarts("app")), (3, 0));
        assert!(Manifest::parse("restart svc many").is_err());
        assert_eq!(Manifest::parse("sink a:1 b").unwrap_err().what, "unexpected words at the end of the line");
    }
}
