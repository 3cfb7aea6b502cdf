//! The `ComponentCall` operation: it resolves the function in the store, calls it (the flat fast
//! path or dynamic values), and encodes its results, continuing on a dirty scheduler first when
//! they are large (`HEAVY_TERMS`, `HEAVY_BYTES`). Threading: as `store::exec` says (under the
//! store's slot lock, on the calling scheduler).

use rustler::{Encoder, Env, ResourceArc, Term};
use wasmtime::component::{self as cm, ComponentExportIndex};
use wasmtime::StoreContextMut;

use super::super::flat::{self, FlatArg, FlatOut};
use super::super::resources::ResourcesOut;
use super::super::{component_failure, ComponentInstanceResource};
use crate::convert::component_out::{byte_list, val_to_term, weight};
use crate::error::{Error, Result};
use crate::store::data::StoreData;
use crate::store::exec::to_dirty_scheduler;
use crate::store::op::Op;
use crate::store::Handle;

/// A call's arguments: dynamic values, or flat ones for the fast path (see `flat`).
pub(super) enum Params {
    Vals(Vec<cm::Val>),
    Flat(Vec<FlatArg>),
}

/// Calls the function at `index` of `instance`.
pub(super) struct ComponentCall {
    /// The export's path, for trap errors (joined with `#` only then).
    pub(super) path: Vec<String>,
    pub(super) instance: ResourceArc<ComponentInstanceResource>,
    pub(super) index: ComponentExportIndex,
    pub(super) params: Params,
    pub(super) n_results: usize,
    /// Results come back with their count (guest resource calls).
    pub(super) counted: bool,
    /// The one result is a `list<u8>` its component wants as a binary.
    pub(super) binary_result: bool,
}

/// A call's results: dynamic values, or the one flat result of a fast call.
pub(super) enum Results {
    Vals(Vec<cm::Val>),
    Flat(Option<FlatOut>),
}

/// A component call's results, with what their encoding needs.
pub(super) struct CallResults {
    results: Results,
    instance: ResourceArc<ComponentInstanceResource>,
    counted: bool,
    binary_result: bool,
}

impl Op for ComponentCall {
    type Out = CallResults;

    const ENTERS_COMPONENTS: bool = true;

    async fn run(self, mut ctx: StoreContextMut<'_, StoreData>) -> Result<CallResults> {
        let func = self
            .instance
            .instance
            .get_func(&mut ctx, self.index)
            .ok_or_else(|| Error::msg("exported function not found."))?;
        let mark = ctx.data().stderr_mark();
        let params = match self.params {
            Params::Flat(args) => match flat::call(func, &mut ctx, args, self.n_results).await {
                Ok(flat::Outcome::Done(out)) => {
                    if out
                        .as_ref()
                        .is_some_and(|o| heavy_flat(o, self.binary_result))
                    {
                        to_dirty_scheduler(&ctx).await;
                    }
                    return Ok(CallResults {
                        results: Results::Flat(out),
                        instance: self.instance,
                        counted: self.counted,
                        binary_result: self.binary_result,
                    });
                }
                Ok(flat::Outcome::Fallback(vals)) => vals,
                Err(e) => return Err(component_failure(&mut ctx, e, mark, &self.path.join("#"))),
            },
            Params::Vals(vals) => vals,
        };
        let mut results = vec![cm::Val::Bool(false); self.n_results];
        if let Err(e) = func.call_async(&mut ctx, &params, &mut results).await {
            return Err(component_failure(&mut ctx, e, mark, &self.path.join("#")));
        }
        if weight(&results, HEAVY_TERMS) >= HEAVY_TERMS {
            to_dirty_scheduler(&ctx).await;
        }
        Ok(CallResults {
            results: Results::Vals(results),
            instance: self.instance,
            counted: self.counted,
            binary_result: self.binary_result,
        })
    }

    fn encode<'a>(out: CallResults, env: Env<'a>, handle: &Handle) -> Result<Term<'a>> {
        let lift = ResourcesOut::Guest(&handle.store, &out.instance);
        let (count, value) = match out.results {
            Results::Flat(None) => (0, Vec::<Term>::new().encode(env)),
            Results::Flat(Some(FlatOut::Str(s))) => (1, s.encode(env)),
            Results::Flat(Some(FlatOut::Bytes(b))) if out.binary_result => {
                (1, binary_term(env, &b)?)
            }
            Results::Flat(Some(FlatOut::Bytes(b))) => (1, byte_list(env, &b)),
            Results::Flat(Some(FlatOut::Nums(n))) => (1, n.to_term(env)),
            Results::Vals(vals) => (vals.len(), vals_term(env, &vals, &lift, out.binary_result)?),
        };
        Ok(if out.counted {
            (count, value).encode(env)
        } else {
            value
        })
    }
}

/// Results that make this many terms or more are encoded on a dirty scheduler (a list of 64Ki
/// integers takes about a millisecond to build).
const HEAVY_TERMS: usize = 64 * 1024;

/// Binary results of this many bytes or more are copied out on a dirty scheduler.
const HEAVY_BYTES: usize = 4 * 1024 * 1024;

/// Whether a fast call's result is large to encode: as a list of numbers, or as a big binary.
fn heavy_flat(out: &FlatOut, binary: bool) -> bool {
    match out {
        FlatOut::Nums(n) => n.len() >= HEAVY_TERMS,
        FlatOut::Bytes(b) if !binary => b.len() >= HEAVY_TERMS,
        FlatOut::Bytes(b) => b.len() >= HEAVY_BYTES,
        FlatOut::Str(s) => s.len() >= HEAVY_BYTES,
    }
}

/// The term for a dynamic call's results: the one value, or a list of them.
fn vals_term<'a>(
    env: Env<'a>,
    vals: &[cm::Val],
    lift: &ResourcesOut,
    binary_result: bool,
) -> Result<Term<'a>> {
    match vals {
        [cm::Val::List(items)] if binary_result => {
            let bytes: Vec<u8> = items
                .iter()
                .map(|v| match v {
                    cm::Val::U8(b) => *b,
                    _ => 0,
                })
                .collect();
            binary_term(env, &bytes)
        }
        [one] => val_to_term(env, one, lift),
        many => Ok(many
            .iter()
            .map(|v| val_to_term(env, v, lift))
            .collect::<Result<Vec<_>>>()?
            .encode(env)),
    }
}

/// `bytes` as one binary.
fn binary_term<'a>(env: Env<'a>, bytes: &[u8]) -> Result<Term<'a>> {
    Ok(crate::term::to_binary(env, bytes).encode(env))
}
