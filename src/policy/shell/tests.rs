use super::*;

/// Found by `fuzz/run.sh` (shell_parse): brush-parser 0.4 panicked on a
/// tilde with a 20-digit directory-stack index.
#[test]
fn fuzz_findings_are_errors_not_panics() {
    for text in [
        "find111[13111111111111111111  ~1111311111111111111111112 \\;",
        "echo ~99999999999999999999",
        "cd ~+123456789012",
        "x=~-98765432109876543210",
    ] {
        assert!(parse(text).is_err(), "{text}");
    }
    assert!(parse("echo ~1 ~+2 ~-3").is_ok());
    // A timeout of 29 s in brush-parser's backtracking: a long run of
    // `(` in text that does not parse.
    let slow = "(((((((((((((((((((((((((((((((a+[$semsh\0sh.c";
    assert!(parse(slow).is_err_and(|e| e.0.contains("parentheses")));
    assert!(parse("( ( echo hi ) )").is_ok());
    let file = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/policy/fuzz-timeout-parens.bin"
    );
    let bytes = std::fs::read(file).unwrap_or_default();
    assert!(!bytes.is_empty(), "{file}");
    let text = String::from_utf8_lossy(&bytes);
    assert!(parse(&text).is_err());
    // Exponential backtracking on array subscripts nested in
    // parameter expansions (30 s and 2 GB at depth 5).
    for text in [
        "echo ${a[${a[${a[${a[1]}]}]}]}",
        "rm ${H[a${H[a${H[a${H[a${H[a}}}}}",
        "rm \"${H[WO\"${H[WO\"${H[WOME:?x}\"}\"}\"",
    ] {
        assert!(
            parse(text).is_err_and(|e| e.0.contains("nested too deeply")),
            "{text}"
        );
    }
    assert!(
        parse("\"${H[\"${H[}\"}\"${H[\"${}\"}\\").is_err_and(|e| e.0.contains("nested too deeply"))
    );
    assert!(parse("echo ${a[1]} ${b[@]} ${c[$i+1]} ${#d[@]} ${x:-${y:-${z:-w}}}").is_ok());
    for text in [
        "echo \"${a[\"x\"]}\"",
        "echo ${a[$(id)]}",
        "echo ${a[",
        "echo ${a['k']}",
    ] {
        assert!(
            parse(text).is_err_and(|e| e.0.contains("not plain")),
            "{text}"
        );
    }
    let file = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/policy/fuzz-oom-subscripts.bin"
    );
    let bytes = std::fs::read(file).unwrap_or_default();
    assert!(!bytes.is_empty(), "{file}");
    assert!(parse(&String::from_utf8_lossy(&bytes)).is_err());
    for name in [
        "fuzz-oom-subscripts2.bin",
        "fuzz-slow-subscripts.bin",
        "fuzz-oom-subscripts3.bin",
    ] {
        let file = format!(
            "{}/tests/fixtures/policy/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        let bytes = std::fs::read(&file).unwrap_or_default();
        assert!(!bytes.is_empty(), "{file}");
        assert!(parse(&String::from_utf8_lossy(&bytes)).is_err(), "{name}");
    }
    // brush-parser 0.4 allocated without bound on a here-document
    // operator with no delimiter.
    for text in ["$(<< ;  ", "echo $(cat << | x", "cat <<", "cat <<- ;"] {
        assert!(
            parse(text).is_err_and(|e| e.0.contains("here-document")),
            "{text}"
        );
    }
    assert!(parse("cat <<EOF\nhi\nEOF\n").is_ok());
    assert!(parse("cat <<- 'EOF'\nhi\nEOF\n").is_ok());
    assert!(parse("cat <<< hi").is_ok());
    // brush-parser 0.4 panicked on a descriptor that overflows its i32.
    assert!(parse("echo 666666666667>x").is_err());
    assert!(parse("echo 2>x 12>&1").is_ok());
    // Its tokenizer unwrapped the end of input inside a nested `${`
    // after a here-document operator; the vendored copy
    // (vendor/brush-parser) says "unterminated" instead of panicking.
    let file = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/policy/fuzz-panic-nested-construct.bin"
    );
    let bytes = std::fs::read(file).unwrap_or_default();
    assert!(!bytes.is_empty(), "{file}");
    let err = parse(&String::from_utf8_lossy(&bytes)).err();
    assert!(
        err.as_ref().is_some_and(|e| !e.0.contains("parser failed")),
        "{err:?}"
    );
    // ... and looped without end (2 GB in 11 s) on a here-document
    // whose tag reads empty at the end of the input.
    let file = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/policy/fuzz-oom-empty-heredoc-tag.bin"
    );
    let bytes = std::fs::read(file).unwrap_or_default();
    assert!(!bytes.is_empty(), "{file}");
    assert!(parse(&String::from_utf8_lossy(&bytes)).is_err());
    assert!(parse("cat <<''\nhi\n\n").is_ok());
    // ... and backtracked for 30 s on array subscripts in an
    // assignment's name whose index holds more of them.
    let file = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/policy/fuzz-timeout-array-index.bin"
    );
    let bytes = std::fs::read(file).unwrap_or_default();
    assert!(!bytes.is_empty(), "{file}");
    let _ = parse(&String::from_utf8_lossy(&bytes));
    assert!(parse("a[1]=x b[$i+1]=y; echo ${a[1]}").is_ok());
    assert!(parse("cat <<''").is_err());
    for text in ["echo ${a:-${b", "echo $(( 1 +", "echo ~+1 ~-2"] {
        let r = parse(text);
        assert!(
            r.as_ref()
                .err()
                .is_none_or(|e| !e.0.contains("parser failed")),
            "{text}: {r:?}"
        );
    }
}

fn canon(text: &str) -> Vec<String> {
    parse(text)
        .unwrap_or_else(|e| panic!("{text}: {e}"))
        .simple
        .iter()
        .map(SimpleCommand::canonical)
        .collect()
}

#[test]
fn unquotes_and_flattens() {
    assert_eq!(canon("r''m -rf ~"), ["rm -rf ~"]);
    assert_eq!(canon("\"rm\" -rf \"$HOME\""), ["rm -rf $HOME"]);
    assert_eq!(canon("\\rm -rf ${HOME}/"), ["rm -rf ${HOME}/"]);
    assert_eq!(canon("$'\\x72m' -rf /"), ["rm -rf /"]);
    assert_eq!(canon("echo hello > hello.txt"), ["echo hello > hello.txt"]);
    assert_eq!(canon("ls 2>&1 | grep x"), ["ls 2>&1", "grep x"]);
    assert_eq!(canon("echo $(rm -rf ~)"), ["rm -rf ~", "echo $(rm -rf ~)"]);
    assert_eq!(canon("(cd /; ls) && { a; b; }"), ["cd /", "ls", "a", "b"]);
    assert_eq!(
        canon("if true; then x; else y; fi; for i in 1 2; do z $i; done"),
        ["true", "x", "y", "z $i"]
    );
    assert_eq!(canon("FOO=1 cmd a"), ["cmd a"]);
    assert_eq!(
        canon("bash -c 'rm -rf ~'"),
        ["rm -rf ~", "bash -c rm -rf ~"]
    );
    assert_eq!(canon("diff <(ls a) b"), ["ls a", "diff <(ls a) b"]);
    assert!(parse("echo 'unterminated").is_err());
    assert!(parse("if true; then").is_err());
}

#[test]
fn constructs_are_reported() {
    let has = |text: &str, c: Construct| {
        let p = parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        p.constructs.iter().any(|(x, _)| *x == c)
    };
    assert!(parse("echo `id`").is_ok_and(|p| p.substitutions == ["`id`"]));
    assert!(has("cat <(curl x)", Construct::ProcessSubstitution));
    assert!(has("eval \"$X\"", Construct::Eval));
    assert!(has(". ./env.sh", Construct::Source));
    assert!(has("exec rm x", Construct::Exec));
    assert!(has("ls | xargs rm", Construct::Xargs));
    assert!(has("python3 -c 'print(1)'", Construct::InlineCode));
    assert!(has("echo x | sh", Construct::InlineCode));
    assert!(has("awk '{print}' f", Construct::InlineCode));
    assert!(!has("python3 script.py", Construct::InlineCode));
    assert!(!has("python3 --version", Construct::InlineCode));
    assert!(has("$X args", Construct::DynamicCommand));
    assert!(has("cat <<EOF\nhi\nEOF\n", Construct::Heredoc));
    assert!(has("f() { rm x; }", Construct::FunctionDefinition));
    assert!(has("alias ls=rm", Construct::Alias));
    assert!(has("PATH=/tmp ls", Construct::EnvOverride));
    assert!(has("nohup $CMD", Construct::DynamicCommand));
    assert!(has("rm -rf /{etc,usr}", Construct::BraceExpansion));
    assert!(!has("echo hi > x", Construct::CommandSubstitution));
}

#[test]
fn layers_see_through_wrappers() {
    let p = parse("sudo -u root env FOO=1 nice -n 5 timeout 10 rm -rf /")
        .unwrap_or_else(|e| panic!("{e}"));
    let words: Vec<Vec<&str>> = layers(&p.simple[0].argv)
        .iter()
        .map(|l| l.iter().map(|w| w.text.as_str()).collect())
        .collect();
    assert_eq!(words.last(), Some(&vec!["rm", "-rf", "/"]));
    assert_eq!(words.len(), 5);
}
