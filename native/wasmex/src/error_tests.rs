//! Unit tests of how a refused memory mapping is recognised (pure: no NIF API).

use super::*;

#[test]
fn enomem_from_rustix_or_std_io_anywhere_in_the_chain_is_a_refused_mapping() {
    let rustix = wasmtime::Error::from(rustix::io::Errno::NOMEM).context("mmap failed");
    assert!(refused_mapping(&rustix));
    let io = wasmtime::Error::from(std::io::Error::from_raw_os_error(libc::ENOMEM))
        .context("mapping the stack");
    assert!(refused_mapping(&io));
    let text = Error::from(rustix).text();
    assert!(text.starts_with("mmap failed: "));
    assert!(text.ends_with(REFUSED_MAPPING));
}

#[test]
fn other_errors_are_not_and_keep_their_text() {
    let other = wasmtime::Error::from(rustix::io::Errno::ACCESS);
    assert!(!refused_mapping(&other));
    let io = wasmtime::Error::from(std::io::Error::from_raw_os_error(libc::EACCES));
    assert!(!refused_mapping(&io));
    // The words alone do not count: only the error's kind does.
    let words = wasmtime::Error::msg("Cannot allocate memory (os error 12)");
    assert!(!refused_mapping(&words));
    assert_eq!(mapping_hint(&words), "");
    assert_eq!(
        Error::from(words).text(),
        "Cannot allocate memory (os error 12)"
    );
}
