//! The byte-level escape sequence parser of corral's terminal engine: the
//! DEC/ECMA-48 state machine (after Paul Williams' VT500 parser) with UTF-8
//! decoding in the ground state and a fast path that hands whole runs of
//! printable ASCII to the screen at once.
//!
//! C1 controls as single 8-bit bytes are not recognised: in UTF-8 those bytes
//! are parts of characters, as in every modern terminal.

/// Most parameters kept per CSI sequence (values and sub-parameters together);
/// the rest are dropped.
pub const MAX_PARAMS: usize = 32;
/// Longest OSC string kept, in bytes; longer ones are ignored.
pub const MAX_OSC: usize = 4096;

/// The parameters of one CSI sequence: groups separated by `;`, each a value
/// plus optional `:` sub-parameters. An empty value reads as 0.
#[derive(Debug, Default, Clone)]
pub struct Params {
    vals: [u16; MAX_PARAMS],
    /// Bit i set: `vals[i]` starts a new group.
    starts: u32,
    len: usize,
}

impl Params {
    fn clear(&mut self) {
        self.len = 0;
        self.starts = 0;
    }

    fn push_digit(&mut self, d: u8) {
        if self.len == 0 {
            self.len = 1;
            self.vals[0] = 0;
            self.starts = 1;
        }
        let v = &mut self.vals[self.len - 1];
        *v = v.saturating_mul(10).saturating_add(u16::from(d));
    }

    fn separator(&mut self, group: bool) {
        if self.len == 0 {
            self.len = 1;
            self.vals[0] = 0;
            self.starts = 1;
        }
        if self.len < MAX_PARAMS {
            self.vals[self.len] = 0;
            if group {
                self.starts |= 1 << self.len;
            }
            self.len += 1;
        }
    }

    /// Number of groups.
    pub fn len(&self) -> usize {
        self.starts.count_ones() as usize
    }

    /// True if the sequence had no parameters.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The groups in order; each slice is a value followed by its
    /// sub-parameters.
    pub fn groups(&self) -> impl Iterator<Item = &[u16]> {
        let mut i = 0;
        std::iter::from_fn(move || {
            if i >= self.len {
                return None;
            }
            let start = i;
            i += 1;
            while i < self.len && self.starts & (1 << i) == 0 {
                i += 1;
            }
            Some(&self.vals[start..i])
        })
    }

    /// The first value of group `i`, if present (0 when empty).
    pub fn get(&self, i: usize) -> Option<u16> {
        self.groups().nth(i).and_then(|g| g.first().copied())
    }

    /// The first value of group `i`, or `default` when absent or 0 (the usual
    /// reading of counts and positions).
    pub fn count(&self, i: usize, default: u16) -> u16 {
        match self.get(i) {
            None | Some(0) => default,
            Some(v) => v,
        }
    }
}

/// What the parser recognises, delivered in order.
pub trait Perform {
    /// A run of printable ASCII (0x20-0x7E).
    fn print_ascii(&mut self, run: &[u8]);
    /// One printable character outside ASCII (invalid UTF-8 arrives as U+FFFD).
    fn print(&mut self, c: char);
    /// A C0 control (0x00-0x1F except ESC).
    fn execute(&mut self, byte: u8);
    /// A control sequence: private prefix (`?`, `>`, `<`, `=` or 0), params,
    /// intermediates (0-2 bytes) and the final byte.
    fn csi(&mut self, prefix: u8, params: &Params, inter: &[u8], fin: u8);
    /// An escape sequence: intermediates and final byte.
    fn esc(&mut self, inter: &[u8], fin: u8);
    /// An OSC string without its introducer and terminator.
    fn osc(&mut self, data: &[u8]);
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Ground,
    Escape,
    EscInter,
    CsiEntry,
    CsiParam,
    CsiInter,
    CsiIgnore,
    Osc,
    /// DCS, SOS, PM and APC strings: skipped up to ST.
    Skip,
}

/// The parser state; feed it with [`Parser::advance`]. Sequences and UTF-8
/// characters may be split across calls.
#[derive(Debug)]
pub struct Parser {
    state: State,
    params: Params,
    inter: [u8; 2],
    n_inter: usize,
    prefix: u8,
    osc: Vec<u8>,
    osc_overflow: bool,
    /// ESC seen inside an OSC or skipped string (maybe the start of ST).
    string_esc: bool,
    utf8: u32,
    utf8_need: u8,
}

impl Parser {
    /// Whether the parser is between sequences and characters (not inside an
    /// escape sequence, a string or a UTF-8 character): a point where a
    /// stream can be cut and continued in another parser.
    pub fn at_rest(&self) -> bool {
        self.state == State::Ground && self.utf8_need == 0
    }
}

impl Default for Parser {
    fn default() -> Self {
        Parser {
            state: State::Ground,
            params: Params::default(),
            inter: [0; 2],
            n_inter: 0,
            prefix: 0,
            osc: Vec::new(),
            osc_overflow: false,
            string_esc: false,
            utf8: 0,
            utf8_need: 0,
        }
    }
}

#[inline]
fn printable(b: u8) -> bool {
    (0x20..0x7f).contains(&b)
}

/// Length of the run of printable ASCII at the start of `bytes`, eight bytes
/// at a time while it lasts.
#[inline]
fn printable_run(bytes: &[u8]) -> usize {
    const LOW: u64 = 0x2020_2020_2020_2020;
    const ONE: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let mut i = 0;
    while let Some(w) = bytes.get(i..i + 8) {
        let mut a = [0u8; 8];
        a.copy_from_slice(w);
        let w = u64::from_le_bytes(a);
        // A byte below 0x20 borrows; a byte of 0x7f or more has (or gets)
        // its high bit. A carry or borrow only spreads from a byte that
        // already failed, so "any byte failed" stays exact.
        let below = w.wrapping_sub(LOW) & !w & HIGH;
        let above = (w.wrapping_add(ONE) | w) & HIGH;
        if below | above != 0 {
            break;
        }
        i += 8;
    }
    while i < bytes.len() && printable(bytes[i]) {
        i += 1;
    }
    i
}

impl Parser {
    /// Feeds `bytes`, calling `p` for everything recognised.
    pub fn advance(&mut self, bytes: &[u8], p: &mut impl Perform) {
        let mut i = 0;
        while i < bytes.len() {
            if self.state == State::Ground && self.utf8_need == 0 {
                let b = bytes[i];
                if printable(b) {
                    let start = i;
                    i += printable_run(&bytes[i..]);
                    p.print_ascii(&bytes[start..i]);
                    continue;
                }
            }
            self.byte(bytes[i], p);
            i += 1;
        }
    }

    fn byte(&mut self, b: u8, p: &mut impl Perform) {
        // Anywhere: CAN and SUB abort, ESC restarts (strings handle ESC as
        // the possible start of ST themselves).
        match self.state {
            State::Osc | State::Skip => return self.string_byte(b, p),
            _ => {}
        }
        if self.utf8_need > 0 {
            if b & 0xc0 == 0x80 {
                self.utf8 = (self.utf8 << 6) | u32::from(b & 0x3f);
                self.utf8_need -= 1;
                if self.utf8_need == 0 {
                    p.print(char::from_u32(self.utf8).unwrap_or('\u{fffd}'));
                }
                return;
            }
            self.utf8_need = 0;
            p.print('\u{fffd}');
        }
        match b {
            0x1b => {
                self.state = State::Escape;
                self.n_inter = 0;
                return;
            }
            0x18 | 0x1a => {
                self.state = State::Ground;
                return;
            }
            0x00..=0x1f => return p.execute(b),
            _ => {}
        }
        match self.state {
            State::Ground => self.ground_byte(b, p),
            State::Escape => match b {
                0x20..=0x2f => {
                    self.push_inter(b);
                    self.state = State::EscInter;
                }
                b'[' => {
                    self.params.clear();
                    self.n_inter = 0;
                    self.prefix = 0;
                    self.state = State::CsiEntry;
                }
                b']' => {
                    self.osc.clear();
                    self.osc_overflow = false;
                    self.string_esc = false;
                    self.state = State::Osc;
                }
                b'P' | b'X' | b'^' | b'_' => {
                    self.string_esc = false;
                    self.state = State::Skip;
                }
                0x30..=0x7e => {
                    self.state = State::Ground;
                    p.esc(&[], b);
                }
                _ => self.state = State::Ground,
            },
            State::EscInter => match b {
                0x20..=0x2f => self.push_inter(b),
                0x30..=0x7e => {
                    self.state = State::Ground;
                    let n = self.n_inter.min(2);
                    let inter = self.inter;
                    p.esc(&inter[..n], b);
                }
                _ => self.state = State::Ground,
            },
            State::CsiEntry | State::CsiParam => match b {
                b'0'..=b'9' => {
                    self.params.push_digit(b - b'0');
                    self.state = State::CsiParam;
                }
                b';' => {
                    self.params.separator(true);
                    self.state = State::CsiParam;
                }
                b':' => {
                    self.params.separator(false);
                    self.state = State::CsiParam;
                }
                b'<'..=b'?' if self.state == State::CsiEntry => {
                    self.prefix = b;
                    self.state = State::CsiParam;
                }
                0x20..=0x2f => {
                    self.push_inter(b);
                    self.state = State::CsiInter;
                }
                0x40..=0x7e => self.dispatch_csi(b, p),
                _ => self.state = State::CsiIgnore,
            },
            State::CsiInter => match b {
                0x20..=0x2f => self.push_inter(b),
                0x40..=0x7e => self.dispatch_csi(b, p),
                _ => self.state = State::CsiIgnore,
            },
            State::CsiIgnore => {
                if (0x40..=0x7e).contains(&b) {
                    self.state = State::Ground;
                }
            }
            State::Osc | State::Skip => {}
        }
    }

    fn ground_byte(&mut self, b: u8, p: &mut impl Perform) {
        match b {
            0x7f => {}
            0xc2..=0xdf => {
                self.utf8 = u32::from(b & 0x1f);
                self.utf8_need = 1;
            }
            0xe0..=0xef => {
                self.utf8 = u32::from(b & 0x0f);
                self.utf8_need = 2;
            }
            0xf0..=0xf4 => {
                self.utf8 = u32::from(b & 0x07);
                self.utf8_need = 3;
            }
            0x80..=0xff => p.print('\u{fffd}'),
            _ => p.print_ascii(&[b]),
        }
    }

    fn push_inter(&mut self, b: u8) {
        if self.n_inter < 2 {
            self.inter[self.n_inter] = b;
        }
        self.n_inter += 1;
    }

    fn dispatch_csi(&mut self, fin: u8, p: &mut impl Perform) {
        self.state = State::Ground;
        if self.n_inter > 2 {
            return;
        }
        let inter = self.inter;
        p.csi(self.prefix, &self.params, &inter[..self.n_inter], fin);
    }

    fn string_byte(&mut self, b: u8, p: &mut impl Perform) {
        if self.string_esc {
            self.string_esc = false;
            if b == b'\\' {
                self.end_string(p);
                return;
            }
            // ESC not followed by `\`: the string ends and a new escape
            // sequence begins.
            self.end_string(p);
            self.state = State::Escape;
            self.n_inter = 0;
            return self.byte(b, p);
        }
        match b {
            0x1b => self.string_esc = true,
            0x07 => self.end_string(p),
            0x18 | 0x1a => self.state = State::Ground,
            _ if self.state == State::Osc => {
                if self.osc.len() < MAX_OSC {
                    self.osc.push(b);
                } else {
                    self.osc_overflow = true;
                }
            }
            _ => {}
        }
    }

    fn end_string(&mut self, p: &mut impl Perform) {
        if self.state == State::Osc && !self.osc_overflow {
            p.osc(&self.osc);
        }
        self.state = State::Ground;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default)]
    struct Log(Vec<String>);

    impl Perform for Log {
        fn print_ascii(&mut self, run: &[u8]) {
            self.0.push(format!("A{}", String::from_utf8_lossy(run)));
        }
        fn print(&mut self, c: char) {
            self.0.push(format!("P{c}"));
        }
        fn execute(&mut self, b: u8) {
            self.0.push(format!("X{b}"));
        }
        fn csi(&mut self, prefix: u8, params: &Params, inter: &[u8], fin: u8) {
            let g: Vec<String> = params
                .groups()
                .map(|g| {
                    g.iter()
                        .map(|v| v.to_string())
                        .collect::<Vec<_>>()
                        .join(":")
                })
                .collect();
            self.0.push(format!(
                "C{}{}{}{}",
                if prefix == 0 {
                    String::new()
                } else {
                    (prefix as char).to_string()
                },
                g.join(";"),
                String::from_utf8_lossy(inter),
                fin as char
            ));
        }
        fn esc(&mut self, inter: &[u8], fin: u8) {
            self.0.push(format!(
                "E{}{}",
                String::from_utf8_lossy(inter),
                fin as char
            ));
        }
        fn osc(&mut self, data: &[u8]) {
            self.0.push(format!("O{}", String::from_utf8_lossy(data)));
        }
    }

    fn run(chunks: &[&[u8]]) -> Vec<String> {
        let mut p = Parser::default();
        let mut l = Log::default();
        for c in chunks {
            p.advance(c, &mut l);
        }
        l.0
    }

    #[test]
    fn sequences_split_anywhere() {
        let all: &[u8] = b"hi\x1b[?25l\x1b[38:2::1:2:3m\xe2\x9c\xb3\x1b]0;t\x07\x1b(B\r\n";
        let whole = run(&[all]);
        assert_eq!(
            whole,
            [
                "Ahi",
                "C?25l",
                "C38:2:0:1:2:3m",
                "P✳",
                "O0;t",
                "E(B",
                "X13",
                "X10"
            ]
        );
        for cut in 0..all.len() {
            let split = run(&[&all[..cut], &all[cut..]]);
            let joined: Vec<String> = split.iter().map(|s| s.to_string()).collect();
            // ASCII runs may arrive in two pieces; everything else is identical.
            let merge = |v: Vec<String>| {
                let mut out: Vec<String> = Vec::new();
                for s in v {
                    match (out.last_mut(), s.strip_prefix('A')) {
                        (Some(last), Some(rest)) if last.starts_with('A') => last.push_str(rest),
                        _ => out.push(s),
                    }
                }
                out
            };
            assert_eq!(merge(joined), whole, "cut at {cut}");
        }
    }

    #[test]
    fn strings_end_with_st_and_invalid_utf8_is_replaced() {
        assert_eq!(
            run(&[b"\x1bP+q544e\x1b\\a\x1b]2;x\x1b\\\xff\xe2(\x1b[5;;7H"]),
            ["Aa", "O2;x", "P\u{fffd}", "P\u{fffd}", "A(", "C5;0;7H"]
        );
    }

    #[test]
    fn printable_runs_stop_at_the_first_other_byte() {
        for stop in [0x00u8, 0x1b, 0x1f, 0x7f, 0x80, 0xe2, 0xff] {
            for at in 0..20 {
                let mut v = vec![b'a'; 20];
                v[at] = stop;
                assert_eq!(printable_run(&v), at, "byte {stop:#x} at {at}");
            }
        }
        assert_eq!(printable_run(b" ~ ~ ~ ~ ~ ~ ~ ~ ~"), 18);
    }

    #[test]
    fn params_read_counts_and_defaults() {
        let mut p = Params::default();
        for &b in b"3;;12" {
            match b {
                b';' => p.separator(true),
                d => p.push_digit(d - b'0'),
            }
        }
        assert_eq!(p.len(), 3);
        assert_eq!(p.count(0, 1), 3);
        assert_eq!(p.count(1, 1), 1);
        assert_eq!(p.get(2), Some(12));
        assert_eq!(p.get(3), None);
    }
}
