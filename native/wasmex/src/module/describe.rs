//! A module's exports and imports described as Elixir terms (`Wasmex.Module.exports/1`,
//! `imports/1`): `%{name => {:fn, params, results}}`, globals, memories and tables with their
//! limits. Listing more than `DIRTY_EXTERNS` on a normal scheduler answers `:dirty`, and
//! `Wasmex.Module` calls the `*_dirty` variant. Pure reads of the immutable module; any thread.

use rustler::{Encoder, Env, ResourceArc, Term};
use wasmtime::{ExternType, FuncType, GlobalType, MemoryType, Mutability, TableType, ValType};

use super::ModuleResource;
use crate::atoms;
use crate::error::{Error, Result};

/// The most exports or imports listed on a normal scheduler (about 1.5 µs each).
const DIRTY_EXTERNS: usize = 500;

fn val_type<'a>(env: Env<'a>, ty: &ValType) -> Term<'a> {
    match ty {
        ValType::I32 => atoms::i32().encode(env),
        ValType::I64 => atoms::i64().encode(env),
        ValType::F32 => atoms::f32().encode(env),
        ValType::F64 => atoms::f64().encode(env),
        ValType::V128 => atoms::v128().encode(env),
        ValType::Ref(r) => (atoms::reference(), r.to_string()).encode(env),
    }
}

fn func_info<'a>(env: Env<'a>, tag: rustler::Atom, ty: &FuncType) -> Term<'a> {
    let params: Vec<Term> = ty.params().map(|t| val_type(env, &t)).collect();
    let results: Vec<Term> = ty.results().map(|t| val_type(env, &t)).collect();
    (tag, params, results).encode(env)
}

fn global_info<'a>(env: Env<'a>, ty: &GlobalType) -> Term<'a> {
    let mutability = match ty.mutability() {
        Mutability::Const => atoms::const_(),
        Mutability::Var => atoms::var(),
    };
    let map = Term::map_from_pairs(
        env,
        &[
            (atoms::mutability().encode(env), mutability.encode(env)),
            (atoms::type_().encode(env), val_type(env, ty.content())),
        ],
    );
    (
        atoms::global(),
        map.unwrap_or_else(|_| atoms::nil().encode(env)),
    )
        .encode(env)
}

fn memory_info<'a>(env: Env<'a>, ty: &MemoryType) -> Term<'a> {
    let mut pairs = vec![
        (atoms::minimum().encode(env), ty.minimum().encode(env)),
        (atoms::shared().encode(env), ty.is_shared().encode(env)),
        (atoms::memory64().encode(env), ty.is_64().encode(env)),
    ];
    if let Some(max) = ty.maximum() {
        pairs.push((atoms::maximum().encode(env), max.encode(env)));
    }
    let map = Term::map_from_pairs(env, &pairs).unwrap_or_else(|_| atoms::nil().encode(env));
    (atoms::memory(), map).encode(env)
}

fn table_info<'a>(env: Env<'a>, ty: &TableType) -> Term<'a> {
    let mut pairs = vec![
        (atoms::minimum().encode(env), ty.minimum().encode(env)),
        (
            atoms::type_().encode(env),
            (atoms::reference(), ty.element().to_string()).encode(env),
        ),
    ];
    if let Some(max) = ty.maximum() {
        pairs.push((atoms::maximum().encode(env), max.encode(env)));
    }
    let map = Term::map_from_pairs(env, &pairs).unwrap_or_else(|_| atoms::nil().encode(env));
    (atoms::table(), map).encode(env)
}

fn extern_info<'a>(env: Env<'a>, ty: &ExternType) -> Term<'a> {
    match ty {
        ExternType::Func(f) => func_info(env, atoms::fn_(), f),
        ExternType::Global(g) => global_info(env, g),
        ExternType::Memory(m) => memory_info(env, m),
        ExternType::Table(t) => table_info(env, t),
        ExternType::Tag(t) => func_info(env, atoms::tag(), t.ty()),
    }
}

#[rustler::nif]
fn module_exports<'a>(env: Env<'a>, module: ResourceArc<ModuleResource>) -> Result<Term<'a>> {
    if module.module.exports().len() > DIRTY_EXTERNS {
        return Ok(atoms::dirty().encode(env));
    }
    exports(env, &module)
}

/// `module_exports` of any size, on a dirty CPU scheduler.
#[rustler::nif(schedule = "DirtyCpu")]
fn module_exports_dirty<'a>(env: Env<'a>, module: ResourceArc<ModuleResource>) -> Result<Term<'a>> {
    exports(env, &module)
}

fn exports<'a>(env: Env<'a>, module: &ModuleResource) -> Result<Term<'a>> {
    let mut map = Term::map_new(env);
    for e in module.module.exports() {
        map = map
            .map_put(e.name(), extern_info(env, &e.ty()))
            .map_err(|_| Error::msg("could not build the exports map"))?;
    }
    Ok(map)
}

#[rustler::nif]
fn module_imports<'a>(env: Env<'a>, module: ResourceArc<ModuleResource>) -> Result<Term<'a>> {
    if module.module.imports().len() > DIRTY_EXTERNS {
        return Ok(atoms::dirty().encode(env));
    }
    imports(env, &module)
}

/// `module_imports` of any size, on a dirty CPU scheduler.
#[rustler::nif(schedule = "DirtyCpu")]
fn module_imports_dirty<'a>(env: Env<'a>, module: ResourceArc<ModuleResource>) -> Result<Term<'a>> {
    imports(env, &module)
}

fn imports<'a>(env: Env<'a>, module: &ModuleResource) -> Result<Term<'a>> {
    let mut namespaces: Vec<(String, Term<'a>)> = Vec::new();
    for i in module.module.imports() {
        let info = extern_info(env, &i.ty());
        let pos = match namespaces.iter().position(|(ns, _)| ns == i.module()) {
            Some(pos) => pos,
            None => {
                namespaces.push((i.module().to_string(), Term::map_new(env)));
                namespaces.len() - 1
            }
        };
        let entry = &mut namespaces[pos].1;
        *entry = entry
            .map_put(i.name(), info)
            .map_err(|_| Error::msg("could not build the imports map"))?;
    }
    let mut map = Term::map_new(env);
    for (ns, inner) in namespaces {
        map = map
            .map_put(ns, inner)
            .map_err(|_| Error::msg("could not build the imports map"))?;
    }
    Ok(map)
}
