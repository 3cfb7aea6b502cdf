//! The numeric lists of the fast path (`flat`): `list<T>` for T in s8, u16, s16, u32, s32, u64,
//! s64, f32 and f64 (`list<u8>` is `flat`'s byte run). `Nums` holds such a list as one Rust
//! vector: decoded from an Elixir list in one pass, lowered into guest memory and lifted out of it
//! by wasmtime's own `[T]`/`Vec<T>` implementations (one copy each way, no `Val` per element),
//! and encoded as an Elixir list in one pass.
//!
//! The values are exactly the dynamic path's (`convert::component`): an element the dynamic path
//! would refuse (out of range, not a number, an improper list) makes `from_list` answer `None`,
//! so the call goes down the dynamic path, which words the error. Floats take `:nan`,
//! `:infinity` and `:neg_infinity` and come back as them (`convert::float_term`).
//!
//! Threading: pure functions over terms of the calling NIF's environment (decoding, encoding)
//! and over a `LowerContext`/`LiftContext` of the call's operation (lowering, lifting).

use std::mem::MaybeUninit;

use rustler::{Encoder, Env, Term, TermType};
use wasmtime::component::__internal::{InterfaceType, LiftContext, LowerContext};
use wasmtime::component::{Lift, Lower, Type, Val};
use wasmtime::ValRaw;

use crate::convert::{float_term, special_float};

/// An integer element, range-checked as the dynamic path checks it.
fn int<T: TryFrom<i64>>(term: Term) -> Option<T> {
    term.decode::<i64>().ok()?.try_into().ok()
}

/// A `u64` element (the one type wider than `i64` on the positive side).
fn uint64(term: Term) -> Option<u64> {
    term.decode::<u64>().ok()
}

/// A float element: a float (rustler's decoder would also take integers, the dynamic path does
/// not), or one of the non-finite atoms.
fn float(term: Term) -> Option<f64> {
    if term.get_type() == TermType::Float {
        term.decode::<f64>().ok()
    } else {
        special_float(term)
    }
}

/// An `f32` element: a float that stays finite when narrowed, or a non-finite atom.
fn float32(term: Term) -> Option<f32> {
    let wide = float(term)?;
    let narrow = wide as f32;
    (!wide.is_finite() || narrow.is_finite()).then_some(narrow)
}

/// The elements of the proper list `term`, each decoded by `decode`, in one pass.
fn items<T>(term: Term, decode: impl Fn(Term) -> Option<T>) -> Option<Vec<T>> {
    let mut out = Vec::with_capacity(term.list_length().ok()?);
    let mut rest = term;
    while !rest.is_empty_list() {
        let (head, tail) = rest.list_get_cell().ok()?;
        out.push(decode(head)?);
        rest = tail;
    }
    Some(out)
}

/// The bytes of a `list<u8>` given as a list of integers (0..=255).
pub fn bytes_of_list(term: Term) -> Option<Vec<u8>> {
    items(term, int::<u8>)
}

fn int_term<'a, T: Encoder>(env: Env<'a>, v: &T) -> Term<'a> {
    v.encode(env)
}

fn f32_term<'a>(env: Env<'a>, v: &f32) -> Term<'a> {
    float_term(env, f64::from(*v))
}

fn f64_term<'a>(env: Env<'a>, v: &f64) -> Term<'a> {
    float_term(env, *v)
}

fn list_term<'a, T>(env: Env<'a>, items: &[T], encode: fn(Env<'a>, &T) -> Term<'a>) -> Term<'a> {
    let terms: Vec<Term<'a>> = items.iter().map(|v| encode(env, v)).collect();
    terms.encode(env)
}

fn mismatch<T>() -> wasmtime::Result<T> {
    Err(wasmtime::Error::msg(
        "a fast-path list does not match its type",
    ))
}

/// The element type of a list interface type, if it is one of `Elem`'s.
fn list_elem(
    ty: InterfaceType,
    types: &wasmtime::component::__internal::ComponentTypes,
) -> Option<Elem> {
    match ty {
        InterfaceType::List(i) => Elem::of_interface(&types[i].element),
        _ => None,
    }
}

/// Defines `Elem` (the element types) and `Nums` (a list of one of them) from one table: the
/// variant, the Rust type, the decoder and the encoder. The variant is also the name of the
/// type in `Type`, `InterfaceType` and `Val`.
macro_rules! nums {
    ($($name:ident($t:ty), $decode:expr, $encode:expr;)*) => {
        /// The element type of a numeric fast-path list.
        #[derive(Clone, Copy, PartialEq, Eq, Debug)]
        pub enum Elem {
            $($name,)*
        }

        /// A numeric fast-path list.
        pub enum Nums {
            $($name(Vec<$t>),)*
        }

        impl Elem {
            /// The element type of a WIT type, for the types this module handles.
            pub fn of(ty: &Type) -> Option<Elem> {
                match ty {
                    $(Type::$name => Some(Elem::$name),)*
                    _ => None,
                }
            }

            pub fn of_interface(ty: &InterfaceType) -> Option<Elem> {
                match ty {
                    $(InterfaceType::$name => Some(Elem::$name),)*
                    _ => None,
                }
            }
        }

        impl Nums {
            pub fn len(&self) -> usize {
                match self {
                    $(Nums::$name(v) => v.len(),)*
                }
            }

            fn elem(&self) -> Elem {
                match self {
                    $(Nums::$name(_) => Elem::$name,)*
                }
            }

            /// The list `term` as a list of `elem`s; `None` when the dynamic path would refuse
            /// it (it then words the error).
            pub fn from_list(term: Term, elem: Elem) -> Option<Nums> {
                match elem {
                    $(Elem::$name => items(term, $decode).map(Nums::$name),)*
                }
            }

            /// The list as a dynamic value (for `flat`'s fallback).
            pub fn into_val(self) -> Val {
                match self {
                    $(Nums::$name(v) => Val::List(v.into_iter().map(Val::$name).collect()),)*
                }
            }

            /// The list as an Elixir list, as `convert::component_out` would give it.
            pub fn to_term<'a>(&self, env: Env<'a>) -> Term<'a> {
                match self {
                    $(Nums::$name(v) => list_term(env, v, $encode),)*
                }
            }

            /// Lowers the list to its flat pointer pair (the list type `ty` must hold its
            /// element type).
            pub fn lower_to_flat<U>(
                &self,
                cx: &mut LowerContext<'_, U>,
                ty: InterfaceType,
                dst: &mut MaybeUninit<[ValRaw; 2]>,
            ) -> wasmtime::Result<()> {
                if list_elem(ty, cx.types) != Some(self.elem()) {
                    return mismatch();
                }
                match self {
                    $(Nums::$name(v) => <[$t] as Lower>::linear_lower_to_flat(v, cx, ty, dst),)*
                }
            }

            /// Lowers the list's pointer pair to memory at `offset`.
            pub fn lower_to_memory<U>(
                &self,
                cx: &mut LowerContext<'_, U>,
                ty: InterfaceType,
                offset: usize,
            ) -> wasmtime::Result<()> {
                if list_elem(ty, cx.types) != Some(self.elem()) {
                    return mismatch();
                }
                match self {
                    $(Nums::$name(v) => <[$t] as Lower>::linear_lower_to_memory(v, cx, ty, offset),)*
                }
            }

            /// Lifts a list of type `ty` from its flat pointer pair; `None` when `ty` is not a
            /// numeric list.
            pub fn lift_from_flat(
                cx: &mut LiftContext<'_>,
                ty: InterfaceType,
                src: &[ValRaw; 2],
            ) -> Option<wasmtime::Result<Nums>> {
                Some(match list_elem(ty, cx.types)? {
                    $(Elem::$name => Vec::<$t>::linear_lift_from_flat(cx, ty, src).map(Nums::$name),)*
                })
            }

            /// Lifts a list of type `ty` from its pointer pair in `bytes`.
            pub fn lift_from_memory(
                cx: &mut LiftContext<'_>,
                ty: InterfaceType,
                bytes: &[u8],
            ) -> Option<wasmtime::Result<Nums>> {
                Some(match list_elem(ty, cx.types)? {
                    $(Elem::$name => Vec::<$t>::linear_lift_from_memory(cx, ty, bytes).map(Nums::$name),)*
                })
            }
        }
    };
}

nums! {
    S8(i8), int::<i8>, int_term::<i8>;
    U16(u16), int::<u16>, int_term::<u16>;
    S16(i16), int::<i16>, int_term::<i16>;
    U32(u32), int::<u32>, int_term::<u32>;
    S32(i32), int::<i32>, int_term::<i32>;
    U64(u64), uint64, int_term::<u64>;
    S64(i64), int::<i64>, int_term::<i64>;
    Float32(f32), float32, f32_term;
    Float64(f64), float, f64_term;
}
