//! Elixir numbers <-> core wasm values.
//!
//! Integers are range-checked against their wasm type; floats are accepted for `f32`/`f64` only, and
//! an `f32` must stay finite after narrowing. `:nan`, `:infinity` and `:neg_infinity` stand for the
//! non-finite floats both ways (a NaN comes out as `:nan` whatever its payload; `v128` keeps bits). Reference types cannot cross the boundary. Pure
//! functions; callers pass the term and the expected type.

use rustler::{Encoder, Env, Term, TermType};
use wasmtime::{Val, ValType};

use super::{float_term, list_items, special_float, term_kind};
use crate::error::{Error, Result};

/// The name of a value type as the error messages and type lists spell it.
pub fn type_name(ty: &ValType) -> String {
    match ty {
        ValType::I32 => "i32".into(),
        ValType::I64 => "i64".into(),
        ValType::F32 => "f32".into(),
        ValType::F64 => "f64".into(),
        ValType::V128 => "v128".into(),
        ValType::Ref(r) => r.to_string(),
    }
}

/// Converts `term` to a value of type `ty`; `None` when it does not fit. `Err` carries the kind of
/// term given when it is not a number at all.
fn convert(term: Term, ty: &ValType) -> std::result::Result<Option<Val>, &'static str> {
    match (special_float(term), ty) {
        (Some(f), ValType::F32) => return Ok(Some(Val::F32((f as f32).to_bits()))),
        (Some(f), ValType::F64) => return Ok(Some(Val::F64(f.to_bits()))),
        _ => {}
    }
    let kind = term.get_type();
    let is_int = matches!(kind, TermType::Integer);
    let is_float = matches!(kind, TermType::Float);
    if !is_int && !is_float {
        return Err(term_kind(term));
    }
    let val = match ty {
        ValType::I32 if is_int => term.decode::<i32>().ok().map(Val::I32),
        ValType::I64 if is_int => term.decode::<i64>().ok().map(Val::I64),
        ValType::F32 => number_as_f64(term).and_then(|f| {
            let narrow = f as f32;
            (narrow.is_finite() || !f.is_finite()).then(|| Val::F32(narrow.to_bits()))
        }),
        ValType::F64 => number_as_f64(term).map(|f| Val::F64(f.to_bits())),
        ValType::V128 if is_int => term.decode::<u128>().ok().map(|v| Val::V128(v.into())),
        _ => None,
    };
    Ok(val)
}

fn number_as_f64(term: Term) -> Option<f64> {
    if let Ok(f) = term.decode::<f64>() {
        return Some(f);
    }
    if let Ok(i) = term.decode::<i64>() {
        return Some(i as f64);
    }
    term.decode::<u64>().ok().map(|u| u as f64)
}

/// Converts the `index`-th (1-based) argument of a call.
pub fn param_to_val(term: Term, ty: &ValType, index: usize) -> Result<Val> {
    match convert(term, ty) {
        Ok(Some(v)) => Ok(v),
        Ok(None) => Err(Error::Msg(format!(
            "Cannot convert argument #{index} to a WebAssembly {} value.",
            type_name(ty)
        ))),
        Err(kind) => Err(Error::Msg(format!(
            "Cannot convert argument #{index} to a WebAssembly {} value. Given `{kind}`.",
            type_name(ty)
        ))),
    }
}

/// Converts a value for a global or an import's result.
pub fn term_to_val(term: Term, ty: &ValType) -> Result<Val> {
    match convert(term, ty) {
        Ok(Some(v)) => Ok(v),
        Ok(None) => Err(Error::Msg(format!(
            "Cannot convert to a WebAssembly {} value.",
            type_name(ty)
        ))),
        Err(kind) => Err(Error::Msg(format!(
            "Cannot convert to a WebAssembly {} value. Given `{kind}`.",
            type_name(ty)
        ))),
    }
}

/// Converts a wasm value to an Elixir number.
pub fn val_to_term<'a>(env: Env<'a>, val: &Val) -> Result<Term<'a>> {
    Ok(match val {
        Val::I32(i) => i.encode(env),
        Val::I64(i) => i.encode(env),
        Val::F32(bits) => float_term(env, f32::from_bits(*bits) as f64),
        Val::F64(bits) => float_term(env, f64::from_bits(*bits)),
        Val::V128(v) => v.as_u128().encode(env),
        Val::FuncRef(_) => return Err(Error::msg("unable_to_return_func_ref_type")),
        Val::ExternRef(_) => return Err(Error::msg("unable_to_return_extern_ref_type")),
        Val::AnyRef(_) => return Err(Error::msg("unable_to_return_any_ref_type")),
        Val::ExnRef(_) => return Err(Error::msg("unable_to_return_exn_ref_type")),
        Val::ContRef(_) => return Err(Error::msg("unable_to_return_cont_ref_type")),
    })
}

/// Converts a list of wasm values.
pub fn vals_to_terms<'a>(env: Env<'a>, vals: &[Val]) -> Result<Vec<Term<'a>>> {
    vals.iter().map(|v| val_to_term(env, v)).collect()
}

/// Converts a list of wasm values straight into an Elixir list.
pub fn vals_to_list<'a>(env: Env<'a>, vals: &[Val]) -> Result<Term<'a>> {
    let mut list = Term::list_new_empty(env);
    for v in vals.iter().rev() {
        list = list.list_prepend(val_to_term(env, v)?);
    }
    Ok(list)
}

/// Converts the value an Elixir import returned into its results: nothing for no results, the
/// bare value for one, a list of exactly `n` values for several.
pub fn callback_results(term: Term, tys: &[ValType]) -> Result<Vec<Val>> {
    match tys.len() {
        0 => Ok(vec![]),
        1 => Ok(vec![term_to_val(term, &tys[0])?]),
        n => {
            let items = list_items(term)
                .ok_or_else(|| Error::msg(format!("expected a list of {n} results")))?;
            if items.len() != n {
                return Err(Error::msg(format!(
                    "expected {n} results, got {}",
                    items.len()
                )));
            }
            items
                .iter()
                .zip(tys)
                .map(|(t, ty)| term_to_val(*t, ty))
                .collect()
        }
    }
}
