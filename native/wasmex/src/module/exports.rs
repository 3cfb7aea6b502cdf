//! A module's export table: every export's name, wasmtime export index and, for functions, the
//! signature (parameter types and placeholder results). Built once per compiled module, on its
//! first instantiation, and shared by its instances behind an `Arc`, so instantiating does no
//! per-export work; an instance resolves a function when it is called. Immutable once built;
//! any thread.

use std::collections::HashMap;
use std::sync::Arc;

use wasmtime::{Module, ModuleExport, Val, ValType};

/// A function export's signature.
pub struct FuncSig {
    pub params: Vec<ValType>,
    /// Placeholder results of the right types, cloned for each call.
    pub results: Vec<Val>,
}

/// One export of a module: where instances hold it (wasmtime's export index), and its signature
/// if it is a function.
pub struct ExportEntry {
    /// Shared with the calls of the export, which name it in trap errors.
    pub name: Arc<str>,
    pub index: ModuleExport,
    pub func: Option<FuncSig>,
}

/// A module's exports in order, with a name index.
pub struct ExportTable {
    pub entries: Vec<ExportEntry>,
    by_name: HashMap<String, usize>,
    /// The positions of the exports that are not functions (memories, globals, tables): an
    /// instance resolves these few at instantiation, its functions when they are called.
    pub non_funcs: Vec<usize>,
}

impl ExportTable {
    pub fn of(module: &Module) -> Self {
        let mut entries = Vec::new();
        let mut by_name = HashMap::new();
        let mut non_funcs = Vec::new();
        for e in module.exports() {
            let Some(index) = module.get_export_index(e.name()) else {
                continue;
            };
            let ty = e.ty();
            let func = ty.func().map(|f| FuncSig {
                params: f.params().collect(),
                results: f
                    .results()
                    .map(|t| t.default_value().unwrap_or(Val::I32(0)))
                    .collect(),
            });
            if func.is_none() {
                non_funcs.push(entries.len());
            }
            by_name.insert(e.name().to_string(), entries.len());
            entries.push(ExportEntry {
                name: Arc::from(e.name()),
                index,
                func,
            });
        }
        ExportTable {
            entries,
            by_name,
            non_funcs,
        }
    }

    /// The position of the export `name`.
    pub fn position(&self, name: &str) -> Option<usize> {
        self.by_name.get(name).copied()
    }

    pub fn get(&self, name: &str) -> Option<&ExportEntry> {
        self.position(name).and_then(|i| self.entries.get(i))
    }
}
