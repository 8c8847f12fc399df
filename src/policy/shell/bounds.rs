//! Limits checked on the text before the parser recurses into it.

use super::*;

/// Checks `text` against [`MAX_TEXT_BYTES`] and [`MAX_NESTING`] before
/// any parser recursion sees it.
///
/// Errors: too long, or nested too deeply.
pub(super) fn bounded(text: &str) -> Result<(), ParseError> {
    if text.len() > MAX_TEXT_BYTES {
        return Err(ParseError(format!(
            "{} bytes, more than the {MAX_TEXT_BYTES} corral evaluates",
            text.len()
        )));
    }
    // brush-parser 0.4 panics on a directory-stack tilde whose index does
    // not fit its integer (`~99999999999999999999`, found by fuzzing).
    let chars: Vec<char> = text.chars().collect();
    for (i, c) in chars.iter().enumerate() {
        if *c == '~' {
            let digits = chars[i + 1..]
                .iter()
                .skip_while(|c| matches!(c, '+' | '-'))
                .take_while(|c| c.is_ascii_digit())
                .count();
            if digits > 9 {
                return Err(ParseError(
                    "a directory-stack index (`~N`) longer than corral evaluates".into(),
                ));
            }
        }
    }
    // brush-parser backtracks on runs of `(` (a subshell, or `((`
    // arithmetic?) in time exponential in the run when the text does not
    // parse: 31 of them took 29 seconds (found by fuzzing).
    let mut run = 0usize;
    for c in text.chars() {
        match c {
            '(' => {
                run += 1;
                if run > MAX_PAREN_RUN {
                    return Err(ParseError(format!(
                        "nested too deeply: more than {MAX_PAREN_RUN} opening parentheses in a row"
                    )));
                }
            }
            ' ' | '\t' | '$' | '<' | '>' | '\n' => {}
            _ => run = 0,
        }
    }
    // The same backtracking on many `(` left open with words between them
    // (`( x>( ( (( y ...`, found by fuzzing): parentheses are held to a
    // depth of MAX_PAREN_RUN, closed or not.
    let mut parens = 0usize;
    for c in text.chars() {
        match c {
            '(' => {
                parens += 1;
                if parens > MAX_PAREN_RUN {
                    return Err(ParseError(format!(
                        "nested too deeply: parentheses more than {MAX_PAREN_RUN} deep"
                    )));
                }
            }
            ')' => parens = parens.saturating_sub(1),
            _ => {}
        }
    }
    // A here-document operator with no delimiter word (`$(<< ;`) made
    // brush-parser 0.4 allocate without bound (12 GB in a minute, found by
    // fuzzing).
    let cs: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i + 1 < cs.len() {
        if cs[i] == '<'
            && cs[i + 1] == '<'
            && cs.get(i + 2) != Some(&'<')
            && (i == 0 || cs[i - 1] != '<')
        {
            let mut j = i + 2;
            if cs.get(j) == Some(&'-') {
                j += 1;
            }
            while matches!(cs.get(j), Some(' ' | '\t')) {
                j += 1;
            }
            match cs.get(j) {
                None | Some(';' | '|' | '&' | '(' | ')' | '<' | '>' | '\n' | '\r') => {
                    return Err(ParseError("a here-document without a delimiter".into()));
                }
                _ => {}
            }
            i = j;
        } else {
            i += 1;
        }
    }
    // brush-parser 0.4 backtracks on array subscripts inside parameter
    // expansions inside subscripts (`${a[${a[${a[${a[1]}]}]}]}`) in time
    // and memory exponential in their depth: 5 took 30 s and 2 GB, and two
    // left open with quotes around them (`"${H["${H[}"}"${H["${}"}`) half a
    // second, multiplied by every such group after (found by fuzzing). `${` frames are counted without regard to quoting
    // (more text is refused, never less), and those with a `[` in them
    // are held to a depth of MAX_SUBSCRIPT_DEPTH.
    // A frame: `Some(subscripted)` for `${`, `None` for another `{`.
    let mut frames: Vec<Option<bool>> = Vec::new();
    let mut prev = '\0';
    for c in text.chars() {
        match c {
            '{' if prev == '$' => frames.push(Some(false)),
            '{' => frames.push(None),
            '[' => {
                if let Some(Some(top)) = frames.last_mut() {
                    *top = true;
                }
                if frames.iter().filter(|f| **f == Some(true)).count() > MAX_SUBSCRIPT_DEPTH {
                    return Err(ParseError(format!(
                        "nested too deeply: array subscripts in parameter expansions more than {MAX_SUBSCRIPT_DEPTH} deep"
                    )));
                }
            }
            '}' => {
                frames.pop();
            }
            _ => {}
        }
        prev = c;
    }
    // Quotes and braces inside those subscripts move where brush-parser
    // thinks they end, and the same backtracking follows however the
    // frames above are counted (`"${H[s:?r ":?}'s$"}q"${H[W...`, 30 s and
    // 2 GB, found by fuzzing): a parameter expansion's subscript must be
    // plain (`${a[1]}`, `${a[@]}`, `${a[$i+1]}`) and closed.
    let cs: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i + 1 < cs.len() {
        if cs[i] == '$' && cs[i + 1] == '{' {
            let mut j = i + 2;
            while matches!(cs.get(j), Some('#' | '!')) {
                j += 1;
            }
            while cs.get(j).is_some_and(|c| c.is_alphanumeric() || *c == '_') {
                j += 1;
            }
            if cs.get(j) == Some(&'[') {
                let mut k = j + 1;
                while cs.get(k).is_some_and(|c| {
                    c.is_alphanumeric()
                        || matches!(c, '_' | '@' | '*' | '#' | '+' | '-' | '$' | ' ' | '%' | '/')
                }) {
                    k += 1;
                }
                if cs.get(k) != Some(&']') {
                    return Err(ParseError(
                        "an array subscript in a parameter expansion that is not plain (nested too deeply to evaluate)".into(),
                    ));
                }
                i = k;
            }
        }
        i += 1;
    }
    // ... and on a redirection's descriptor number that does not fit
    // (`66666666666>x`, found by fuzzing).
    let mut digits = 0usize;
    for c in text.chars() {
        if c.is_ascii_digit() {
            digits += 1;
        } else {
            if digits > 9 && matches!(c, '<' | '>') {
                return Err(ParseError(
                    "a descriptor number longer than corral evaluates".into(),
                ));
            }
            digits = 0;
        }
    }
    let (mut depth, mut deepest) = (0usize, 0usize);
    let mut backticks = false;
    let mut word = String::new();
    let step = |w: &str, depth: &mut usize| match w {
        "if" | "while" | "until" | "for" | "case" | "select" => *depth += 1,
        "fi" | "done" | "esac" => *depth = depth.saturating_sub(1),
        _ => {}
    };
    for c in text.chars() {
        if c.is_alphanumeric() || c == '_' {
            word.push(c);
            continue;
        }
        step(&word, &mut depth);
        word.clear();
        match c {
            '(' | '{' => depth += 1,
            ')' | '}' => depth = depth.saturating_sub(1),
            '`' => {
                backticks = !backticks;
                if backticks {
                    depth += 1;
                } else {
                    depth = depth.saturating_sub(1);
                }
            }
            _ => {}
        }
        deepest = deepest.max(depth);
    }
    step(&word, &mut depth);
    deepest = deepest.max(depth);
    if deepest > MAX_NESTING {
        return Err(ParseError(format!(
            "nested too deeply ({deepest} levels; corral evaluates {MAX_NESTING})"
        )));
    }
    Ok(())
}
