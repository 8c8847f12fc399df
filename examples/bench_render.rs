//! Micro-benchmark of one UI frame: the whole screen rendered (sidebar,
//! panes through tui-term) and diffed by ratatui into its test backend, at
//! 200x50: what a keystroke's echo pays before it reaches the terminal.
//! Medians of 2000 frames.
//!
//! usage: cargo run --release --example bench_render

use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use corral::client::app::{App, Msg};
use corral::client::ui::{self, PaneCache, ScreenSource};
use corral::config::Config;
use corral::engine::Engine;
use corral::keymap::Keymap;
use corral::server::SlotIdx;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

struct Screens(Vec<Mutex<Engine>>);

impl ScreenSource for Screens {
    fn with_engine(&self, slot: SlotIdx, f: &mut dyn FnMut(&Engine)) {
        if let Some(e) = self.0.get(slot) {
            f(&e.lock().unwrap_or_else(|p| p.into_inner()));
        }
    }
}

fn frame_us(panes: usize, fill: &[u8]) -> f64 {
    let mut cfg = String::new();
    for i in 0..panes {
        cfg.push_str(&format!("[[slot]]\nid = \"p{i}\"\ncommand = \"sh\"\n"));
    }
    let config = Config::parse(Path::new("b.toml"), &cfg).unwrap_or_else(|e| panic!("{e}"));
    let km = Keymap::default_keymap().unwrap_or_else(|e| panic!("{e}"));
    let t0 = Instant::now();
    let (cols, rows) = (200, 50);
    let mut app = App::new(&config, km, (cols, rows), t0);
    app.update(Msg::Resize(cols, rows), t0);
    let sizes = app.pane_sizes();
    let screens = Screens(
        (0..panes)
            .map(|i| {
                let (r, c) = sizes
                    .iter()
                    .find(|(s, _)| *s == i)
                    .map_or((24, 80), |x| x.1);
                let mut e = Engine::new(r, c, 1000);
                e.process(fill);
                Mutex::new(e)
            })
            .collect(),
    );
    let mut term = Terminal::new(TestBackend::new(cols, rows)).unwrap_or_else(|e| panic!("{e}"));
    let mut cache = PaneCache::default();
    let mut times = Vec::new();
    for i in 0..2000u32 {
        // One new character per frame, as an echo brings.
        if let Some(e) = screens.0.first() {
            let mut e = e.lock().unwrap_or_else(|p| p.into_inner());
            e.process(&[b'a' + (i % 26) as u8]);
        }
        let t = Instant::now();
        let _ = term.draw(|f| ui::draw(f, &app, &screens, &mut cache, t0 + Duration::from_secs(5)));
        times.push(t.elapsed().as_secs_f64() * 1e6);
    }
    times.sort_by(|a, b| a.total_cmp(b));
    times[times.len() / 2]
}

fn main() {
    let mut text = String::new();
    for i in 0..60 {
        text.push_str(&format!(
            "\x1b[3{}m{i:>4}\x1b[0m some output of an agent, a line of ordinary length\r\n",
            i % 8
        ));
    }
    println!("| frame at 200x50 | median µs |");
    println!("| --- | --- |");
    for panes in [1, 4, 9] {
        println!("| {panes} pane(s), empty | {:.0} |", frame_us(panes, b""));
        println!(
            "| {panes} pane(s), full of text | {:.0} |",
            frame_us(panes, text.as_bytes())
        );
    }
}
