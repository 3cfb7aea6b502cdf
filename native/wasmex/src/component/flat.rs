//! The fast path for calls whose values are all flat runs: a function whose parameters (at
//! most three) and result (at most one) are each a `string`, a `list<u8>` or a list of another
//! number type (`flat_nums`) is called as a wasmtime typed function, so a binary argument is
//! copied into guest memory with one `memcpy` (a list of numbers: decoded in one pass, then one
//! copy) and a result is copied out with one, instead of one `Val` per element (wasmtime's
//! dynamic `Val` path lowers and lifts lists element by element).
//!
//! `FlatArg` and `FlatOut` implement wasmtime's `ComponentType`/`Lower`/`Lift` for "a string or
//! a list of numbers": all have the canonical ABI of a pointer pair, so one type serves each,
//! and each value forwards to wasmtime's own implementation for `str`/`[T]` (lowering) and
//! `String`/`Vec<T>` (lifting). Lifting copies before the post-return function runs, so a
//! guest that frees its result buffer there is read correctly.
//!
//! Threading: `call` runs inside a component call's operation, on the thread holding the store's
//! slot; the values are owned (`Send`), since the operation may be parked between polls.

use rustler::{Binary, Term};
use std::mem::MaybeUninit;

use wasmtime::component::__internal::{
    CanonicalAbiInfo, InstanceType, InterfaceType, LiftContext, LowerContext,
};
use wasmtime::component::{ComponentType, Func, Lift, Lower, Type, Val};
use wasmtime::{StoreContextMut, ValRaw};

use super::flat_nums::{self, Elem, Nums};
use crate::store::data::StoreData;

/// Most parameters a fast call takes.
const MAX_PARAMS: usize = 3;

/// An argument of a fast call: the bytes of a `list<u8>`, the text of a `string` or another
/// list of numbers.
pub enum FlatArg {
    Bytes(Vec<u8>),
    Str(String),
    Nums(Nums),
}

/// A fast call's result.
pub enum FlatOut {
    Bytes(Vec<u8>),
    Str(String),
    Nums(Nums),
}

/// The kind of a flat position, from its WIT type; `None` for every other type.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Bytes,
    Str,
    Nums(Elem),
}

impl Kind {
    pub fn of(ty: &Type) -> Option<Kind> {
        match ty {
            Type::String => Some(Kind::Str),
            Type::List(list) => match list.ty() {
                Type::U8 => Some(Kind::Bytes),
                elem => Elem::of(&elem).map(Kind::Nums),
            },
            _ => None,
        }
    }
}

/// Whether a function with these parameter and result types can take the fast path.
pub fn fits(params: &[Type], results: &[Type]) -> bool {
    params.len() <= MAX_PARAMS
        && results.len() <= 1
        && !(params.is_empty() && results.is_empty())
        && params.iter().chain(results).all(|t| Kind::of(t).is_some())
}

impl FlatArg {
    /// The value as a dynamic `Val`, for the fallback (see `call`).
    fn into_val(self) -> Val {
        match self {
            FlatArg::Bytes(b) => Val::List(b.into_iter().map(Val::U8).collect()),
            FlatArg::Str(s) => Val::String(s),
            FlatArg::Nums(n) => n.into_val(),
        }
    }
}

fn typecheck_flat(ty: &InterfaceType, types: &InstanceType<'_>) -> wasmtime::Result<()> {
    match ty {
        InterfaceType::String => Ok(()),
        InterfaceType::List(i) => match types.types[*i].element {
            InterfaceType::U8 => Ok(()),
            elem if Elem::of_interface(&elem).is_some() => Ok(()),
            _ => Err(wasmtime::Error::msg("expected a list of numbers")),
        },
        _ => Err(wasmtime::Error::msg(
            "expected `string` or a list of numbers",
        )),
    }
}

// SAFETY: `string` and `list<T>` all have the canonical ABI of a pointer pair: two flat
// `ValRaw`s (`Lower`), the size and alignment of `CanonicalAbiInfo::POINTER_PAIR`, which is what
// wasmtime's own `str` and `[T]` implementations declare and what the lowering below forwards
// to; `typecheck` accepts only those types.
unsafe impl ComponentType for FlatArg {
    type Lower = [ValRaw; 2];
    const ABI: CanonicalAbiInfo = CanonicalAbiInfo::POINTER_PAIR;

    fn typecheck(ty: &InterfaceType, types: &InstanceType<'_>) -> wasmtime::Result<()> {
        typecheck_flat(ty, types)
    }
}

fn mismatch<T>() -> wasmtime::Result<T> {
    Err(wasmtime::Error::msg(
        "a fast-path value does not match its type",
    ))
}

// SAFETY: forwards to wasmtime's `Lower` for `[T]` and `str`, whose `Lower` type is the same
// `[ValRaw; 2]`, only when the destination type is the one that implementation expects
// (`Nums` checks the element type).
unsafe impl Lower for FlatArg {
    fn linear_lower_to_flat<T>(
        &self,
        cx: &mut LowerContext<'_, T>,
        ty: InterfaceType,
        dst: &mut MaybeUninit<Self::Lower>,
    ) -> wasmtime::Result<()> {
        match (self, ty) {
            (FlatArg::Bytes(b), InterfaceType::List(_)) => {
                <[u8] as Lower>::linear_lower_to_flat(b, cx, ty, dst)
            }
            (FlatArg::Str(s), InterfaceType::String) => {
                <str as Lower>::linear_lower_to_flat(s, cx, ty, dst)
            }
            (FlatArg::Nums(n), _) => n.lower_to_flat(cx, ty, dst),
            _ => mismatch(),
        }
    }

    fn linear_lower_to_memory<T>(
        &self,
        cx: &mut LowerContext<'_, T>,
        ty: InterfaceType,
        offset: usize,
    ) -> wasmtime::Result<()> {
        match (self, ty) {
            (FlatArg::Bytes(b), InterfaceType::List(_)) => {
                <[u8] as Lower>::linear_lower_to_memory(b, cx, ty, offset)
            }
            (FlatArg::Str(s), InterfaceType::String) => {
                <str as Lower>::linear_lower_to_memory(s, cx, ty, offset)
            }
            (FlatArg::Nums(n), _) => n.lower_to_memory(cx, ty, offset),
            _ => mismatch(),
        }
    }
}

// SAFETY: as for `FlatArg`.
unsafe impl ComponentType for FlatOut {
    type Lower = [ValRaw; 2];
    const ABI: CanonicalAbiInfo = CanonicalAbiInfo::POINTER_PAIR;

    fn typecheck(ty: &InterfaceType, types: &InstanceType<'_>) -> wasmtime::Result<()> {
        typecheck_flat(ty, types)
    }
}

// SAFETY: forwards to wasmtime's `Lift` for `String` and `Vec<T>` (all `[ValRaw; 2]`), chosen
// by the source type (and its element type), which `typecheck` has limited to those.
unsafe impl Lift for FlatOut {
    fn linear_lift_from_flat(
        cx: &mut LiftContext<'_>,
        ty: InterfaceType,
        src: &Self::Lower,
    ) -> wasmtime::Result<Self> {
        if let Some(nums) = Nums::lift_from_flat(cx, ty, src) {
            return nums.map(FlatOut::Nums);
        }
        match ty {
            InterfaceType::String => Ok(FlatOut::Str(String::linear_lift_from_flat(cx, ty, src)?)),
            InterfaceType::List(_) => Ok(FlatOut::Bytes(Vec::<u8>::linear_lift_from_flat(
                cx, ty, src,
            )?)),
            _ => mismatch(),
        }
    }

    fn linear_lift_from_memory(
        cx: &mut LiftContext<'_>,
        ty: InterfaceType,
        bytes: &[u8],
    ) -> wasmtime::Result<Self> {
        if let Some(nums) = Nums::lift_from_memory(cx, ty, bytes) {
            return nums.map(FlatOut::Nums);
        }
        match ty {
            InterfaceType::String => Ok(FlatOut::Str(String::linear_lift_from_memory(
                cx, ty, bytes,
            )?)),
            InterfaceType::List(_) => Ok(FlatOut::Bytes(Vec::<u8>::linear_lift_from_memory(
                cx, ty, bytes,
            )?)),
            _ => mismatch(),
        }
    }
}

/// What a fast call gives back: its result, or (when wasmtime refused the typed view of the
/// function, which `fits` should rule out) the arguments as `Val`s for the dynamic path.
pub enum Outcome {
    Done(Option<FlatOut>),
    Fallback(Vec<Val>),
}

/// Calls `func` with `args` as a typed function with `n_results` (0 or 1) results.
pub async fn call(
    func: Func,
    ctx: &mut StoreContextMut<'_, StoreData>,
    args: Vec<FlatArg>,
    n_results: usize,
) -> wasmtime::Result<Outcome> {
    macro_rules! typed {
        ($params:ty, $results:ty, $args:expr, |$out:pat_param| $value:expr) => {
            match func.typed::<$params, $results>(&*ctx) {
                Ok(f) => {
                    let $out = f.call_async(&mut *ctx, $args).await?;
                    Ok(Outcome::Done($value))
                }
                Err(_) => Ok(Outcome::Fallback(
                    args_of($args).into_iter().map(FlatArg::into_val).collect(),
                )),
            }
        };
    }
    fn args_of<P: IntoArgs>(p: P) -> Vec<FlatArg> {
        p.into_args()
    }
    let mut it = args.into_iter();
    let (a, b, c) = (it.next(), it.next(), it.next());
    match (a, b, c, n_results) {
        (None, None, None, 1) => typed!((), (FlatOut,), (), |(o,)| Some(o)),
        (Some(a), None, None, 0) => typed!((FlatArg,), (), (a,), |()| None),
        (Some(a), None, None, 1) => typed!((FlatArg,), (FlatOut,), (a,), |(o,)| Some(o)),
        (Some(a), Some(b), None, 0) => typed!((FlatArg, FlatArg), (), (a, b), |()| None),
        (Some(a), Some(b), None, 1) => {
            typed!((FlatArg, FlatArg), (FlatOut,), (a, b), |(o,)| Some(o))
        }
        (Some(a), Some(b), Some(c), 0) => {
            typed!((FlatArg, FlatArg, FlatArg), (), (a, b, c), |()| None)
        }
        (Some(a), Some(b), Some(c), 1) => {
            typed!((FlatArg, FlatArg, FlatArg), (FlatOut,), (a, b, c), |(o,)| {
                Some(o)
            })
        }
        (a, b, c, _) => Ok(Outcome::Fallback(
            [a, b, c]
                .into_iter()
                .flatten()
                .map(FlatArg::into_val)
                .collect(),
        )),
    }
}

/// A parameter tuple taken apart again (for the fallback).
trait IntoArgs {
    fn into_args(self) -> Vec<FlatArg>;
}

impl IntoArgs for () {
    fn into_args(self) -> Vec<FlatArg> {
        Vec::new()
    }
}

impl IntoArgs for (FlatArg,) {
    fn into_args(self) -> Vec<FlatArg> {
        vec![self.0]
    }
}

impl IntoArgs for (FlatArg, FlatArg) {
    fn into_args(self) -> Vec<FlatArg> {
        vec![self.0, self.1]
    }
}

impl IntoArgs for (FlatArg, FlatArg, FlatArg) {
    fn into_args(self) -> Vec<FlatArg> {
        vec![self.0, self.1, self.2]
    }
}

/// The arguments of a fast call when every one is a value its type takes as it is (a
/// `list<u8>` as a binary or a list of bytes, a `string` holding UTF-8, a list of numbers that
/// all fit the element type); `None` sends the call down the dynamic path, which also words the
/// errors.
pub fn args(args: &[Term], types: &[Type]) -> Option<Vec<FlatArg>> {
    args.iter()
        .zip(types)
        .map(|(term, ty)| match Kind::of(ty)? {
            Kind::Bytes => match Binary::from_term(*term) {
                Ok(bin) => Some(FlatArg::Bytes(bin.as_slice().to_vec())),
                Err(_) => flat_nums::bytes_of_list(*term).map(FlatArg::Bytes),
            },
            Kind::Str => {
                let bin = Binary::from_term(*term).ok()?;
                std::str::from_utf8(bin.as_slice())
                    .ok()
                    .map(|s| FlatArg::Str(s.to_string()))
            }
            Kind::Nums(elem) => Nums::from_list(*term, elem).map(FlatArg::Nums),
        })
        .collect()
}
