//! `component_wasi`: a component that uses WASI through Rust's std (see
//! `wit/cli-tool.wit`).

use std::io::{Read, Write};
use std::path::Path;

wit_bindgen::generate!({
    world: "cli-tool",
    path: "wit",
});

struct Component;

impl Guest for Component {
    fn run() -> String {
        let args: Vec<String> = std::env::args().collect();

        let mut env: Vec<String> = std::env::vars().map(|(k, v)| format!("{k}={v}")).collect();
        env.sort();

        let mut stdin = String::new();
        if let Err(e) = std::io::stdin().read_to_string(&mut stdin) {
            stdin = format!("<error: {e}>");
        }

        let mut out = std::io::stdout();
        let _ = out.write_all(b"out: hello\n");
        let _ = out.flush();
        let mut err = std::io::stderr();
        let _ = err.write_all(b"err: hello\n");
        let _ = err.flush();

        let file = if Path::new("/sandbox").is_dir() {
            match std::fs::read_to_string("/sandbox/input.txt") {
                Ok(input) => {
                    let reversed: String = input.chars().rev().collect();
                    if let Err(e) = std::fs::write("/sandbox/output.txt", reversed) {
                        format!("<write error: {e}>")
                    } else {
                        input
                    }
                }
                Err(e) => format!("<read error: {e}>"),
            }
        } else {
            "none".to_string()
        };

        format!(
            "args={};env={};stdin={};file={}",
            args.join(","),
            env.join(","),
            stdin,
            file
        )
    }
}

export!(Component);
