//! GNU sed 4.9 scripts read for what they run and write.

use super::*;

/// Reads a sed script for commands that run code (`e`, `s///e`) or write
/// files (`w FILE`, `s///w FILE`); a script it cannot read is code.
pub(super) fn sed_script(script: &str, e: &mut Effects) {
    match sed_effects(script) {
        Ok(files) => {
            for f in files {
                e.writes.push(WritePath {
                    path: Word {
                        text: f,
                        literal: true,
                    },
                    dirs: e.dirs.clone(),
                });
            }
        }
        Err(why) => e.code.push(format!("sed {script:?}: {why}")),
    }
}

/// The files a sed script writes, or why it cannot be accounted for (it
/// runs a command, or corral cannot read it). GNU sed 4.9's commands.
pub(super) fn sed_effects(script: &str) -> Result<Vec<String>, String> {
    let s: Vec<char> = script.chars().collect();
    let mut i = 0;
    let mut files = Vec::new();
    let to_eol = |i: &mut usize| -> String {
        let start = *i;
        while *i < s.len() && s[*i] != '\n' {
            *i += 1;
        }
        s[start..*i].iter().collect::<String>().trim().to_string()
    };
    // A regex or replacement ended by `delim`, with backslash escapes.
    // A regex (`regex`: bracket expressions hold the delimiter literally,
    // `/[/b]/` is one regex to GNU sed) or a replacement ended by `delim`,
    // with backslash escapes.
    let delimited = |i: &mut usize, delim: char, regex: bool| -> Result<(), String> {
        while *i < s.len() {
            if s[*i] == '\\' {
                *i += 2;
                continue;
            }
            if regex && s[*i] == '[' {
                *i += 1;
                if s.get(*i) == Some(&'^') {
                    *i += 1;
                }
                if s.get(*i) == Some(&']') {
                    *i += 1;
                }
                loop {
                    match s.get(*i) {
                        None | Some('\n') => {
                            return Err("an unterminated bracket expression".into());
                        }
                        Some('[') if matches!(s.get(*i + 1), Some(':' | '.' | '=')) => {
                            let close = s[*i + 1];
                            *i += 2;
                            while *i + 1 < s.len() && !(s[*i] == close && s[*i + 1] == ']') {
                                *i += 1;
                            }
                            *i += 2;
                        }
                        Some(']') => {
                            *i += 1;
                            break;
                        }
                        Some(_) => *i += 1,
                    }
                }
                continue;
            }
            if s[*i] == delim {
                *i += 1;
                return Ok(());
            }
            if s[*i] == '\n' && delim != '\n' {
                return Err("a newline inside a regex".into());
            }
            *i += 1;
        }
        Err("an unterminated regex".into())
    };
    let mut steps = 0;
    while i < s.len() {
        steps += 1;
        if steps > 10_000 {
            return Err("too long".into());
        }
        let c = s[i];
        if c.is_whitespace() || c == ';' || c == '}' {
            i += 1;
            continue;
        }
        if c == '#' {
            to_eol(&mut i);
            continue;
        }
        // Addresses: number, $, /re/, \cREc, first~step, addr,addr, !
        loop {
            while i < s.len()
                && (s[i].is_ascii_digit() || s[i] == '$' || s[i] == '~' || s[i] == '+')
            {
                i += 1;
            }
            if i < s.len() && s[i] == '/' {
                i += 1;
                delimited(&mut i, '/', true)?;
                while i < s.len() && matches!(s[i], 'I' | 'M') {
                    i += 1;
                }
            } else if i + 1 < s.len() && s[i] == '\\' {
                let d = s[i + 1];
                i += 2;
                delimited(&mut i, d, true)?;
                while i < s.len() && matches!(s[i], 'I' | 'M') {
                    i += 1;
                }
            }
            while i < s.len() && s[i] == ' ' {
                i += 1;
            }
            if i < s.len() && s[i] == ',' {
                i += 1;
                continue;
            }
            break;
        }
        while i < s.len() && (s[i] == '!' || s[i] == ' ') {
            i += 1;
        }
        let Some(&cmd) = s.get(i) else {
            break;
        };
        i += 1;
        match cmd {
            '{' | '}' | '=' | 'd' | 'D' | 'g' | 'G' | 'h' | 'H' | 'n' | 'N' | 'p' | 'P' | 'x'
            | 'z' | 'F' => {}
            'l' | 'L' | 'q' | 'Q' => {
                while i < s.len() && (s[i].is_ascii_digit() || s[i] == ' ') {
                    i += 1;
                }
            }
            'b' | 't' | 'T' | ':' | 'v' => {
                // A label (or `v`'s version) is one word. Where it ends
                // differs between seds and versions (GNU sed 4.9 ends
                // `:x` at a space and runs `:x e cmd`'s `e`): a word
                // followed by more text before `;` or the line's end is
                // not read.
                while i < s.len() && s[i] == ' ' {
                    i += 1;
                }
                while i < s.len() && !matches!(s[i], '\n' | ';' | ' ' | '\t' | '}') {
                    i += 1;
                }
                while i < s.len() && matches!(s[i], ' ' | '\t') {
                    i += 1;
                }
                if i < s.len() && !matches!(s[i], '\n' | ';' | '}') {
                    return Err(format!(
                        "sed: text after the label of `{cmd}` ({:?}): where it ends differs between seds",
                        s[i..].iter().collect::<String>()
                    ));
                }
            }
            'a' | 'i' | 'c' => {
                // Text to the end of the line (continued by a backslash).
                while i < s.len() && s[i] != '\n' {
                    if s[i] == '\\' {
                        i += 1;
                    }
                    i += 1;
                }
            }
            'r' | 'R' => {
                to_eol(&mut i);
            }
            'w' | 'W' => {
                let f = to_eol(&mut i);
                files.push(f);
            }
            'e' => return Err("its `e` command runs a shell command".into()),
            'y' => {
                let d = *s.get(i).ok_or("an unterminated y command")?;
                i += 1;
                delimited(&mut i, d, false)?;
                delimited(&mut i, d, false)?;
            }
            's' => {
                let d = *s.get(i).ok_or("an unterminated s command")?;
                if d == '\n' || d == '\\' {
                    return Err("an s command corral cannot read".into());
                }
                i += 1;
                delimited(&mut i, d, true)?;
                delimited(&mut i, d, false)?;
                // Flags.
                while i < s.len() {
                    match s[i] {
                        'g' | 'p' | 'i' | 'I' | 'm' | 'M' | '0'..='9' => i += 1,
                        'e' => return Err("its s///e flag runs the result as a command".into()),
                        'w' => {
                            i += 1;
                            files.push(to_eol(&mut i));
                        }
                        _ => break,
                    }
                }
            }
            other => return Err(format!("a command corral cannot read ({other:?})")),
        }
    }
    Ok(files)
}
