//! `component_host_resources`: a component that uses a resource imported from
//! (and implemented by) the host (see `wit/host.wit`).

wit_bindgen::generate!({
    world: "host-user",
    path: "wit",
});

use std::cell::RefCell;

use wasmex::host_resources::logging::{consume_logger, maybe_logger, peek_logger, Logger};

thread_local! {
    /// The logger kept by `keep-logger` until `drop-kept` (or the next `keep-logger`).
    static KEPT: RefCell<Option<Logger>> = const { RefCell::new(None) };
}

struct Component;

impl Guest for Component {
    fn use_logger(prefix: String, msg: String) -> String {
        let l = Logger::new(&prefix);
        let r = l.log(&msg);
        drop(l);
        r
    }

    fn count_logs(prefix: String, msg: String) -> u32 {
        let l = Logger::new(&prefix);
        l.log(&msg);
        l.log(&msg);
        l.count()
    }

    fn keep_logger(prefix: String) {
        let l = Logger::new(&prefix);
        // Replacing the previous logger drops it.
        KEPT.with(|kept| *kept.borrow_mut() = Some(l));
    }

    fn drop_kept() {
        let old = KEPT.with(|kept| kept.borrow_mut().take());
        drop(old);
    }

    fn give_logger(prefix: String) -> String {
        let l = Logger::new(&prefix);
        consume_logger(l)
    }

    fn lend_logger(prefix: String, msg: String) -> String {
        let l = Logger::new(&prefix);
        let a = peek_logger(&l);
        let b = l.log(&msg);
        format!("{a}|{b}")
    }

    fn default_log(msg: String) -> String {
        Logger::make_default().log(&msg)
    }

    fn maybe_log(prefix: Option<String>, msg: String) -> Option<String> {
        maybe_logger(prefix.as_deref()).map(|l| l.log(&msg))
    }
}

export!(Component);
