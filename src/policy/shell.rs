//! The shell parser adapter: command text -> every simple command it would run.
//!
//! Parsing is done by [`brush_parser`], the parser of the brush shell. It was
//! chosen over the alternatives because it is pure Rust (no C toolchain, unlike
//! `tree-sitter-bash`), actively maintained (unlike `conch-parser`, abandoned
//! since 2019), aims at bash compatibility rather than POSIX `sh` only (unlike
//! `yash-syntax`, whose parser is async and POSIX-only), and gives a typed AST:
//! pipelines, `&&`/`||`, subshells, brace groups, `if`/`for`/`while`/`case`,
//! functions, redirections, here-documents and process substitution, plus a
//! word parser that splits a word into single-, double- and `$'..'`-quoted
//! text, escapes, parameter expansions and command substitutions.
//!
//! This module turns that AST into a flat list of [`SimpleCommand`]s (those
//! nested inside substitutions, subshells, compound commands and pipelines
//! included) whose words are unquoted, and a list of [`Construct`]s that make
//! the text impossible to judge from its words alone. Pure: no I/O.

use brush_parser::ast;
use brush_parser::word::{WordPiece, WordPieceWithSource};
use serde::Deserialize;

mod bounds;
mod wrappers;

use bounds::bounded;
pub use wrappers::{SHELLS, basename, inline_code, is_shell, layers};

impl AsRef<str> for Word {
    fn as_ref(&self) -> &str {
        &self.text
    }
}

/// How deep substitutions and `sh -c` strings are followed; deeper text is
/// left unparsed and reported, so hostile nesting cannot exhaust the stack.
const MAX_DEPTH: usize = 12;

/// Longest command text parsed, in bytes; a longer one is not evaluated
/// (`ask`).
pub const MAX_TEXT_BYTES: usize = 64 << 10;

/// Deepest nesting of groups (`(`, `{`, `$(`, `` ` ``) and compound commands
/// (`if`, `while`, `until`, `for`, `case`, `select`) the text may reach
/// before it is parsed: the parser and the walk recurse once per level, and
/// 400 nested `{ …; }` (2 KB) overflowed the session manager's stack.
/// Counted on the raw text, quotes and all, so it errs towards `ask`.
pub const MAX_NESTING: usize = 48;

/// Most `(` in a row (spaces, `$`, `<`, `>` between them allowed), and
/// deepest parenthesis nesting (closed or not), before the text is not
/// parsed: the parser's backtracking grows exponentially with them on text
/// that does not parse.
pub const MAX_PAREN_RUN: usize = 10;
/// Most parameter expansions with an array subscript (`${a[...]}`) nested
/// in one another that corral parses (see `bounded`).
pub const MAX_SUBSCRIPT_DEPTH: usize = 1;

/// A construct whose effect cannot be proven from the words of the command.
/// An allow rule then answers `ask` unless it names the construct in
/// `allow_constructs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Construct {
    /// `$(..)` or backticks: the output of a command becomes words.
    CommandSubstitution,
    /// `<(..)` or `>(..)`: a command's output or input becomes a file name.
    ProcessSubstitution,
    /// `eval` or `trap`: a string runs as shell code.
    Eval,
    /// `source` or `.`: a file runs as shell code.
    Source,
    /// `exec`: the shell is replaced by another program.
    Exec,
    /// `xargs`: a command is run with arguments read from input.
    Xargs,
    /// A shell or interpreter given code inline (`bash -c`, `python3 -c`,
    /// `node -e`, `awk '..'`) or reading it from standard input.
    InlineCode,
    /// A variable, substitution or glob as the command name (`$X args`).
    DynamicCommand,
    /// A here-document (`<<EOF`): text fed to a command's input.
    Heredoc,
    /// A function definition: its body runs under another name later.
    FunctionDefinition,
    /// `alias`: a word runs as other text later.
    Alias,
    /// A redirection that may write outside the slot's working directory.
    RedirectOutsideCwd,
    /// An assignment to a variable that changes what runs (`PATH=`,
    /// `LD_PRELOAD=`, `BASH_ENV=` ...).
    EnvOverride,
    /// A variable's text evaluated as code: arithmetic on variables
    /// (`$((x))` runs `$(..)` in `x='a[$(cmd)]'`), `let`, `[[ -v ]]` and
    /// `[[ a -eq b ]]`, `${x@P}`, `${!x}`, `${x:x}`, `${a[$i]}`.
    Evaluation,
    /// Brace expansion (`{a,b}`, `{1..9}`): one word becomes several.
    BraceExpansion,
    /// A write to a protected path inside the workspace: VCS internals, an
    /// agent's own settings or instructions, a file that runs by itself
    /// (see `policy::PROTECTED`).
    ProtectedPath,
    /// A write outside the slot's workspace, by a file tool or a program's
    /// option or operand (or one corral cannot place).
    WriteOutsideWorkspace,
    /// An option or operand that runs code or a program the command line
    /// carries (`find -exec`, `sed 1e`, `sort --compress-program`, `git -c`),
    /// a script from outside the workspace, or a program that runs code it
    /// does not show (`docker run`).
    RunsCode,
    /// Sends data to, or acts on, another host (`git push`, `ssh host`,
    /// `curl -d @file`).
    Network,
    /// Signals, traces or changes another process by its id (`kill PID`,
    /// `strace -p PID`): which process a number is cannot be known from the
    /// words, and it may be corral's server or the user's editor. A rule
    /// that names the program (`kill *`) also accepts it.
    OtherProcess,
    /// An option or subcommand the command model does not list for a
    /// program it knows.
    UnknownOption,
    /// A program the command model does not know, under a rule that does
    /// not name it.
    UnknownProgram,
}

impl Construct {
    /// Whether it is a construct of the shell's syntax (found by the
    /// parser) rather than an effect the command model or path model found.
    pub fn is_syntax(self) -> bool {
        !matches!(
            self,
            Construct::RedirectOutsideCwd
                | Construct::ProtectedPath
                | Construct::WriteOutsideWorkspace
                | Construct::RunsCode
                | Construct::Network
                | Construct::OtherProcess
                | Construct::UnknownOption
                | Construct::UnknownProgram
        )
    }

    /// Every construct, for documentation and reports.
    pub const ALL: [Construct; 22] = [
        Construct::CommandSubstitution,
        Construct::ProcessSubstitution,
        Construct::Eval,
        Construct::Source,
        Construct::Exec,
        Construct::Xargs,
        Construct::InlineCode,
        Construct::DynamicCommand,
        Construct::Heredoc,
        Construct::FunctionDefinition,
        Construct::Alias,
        Construct::RedirectOutsideCwd,
        Construct::EnvOverride,
        Construct::Evaluation,
        Construct::BraceExpansion,
        Construct::ProtectedPath,
        Construct::WriteOutsideWorkspace,
        Construct::RunsCode,
        Construct::Network,
        Construct::OtherProcess,
        Construct::UnknownOption,
        Construct::UnknownProgram,
    ];

    /// The kebab-case name used in `allow_constructs`.
    pub fn name(self) -> &'static str {
        match self {
            Construct::CommandSubstitution => "command-substitution",
            Construct::ProcessSubstitution => "process-substitution",
            Construct::Eval => "eval",
            Construct::Source => "source",
            Construct::Exec => "exec",
            Construct::Xargs => "xargs",
            Construct::InlineCode => "inline-code",
            Construct::DynamicCommand => "dynamic-command",
            Construct::Heredoc => "heredoc",
            Construct::FunctionDefinition => "function-definition",
            Construct::Alias => "alias",
            Construct::RedirectOutsideCwd => "redirect-outside-cwd",
            Construct::EnvOverride => "env-override",
            Construct::Evaluation => "indirect-evaluation",
            Construct::BraceExpansion => "brace-expansion",
            Construct::ProtectedPath => "protected-path",
            Construct::WriteOutsideWorkspace => "write-outside-workspace",
            Construct::RunsCode => "runs-code",
            Construct::Network => "network",
            Construct::OtherProcess => "other-process",
            Construct::UnknownOption => "unknown-option",
            Construct::UnknownProgram => "unknown-program",
        }
    }

    /// What it is, in words, for reasons.
    pub fn describe(self) -> &'static str {
        match self {
            Construct::CommandSubstitution => "command substitution $(...)",
            Construct::ProcessSubstitution => "process substitution <(...)",
            Construct::Eval => "eval",
            Construct::Source => "source",
            Construct::Exec => "exec",
            Construct::Xargs => "xargs",
            Construct::InlineCode => "inline code",
            Construct::DynamicCommand => "a computed command name",
            Construct::Heredoc => "a here-document",
            Construct::FunctionDefinition => "a function definition",
            Construct::Alias => "alias",
            Construct::RedirectOutsideCwd => "a write outside the working directory",
            Construct::EnvOverride => "an assignment that changes what runs",
            Construct::Evaluation => "a variable's text evaluated as code",
            Construct::BraceExpansion => "brace expansion",
            Construct::ProtectedPath => "a write to a protected path",
            Construct::WriteOutsideWorkspace => "a write outside the workspace",
            Construct::RunsCode => "code it runs",
            Construct::Network => "network use",
            Construct::OtherProcess => "acting on another process",
            Construct::UnknownOption => "an option the command model does not know",
            Construct::UnknownProgram => "a program the command model does not know",
        }
    }
}

/// One word of a command, after quote removal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Word {
    /// The word with quotes and backslashes removed; expansions (`$HOME`,
    /// `${X}`, `~`, `$(..)`) are kept as written.
    pub text: String,
    /// True when the word has no expansion: its text is exactly what the
    /// command receives (glob characters aside).
    pub literal: bool,
}

/// The operator of a redirection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RedirectOp {
    /// `<`
    Read,
    /// `>`
    Write,
    /// `>>`
    Append,
    /// `<>`
    ReadWrite,
    /// `>|`
    Clobber,
    /// `<&`
    DupInput,
    /// `>&`
    DupOutput,
    /// `&>`
    OutputAndError,
    /// `&>>`
    AppendOutputAndError,
    /// `<<<`
    HereString,
    /// `<<` (the target is the delimiter)
    HereDoc,
}

impl RedirectOp {
    /// The operator as written.
    pub fn as_str(self) -> &'static str {
        match self {
            RedirectOp::Read => "<",
            RedirectOp::Write => ">",
            RedirectOp::Append => ">>",
            RedirectOp::ReadWrite => "<>",
            RedirectOp::Clobber => ">|",
            RedirectOp::DupInput => "<&",
            RedirectOp::DupOutput => ">&",
            RedirectOp::OutputAndError => "&>",
            RedirectOp::AppendOutputAndError => "&>>",
            RedirectOp::HereString => "<<<",
            RedirectOp::HereDoc => "<<",
        }
    }

    /// Whether the target is a file that may be created or changed.
    pub fn writes(self) -> bool {
        matches!(
            self,
            RedirectOp::Write
                | RedirectOp::Append
                | RedirectOp::ReadWrite
                | RedirectOp::Clobber
                | RedirectOp::OutputAndError
                | RedirectOp::AppendOutputAndError
        )
    }
}

/// One redirection of a simple command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redirect {
    /// The file descriptor written before the operator (`2>`).
    pub fd: Option<i32>,
    /// The operator.
    pub op: RedirectOp,
    /// The target, unquoted. For `>&`/`<&` a descriptor such as `1` or `-`
    /// (or a file name).
    pub target: Word,
}

impl Redirect {
    /// Canonical text: `> hello.txt`, `2>&1`, `<<< text`.
    pub fn canonical(&self) -> String {
        let fd = self.fd.map(|f| f.to_string()).unwrap_or_default();
        match self.op {
            RedirectOp::DupInput | RedirectOp::DupOutput => {
                format!("{fd}{}{}", self.op.as_str(), self.target.text)
            }
            op => format!("{fd}{} {}", op.as_str(), self.target.text),
        }
    }

    /// Whether the target is a file this redirection may write (not a
    /// descriptor duplication or a close).
    pub fn writes_file(&self) -> bool {
        match self.op {
            RedirectOp::DupOutput | RedirectOp::DupInput => {
                // `>&file` is bash for `&> file`; a number or `-` is a descriptor.
                let t = self.target.text.trim_end_matches('-');
                self.op == RedirectOp::DupOutput
                    && !(t.is_empty() || t.chars().all(|c| c.is_ascii_digit()))
            }
            op => op.writes(),
        }
    }
}

/// One simple command: assignments, words and redirections.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimpleCommand {
    /// `NAME=value` prefixes, unquoted.
    pub assignments: Vec<String>,
    /// The command name and its arguments, unquoted.
    pub argv: Vec<Word>,
    /// Redirections in the order written.
    pub redirects: Vec<Redirect>,
    /// How deep inside substitutions or `sh -c` strings it is (0: top level).
    pub depth: usize,
}

impl SimpleCommand {
    /// Canonical text, matched by `subject` globs: the unquoted words joined
    /// by single spaces, then each redirection (`echo hello > hello.txt`).
    /// Assignment prefixes are not part of it (those that change what runs
    /// are reported as [`Construct::EnvOverride`]).
    pub fn canonical(&self) -> String {
        let mut parts: Vec<String> = self.argv.iter().map(|w| w.text.clone()).collect();
        parts.extend(self.redirects.iter().map(Redirect::canonical));
        parts.join(" ")
    }

    /// The argument texts.
    pub fn words(&self) -> Vec<&str> {
        self.argv.iter().map(|w| w.text.as_str()).collect()
    }
}

/// A parsed command line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParsedCommand {
    /// Every simple command, in source order (nested ones after the command
    /// whose words contain them).
    pub simple: Vec<SimpleCommand>,
    /// Constructs found, each with the text that showed it.
    pub constructs: Vec<(Construct, String)>,
    /// Code strings given to interpreters (`python3 -c CODE`), searched by
    /// the dangerous list.
    pub inline_code: Vec<String>,
    /// Command substitutions (`$(..)`, backticks) whose commands were
    /// walked: each inner command is one of `simple` and is judged like any
    /// other, and the words it fills are not literal. Not a construct: a
    /// substitution is as provable as the commands in it.
    pub substitutions: Vec<String>,
    /// Whether the line holds a loop (`for`, `while`, `until`, `select`).
    pub loops: bool,
    /// Words (their unquoted text) holding an expansion outside quotes
    /// (`$X`, `$(..)`): the shell splits its result into several words, so
    /// an option's value may become more options.
    pub split_words: Vec<String>,
}

/// Why a text could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ParseError(pub String);

/// Parses shell text into its simple commands and constructs.
///
/// Errors: the text is not valid shell (unbalanced quotes, a missing `fi`,
/// an unterminated here-document), or it nests deeper than the parser follows.
pub fn parse(text: &str) -> Result<ParsedCommand, ParseError> {
    bounded(text)?;
    // A panic in the parser (a bug of brush-parser's, like the tilde index
    // above) must not take the server with it: it is unparseable text.
    std::panic::catch_unwind(|| {
        let mut out = ParsedCommand::default();
        parse_into(text, 0, &mut out).map(|()| out)
    })
    .unwrap_or_else(|_| Err(ParseError("the shell parser failed on this text".into())))
}

fn options() -> brush_parser::ParserOptions {
    brush_parser::ParserOptions::default()
}

fn parse_into(text: &str, depth: usize, out: &mut ParsedCommand) -> Result<(), ParseError> {
    if depth > MAX_DEPTH {
        return Err(ParseError("nested too deeply".into()));
    }
    let mut parser = brush_parser::Parser::new(std::io::Cursor::new(text), &options());
    let program = parser
        .parse_program()
        .map_err(|e| ParseError(e.to_string()))?;
    let mut w = Walker { out, depth };
    for cc in &program.complete_commands {
        w.list(cc)?;
    }
    Ok(())
}

struct Walker<'o> {
    out: &'o mut ParsedCommand,
    depth: usize,
}

type R = Result<(), ParseError>;

impl Walker<'_> {
    fn construct(&mut self, c: Construct, text: impl Into<String>) {
        self.out.constructs.push((c, text.into()));
    }

    fn list(&mut self, l: &ast::CompoundList) -> R {
        for item in &l.0 {
            self.and_or(&item.0)?;
        }
        Ok(())
    }

    fn and_or(&mut self, a: &ast::AndOrList) -> R {
        self.pipeline(&a.first)?;
        for more in &a.additional {
            match more {
                ast::AndOr::And(p) | ast::AndOr::Or(p) => self.pipeline(p)?,
            }
        }
        Ok(())
    }

    fn pipeline(&mut self, p: &ast::Pipeline) -> R {
        for c in &p.seq {
            self.command(c)?;
        }
        Ok(())
    }

    fn command(&mut self, c: &ast::Command) -> R {
        match c {
            ast::Command::Simple(s) => self.simple(s),
            ast::Command::Compound(cc, redirects) => {
                self.compound(cc)?;
                self.redirect_list(redirects.as_ref())
            }
            ast::Command::Function(f) => {
                self.construct(
                    Construct::FunctionDefinition,
                    format!("{}()", f.fname.value),
                );
                // The body is walked too, so a deny rule or the dangerous
                // list still sees what it would run.
                self.compound(&f.body.0)?;
                self.redirect_list(f.body.1.as_ref())
            }
            ast::Command::ExtendedTest(t, redirects) => {
                self.test_expr(&t.expr)?;
                self.redirect_list(redirects.as_ref())
            }
        }
    }

    fn test_expr(&mut self, e: &ast::ExtendedTestExpr) -> R {
        match e {
            ast::ExtendedTestExpr::And(a, b) | ast::ExtendedTestExpr::Or(a, b) => {
                self.test_expr(a)?;
                self.test_expr(b)
            }
            ast::ExtendedTestExpr::Not(a) | ast::ExtendedTestExpr::Parenthesized(a) => {
                self.test_expr(a)
            }
            ast::ExtendedTestExpr::UnaryTest(op, w) => {
                // `-v 'a[$(cmd)]'` evaluates the subscript.
                if matches!(
                    op,
                    ast::UnaryPredicate::ShellVariableIsSetAndAssigned
                        | ast::UnaryPredicate::ShellVariableIsSetAndNameRef
                ) {
                    self.construct(Construct::Evaluation, format!("[[ -v {} ]]", w.value));
                }
                self.word(&w.value).map(|_| ())
            }
            ast::ExtendedTestExpr::BinaryTest(op, a, b) => {
                // Arithmetic comparisons evaluate their operands as
                // expressions, variables' values included.
                if matches!(
                    op,
                    ast::BinaryPredicate::ArithmeticEqualTo
                        | ast::BinaryPredicate::ArithmeticNotEqualTo
                        | ast::BinaryPredicate::ArithmeticLessThan
                        | ast::BinaryPredicate::ArithmeticLessThanOrEqualTo
                        | ast::BinaryPredicate::ArithmeticGreaterThan
                        | ast::BinaryPredicate::ArithmeticGreaterThanOrEqualTo
                ) && [&a.value, &b.value].iter().any(|v| !is_number(v))
                {
                    self.construct(
                        Construct::Evaluation,
                        format!("[[ {} .. {} ]]", a.value, b.value),
                    );
                }
                self.word(&a.value)?;
                self.word(&b.value).map(|_| ())
            }
        }
    }

    fn redirect_list(&mut self, r: Option<&ast::RedirectList>) -> R {
        // Redirections of a compound command (`{ ..; } > f`) belong to no
        // simple command; they are kept as a command with no words so the
        // redirect checks still see them.
        if let Some(r) = r {
            let mut redirects = Vec::new();
            for io in &r.0 {
                if let Some(x) = self.redirect(io)? {
                    redirects.push(x);
                }
            }
            if !redirects.is_empty() {
                self.out.simple.push(SimpleCommand {
                    assignments: Vec::new(),
                    argv: Vec::new(),
                    redirects,
                    depth: self.depth,
                });
            }
        }
        Ok(())
    }

    /// An array subscript bash evaluates as arithmetic: its substitutions
    /// run (and are walked, so deny rules see them); names are evaluated.
    fn subscript(&mut self, text: &str) -> R {
        if text.contains("$(") || text.contains('`') {
            self.construct(Construct::CommandSubstitution, format!("[{text}]"));
            self.word(text)?;
        }
        if !is_number(text) && !matches!(text, "@" | "*") {
            self.construct(Construct::Evaluation, format!("[{text}]"));
        }
        Ok(())
    }

    fn arith(&mut self, text: &str) -> R {
        // Arithmetic may hold `$(..)`; anything that looks like it is
        // reported rather than parsed.
        if text.contains("$(") || text.contains('`') {
            self.construct(Construct::CommandSubstitution, format!("$(( {text} ))"));
        }
        // A name in arithmetic is evaluated, and its value with it.
        if text
            .chars()
            .any(|c| c.is_ascii_alphabetic() || c == '_' || c == '$')
        {
            self.construct(Construct::Evaluation, format!("$(( {text} ))"));
        }
        Ok(())
    }

    fn compound(&mut self, c: &ast::CompoundCommand) -> R {
        match c {
            ast::CompoundCommand::Arithmetic(a) => self.arith(&a.expr.value),
            ast::CompoundCommand::ArithmeticForClause(f) => {
                self.out.loops = true;
                for e in [&f.initializer, &f.condition, &f.updater]
                    .into_iter()
                    .flatten()
                {
                    self.arith(&e.value)?;
                }
                self.list(&f.body.list)
            }
            ast::CompoundCommand::BraceGroup(b) => self.list(&b.list),
            ast::CompoundCommand::Subshell(s) => self.list(&s.list),
            ast::CompoundCommand::ForClause(f) => {
                self.out.loops = true;
                // `for PATH in .; do ls; done` sets PATH for the body.
                if changes_what_runs(&f.variable_name) {
                    self.construct(
                        Construct::EnvOverride,
                        format!("for {} in ...", f.variable_name),
                    );
                }
                for v in f.values.iter().flatten() {
                    self.word(&v.value)?;
                }
                self.list(&f.body.list)
            }
            ast::CompoundCommand::CaseClause(c) => {
                self.word(&c.value.value)?;
                for item in &c.cases {
                    for p in &item.patterns {
                        self.word(&p.value)?;
                    }
                    if let Some(cmd) = &item.cmd {
                        self.list(cmd)?;
                    }
                }
                Ok(())
            }
            ast::CompoundCommand::IfClause(i) => {
                self.list(&i.condition)?;
                self.list(&i.then)?;
                for e in i.elses.iter().flatten() {
                    if let Some(c) = &e.condition {
                        self.list(c)?;
                    }
                    self.list(&e.body)?;
                }
                Ok(())
            }
            ast::CompoundCommand::WhileClause(w) | ast::CompoundCommand::UntilClause(w) => {
                self.out.loops = true;
                self.list(&w.0)?;
                self.list(&w.1.list)
            }
            ast::CompoundCommand::Coprocess(c) => {
                // `coproc NAME` sets the array NAME (and NAME_PID).
                if let Some(n) = &c.name
                    && changes_what_runs(&n.value)
                {
                    self.construct(Construct::EnvOverride, format!("coproc {}", n.value));
                }
                self.command(&c.body)
            }
        }
    }

    fn process_substitution(
        &mut self,
        kind: &ast::ProcessSubstitutionKind,
        s: &ast::SubshellCommand,
    ) -> R {
        self.construct(
            Construct::ProcessSubstitution,
            format!("{kind}({})", s.list),
        );
        self.depth += 1;
        let r = self.list(&s.list);
        self.depth -= 1;
        r
    }

    fn simple(&mut self, s: &ast::SimpleCommand) -> R {
        let mut cmd = SimpleCommand {
            assignments: Vec::new(),
            argv: Vec::new(),
            redirects: Vec::new(),
            depth: self.depth,
        };
        let items = s
            .prefix
            .iter()
            .flat_map(|p| p.0.iter())
            .map(Some)
            .chain(std::iter::once(None))
            .chain(s.suffix.iter().flat_map(|p| p.0.iter()).map(Some));
        for item in items {
            match item {
                // The command name sits between prefix and suffix.
                None => {
                    if let Some(w) = &s.word_or_name {
                        let word = self.word(&w.value)?;
                        cmd.argv.push(word);
                    }
                }
                Some(ast::CommandPrefixOrSuffixItem::Word(w)) => {
                    let word = self.word(&w.value)?;
                    cmd.argv.push(word);
                }
                Some(ast::CommandPrefixOrSuffixItem::IoRedirect(io)) => {
                    if let Some(r) = self.redirect(io)? {
                        cmd.redirects.push(r);
                    }
                }
                Some(ast::CommandPrefixOrSuffixItem::AssignmentWord(a, w)) => {
                    let (text, literal) = self.assignment(a, w)?;
                    if cmd.argv.is_empty() {
                        cmd.assignments.push(text);
                    } else {
                        // `declare X=1`, `export X=$(..)`: an argument.
                        cmd.argv.push(Word { text, literal });
                    }
                }
                Some(ast::CommandPrefixOrSuffixItem::ProcessSubstitution(kind, sub)) => {
                    self.process_substitution(kind, sub)?;
                    cmd.argv.push(Word {
                        text: format!("{kind}({})", sub.list),
                        literal: false,
                    });
                }
            }
        }
        if cmd.argv.is_empty() {
            // A bare assignment changes the environment of every later
            // command when the variable is exported (`HOME=/x; git status`:
            // HOME is; `set -a` is code); and some names steer the shell
            // itself (`CDPATH`, zsh's `path` and `cdpath`).
            for a in &cmd.assignments {
                let name = a.split(['=', '[', '+']).next().unwrap_or("");
                if changes_what_runs(name) {
                    self.construct(Construct::EnvOverride, a.clone());
                }
            }
        }
        self.classify(&cmd)?;
        // A bare assignment runs nothing; it is kept only when it has
        // redirections (`X=1 > f` creates f).
        if !cmd.argv.is_empty() || !cmd.redirects.is_empty() {
            self.out.simple.push(cmd);
        }
        Ok(())
    }

    /// An assignment's text (`NAME=value`, unquoted) and whether its value
    /// is literal.
    fn assignment(
        &mut self,
        a: &ast::Assignment,
        raw: &ast::Word,
    ) -> Result<(String, bool), ParseError> {
        let mut literal = true;
        let name = match &a.name {
            ast::AssignmentName::VariableName(n) => n.clone(),
            ast::AssignmentName::ArrayElementName(n, i) => {
                // `a[$(cmd)]=1`: bash evaluates the subscript as arithmetic,
                // running its substitutions.
                self.subscript(i)?;
                literal = false;
                format!("{n}[{i}]")
            }
        };
        if sensitive_var(&name) {
            self.construct(Construct::EnvOverride, raw.value.clone());
        }
        let value = match &a.value {
            ast::AssignmentValue::Scalar(w) => {
                let w = self.word(&w.value)?;
                literal &= w.literal;
                w.text
            }
            ast::AssignmentValue::Array(items) => {
                literal = false;
                let mut parts = Vec::new();
                for (k, v) in items {
                    if let Some(k) = k {
                        self.word(&k.value)?;
                    }
                    parts.push(self.word(&v.value)?.text);
                }
                format!("({})", parts.join(" "))
            }
        };
        let op = if a.append { "+=" } else { "=" };
        Ok((format!("{name}{op}{value}"), literal))
    }

    fn redirect(&mut self, io: &ast::IoRedirect) -> Result<Option<Redirect>, ParseError> {
        use ast::IoFileRedirectKind as K;
        Ok(Some(match io {
            ast::IoRedirect::File(fd, kind, target) => {
                let op = match kind {
                    K::Read => RedirectOp::Read,
                    K::Write => RedirectOp::Write,
                    K::Append => RedirectOp::Append,
                    K::ReadAndWrite => RedirectOp::ReadWrite,
                    K::Clobber => RedirectOp::Clobber,
                    K::DuplicateInput => RedirectOp::DupInput,
                    K::DuplicateOutput => RedirectOp::DupOutput,
                };
                let target = match target {
                    ast::IoFileRedirectTarget::Filename(w)
                    | ast::IoFileRedirectTarget::Duplicate(w) => self.word(&w.value)?,
                    ast::IoFileRedirectTarget::Fd(n) => Word {
                        text: n.to_string(),
                        literal: true,
                    },
                    ast::IoFileRedirectTarget::ProcessSubstitution(kind, sub) => {
                        self.process_substitution(kind, sub)?;
                        Word {
                            text: format!("{kind}({})", sub.list),
                            literal: false,
                        }
                    }
                };
                self.socket_check(&target);
                Redirect {
                    fd: *fd,
                    op,
                    target,
                }
            }
            ast::IoRedirect::HereDocument(fd, doc) => {
                // A quoted delimiter (`<<'EOF'`) feeds the text as it is:
                // data, like a file (an interpreter reading it is
                // inline-code). An unquoted one expands the body.
                if doc.requires_expansion {
                    self.construct(
                        Construct::Heredoc,
                        format!("<<{}", doc.here_end.value.trim_end()),
                    );
                    self.heredoc_body(&doc.doc.value)?;
                }
                Redirect {
                    fd: *fd,
                    op: RedirectOp::HereDoc,
                    target: Word {
                        text: doc.here_end.value.trim().to_string(),
                        literal: true,
                    },
                }
            }
            ast::IoRedirect::HereString(fd, w) => Redirect {
                fd: *fd,
                op: RedirectOp::HereString,
                target: self.word(&w.value)?,
            },
            ast::IoRedirect::OutputAndError(w, append) => {
                let target = self.word(&w.value)?;
                self.socket_check(&target);
                Redirect {
                    fd: None,
                    op: if *append {
                        RedirectOp::AppendOutputAndError
                    } else {
                        RedirectOp::OutputAndError
                    },
                    target,
                }
            }
        }))
    }

    /// A redirection to or from bash's `/dev/tcp/HOST/PORT` or
    /// `/dev/udp/..` opens a socket, whichever way it points: one opened to
    /// read (`3</dev/tcp/h/80`) can be written through (`>&3`). A target
    /// whose text corral cannot read may be one.
    fn socket_check(&mut self, target: &Word) {
        // zsh reads `>!`, `>>!` and `&>!` as a clobbering redirection to the
        // next word, which bash reads as an argument: the file written is
        // not the one bash's grammar names.
        if target.text.starts_with('!') {
            self.construct(
                Construct::Evaluation,
                format!("zsh's >! redirection: {}", target.text),
            );
        }
        let mut t = target.text.clone();
        while t.contains("//") {
            t = t.replace("//", "/");
        }
        if t.starts_with("/dev/tcp/") || t.starts_with("/dev/udp/") {
            self.construct(Construct::Network, format!("a socket: {}", target.text));
        } else if !target.literal && !t.contains("<(") && !t.contains(">(") {
            self.construct(
                Construct::Network,
                format!(
                    "a redirection to a name corral cannot read (a socket?): {}",
                    target.text
                ),
            );
        }
    }

    fn heredoc_body(&mut self, body: &str) -> R {
        let pieces = brush_parser::word::parse_heredoc(body, &options())
            .map_err(|e| ParseError(format!("here-document: {e}")))?;
        let mut ignored = Acc::default();
        self.pieces(body, &pieces, false, &mut ignored)
    }

    /// Unquotes one raw word, recording the constructs inside it and
    /// walking its command substitutions.
    fn word(&mut self, raw: &str) -> Result<Word, ParseError> {
        let pieces = brush_parser::word::parse(raw, &options())
            .map_err(|e| ParseError(format!("word {raw:?}: {e}")))?;
        let mut acc = Acc {
            text: String::new(),
            literal: true,
            expandable: String::new(),
            splits: false,
        };
        self.pieces(raw, &pieces, false, &mut acc)?;
        // zsh expands a word `=NAME` to the path of program NAME (`> =cargo`
        // writes over cargo itself).
        if let Some(WordPiece::Text(t)) = pieces.first().map(|p| &p.piece)
            && t.starts_with('=')
            && t[1..].starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_' || c == '.')
        {
            self.construct(Construct::Evaluation, raw.to_string());
            acc.literal = false;
        }
        // An expansion the parser left as text (zsh's `${~x}` and
        // `${(e)x}`, bash 5.3's `${ cmd; }`): the shell expands it in ways
        // corral does not read.
        if ["${", "$(", "`"].iter().any(|p| acc.expandable.contains(p)) {
            self.construct(Construct::Evaluation, raw.to_string());
            acc.literal = false;
        }
        if acc.splits {
            self.out.split_words.push(acc.text.clone());
        }
        // `{build,"/home"}`: a quoted part does not stop the expansion.
        let skeleton: String = pieces
            .iter()
            .map(|p| match &p.piece {
                WordPiece::Text(t) => t.clone(),
                _ => "Q".into(),
            })
            .collect();
        if pieces.len() > 1 && looks_like_brace_expansion(&skeleton) {
            self.construct(Construct::BraceExpansion, raw.to_string());
        }
        Ok(Word {
            text: acc.text,
            literal: acc.literal,
        })
    }

    fn pieces(
        &mut self,
        raw: &str,
        pieces: &[WordPieceWithSource],
        quoted: bool,
        acc: &mut Acc,
    ) -> R {
        for p in pieces {
            let src = raw.get(p.start_index..p.end_index).unwrap_or_default();
            match &p.piece {
                WordPiece::Text(t) => {
                    if !quoted && looks_like_brace_expansion(t) {
                        self.construct(Construct::BraceExpansion, raw.to_string());
                    }
                    // zsh's glob qualifiers run code (`*(e:cmd:)`, `*(+fn)`)
                    // and bash's extended globs change what a word matches.
                    if !quoted && t.contains('(') {
                        self.construct(Construct::Evaluation, raw.to_string());
                    }
                    acc.expandable.push_str(t);
                    acc.text.push_str(t);
                }
                WordPiece::SingleQuotedText(t) => acc.text.push_str(t),
                WordPiece::AnsiCQuotedText(t) => acc.text.push_str(&ansi_c(t).map_err(ParseError)?),
                WordPiece::DoubleQuotedSequence(inner)
                | WordPiece::GettextDoubleQuotedSequence(inner) => {
                    self.pieces(raw, inner, true, acc)?;
                }
                WordPiece::TildeExpansion(_) => {
                    acc.text.push_str(src);
                    acc.literal = false;
                }
                WordPiece::ParameterExpansion(_) => {
                    acc.splits |= !quoted;
                    // The words inside `${..}` are not walked: anything that
                    // can run or evaluate code there is reported instead
                    // (also bash 5.3's `${ cmd; }` and `${| cmd; }`).
                    if src.contains("$(")
                        || src.contains('`')
                        || src.contains("<(")
                        || ["${ ", "${\t", "${\n", "${|"]
                            .iter()
                            .any(|p| src.starts_with(p))
                    {
                        self.construct(Construct::CommandSubstitution, src.to_string());
                    }
                    if evaluating_expansion(src) {
                        self.construct(Construct::Evaluation, src.to_string());
                    }
                    // `${NAME:=value}` / `${NAME=value}` assign NAME.
                    if let Some(inner) = src.strip_prefix("${") {
                        let var: String = inner
                            .chars()
                            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                            .collect();
                        let rest = &inner[var.len()..];
                        if (rest.starts_with(":=") || rest.starts_with('='))
                            && changes_what_runs(&var)
                        {
                            self.construct(Construct::EnvOverride, src.to_string());
                        }
                    }
                    acc.text.push_str(src);
                    acc.literal = false;
                }
                WordPiece::CommandSubstitution(inner)
                | WordPiece::BackquotedCommandSubstitution(inner) => {
                    acc.splits |= !quoted;
                    self.out.substitutions.push(src.to_string());
                    parse_into(inner, self.depth + 1, self.out)?;
                    acc.text.push_str(src);
                    acc.literal = false;
                }
                WordPiece::EscapeSequence(e) => {
                    let c = e.strip_prefix('\\').unwrap_or(e);
                    if quoted && !matches!(c, "$" | "`" | "\"" | "\\" | "\n") {
                        // Inside double quotes a backslash before other
                        // characters stays.
                        acc.text.push_str(e);
                    } else if c != "\n" {
                        acc.text.push_str(c);
                    }
                }
                WordPiece::ArithmeticExpression(e) => {
                    self.arith(&e.value)?;
                    acc.text.push_str(src);
                    acc.literal = false;
                }
            }
        }
        Ok(())
    }

    /// Records the constructs a command is by its name: `eval`, `source`,
    /// interpreters with inline code, a computed command name ...; and
    /// parses the code of `sh -c CODE` and `eval CODE` as shell.
    fn classify(&mut self, cmd: &SimpleCommand) -> R {
        // `{NAME}>file` (the parser keeps `{NAME}` as a word): bash stores
        // the new descriptor's number in NAME (`{HOME}>/dev/null`).
        for w in &cmd.argv {
            if let Some(var) = w.text.strip_prefix('{').and_then(|t| t.strip_suffix('}'))
                && !var.is_empty()
                && var.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                && changes_what_runs(var)
            {
                self.construct(Construct::EnvOverride, w.text.clone());
            }
        }
        let Some(first) = cmd.argv.first() else {
            return Ok(());
        };
        if !first.literal || first.text != "[" && first.text.contains(['*', '?', '[']) {
            self.construct(Construct::DynamicCommand, cmd.canonical());
        }
        // An assignment before a command is its environment: only the safe
        // list passes (`HOME=. git status` runs the project's fsmonitor).
        for a in &cmd.assignments {
            let name = a.split(['=', '[']).next().unwrap_or("");
            if !safe_env(name) {
                self.construct(Construct::EnvOverride, a.clone());
            }
        }
        for layer in layers(&cmd.argv) {
            let Some(name) = layer.first().map(|w| basename(&w.text)) else {
                continue;
            };
            // `env NAME=VALUE cmd`, quoted or not: the same.
            if name == "env" {
                for w in &layer[1..] {
                    if w.text.starts_with('-') {
                        continue;
                    }
                    let Some((var, _)) = w.text.split_once('=') else {
                        break;
                    };
                    // (A value's substitutions are constructs of their own.)
                    if !safe_env(var) {
                        self.construct(Construct::EnvOverride, w.text.clone());
                    }
                }
            }
            let text = || {
                layer
                    .iter()
                    .map(|w| w.text.as_str())
                    .collect::<Vec<_>>()
                    .join(" ")
            };
            match name {
                "eval" | "trap" => {
                    self.construct(Construct::Eval, text());
                    let code: Vec<&str> = match name {
                        "trap" => layer.get(1).map(|w| w.text.as_str()).into_iter().collect(),
                        _ => layer[1..].iter().map(|w| w.text.as_str()).collect(),
                    };
                    self.nested_shell(&code.join(" "))?;
                }
                // `source FILE` runs FILE in this shell: what it defines
                // (aliases, functions, traps) changes every later command.
                "source" | "." => self.construct(Construct::Source, text()),
                // Builtins that run a command or load code by option.
                "mapfile" | "readarray" | "compgen" | "complete" | "bind" | "enable" | "fc"
                    if layer[1..].iter().any(|w| {
                        let t = w.text.as_str();
                        t.starts_with('-')
                            && !t.starts_with("--")
                            && t[1..].contains(match name {
                                "mapfile" | "readarray" => &['C'][..],
                                "compgen" | "complete" => &['C', 'F'][..],
                                "bind" => &['x'][..],
                                "enable" => &['f'][..],
                                _ => &['e', 's'][..],
                            })
                    }) || name == "fc" =>
                {
                    self.construct(Construct::Eval, text());
                }
                "exec" => self.construct(Construct::Exec, text()),
                "xargs" => self.construct(Construct::Xargs, text()),
                // `alias` or `alias -p` only lists.
                "alias" if layer[1..].iter().any(|w| w.text != "-p") => {
                    self.construct(Construct::Alias, text())
                }
                "let" => self.construct(Construct::Evaluation, text()),
                // `unset 'a[$(cmd)]'`, `test -v 'a[$(cmd)]'`: the subscript
                // of a name is evaluated, its substitutions run.
                "unset" | "test" | "[" | "wait" | "getopts"
                    if layer[1..]
                        .iter()
                        .any(|w| w.text.contains('[') && w.text.contains(']')) =>
                {
                    let looks_like_name = layer[1..].iter().any(|w| {
                        w.text.split_once('[').is_some_and(|(n, rest)| {
                            !n.is_empty()
                                && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                                && !is_number(
                                    rest.trim_end_matches([']', '='])
                                        .split(']')
                                        .next()
                                        .unwrap_or(""),
                                )
                        })
                    });
                    if looks_like_name || name == "unset" {
                        self.construct(Construct::Evaluation, text());
                    }
                    if name == "test" || name == "[" {
                        self.test_words(layer);
                    }
                }
                "test" | "[" => self.test_words(layer),
                // `unset PATH` makes bash look command names up in the
                // directory it runs in (bash 5.2): `git` becomes `./git`.
                // Removing any variable that changes what runs is as much
                // an override as setting it (`unset -f` names functions).
                "unset"
                    if !layer[1..].iter().any(|w| w.text == "-f")
                        && layer[1..].iter().any(|w| {
                            !w.literal || (!w.text.starts_with('-') && changes_what_runs(&w.text))
                        }) =>
                {
                    self.construct(Construct::EnvOverride, text());
                }
                // The variable `getopts OPTSTRING NAME` and `wait -p NAME`
                // set.
                "getopts" | "wait" => {
                    let var = if name == "getopts" {
                        layer.get(2)
                    } else {
                        layer
                            .iter()
                            .position(|w| w.text == "-p")
                            .and_then(|i| layer.get(i + 1))
                    };
                    if let Some(w) = var
                        && (!w.literal || w.text.contains('[') || changes_what_runs(&w.text))
                    {
                        self.construct(Construct::EnvOverride, text());
                    }
                }
                // Builtins that set variables by name: a sensitive one
                // changes what runs later (`export "PATH=..."`, `read PATH`).
                "export" | "declare" | "typeset" | "readonly" | "local" | "read" | "printf"
                | "mapfile" | "readarray" => {
                    // `export` (and `declare -x`, `typeset -fx`) hands the
                    // variable or function to every later command: the
                    // safe list, as for an assignment before one.
                    let exports = name == "export"
                        || matches!(name, "declare" | "typeset" | "local" | "readonly")
                            && layer[1..].iter().any(|w| {
                                w.text.starts_with('-')
                                    && !w.text.starts_with("--")
                                    && w.text.contains('x')
                            });
                    let sets_sensitive = layer[1..].iter().any(|w| {
                        let var = w.text.split(['=', '[']).next().unwrap_or("");
                        let exported = exports && !w.text.starts_with(['-', '+']);
                        changes_what_runs(var) || !w.literal || (exported && !safe_env(var))
                    });
                    // `declare -n r=PATH`: a nameref reads and writes the
                    // variable its value names (and `a[$(cmd)]` runs cmd);
                    // `declare -a a='($(cmd))'`: bash reads a quoted value
                    // as an array assignment and expands it.
                    let flags: String = layer[1..]
                        .iter()
                        .filter(|w| w.text.starts_with('-') || w.text.starts_with('+'))
                        .map(|w| w.text.clone())
                        .collect();
                    if matches!(
                        name,
                        "declare" | "typeset" | "local" | "readonly" | "export"
                    ) && (flags.contains('n')
                        || (flags.contains(['a', 'A'])
                            && layer[1..].iter().any(|w| {
                                w.text.split_once('=').is_some_and(|(_, v)| {
                                    v.starts_with('(') || v.contains(['$', '`'])
                                })
                            })))
                    {
                        self.construct(Construct::Evaluation, text());
                    }
                    // `-i` (integer) and an array subscript in a name
                    // (`printf -v 'a[$(id)]'`) evaluate text as arithmetic.
                    let subscript = |w: &Word| {
                        w.text
                            .split('=')
                            .next()
                            .is_some_and(|n| n.contains('[') && !n.starts_with('-'))
                    };
                    let integer = if name == "printf" {
                        // Only `-v NAME` names a variable; the format and
                        // arguments are text (`printf '[server]\n'`).
                        layer
                            .iter()
                            .position(|w| w.text == "-v")
                            .and_then(|i| layer.get(i + 1))
                            .is_some_and(subscript)
                    } else {
                        layer[1..]
                            .iter()
                            .any(|w| w.text.starts_with('-') && w.text.contains('i'))
                            || layer[1..].iter().any(subscript)
                    };
                    if sets_sensitive {
                        self.construct(Construct::EnvOverride, text());
                    }
                    if integer {
                        self.construct(Construct::Evaluation, text());
                    }
                }
                _ => {}
            }
            if !layer.first().is_some_and(|w| w.literal) && layer.len() < cmd.argv.len() {
                self.construct(Construct::DynamicCommand, text());
            }
            if let Some(code) = inline_code(layer) {
                self.construct(Construct::InlineCode, text());
                if let Some(code) = code {
                    if is_shell(name) {
                        self.nested_shell(&code)?;
                    }
                    self.out.inline_code.push(code);
                }
            }
        }
        Ok(())
    }

    /// `test`/`[` operands: `-v NAME` and `-R NAME` evaluate a subscript;
    /// arithmetic comparisons do not in `test` (integers only).
    fn test_words(&mut self, layer: &[Word]) {
        if layer[1..]
            .iter()
            .any(|w| matches!(w.text.as_str(), "-v" | "-R"))
        {
            let t: Vec<&str> = layer.iter().map(|w| w.text.as_str()).collect();
            self.construct(Construct::Evaluation, t.join(" "));
        }
    }

    fn nested_shell(&mut self, code: &str) -> R {
        // Code that does not parse here would fail in the shell too; it is
        // still reported (the construct asks), and the dangerous list
        // searches its text.
        if parse_into(code, self.depth + 1, self.out).is_err() {
            self.out.inline_code.push(code.to_string());
        }
        Ok(())
    }
}

#[derive(Default)]
struct Acc {
    text: String,
    literal: bool,
    /// The unquoted and double-quoted text pieces: where the shell expands.
    expandable: String,
    /// An expansion outside double quotes: its result is split into words.
    splits: bool,
}

/// Variables that change which program runs or what a shell runs first.
const SENSITIVE_VARS: [&str; 18] = [
    "PATH",
    "IFS",
    "BASH_ENV",
    "ENV",
    "SHELLOPTS",
    "BASHOPTS",
    "PS4",
    "PROMPT_COMMAND",
    "PYTHONPATH",
    "PYTHONSTARTUP",
    "PYTHONHOME",
    "NODE_OPTIONS",
    "NODE_PATH",
    "PERL5OPT",
    "PERL5LIB",
    "RUBYOPT",
    "RUBYLIB",
    "EDITOR",
];

fn looks_like_brace_expansion(t: &str) -> bool {
    match (t.find('{'), t.rfind('}')) {
        (Some(a), Some(b)) if a < b => {
            let inner = &t[a + 1..b];
            inner.contains(',') || inner.contains("..")
        }
        _ => false,
    }
}

/// The text of an ANSI-C quoted word (`$'..'`) as bash 5 decodes it.
///
/// Errors (the word is not read, so the command is asked): escapes whose
/// meaning differs between shells and versions or that corral does not
/// decode (`\x{..}`, bash 5.2's braced hex; `\cX` control characters), and
/// any escape that decodes to NUL (bash ends the word there: `$'..\0'` is
/// `..`), so a word never reads as a harmless name while the shell uses
/// another.
fn ansi_c(s: &str) -> Result<String, String> {
    let mut out = String::new();
    let mut it = s.chars().peekable();
    while let Some(c) = it.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let Some(e) = it.next() else {
            out.push('\\');
            break;
        };
        if (e == 'x' && it.peek() == Some(&'{')) || e == 'c' {
            return Err(format!("the escape \\{e} in $'{s}' is not read"));
        }
        let mut bad = false;
        let mut number = |radix: u32, max: usize, first: Option<char>| {
            let mut digits: String = first.into_iter().collect();
            while digits.len() < max {
                match it.peek() {
                    Some(d) if d.is_digit(radix) => {
                        digits.push(*d);
                        it.next();
                    }
                    _ => break,
                }
            }
            if digits.is_empty() {
                return None;
            }
            let n = u32::from_str_radix(&digits, radix)
                .ok()
                .and_then(char::from_u32);
            bad |= n.is_none();
            n
        };
        let decoded = match e {
            'n' => Some('\n'),
            't' => Some('\t'),
            'r' => Some('\r'),
            'a' => Some('\x07'),
            'b' => Some('\x08'),
            'e' | 'E' => Some('\x1b'),
            'f' => Some('\x0c'),
            'v' => Some('\x0b'),
            '\\' | '\'' | '"' | '?' => Some(e),
            'x' => number(16, 2, None),
            'u' => number(16, 4, None),
            'U' => number(16, 8, None),
            '0'..='7' => number(8, 3, Some(e)),
            _ => None,
        };
        if bad || decoded == Some('\0') {
            return Err(format!("$'{s}' holds a NUL or a character that is not one"));
        }
        match decoded {
            Some(d) => out.push(d),
            None => {
                out.push('\\');
                out.push(e);
            }
        }
    }
    Ok(out)
}

/// Whether a parameter expansion evaluates text as code: prompt and
/// quoting transformations (`${x@P}`), indirection (`${!x}`), a substring
/// or array index that is not a plain number (arithmetic on variables).
fn evaluating_expansion(src: &str) -> bool {
    let Some(inner) = src.strip_prefix("${").and_then(|s| s.strip_suffix('}')) else {
        return false;
    };
    if inner.starts_with('!') || inner.contains('@') && !inner.ends_with("[@]") {
        return true;
    }
    // zsh's flags (`${(e)x}` evaluates), `${~x}` (globs, with qualifiers
    // that run code), `${=x}` and `${^x}`.
    if inner.starts_with(['(', '~', '=', '^']) {
        return true;
    }
    // `${#a[x]}`, the length of an element: its subscript is evaluated too.
    let inner = inner
        .strip_prefix('#')
        .filter(|s| !s.is_empty())
        .unwrap_or(inner);
    let name_end = inner
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(inner.len());
    let rest = &inner[name_end..];
    if let Some(index) = rest.strip_prefix('[') {
        let index = index.split(']').next().unwrap_or("");
        if !matches!(index, "@" | "*") && !is_number(index) {
            return true;
        }
    }
    // `${x:offset:length}`: offsets are arithmetic. `${x:-w}`, `${x:=w}`,
    // `${x:?w}`, `${x:+w}` are not.
    if let Some(off) = rest.strip_prefix(':')
        && !off.starts_with(['-', '=', '?', '+'])
    {
        return off.split(':').any(|p| !is_number(p.trim()));
    }
    false
}

/// A decimal number, possibly negative (`-3`), or empty.
fn is_number(s: &str) -> bool {
    let s = s.trim();
    let s = s.strip_prefix('-').unwrap_or(s);
    s.chars().all(|c| c.is_ascii_digit())
}

/// A variable whose value changes what runs (`PATH`, `LD_PRELOAD`,
/// `BASH_ENV`, `GIT_SSH_COMMAND` ...).
/// Variables an assignment before a command (or to `env`, or `export`)
/// may set without a rule opting in to `env-override`: locale, time zone,
/// terminal and colour switches, CI and log levels. Anything else may
/// change what a program runs (`GIT_*`, `VISUAL`, `RUSTC_WRAPPER`,
/// `GOFLAGS`, `npm_config_*`, `HOME`, `XDG_CONFIG_HOME` ...).
pub const SAFE_ENV: [&str; 24] = [
    "LANG",
    "LANGUAGE",
    "TZ",
    "TERM",
    "COLORTERM",
    "NO_COLOR",
    "FORCE_COLOR",
    "CLICOLOR",
    "CLICOLOR_FORCE",
    "COLUMNS",
    "LINES",
    "CI",
    "RUST_LOG",
    "RUST_BACKTRACE",
    "RUST_LIB_BACKTRACE",
    "LOG_LEVEL",
    "PYTHONUNBUFFERED",
    "PYTHONDONTWRITEBYTECODE",
    "PYTHONIOENCODING",
    "CARGO_TERM_COLOR",
    "NODE_NO_WARNINGS",
    "NODE_ENV",
    "RUST_TEST_THREADS",
    "RUST_TEST_NOCAPTURE",
];

/// Whether `name` is on [`SAFE_ENV`] (or a locale category, `LC_*`).
fn safe_env(name: &str) -> bool {
    SAFE_ENV.contains(&name) || name.starts_with("LC_") && name.len() > 3
}

/// Whether setting shell variable `name` (by any means: an assignment,
/// `declare`, `read`, a `for` loop, `getopts`, `${NAME:=..}`) changes what
/// later commands run or where: exported already (in the environment the
/// agent inherits, as the server's own) and not on the safe list, a
/// sensitive name, a variable that steers the shell (`CDPATH`, `HOME` for
/// `~`), or one of zsh's arrays tied to them.
fn changes_what_runs(name: &str) -> bool {
    let exported = std::env::var_os(name).is_some() && !safe_env(name);
    exported
        || sensitive_var(name)
        || matches!(
            name,
            "CDPATH"
                | "HOME"
                | "path"
                | "cdpath"
                | "fpath"
                | "manpath"
                | "module_path"
                | "mailpath"
                | "GLOBIGNORE"
                | "BASH_XTRACEFD"
                | "HISTFILE"
        )
}

fn sensitive_var(name: &str) -> bool {
    SENSITIVE_VARS.contains(&name)
        || name.starts_with("LD_")
        || name.starts_with("DYLD_")
        || name.starts_with("GIT_")
}

#[cfg(test)]
mod tests;
