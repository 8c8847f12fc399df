//! Directories a program rewrites, empties or removes whole (recursive
//! compressors, `venv --clear`, `cargo clean` ...), and the names
//! decompression gives files: the tree's names, not the line's.

use super::*;

/// Suffixes a decompressor removes (gzip 1.12, xz 5.4, bzip2 1.0.8, zstd
/// 1.5.4).
/// Compared without regard to ASCII case, as gzip does; the `.t*` forms
/// (`x.tgz`) become `x.tar`, and a name without its suffix is placed too.
pub const COMPRESSED_SUFFIXES: [&str; 18] = [
    ".gz", "-gz", ".z", "-z", "_z", ".tgz", ".taz", ".xz", ".txz", ".lzma", ".tlz", ".bz2", ".bz",
    ".tbz2", ".tbz", ".zst", ".tzst", ".lz",
];

/// The names decompressing `name` may write: without a suffix of
/// [`COMPRESSED_SUFFIXES`] (any case), and with `.tar` for the `.t*`
/// forms. Empty when no suffix matches.
pub fn decompressed_names(name: &str) -> Vec<String> {
    let lower = name.to_ascii_lowercase();
    COMPRESSED_SUFFIXES
        .iter()
        .filter(|x| lower.ends_with(*x) && lower.len() > x.len())
        .flat_map(|x| {
            let stem = &name[..name.len() - x.len()];
            let tar = x.starts_with(".t") && x.len() > 3;
            std::iter::once(stem.to_string()).chain(tar.then(|| format!("{stem}.tar")))
        })
        .collect()
}

/// Programs that rewrite or remove every file under a directory operand:
/// recursive compressors (also decompressing: the names lose a suffix),
/// `zip -m -r`, `rsync --remove-source-files -r`, `tar --remove-files`.
pub(super) fn tree_writes(name: &str, operands: &[(Word, Vec<Word>)], st: &State, e: &mut Effects) {
    let seen = |names: &[&str]| st.seen.iter().any(|o| names.contains(&o.as_str()));
    let recursive = seen(&[
        "-r",
        "--recursive",
        "-R",
        "--recurse-paths",
        "-a",
        "--archive",
    ]);
    let suffix = st
        .values
        .iter()
        .rev()
        .find(|(o, _)| matches!(o.as_str(), "-S" | "--suffix"))
        .map(|(_, v)| v.clone());
    let (trees, strip): (&[(Word, Vec<Word>)], Vec<String>) = match e.program.as_str() {
        "gzip" | "gunzip" | "zstd" | "unzstd" if recursive => (
            operands,
            COMPRESSED_SUFFIXES
                .iter()
                .map(|x| x.to_string())
                .chain(suffix)
                .collect(),
        ),
        "zip" if seen(&["-m", "--move"]) => {
            if seen(&["-@", "--names-stdin"]) {
                e.unknown
                    .push("zip -m with names from its input (it deletes them)".into());
            }
            (operands.get(1..).unwrap_or_default(), Vec::new())
        }
        "rsync" if seen(&["--remove-source-files"]) => {
            if seen(&["--files-from"]) {
                e.unknown.push(
                    "rsync --remove-source-files with --files-from (it deletes names in a file)"
                        .into(),
                );
            }
            (
                operands
                    .get(..operands.len().saturating_sub(1))
                    .unwrap_or_default(),
                Vec::new(),
            )
        }
        "tar" if seen(&["--remove-files"]) => (operands, Vec::new()),
        // `venv --clear DIR` deletes everything in DIR first (Python 3.11,
        // `EnvBuilder.clear_directory`).
        "venv" if seen(&["--clear"]) => (operands, Vec::new()),
        // `rsync --delete SRC/ DEST/` deletes what DEST holds that SRC
        // does not (rsync 3.2).
        "rsync"
            if seen(&[
                "--delete",
                "--del",
                "--delete-before",
                "--delete-during",
                "--delete-delay",
                "--delete-after",
                "--delete-excluded",
            ]) =>
        {
            (
                operands
                    .get(operands.len().saturating_sub(1)..)
                    .unwrap_or_default(),
                Vec::new(),
            )
        }
        _ => (&operands[..0], Vec::new()),
    };
    // Directories removed whole by name: `cargo clean`'s target directory
    // (cargo 1.95), and `uv venv DIR`, which replaces what DIR holds (uv
    // 0.13; `.venv` by default).
    let fixed = |t: &str| Word {
        text: t.to_string(),
        literal: true,
    };
    // The last value of `opt`, else `default`.
    let last_value = |opt: &str, default: &str| {
        st.values
            .iter()
            .rev()
            .find(|(o, _)| o == opt)
            .map_or_else(|| fixed(default), |(_, v)| fixed(v))
    };
    let removed: Vec<Word> = match name {
        "cargo clean" => vec![last_value("--target-dir", "target")],
        "uv venv" => vec![
            operands
                .first()
                .map_or_else(|| fixed(".venv"), |(w, _)| w.clone()),
        ],
        // cargo vendor empties its directory first (`vendor`); npm ci
        // removes `node_modules` (npm 10); go mod vendor rewrites `vendor`
        // (`-o DIR`; go 1.23).
        "cargo vendor" => vec![
            operands
                .iter()
                .find(|(w, _)| !w.text.starts_with('-'))
                .map_or_else(|| fixed("vendor"), |(w, _)| w.clone()),
        ],
        "npm ci" | "npm clean-install" => vec![fixed("node_modules")],
        "go mod vendor" => vec![last_value("-o", "vendor")],
        _ => Vec::new(),
    };
    for dir in removed {
        // Placed as a write too: one that leads out of the workspace (a
        // link `vendor -> /elsewhere`) asks as such.
        e.writes.push(WritePath {
            path: dir.clone(),
            dirs: e.dirs.clone(),
        });
        e.trees.push(TreeWrite {
            path: WritePath {
                path: dir,
                dirs: e.dirs.clone(),
            },
            strip: Vec::new(),
            spares_git: false,
        });
    }
    // pytest empties its `--basetemp` directory before the run (pytest 8,
    // `TempPathFactory.getbasetemp`: `rm_rf`).
    if matches!(e.program.as_str(), "pytest" | "py.test") {
        for (_, v) in st.values.iter().filter(|(o, _)| o == "--basetemp") {
            e.trees.push(TreeWrite {
                path: WritePath {
                    path: Word {
                        text: v.clone(),
                        literal: true,
                    },
                    dirs: e.dirs.clone(),
                },
                strip: Vec::new(),
                spares_git: false,
            });
        }
    }
    for (w, dirs) in trees {
        e.trees.push(TreeWrite {
            path: WritePath {
                path: w.clone(),
                dirs: dirs.clone(),
            },
            strip: strip.clone(),
            spares_git: false,
        });
    }
}
