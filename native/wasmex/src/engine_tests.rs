//! Unit tests of the compile permits (pure: no NIF API). One test owns the global count.

use super::*;

#[test]
fn large_compiles_take_one_of_n_minus_one_permits_and_small_ones_none() {
    let cap = big_compiles();
    assert!(cap >= 1);
    let held: Vec<CompilePermit> = (0..cap)
        .map(|_| compile_permit(SMALL_COMPILE + 1).expect("a permit is free"))
        .collect();
    assert!(compile_permit(SMALL_COMPILE + 1).is_none());
    // small inputs never wait
    assert!(compile_permit(SMALL_COMPILE).is_some());
    drop(held);
    assert!(compile_permit(10 * SMALL_COMPILE).is_some());
}
