//! WASI Preview 1 test guest for wasmex.
//!
//! Exercises the parts of WASI that the host wires up: arguments, environment
//! variables, stdin, stdout, stderr and a preopened directory at `/sandbox`.

use std::io::{Read, Write};
use std::path::Path;

fn main() {
    let mut out = std::io::stdout().lock();
    writeln!(out, "Hello from WASI!").unwrap();

    // Skip argv[0], the program name.
    for arg in std::env::args_os().skip(1) {
        writeln!(out, "arg: {}", arg.to_string_lossy()).unwrap();
    }

    for (key, value) in std::env::vars_os() {
        let (key, value) = (key.to_string_lossy(), value.to_string_lossy());
        writeln!(out, "env: {key}={value}").unwrap();
    }

    let mut input = Vec::new();
    std::io::stdin().read_to_end(&mut input).unwrap();
    writeln!(out, "stdin: {}", String::from_utf8_lossy(&input)).unwrap();
    out.flush().unwrap();

    eprintln!("to stderr");

    let sandbox = Path::new("/sandbox");
    if sandbox.is_dir() {
        let contents = std::fs::read(sandbox.join("input.txt")).unwrap();
        std::fs::write(sandbox.join("output.txt"), contents).unwrap();
        writeln!(out, "copied").unwrap();
        out.flush().unwrap();
    }
}
