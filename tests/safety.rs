//! Safety invariant 1 (DESIGN.md §4), randomized: thousands of interleavings
//! in which the prompt on screen changes between the moment it is shown and
//! the moment it is answered. Keys are sent only when the dialog on screen is
//! the very one the answer was decided on; never to another prompt.

use std::collections::HashMap;

use corral::detect::{Answer, Prompt, PromptId, ScreenSnapshot, Timing, detect};
use corral::profile::Profiles;
use corral::server::check_answer;

/// xorshift64*: small, deterministic, reproducible from the seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const RULE: &str = "────────────────────────────────────────────────────────────";
const DASH: &str = "╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌";

fn screen(cmd: Option<&str>, cursor_on_no: bool) -> ScreenSnapshot {
    let text = match cmd {
        Some(c) => {
            let opts = if cursor_on_no {
                "   1. Yes\n ❯ 2. No"
            } else {
                " ❯ 1. Yes\n   2. No"
            };
            format!(
                "● Working.\n{RULE}\n Bash command\n{DASH}\n {c}\n{DASH}\n Do you want to proceed?\n{opts}\n\n Esc to cancel · Tab to amend\n"
            )
        }
        None => format!("● Done.\n{RULE}\n❯\u{a0}\n{RULE}\n  ⏸ manual mode on · ? for shortcuts\n"),
    };
    ScreenSnapshot::from_text(&text, 60, "")
}

#[test]
fn answers_reach_only_the_prompt_they_were_decided_on() {
    let profiles = Profiles::builtin().unwrap_or_else(|e| panic!("{e}"));
    let claude = profiles
        .get("claude")
        .unwrap_or_else(|| panic!("no claude"));
    let commands = [
        Some("echo hi"),
        Some("rm -rf build"),
        Some("echo hi > b.txt"),
        None,
    ];
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let (mut sent, mut refused, mut stale_refused) = (0u32, 0u32, 0u32);
    for _round in 0..5000 {
        // The screen, and the session manager's view of it (lagging).
        let mut on_screen = (commands[rng.below(4) as usize], false);
        let mut known: Option<Prompt> = None;
        let mut seq = 0u64;
        let mut answered: Option<PromptId> = None;
        // What the user saw for each prompt id: its dialog hash.
        let mut seen: HashMap<PromptId, u64> = HashMap::new();
        for _step in 0..24 {
            match rng.below(5) {
                // The agent redraws: a new dialog, none, or the cursor moves.
                0 => on_screen = (commands[rng.below(4) as usize], false),
                1 => on_screen.1 = !on_screen.1,
                // The manager detects (as run_detect does).
                2 => {
                    let now = detect(
                        &claude,
                        &screen(on_screen.0, on_screen.1),
                        Timing::default(),
                    )
                    .prompt;
                    match (&known, now) {
                        (None, None) => {}
                        (Some(k), Some(n)) if k.dialog_hash == n.dialog_hash => {}
                        (_, n) => {
                            answered = None;
                            known = n.map(|mut p| {
                                seq += 1;
                                p.identify("s", 1, seq);
                                seen.insert(p.id, p.dialog_hash);
                                p
                            });
                        }
                    }
                }
                // The user (or a policy) answers some prompt it was shown,
                // possibly long ago.
                _ => {
                    if seen.is_empty() {
                        continue;
                    }
                    let ids: Vec<PromptId> = seen.keys().copied().collect();
                    let want = ids[rng.below(ids.len() as u64) as usize];
                    let answer = [Answer::ApproveOnce, Answer::Deny, Answer::Select(1)]
                        [rng.below(3) as usize];
                    // Re-detection at answer time, as the manager does.
                    let current = detect(
                        &claude,
                        &screen(on_screen.0, on_screen.1),
                        Timing::default(),
                    )
                    .prompt;
                    match check_answer(current.as_ref(), known.as_ref(), answered, want, answer) {
                        Ok((p, keys)) => {
                            let cur =
                                current.unwrap_or_else(|| panic!("sent with no prompt on screen"));
                            assert_eq!(p.id, want, "keys sent for a different prompt id");
                            assert_eq!(
                                Some(&cur.dialog_hash),
                                seen.get(&want),
                                "keys sent to a dialog other than the one decided on"
                            );
                            assert!(!keys.is_empty());
                            answered = Some(want);
                            sent += 1;
                        }
                        Err(_) => {
                            refused += 1;
                            if known.as_ref().is_some_and(|k| k.id != want) {
                                stale_refused += 1;
                            }
                        }
                    }
                }
            }
        }
    }
    // The random walk covers both outcomes many times.
    assert!(sent > 1000, "sent {sent}");
    assert!(
        stale_refused > 1000,
        "stale refused {stale_refused} of {refused}"
    );
}
