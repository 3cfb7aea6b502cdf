//! `component_types`: a component that round-trips every kind of
//! component-model value (see `wit/types.wit`).

use std::sync::atomic::{AtomicU32, Ordering};

wit_bindgen::generate!({
    world: "types",
    path: "wit",
});

struct Component;

static COUNTER: AtomicU32 = AtomicU32::new(0);
static SPIN_FOREVER: u8 = 1;

impl Guest for Component {
    fn echo_bool(x: bool) -> bool {
        x
    }
    fn echo_s8(x: i8) -> i8 {
        x
    }
    fn echo_s16(x: i16) -> i16 {
        x
    }
    fn echo_s32(x: i32) -> i32 {
        x
    }
    fn echo_s64(x: i64) -> i64 {
        x
    }
    fn echo_u8(x: u8) -> u8 {
        x
    }
    fn echo_u16(x: u16) -> u16 {
        x
    }
    fn echo_u32(x: u32) -> u32 {
        x
    }
    fn echo_u64(x: u64) -> u64 {
        x
    }
    fn echo_f32(x: f32) -> f32 {
        x
    }
    fn echo_f64(x: f64) -> f64 {
        x
    }
    fn echo_char(x: char) -> char {
        x
    }
    fn echo_string(x: String) -> String {
        x
    }
    fn echo_list_u8(x: Vec<u8>) -> Vec<u8> {
        x
    }
    fn echo_list_string(x: Vec<String>) -> Vec<String> {
        x
    }
    fn echo_tuple(x: (String, u32)) -> (String, u32) {
        x
    }
    fn echo_point(p: Point) -> Point {
        p
    }
    fn echo_kebab_record(r: KebabRecord) -> KebabRecord {
        r
    }
    fn echo_shape(s: Shape) -> Shape {
        s
    }
    fn echo_color(c: Color) -> Color {
        c
    }
    fn echo_perms(p: Perms) -> Perms {
        p
    }
    fn echo_option(x: Option<u32>) -> Option<u32> {
        x
    }
    fn echo_result(x: Result<String, String>) -> Result<String, String> {
        x
    }
    fn echo_result_no_ok(x: Result<(), String>) -> Result<(), String> {
        x
    }
    fn echo_result_no_err(x: Result<u32, ()>) -> Result<u32, ()> {
        x
    }
    fn echo_result_empty(x: Result<(), ()>) -> Result<(), ()> {
        x
    }

    fn add(a: u32, b: u32) -> u32 {
        a.wrapping_add(b)
    }

    fn no_result() {}

    fn make_points(n: u32) -> Vec<Point> {
        (0..n)
            .map(|i| Point {
                x: i as i32,
                y: -(i as i32),
            })
            .collect()
    }

    fn string_length(s: String) -> u32 {
        s.len() as u32
    }

    fn counter_inc() -> u32 {
        COUNTER.fetch_add(1, Ordering::SeqCst) + 1
    }

    fn spin() {
        // A volatile read each round, so the optimizer can neither prove the
        // loop endless (and treat it as unreachable) nor hoist the check.
        while unsafe { std::ptr::read_volatile(&SPIN_FOREVER) } != 0 {
            std::hint::spin_loop();
        }
    }

    fn trap() {
        core::arch::wasm32::unreachable()
    }
}

impl exports::wasmex::test::math::Guest for Component {
    fn add(a: u32, b: u32) -> u32 {
        a.wrapping_add(b)
    }
}

export!(Component);
