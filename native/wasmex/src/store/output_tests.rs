//! Unit tests of `store::output` (kept apart from the code).

#![cfg_attr(
    test,
    allow(clippy::unwrap_used, reason = "a failed unwrap fails the test")
)]

use super::*;

#[test]
fn since_gives_what_was_written_after_the_mark() {
    let out = Output::new(Inherit::No, false);
    out.write_bytes(b"before\n");
    let mark = out.mark();
    assert_eq!(out.since(mark), "");
    out.write_bytes(b"after\n");
    assert_eq!(out.since(mark), "after\n");
    assert_eq!(out.since(0), "before\nafter\n");
}

#[test]
fn the_tail_keeps_the_last_bytes_only() {
    let out = Output::new(Inherit::No, false);
    let big: Vec<u8> = (0..3 * TAIL).map(|i| b'a' + (i % 26) as u8).collect();
    out.write_bytes(&big[..TAIL]);
    out.write_bytes(&big[TAIL..]);
    let kept = out.since(0);
    assert_eq!(kept.len(), TAIL);
    assert_eq!(kept.as_bytes(), &big[2 * TAIL..]);
    // A mark inside the dropped part gives the whole tail.
    assert_eq!(out.since(10).len(), TAIL);
}

#[test]
fn lines_are_kept_only_when_logging_and_taken_once() {
    let quiet = Output::new(Inherit::No, false);
    quiet.write_bytes(b"a\nb\n");
    assert!(quiet.take_lines(true).is_empty());

    let log = Output::new(Inherit::No, true);
    log.write_bytes(b"one\ntw");
    assert_eq!(log.take_lines(false), vec!["one".to_string()]);
    log.write_bytes(b"o\nthree");
    assert_eq!(log.take_lines(false), vec!["two".to_string()]);
    assert_eq!(log.take_lines(true), vec!["three".to_string()]);
    assert!(log.take_lines(true).is_empty());
}

#[test]
fn waiting_lines_are_bounded() {
    let log = Output::new(Inherit::No, true);
    let line = vec![b'x'; 1023];
    for _ in 0..(2 * LOG_MAX / 1024) {
        log.write_bytes(&line);
        log.write_bytes(b"\n");
    }
    let lines = log.take_lines(false);
    assert!(lines.len() <= LOG_MAX / 1024);
    assert!(lines.iter().all(|l| l.len() <= 1023));
}
