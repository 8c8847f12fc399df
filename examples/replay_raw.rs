//! Replays a raw PTY capture (`tests/fixtures/<agent>/*.raw`) through
//! corral's terminal engine and prints the screen with, per row, whether the
//! terminal auto-wrapped it into the next row (`W`: soft wrap, the program
//! wrote past the last column) and which columns are in inverse video.
//!
//! usage: cargo run --example replay_raw -- FILE.raw COLS ROWS

use corral::engine::Engine;
use corral::engine::grid::INVERSE;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [file, cols, rows] = args.as_slice() else {
        eprintln!("usage: replay_raw FILE.raw COLS ROWS");
        std::process::exit(2);
    };
    let raw = std::fs::read(file).unwrap_or_else(|e| panic!("{file}: {e}"));
    let cols: u16 = cols.parse().unwrap_or_else(|e| panic!("cols: {e}"));
    let rows: u16 = rows.parse().unwrap_or_else(|e| panic!("rows: {e}"));
    let mut e = Engine::new(rows, cols, 0);
    e.process(&raw);
    for (i, row) in e.screen().rows().iter().enumerate() {
        let inv: Vec<usize> = row
            .cells()
            .iter()
            .enumerate()
            .filter(|(_, c)| c.has(INVERSE))
            .map(|(i, _)| i)
            .collect();
        let inv = match (inv.first(), inv.last()) {
            (Some(a), Some(b)) => format!("inv {a}-{b}"),
            _ => String::new(),
        };
        println!(
            "{i:2} {} {inv:>10} |{}|",
            if row.wrapped() { 'W' } else { ' ' },
            row.text()
        );
    }
}
