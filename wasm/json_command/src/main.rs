//! A WASI command like an edge worker's handler: reads a JSON request on stdin and writes a JSON
//! response on stdout. No serde: the request is kept as raw text and only its top-level shape
//! is checked, so the binary stays small.
//!
//! The first argument selects a behaviour, for tests of the host:
//! - none: `{"ok":true,"bytes":N,"args":[...],"request":<stdin>}` on stdout, exit 0; stdin that
//!   is not a JSON object gets `{"ok":false,"error":"expected a JSON object"}` and exit 2;
//! - `exit N`: writes the response, then exits with code N;
//! - `spin`: loops forever; `trap`: aborts (a wasm trap);
//! - `big N`: writes N bytes of `x` to stdout and N bytes of `y` to stderr;
//! - `env K`: writes the value of the environment variable K (or `null`);
//! - `cat PATH`: writes the contents of the file at PATH (e.g. in a preopened directory);
//! - `count`: bumps two statics, one zero-initialized and one not, and writes
//!   `{"count":C,"seed":S}`: `{"count":1,"seed":42}` in a fresh instance.

use std::io::{Read, Write};
use std::sync::atomic::{AtomicU32, Ordering};

static COUNT: AtomicU32 = AtomicU32::new(0);
static SEED: AtomicU32 = AtomicU32::new(41);

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut out = std::io::stdout().lock();
    match args.first().map(String::as_str) {
        Some("spin") => loop {
            std::hint::black_box(0);
        },
        Some("trap") => std::process::abort(),
        Some("big") => {
            let n = arg_number(&args);
            let _ = out.write_all(&vec![b'x'; n]);
            let _ = std::io::stderr().write_all(&vec![b'y'; n]);
            return;
        }
        Some("env") => {
            let value = args.get(1).and_then(|k| std::env::var(k).ok());
            let _ = match value {
                Some(v) => write!(out, "{}", quote(&v)),
                None => write!(out, "null"),
            };
            return;
        }
        Some("count") => {
            let count = COUNT.fetch_add(1, Ordering::Relaxed) + 1;
            let seed = SEED.fetch_add(1, Ordering::Relaxed) + 1;
            let _ = write!(out, "{{\"count\":{count},\"seed\":{seed}}}");
            return;
        }
        Some("cat") => {
            let path = args.get(1).map(String::as_str).unwrap_or("");
            match std::fs::read(path) {
                Ok(bytes) => {
                    let _ = out.write_all(&bytes);
                }
                Err(e) => {
                    let _ = writeln!(std::io::stderr(), "cannot read {path}: {e}");
                    std::process::exit(4);
                }
            }
            return;
        }
        _ => {}
    }

    let mut request = Vec::new();
    let _ = std::io::stdin().read_to_end(&mut request);
    let text = String::from_utf8_lossy(&request);
    let trimmed = text.trim();
    if !(trimmed.starts_with('{') && trimmed.ends_with('}')) {
        let _ = write!(out, "{{\"ok\":false,\"error\":\"expected a JSON object\"}}");
        let _ = writeln!(std::io::stderr(), "bad request: {} bytes", request.len());
        let _ = out.flush();
        std::process::exit(2);
    }
    let quoted: Vec<String> = args.iter().map(|a| quote(a)).collect();
    let _ = write!(
        out,
        "{{\"ok\":true,\"bytes\":{},\"args\":[{}],\"request\":{}}}",
        request.len(),
        quoted.join(","),
        trimmed
    );
    let _ = out.flush();
    if args.first().map(String::as_str) == Some("exit") {
        std::process::exit(arg_number(&args) as i32);
    }
}

fn arg_number(args: &[String]) -> usize {
    args.get(1).and_then(|n| n.parse().ok()).unwrap_or(0)
}

/// A JSON string literal for `s`.
fn quote(s: &str) -> String {
    let mut q = String::with_capacity(s.len() + 2);
    q.push('"');
    for c in s.chars() {
        match c {
            '"' => q.push_str("\\\""),
            '\\' => q.push_str("\\\\"),
            c if (c as u32) < 0x20 => q.push_str(&format!("\\u{:04x}", c as u32)),
            c => q.push(c),
        }
    }
    q.push('"');
    q
}
