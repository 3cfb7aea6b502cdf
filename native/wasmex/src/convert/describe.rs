//! Short texts for errors about values: a term printed the way Elixir's `inspect` would (`term`,
//! bounded), and the Elixir shape a WIT or core type takes (`wit_shape`, `core_shape`), so an
//! import that returned the wrong value can say what it should have returned:
//! `expected {:ok, string} or {:error, string}, got "x"`.
//!
//! Pure functions over terms of the calling NIF's environment.

use std::fmt::Write;

use rustler::{Term, TermType};
use wasmtime::component::types::Type;
use wasmtime::ValType;

/// How much of a term is printed (characters, roughly); the rest is `...`.
const LIMIT: usize = 80;
/// How many elements of a list, tuple or map are printed.
const ITEMS: usize = 8;

/// `term` as Elixir prints it, cut short for long or deep values.
pub fn term(term: Term) -> String {
    let mut out = String::new();
    write_term(&mut out, term, 0);
    if out.chars().count() > LIMIT {
        out = out.chars().take(LIMIT).collect::<String>() + "...";
    }
    out
}

fn write_items<'a>(out: &mut String, items: impl Iterator<Item = Term<'a>>, depth: usize) {
    for (i, item) in items.enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        if i == ITEMS || out.len() > LIMIT {
            out.push_str("...");
            break;
        }
        write_term(out, item, depth + 1);
    }
}

fn write_term(out: &mut String, t: Term, depth: usize) {
    if depth > 4 {
        out.push_str("...");
        return;
    }
    match t.get_type() {
        TermType::Atom => match t.atom_to_string() {
            Ok(a) if a == "nil" || a == "true" || a == "false" => out.push_str(&a),
            Ok(a) => {
                let _ = write!(out, ":{a}");
            }
            Err(_) => out.push_str(":?"),
        },
        TermType::Binary => match t.decode::<&str>() {
            Ok(s) => {
                let _ = write!(out, "{s:?}");
            }
            Err(_) => out.push_str("<<binary>>"),
        },
        TermType::Integer => match t.decode::<i128>() {
            Ok(i) => {
                let _ = write!(out, "{i}");
            }
            Err(_) => out.push_str("integer"),
        },
        TermType::Float => match t.decode::<f64>() {
            Ok(f) => {
                let _ = write!(out, "{f:?}");
            }
            Err(_) => out.push_str("float"),
        },
        TermType::Tuple => {
            out.push('{');
            if let Ok(items) = rustler::types::tuple::get_tuple(t) {
                write_items(out, items.into_iter(), depth);
            }
            out.push('}');
        }
        TermType::List => {
            // Walked cell by cell (rustler's iterator panics on an improper list).
            out.push('[');
            let mut items = Vec::new();
            let mut rest = t;
            while let Ok((head, tail)) = rest.list_get_cell() {
                if items.len() > ITEMS {
                    break;
                }
                items.push(head);
                rest = tail;
            }
            let improper = items.len() <= ITEMS && !rest.is_empty_list();
            write_items(out, items.into_iter(), depth);
            if improper {
                out.push_str(" | ");
                write_term(out, rest, depth + 1);
            }
            out.push(']');
        }
        TermType::Map => {
            out.push_str("%{");
            if let Some(iter) = rustler::types::map::MapIterator::new(t) {
                let mut first = true;
                for (n, (k, v)) in iter.enumerate() {
                    if !first {
                        out.push_str(", ");
                    }
                    first = false;
                    if n == ITEMS || out.len() > LIMIT {
                        out.push_str("...");
                        break;
                    }
                    write_term(out, k, depth + 1);
                    out.push_str(" => ");
                    write_term(out, v, depth + 1);
                }
            }
            out.push('}');
        }
        TermType::Fun => out.push_str("#Function<...>"),
        TermType::Pid => out.push_str("#PID<...>"),
        TermType::Port => out.push_str("#Port<...>"),
        TermType::Ref => out.push_str("#Reference<...>"),
        _ => out.push_str("a term"),
    }
}

/// The Elixir shape of a value of WIT type `ty`: `string`, `u32`, `{:ok, string} or
/// {:error, string}`, `:none or {:some, u8}`, `[string]`, ...
pub fn wit_shape(ty: &Type) -> String {
    match ty {
        Type::Bool => "a boolean".into(),
        Type::String => "string".into(),
        Type::Char => "a char (string)".into(),
        Type::Float32 | Type::Float64 => "float".into(),
        Type::Option(o) => format!(":none or {{:some, {}}}", wit_shape(&o.ty())),
        Type::Result(r) => {
            let ok = r
                .ok()
                .map_or(":ok".into(), |t| format!("{{:ok, {}}}", wit_shape(&t)));
            let err = r.err().map_or(":error".into(), |t| {
                format!("{{:error, {}}}", wit_shape(&t))
            });
            format!("{ok} or {err}")
        }
        Type::List(l) => format!("[{}]", wit_shape(&l.ty())),
        Type::Tuple(t) => {
            let items: Vec<String> = t.types().map(|t| wit_shape(&t)).collect();
            format!("{{{}}}", items.join(", "))
        }
        Type::Record(_) => "a record (map)".into(),
        Type::Variant(_) => "a variant".into(),
        Type::Enum(_) => "an enum case (atom)".into(),
        Type::Flags(_) => "flags (a list of atoms)".into(),
        Type::Own(_) | Type::Borrow(_) => "a resource".into(),
        other => super::type_label(other).to_lowercase(),
    }
}

/// The Elixir shape of a core import's results: `[]`, `[i32]`, `[i32, f64]`.
pub fn core_shape(results: &[ValType]) -> String {
    let names: Vec<String> = results.iter().map(|t| t.to_string()).collect();
    format!("[{}]", names.join(", "))
}
