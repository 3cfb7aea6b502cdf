//! Elixir terms <-> component model values (the WIT type mapping).
//!
//! Going in (this file), a term is checked against the WIT type it must have: integers are
//! range-checked, `bool` takes only `true`/`false`, `f32`/`f64` take floats and `:nan`,
//! `:infinity`, `:neg_infinity`, `list<u8>` also takes a binary, records take
//! maps with atom or string keys spelled as in WIT. Errors name the path to the bad value, e.g.
//! `record('points').list[3]`. Coming out is `component_out`; `own<T>` / `borrow<T>` positions are
//! filled through the `LowerResource` hook (see `convert`). Pure functions over terms of the calling NIF's environment.

use rustler::types::tuple::get_tuple;
use rustler::{Atom, Binary, MapIterator, Term, TermType};
use wasmtime::component::{Type, Val};

use super::term_kind as kind;
use super::type_label;
use super::LowerResource;
use super::{list_items, special_float};
use crate::atoms::{error, none, ok, some};
use crate::error::{Error, Result};

/// A conversion failure and where it happened, innermost segment last.
struct Failure {
    msg: String,
    path: Vec<String>,
}

type Conv<T> = std::result::Result<T, Failure>;

fn fail<T>(msg: impl Into<String>) -> Conv<T> {
    Err(Failure {
        msg: msg.into(),
        path: Vec::new(),
    })
}

fn cannot<T>(term: Term, ty: &Type) -> Conv<T> {
    fail(format!(
        "Could not convert {} to {}",
        kind(term),
        type_label(ty)
    ))
}

fn at<T>(segment: impl FnOnce() -> String, r: Conv<T>) -> Conv<T> {
    r.map_err(|mut f| {
        f.path.push(segment());
        f
    })
}

/// Converts an argument (or an import's result) to a value of WIT type `ty`.
pub fn term_to_val(term: Term, ty: &Type, r: &mut dyn LowerResource) -> Result<Val> {
    to_val(term, ty, r).map_err(|f| {
        if f.path.is_empty() {
            Error::Msg(f.msg)
        } else {
            let path: Vec<String> = f.path.into_iter().rev().collect();
            Error::Msg(format!("{} at \"{}\"", f.msg, path.join(".")))
        }
    })
}

fn int<T: TryFrom<i128>>(term: Term, ty: &Type) -> Conv<T> {
    if term.get_type() != TermType::Integer {
        return cannot(term, ty);
    }
    // Decode wide, then narrow with a check: rustler's decoders for 8- and 16-bit integers cast.
    match term.decode::<i128>() {
        Ok(wide) => T::try_from(wide)
            .or_else(|_| fail(format!("{wide} is out of range for {}", type_label(ty)))),
        Err(_) => fail(format!("integer is out of range for {}", type_label(ty))),
    }
}

fn name_of(term: Term) -> Option<String> {
    if let Ok(s) = term.decode::<String>() {
        return Some(s);
    }
    if term.is_atom() {
        return term.atom_to_string().ok();
    }
    None
}

fn to_val(term: Term, ty: &Type, r: &mut dyn LowerResource) -> Conv<Val> {
    Ok(match ty {
        Type::Bool => match term.decode::<bool>() {
            Ok(b) => Val::Bool(b),
            Err(_) => return cannot(term, ty),
        },
        Type::S8 => Val::S8(int(term, ty)?),
        Type::U8 => Val::U8(int(term, ty)?),
        Type::S16 => Val::S16(int(term, ty)?),
        Type::U16 => Val::U16(int(term, ty)?),
        Type::S32 => Val::S32(int(term, ty)?),
        Type::U32 => Val::U32(int(term, ty)?),
        Type::S64 => Val::S64(int(term, ty)?),
        Type::U64 => Val::U64(int(term, ty)?),
        Type::Float32 if special_float(term).is_some() => {
            Val::Float32(special_float(term).unwrap_or(f64::NAN) as f32)
        }
        Type::Float64 if special_float(term).is_some() => {
            Val::Float64(special_float(term).unwrap_or(f64::NAN))
        }
        Type::Float32 => match term.decode::<f64>() {
            Ok(f) if term.get_type() == TermType::Float => {
                let narrow = f as f32;
                if f.is_finite() && !narrow.is_finite() {
                    return fail(format!("{f} is out of range for Float32"));
                }
                Val::Float32(narrow)
            }
            _ => return cannot(term, ty),
        },
        Type::Float64 => match term.decode::<f64>() {
            Ok(f) if term.get_type() == TermType::Float => Val::Float64(f),
            _ => return cannot(term, ty),
        },
        Type::Char => Val::Char(to_char(term, ty)?),
        Type::String => match name_of(term) {
            Some(s) if !(term.is_atom() && matches!(s.as_str(), "nil" | "true" | "false")) => {
                Val::String(s)
            }
            _ => return cannot(term, ty),
        },
        Type::List(list) => {
            let elem = list.ty();
            if matches!(elem, Type::U8) && term.is_binary() {
                let bin = Binary::from_term(term).map_err(|_| Failure {
                    msg: "invalid binary".into(),
                    path: vec![],
                })?;
                return Ok(Val::List(
                    bin.as_slice().iter().map(|b| Val::U8(*b)).collect(),
                ));
            }
            let Some(items) = list_items(term) else {
                return cannot(term, ty);
            };
            let mut out = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                out.push(at(|| format!("list[{i}]"), to_val(*item, &elem, r))?);
            }
            Val::List(out)
        }
        Type::Tuple(tuple) => {
            let items = match get_tuple(term) {
                Ok(items) => items,
                Err(_) => return cannot(term, ty),
            };
            let types: Vec<Type> = tuple.types().collect();
            if items.len() != types.len() {
                return fail(format!(
                    "Expected a tuple of {} elements, got {}",
                    types.len(),
                    items.len()
                ));
            }
            let mut out = Vec::with_capacity(items.len());
            for (i, (item, t)) in items.iter().zip(&types).enumerate() {
                out.push(at(|| format!("tuple[{i}]"), to_val(*item, t, r))?);
            }
            Val::Tuple(out)
        }
        Type::Record(record) => {
            let Some(iter) = MapIterator::new(term) else {
                return cannot(term, ty);
            };
            let entries: Vec<(Option<String>, Term)> = iter.map(|(k, v)| (name_of(k), v)).collect();
            let mut out = Vec::new();
            let mut missing = Vec::new();
            for field in record.fields() {
                match entries
                    .iter()
                    .find(|(k, _)| k.as_deref() == Some(field.name))
                {
                    Some((_, v)) => out.push((
                        field.name.to_string(),
                        at(
                            || format!("record('{}')", field.name),
                            to_val(*v, &field.ty, r),
                        )?,
                    )),
                    None => missing.push(field.name.to_string()),
                }
            }
            if !missing.is_empty() {
                return fail(format!(
                    "Expected {} fields, got {} - missing fields: {}",
                    record.fields().len(),
                    record.fields().len() - missing.len(),
                    missing.join(", ")
                ));
            }
            Val::Record(out)
        }
        Type::Variant(variant) => {
            let (tag, payload) = tag_and_payload(term, ty)?;
            let Some(case) = variant.cases().find(|c| c.name == tag) else {
                return fail(format!("Variant case not found: {tag}"));
            };
            match (case.ty, payload) {
                (None, None) => Val::Variant(tag, None),
                (Some(t), Some(p)) => {
                    let v = at(|| format!("variant({tag})"), to_val(p, &t, r))?;
                    Val::Variant(tag, Some(Box::new(v)))
                }
                (None, Some(_)) => return fail(format!("Variant case {tag} takes no payload")),
                (Some(_), None) => return fail(format!("Variant case {tag} needs a payload")),
            }
        }
        Type::Enum(e) => match name_of(term) {
            Some(n) if e.names().any(|c| c == n) => Val::Enum(n),
            Some(n) => return fail(format!("Enum value not found: {n}")),
            None => return cannot(term, ty),
        },
        Type::Flags(flags) => {
            let Some(iter) = MapIterator::new(term) else {
                return cannot(term, ty);
            };
            let mut set = Vec::new();
            for (k, v) in iter {
                let Some(name) = name_of(k) else {
                    return cannot(k, ty);
                };
                if !flags.names().any(|n| n == name) {
                    return fail(format!("Flag not found: {name}"));
                }
                match v.decode::<bool>() {
                    Ok(true) => set.push(name),
                    Ok(false) => {}
                    Err(_) => return fail(format!("Flag {name} must be true or false")),
                }
            }
            Val::Flags(set)
        }
        Type::Option(opt) => {
            if term.decode::<Atom>().ok() == Some(none()) {
                Val::Option(None)
            } else {
                match get_tuple(term).as_deref() {
                    Ok([tag, v]) if tag.decode::<Atom>().ok() == Some(some()) => {
                        let inner = at(|| "option(some)".to_string(), to_val(*v, &opt.ty(), r))?;
                        Val::Option(Some(Box::new(inner)))
                    }
                    _ => {
                        return fail(format!(
                            "Invalid {}, expected ':none' or '{{:some, term}}' tuple",
                            invalid(term)
                        ))
                    }
                }
            }
        }
        Type::Result(res) => result_val(term, res.ok(), res.err(), r)?,
        Type::Own(rt) => r.lower(term, rt, true).or_else(fail)?,
        Type::Borrow(rt) => r.lower(term, rt, false).or_else(fail)?,
        _ => return cannot(term, ty),
    })
}

fn to_char(term: Term, ty: &Type) -> Conv<char> {
    let code = match term.get_type() {
        TermType::Integer => term.decode::<u32>().ok(),
        TermType::Binary => {
            let s: String = match term.decode() {
                Ok(s) => s,
                Err(_) => return cannot(term, ty),
            };
            let mut chars = s.chars();
            match (chars.next(), chars.next()) {
                (Some(c), None) => return Ok(c),
                _ => return fail("Expected a single character, got multiple characters"),
            }
        }
        TermType::List => match list_items(term).as_deref() {
            Some([c]) if c.decode::<u32>().is_ok() => c.decode::<u32>().ok(),
            _ => return fail("Expected a single character, got multiple characters"),
        },
        _ => return cannot(term, ty),
    };
    match code.and_then(char::from_u32) {
        Some(c) => Ok(c),
        None => fail(format!(
            "Invalid character code point: {}",
            term.decode::<i64>()
                .map(|i| i.to_string())
                .unwrap_or_default()
        )),
    }
}

fn tag_and_payload<'a>(term: Term<'a>, ty: &Type) -> Conv<(String, Option<Term<'a>>)> {
    if let Some(n) = name_of(term) {
        return Ok((n, None));
    }
    match get_tuple(term).as_deref() {
        Ok([tag, payload]) => {
            if !tag.is_atom() {
                return fail("First element of variant tuple must be an atom");
            }
            Ok((tag.atom_to_string().unwrap_or_default(), Some(*payload)))
        }
        _ => cannot(term, ty),
    }
}

fn result_val(
    term: Term,
    ok_ty: Option<Type>,
    err_ty: Option<Type>,
    r: &mut dyn LowerResource,
) -> Conv<Val> {
    let bare = term.decode::<Atom>().ok();
    let tuple = get_tuple(term).ok();
    let tagged = |want: Atom| match tuple.as_deref() {
        Some([tag, v]) if tag.decode::<Atom>().ok() == Some(want) => Some(*v),
        _ => None,
    };
    let side =
        |v: Term, t: Type, label: &str, r: &mut dyn LowerResource| -> Conv<Option<Box<Val>>> {
            let val = at(|| format!("result({label})"), to_val(v, &t, r))?;
            Ok(Some(Box::new(val)))
        };
    if bare == Some(ok()) {
        return match ok_ty {
            None => Ok(Val::Result(Ok(None))),
            Some(_) => fail("Result-type expected an {:ok, value} tuple, but got an :ok atom"),
        };
    }
    if bare == Some(error()) {
        return match err_ty {
            None => Ok(Val::Result(Err(None))),
            Some(_) => {
                fail("Result-type expected an {:error, value} tuple, but got an :error atom")
            }
        };
    }
    if let Some(v) = tagged(ok()) {
        return match ok_ty {
            Some(t) => Ok(Val::Result(Ok(side(v, t, "ok", r)?))),
            None => fail("Result-type expected to have an :ok atom, but got 'ok' tuple"),
        };
    }
    if let Some(v) = tagged(error()) {
        return match err_ty {
            Some(t) => Ok(Val::Result(Err(side(v, t, "error", r)?))),
            None => fail("Result-type expected to have an :error atom, but got 'error' tuple"),
        };
    }
    if term.is_atom() {
        return fail(format!(
            "Invalid {}, expected ':ok' or ':error' as result",
            invalid(term)
        ));
    }
    fail(format!(
        "Invalid value {}, expected ':ok' or ':error' as first element in result-tuple",
        kind(term)
    ))
}

/// How an invalid option or result value is named: `atom: name` for an atom (as Wasmex 0.15.1
/// words it), else `value Kind`.
fn invalid(term: Term) -> String {
    match term.atom_to_string() {
        Ok(name) if term.is_atom() => format!("atom: {name}"),
        _ => format!("value {}", kind(term)),
    }
}
