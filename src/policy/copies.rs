//! Trees that a copy, move or link puts in place. `cp -r tpl/. .`,
//! `mv t .vscode`, `rsync -a t/ .cargo/` and `ln -s t .vscode` write names
//! that are not on the command line: the source tree's. Each member's new
//! path is checked against the protected list; the tree is the one on disk
//! at decision time plus what the line itself made before the copy. A tree
//! whose members corral cannot know (a clone, an extraction, a word the
//! shell expands, a tree too big to walk) is left to a person.

use std::path::{Path, PathBuf};

use super::model::Effects;
use super::place::{self, Frame, Place};
use super::shell::Word;
use super::{Analysis, Construct, protected, protected_parent};

/// Programs whose writes are files, never directories.
const FILE_WRITERS: [&str; 6] = ["touch", "tee", "truncate", "dd", "sed", "sort"];

/// What one entry a line made before a command is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A file (a redirection's target, `touch`).
    File,
    /// A directory made empty (`mkdir`).
    Dir,
    /// A file or a tree of names corral cannot see: a copy's destination,
    /// a clone, an extraction.
    Opaque,
}

/// The paths a line wrote before the command being judged, absolute, with
/// what each is: a copy of a tree the line makes first (`mkdir t && echo >
/// t/tasks.json && mv t .vscode`) has no members on disk yet.
#[derive(Debug, Default)]
pub(super) struct Made(Vec<(PathBuf, Kind)>);

/// `path` (in `dirs`) as an absolute path, when corral can place it.
fn absolute(frame: &Frame, path: &Word, dirs: &[Word]) -> Option<PathBuf> {
    match frame.place(path, dirs) {
        Place::Inside(rel) => Some(frame.root().join(rel)),
        Place::Outside { abs, .. } => abs,
        Place::Device => None,
    }
}

impl Made {
    /// A redirection's target: a file.
    pub(super) fn redirect(&mut self, frame: &Frame, target: &Word) {
        if let Some(p) = absolute(frame, target, &[]) {
            self.0.push((p, Kind::File));
        }
    }

    /// What one layer of a simple command writes.
    pub(super) fn layer(&mut self, l: &Effects, frame: &Frame) {
        // A copy of plain files makes files; of anything else, a tree.
        let copies_files = !l.moved.is_empty()
            && l.moved.iter().all(|s| {
                frame.starts(&s.path, &s.dirs).is_ok_and(|starts| {
                    starts.iter().all(|p| {
                        std::fs::symlink_metadata(p).is_ok_and(|m| m.is_file())
                            || self.0.iter().any(|(q, k)| q == p && *k == Kind::File)
                    })
                })
            });
        let kind = if l.program == "mkdir" {
            Kind::Dir
        } else if FILE_WRITERS.contains(&l.program.as_str()) || copies_files && l.links.is_empty() {
            Kind::File
        } else {
            Kind::Opaque
        };
        for w in &l.writes {
            if let Some(p) = absolute(frame, &w.path, &w.dirs) {
                self.0.push((p, kind));
            }
        }
        // A move's sources are gone after it (`mv package.json src/`).
        let moves = l.program == "mv" || l.canonical.get(1).is_some_and(|s| s == "mv");
        let gone = l.moved.iter().filter(|_| moves);
        for w in l
            .extracts
            .iter()
            .chain(l.trees.iter().map(|t| &t.path))
            .chain(gone)
        {
            if let Some(p) = absolute(frame, &w.path, &w.dirs) {
                self.0.push((p, Kind::Opaque));
            }
        }
    }

    /// A name the line made earlier in or below `dir` that a glob there
    /// may match and a program read as an option or a response file
    /// (`-Kc`, `--pre=sh`, `@x`), or an entry at, above or under `dir`
    /// filled with names corral cannot see.
    pub(super) fn option_like(&self, dir: &Path) -> Option<String> {
        self.0.iter().find_map(|(p, kind)| {
            if *kind == Kind::Opaque && (p.starts_with(dir) || dir.starts_with(p)) {
                return Some(format!("{} (filled earlier on this line)", p.display()));
            }
            let name = p.file_name()?.to_string_lossy();
            (p.starts_with(dir) && name.starts_with(['-', '@'])).then(|| name.into_owned())
        })
    }

    /// Whether the line wrote at, under or above `dir` before now.
    pub(super) fn touches(&self, dir: &Path) -> bool {
        self.0
            .iter()
            .any(|(p, _)| p.starts_with(dir) || dir.starts_with(p))
    }

    /// The members of `start` this line made (relative to it), or why they
    /// cannot be known: an opaque entry at, above or under it.
    fn members(&self, start: &Path) -> Result<Vec<PathBuf>, String> {
        let mut out = Vec::new();
        for (p, kind) in &self.0 {
            let under = p.strip_prefix(start).ok();
            let above = start.starts_with(p);
            if *kind == Kind::Opaque && (under.is_some() || above) {
                return Err(format!(
                    "{} is filled earlier on this line with names corral cannot see",
                    p.display()
                ));
            }
            if let Some(rel) = under.filter(|r| !r.as_os_str().is_empty()) {
                out.push(rel.to_path_buf());
            }
        }
        Ok(out)
    }
}

/// Checks where a copy, move or link of `l` puts each member of its
/// sources' trees, and whether a link (or a moved link) is named like the
/// directory of a protected entry (`ln -s t .vscode`: `t/tasks.json` is
/// then `.vscode/tasks.json`).
pub(super) fn copy_findings(
    l: &Effects,
    frame: &Frame,
    made: &Made,
    a: &mut Analysis,
    push: &mut impl FnMut(&mut Analysis, Construct, String, String),
) {
    let linking = l.program == "ln";
    let sources = if linking { &l.links } else { &l.moved };
    let mut ask = |a: &mut Analysis, text: String, why: String| {
        a.effects.push(format!("copies {text} ({why})"));
        push(a, Construct::ProtectedPath, text, why);
    };
    for d in &l.copy_dests {
        let Place::Inside(dest) = frame.place(&d.path, &d.dirs) else {
            // Outside: the destination's own write says so.
            continue;
        };
        for s in sources {
            let text = format!("{} {} {}", l.program, s.path.text, d.path.text);
            let starts = match frame.starts(&s.path, &s.dirs) {
                Ok(starts) => starts,
                Err(why) => {
                    ask(
                        a,
                        text,
                        format!("its source's files cannot be known: {why}"),
                    );
                    continue;
                }
            };
            // `t/` and `t/.` copy the contents; `t` may land as DEST/t.
            let contents = s.path.text.ends_with('/') || s.path.text.ends_with("/.");
            for start in starts {
                let base = (!contents)
                    .then(|| start.file_name().map(PathBuf::from))
                    .flatten();
                let placed = |m: &Path| -> Vec<PathBuf> {
                    std::iter::once(dest.join(m))
                        .chain(base.iter().map(|b| dest.join(b).join(m)))
                        .collect()
                };
                let is_link = std::fs::symlink_metadata(&start).is_ok_and(|m| m.is_symlink());
                // A link carried to a new name still leads where it did
                // (`cp -P lnvs vs` with lnvs -> .vscode): a door there.
                if is_link
                    && !linking
                    && let Ok(target) = std::fs::read_link(&start)
                    && let Some(parent) = start.parent()
                {
                    let to = Word {
                        text: parent.join(target).to_string_lossy().into_owned(),
                        literal: true,
                    };
                    if let Place::Inside(rel) = frame.place(&to, &[])
                        && let Some(entry) = protected(&rel).or_else(|| protected_parent(&rel))
                    {
                        ask(
                            a,
                            text.clone(),
                            format!(
                                "a link to {} under a new name (under {entry})",
                                rel.display()
                            ),
                        );
                        continue;
                    }
                }
                if linking || is_link {
                    let named = std::iter::once(dest.clone())
                        .chain(base.iter().map(|b| dest.join(b)))
                        .find_map(|p| protected_parent(&p));
                    if let Some(entry) = named {
                        ask(
                            a,
                            text.clone(),
                            format!(
                                "a link named like the directory of {entry}: what is written to its target becomes {entry}"
                            ),
                        );
                        continue;
                    }
                }
                // A link's target holds its files already: only the name
                // it gives them is new.
                if linking {
                    continue;
                }
                let exists = std::fs::metadata(&start).is_ok();
                // A source nothing has made yet, copied where a protected
                // entry may land: what fills it before the copy runs (a
                // write in parallel) is not seen here.
                if !exists
                    && !made.touches(&start)
                    && let Some(entry) = std::iter::once(dest.clone())
                        .chain(base.iter().map(|b| dest.join(b)))
                        .find_map(|p| {
                            if p.as_os_str().is_empty() {
                                Some("the workspace's top".to_string())
                            } else {
                                protected_parent(&p).map(|e| format!("the directory of {e}"))
                            }
                        })
                {
                    ask(
                        a,
                        text.clone(),
                        format!("its source does not exist yet, and it lands in {entry}"),
                    );
                    continue;
                }
                let found = made.members(&start).and_then(|mut ms| {
                    if exists {
                        ms.extend(place::members(&start)?);
                    }
                    Ok(ms)
                });
                match found {
                    Err(why) => ask(
                        a,
                        text.clone(),
                        format!("its source's files cannot be known: {why}"),
                    ),
                    // Backups rename the destination's files that the
                    // tree's members replace: to names with a suffix, or
                    // under another directory, that corral does not form.
                    Ok(ms) if l.backups && !ms.is_empty() => ask(
                        a,
                        text.clone(),
                        "a tree copied with backups: the old files' new names are not checked"
                            .into(),
                    ),
                    Ok(ms) => {
                        let hit = ms.iter().find_map(|m| {
                            placed(m).into_iter().find_map(|p| {
                                protected(&p)
                                    .map(str::to_string)
                                    .or_else(|| frame.config_code(&p))
                                    .map(|entry| (m.clone(), p, entry))
                            })
                        });
                        if let Some((m, p, entry)) = hit {
                            ask(
                                a,
                                text.clone(),
                                format!(
                                    "it puts {} at {} (under {entry})",
                                    m.display(),
                                    p.display()
                                ),
                            );
                        }
                    }
                }
            }
        }
    }
}
