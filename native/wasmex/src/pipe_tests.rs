//! Unit tests of `pipe` (kept apart from the code).

#![cfg_attr(
    test,
    allow(clippy::unwrap_used, reason = "a failed unwrap fails the test")
)]

use super::*;

/// A simple model of a pipe: one buffer, one cursor.
fn model_write(data: &mut Vec<u8>, pos: &mut usize, bytes: &[u8]) {
    let end = *pos + bytes.len();
    if end > data.len() {
        data.resize(end, 0);
    }
    data[*pos..end].copy_from_slice(bytes);
    *pos = end;
}

#[test]
fn write_then_read_from_start_round_trips_any_bytes() {
    let pipe = Pipe::default();
    let bytes: Vec<u8> = (0..=255).collect();
    assert_eq!(pipe.write_bytes(&bytes).unwrap(), 256);
    pipe.with(|b| b.pos = 0).unwrap();
    assert_eq!(pipe.read_up_to(usize::MAX).unwrap(), bytes);
    assert!(pipe.read_up_to(10).unwrap().is_empty());
}

#[test]
fn writes_and_seeks_match_the_model() {
    // A deterministic pseudo-random sequence of operations checked against the model.
    let pipe = Pipe::default();
    let (mut data, mut pos) = (Vec::new(), 0usize);
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    for step in 0..2_000u64 {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        match seed >> 62 {
            0 | 1 => {
                let len = (seed >> 40) as usize % 17;
                let bytes: Vec<u8> = (0..len).map(|i| (step as usize + i) as u8).collect();
                pipe.write_bytes(&bytes).unwrap();
                model_write(&mut data, &mut pos, &bytes);
            }
            2 => {
                let to = (seed >> 20) as usize % (data.len() + 5);
                pipe.with(|b| b.pos = to).unwrap();
                pos = to;
            }
            _ => {
                let max = (seed >> 30) as usize % 9;
                let got = pipe.read_up_to(max).unwrap();
                let start = pos.min(data.len());
                let end = (start + max).min(data.len());
                assert_eq!(got, data[start..end].to_vec(), "step {step}");
                pos = end;
            }
        }
        assert_eq!(pipe.with(|b| b.data.len()).unwrap(), data.len());
    }
}

#[test]
fn stdin_stream_reports_end_of_input_when_drained() {
    let mut pipe = Pipe::default();
    pipe.write_bytes(b"abc").unwrap();
    pipe.with(|b| b.pos = 0).unwrap();
    let got = InputStream::read(&mut pipe, 2).unwrap();
    assert_eq!(&got[..], b"ab");
    let got = InputStream::read(&mut pipe, 10).unwrap();
    assert_eq!(&got[..], b"c");
    assert!(matches!(
        InputStream::read(&mut pipe, 10),
        Err(StreamError::Closed)
    ));
}
