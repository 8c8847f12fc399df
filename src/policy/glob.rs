//! Whether a bash glob may name a protected entry: the glob an agent's
//! command holds (`cp src/CLAUDE* .`) against an entry of [`PROTECTED`]
//! (`.aider*`), by a search over both patterns at once, so no name need
//! exist on disk yet.
//!
//! [`PROTECTED`]: super::PROTECTED

/// Whether the path component `have` (lowercase; a shell glob when it
/// holds `*`, `?` or `[`) may name what the [`PROTECTED`](super::PROTECTED) entry component
/// `want` (where `*` is any text) matches: some name both match. bash's
/// rules for `have`: `*` any text, `?` one character, `[..]` one of a set,
/// and a leading `.` not matched by `*` or `?` (no `dotglob`). A set
/// corral does not read (`[[:alpha:]]`) may match anything: the safe side.
pub fn glob_may_match(have: &str, want: &str) -> bool {
    let Some(a) = glob_tokens(have) else {
        return true;
    };
    let b: Vec<GlobToken> = want
        .chars()
        .map(|c| {
            if c == '*' {
                GlobToken::Star
            } else {
                GlobToken::Char(c)
            }
        })
        .collect();
    globs_meet(&a, &b)
}

/// One token of a shell glob.
#[derive(Debug, Clone, PartialEq, Eq)]
enum GlobToken {
    /// A character matched as itself.
    Char(char),
    /// `?`
    One,
    /// `*`
    Star,
    /// `[..]`: the characters and ranges listed, and whether negated.
    Set(Vec<(char, char)>, bool),
}

/// `pattern` as tokens; `None` for a set corral does not read.
fn glob_tokens(pattern: &str) -> Option<Vec<GlobToken>> {
    let c: Vec<char> = pattern.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < c.len() {
        match c[i] {
            '*' => out.push(GlobToken::Star),
            '?' => out.push(GlobToken::One),
            '\\' if i + 1 < c.len() => {
                i += 1;
                out.push(GlobToken::Char(c[i]));
            }
            '[' => {
                let mut j = i + 1;
                let negated = matches!(c.get(j), Some('!' | '^'));
                if negated {
                    j += 1;
                }
                let mut ranges = Vec::new();
                let start = j;
                while j < c.len() && (c[j] != ']' || j == start) {
                    if c[j] == '[' && matches!(c.get(j + 1), Some(':' | '=' | '.')) {
                        return None;
                    }
                    if c.get(j + 1) == Some(&'-') && c.get(j + 2).is_some_and(|&e| e != ']') {
                        ranges.push((c[j], c[j + 2]));
                        j += 3;
                    } else {
                        ranges.push((c[j], c[j]));
                        j += 1;
                    }
                }
                if j >= c.len() {
                    // No closing `]`: bash reads `[` as itself.
                    out.push(GlobToken::Char('['));
                } else {
                    out.push(GlobToken::Set(ranges, negated));
                    i = j;
                }
            }
            ch => out.push(GlobToken::Char(ch)),
        }
        i += 1;
    }
    Some(out)
}

/// The one character a token demands, if it demands one.
fn token_char(t: &GlobToken) -> Option<char> {
    match t {
        GlobToken::Char(c) => Some(c.to_lowercase().next().unwrap_or(*c)),
        _ => None,
    }
}

/// Whether one character may satisfy both tokens (`a` a bash glob's, `b`
/// an entry's), `first` when it is a name's first: two sets, or a set and
/// a wildcard, are taken to meet (the safe side).
fn tokens_meet(a: &GlobToken, b: &GlobToken, first: bool) -> bool {
    // bash's `*` and `?` do not take a leading `.`; the entry's `*` may.
    let accepts = |t: &GlobToken, ch: char, lead: bool| match t {
        GlobToken::Char(c) => c.to_lowercase().next() == Some(ch),
        GlobToken::One | GlobToken::Star => !(lead && first && ch == '.'),
        GlobToken::Set(ranges, negated) => {
            let inside = ranges.iter().any(|&(lo, hi)| {
                let lo = lo.to_lowercase().next().unwrap_or(lo);
                let hi = hi.to_lowercase().next().unwrap_or(hi);
                lo <= ch && ch <= hi
            });
            inside != *negated
        }
    };
    match (token_char(a), token_char(b)) {
        (Some(x), Some(y)) => x == y,
        (Some(x), None) => accepts(b, x, false),
        (None, Some(y)) => accepts(a, y, true),
        // Neither demands one character: some other character than `.`
        // satisfies both (a set that only holds `.` is the safe side).
        (None, None) => true,
    }
}

/// Whether the glob `a` (bash's) and the entry pattern `b` (only `*`
/// special) match some name in common: a search over pairs of positions,
/// each step one character both accept. `*` in `a` does not take a leading
/// `.` (bash without `dotglob`); in `b` it may.
fn globs_meet(a: &[GlobToken], b: &[GlobToken]) -> bool {
    let (n, m) = (a.len(), b.len());
    // seen[i][j][first]: positions reached, and whether nothing has been
    // read yet (the leading-dot rule applies to the first character).
    let mut seen = vec![[false; 2]; (n + 1) * (m + 1)];
    let mut stack = vec![(0usize, 0usize, true)];
    while let Some((i, j, first)) = stack.pop() {
        let slot = &mut seen[i * (m + 1) + j][usize::from(first)];
        if *slot {
            continue;
        }
        *slot = true;
        if i == n && j == m {
            return true;
        }
        // `*` may match nothing.
        if i < n && a[i] == GlobToken::Star {
            stack.push((i + 1, j, first));
        }
        if j < m && b[j] == GlobToken::Star {
            stack.push((i, j + 1, first));
        }
        // One character read by both; a `*` stays where it is.
        if i < n && j < m && tokens_meet(&a[i], &b[j], first) {
            let ni = if a[i] == GlobToken::Star { i } else { i + 1 };
            let nj = if b[j] == GlobToken::Star { j } else { j + 1 };
            stack.push((ni, nj, false));
            if a[i] == GlobToken::Star && b[j] != GlobToken::Star {
                stack.push((i + 1, nj, false));
            }
            if b[j] == GlobToken::Star && a[i] != GlobToken::Star {
                stack.push((ni, j + 1, false));
            }
        }
    }
    false
}
