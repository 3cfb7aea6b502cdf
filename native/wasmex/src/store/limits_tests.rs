//! Unit tests of the store limiter (pure: no NIF API).

use super::*;

fn ex(table_elements: Option<usize>, memory_size: Option<usize>) -> StoreLimitsEx {
    StoreLimitsEx {
        memory_size,
        table_elements,
        instances: None,
        tables: None,
        memories: None,
    }
}

#[test]
fn tables_are_capped_by_default() {
    let mut limits = limits_from(None);
    let cap = DEFAULT_TABLE_ELEMENTS;
    assert!(limits.table_growing(0, cap, None).unwrap());
    assert!(!limits.table_growing(0, cap + 1, None).unwrap());
    assert!(!limits.table_growing(1, i32::MAX as usize, None).unwrap());
}

#[test]
fn an_explicit_table_limit_replaces_the_default() {
    let mut limits = limits_from(Some(ex(Some(5 * DEFAULT_TABLE_ELEMENTS), None)));
    assert!(limits
        .table_growing(0, 2 * DEFAULT_TABLE_ELEMENTS, None)
        .unwrap());
    let mut limits = limits_from(Some(ex(Some(10), None)));
    assert!(!limits.table_growing(0, 11, None).unwrap());
}

#[test]
fn granted_memory_is_counted_and_refused_growth_is_not() {
    let mut limits = limits_from(Some(ex(None, Some(1 << 20))));
    assert!(limits.memory_growing(0, 65_536, None).unwrap());
    assert!(limits.memory_growing(65_536, 131_072, None).unwrap());
    assert!(!limits.memory_growing(131_072, 2 << 20, None).unwrap());
    assert_eq!(limits.memory_bytes, 131_072);
}

#[test]
fn a_store_is_large_once_its_memories_together_pass_the_dirty_size() {
    let mut limits = limits_from(None);
    let half = DIRTY_MEMORY / 2;
    assert!(limits.memory_growing(0, half, None).unwrap());
    assert!(!limits.large.load(Ordering::Relaxed));
    // a second memory of the same size: together they pass it
    assert!(limits.memory_growing(0, half + 65_536, None).unwrap());
    assert!(limits.large.load(Ordering::Relaxed));
}
