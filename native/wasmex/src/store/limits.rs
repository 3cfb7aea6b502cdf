//! Store limits: `%Wasmex.StoreLimits{}` as the NIF sees it, and the wasmtime limits built from it.
//!
//! Plain data, built on the NIF's thread.

use rustler::NifMap;
use wasmtime::{StoreLimits, StoreLimitsBuilder};

/// `%Wasmex.StoreLimits{}` as the NIF sees it; `nil` fields keep wasmtime's defaults.
#[derive(NifMap, Clone)]
pub struct StoreLimitsEx {
    memory_size: Option<usize>,
    table_elements: Option<usize>,
    instances: Option<usize>,
    tables: Option<usize>,
    memories: Option<usize>,
}

pub fn limits_from(ex: Option<StoreLimitsEx>) -> StoreLimits {
    let mut b = StoreLimitsBuilder::new();
    if let Some(ex) = ex {
        if let Some(v) = ex.memory_size {
            b = b.memory_size(v);
        }
        if let Some(v) = ex.table_elements {
            b = b.table_elements(v);
        }
        if let Some(v) = ex.instances {
            b = b.instances(v);
        }
        if let Some(v) = ex.tables {
            b = b.tables(v);
        }
        if let Some(v) = ex.memories {
            b = b.memories(v);
        }
    }
    b.build()
}
