//! Store operations: what a call, an instantiation or a memory/fuel/global access does, run on
//! a store context (an idle store, or the `Caller` of a suspended host function).
//!
//! `run_op` is async (it may run wasm, so it may yield or wait on Elixir imports); `run_sync` never
//! runs wasm. Both run on the thread polling them, under the store's slot mutex (see `exec`).

use wasmtime::component as cm;
use wasmtime::{AsContextMut, Extern, Func, Global, Linker, Memory, Module, Trap, Val, ValType};

use rustler::ResourceArc;

use crate::component::ComponentInstanceResource;
use crate::error::{Error, Result};
use crate::guest_resource::{exported_resources, ExportedResource};
use crate::store::StoreData;

/// Operations that never run wasm: served directly, or by a suspended host function.
pub enum SyncOp {
    MemSize(Memory),
    MemGrow(Memory, u64),
    Read(Memory, usize, usize),
    Write(Memory, usize, Vec<u8>),
    GetFuel,
    SetFuel(u64),
    GetGlobal(Global),
    SetGlobal(Global, Val),
}

/// Operations that may run wasm (and so may yield or call into Elixir).
pub enum Op {
    Call {
        func: Func,
        params: Vec<Val>,
        results: Vec<Val>,
    },
    Instantiate {
        linker: Box<Linker<StoreData>>,
        links: Vec<(String, Module)>,
        module: Module,
    },
    ComponentCall {
        instance: ResourceArc<ComponentInstanceResource>,
        index: cm::ComponentExportIndex,
        params: Vec<cm::Val>,
        n_results: usize,
        /// Results come back with their count (guest resource calls).
        counted: bool,
    },
    /// Drops a guest resource (running its destructor).
    ResourceDrop(cm::ResourceAny),
    ComponentInstantiate {
        pre: cm::InstancePre<StoreData>,
        component: cm::Component,
    },
    Sync(SyncOp),
}

impl Op {
    /// Whether the operation enters a component instance.
    pub fn is_component(&self) -> bool {
        matches!(
            self,
            Op::ComponentCall { .. } | Op::ComponentInstantiate { .. } | Op::ResourceDrop(_)
        )
    }
}

/// What an operation produced.
pub enum Output {
    Vals(Vec<Val>),
    Instance(InstanceExports),
    Bytes(Vec<u8>),
    U64(u64),
    Val(Val),
    Unit,
    /// Results of a call into `instance` (`counted`: see `Op::ComponentCall`).
    ComponentVals {
        vals: Vec<cm::Val>,
        instance: ResourceArc<ComponentInstanceResource>,
        counted: bool,
    },
    ComponentInstance(cm::Instance, cm::Component, Vec<ExportedResource>),
}

/// An instance with its exports resolved once, so later lookups need no store.
pub struct InstanceExports {
    pub module: Module,
    pub exports: Vec<Export>,
}

/// One export of an instance; functions carry their signature, read once at instantiation.
pub struct Export {
    pub name: String,
    pub item: Extern,
    pub func: Option<FuncSig>,
}

pub struct FuncSig {
    pub params: Vec<ValType>,
    /// Placeholder results of the right types, cloned for each call.
    pub results: Vec<Val>,
}

/// Maps a failed wasm call to the error texts of the API.
pub fn call_error(e: wasmtime::Error) -> Error {
    match e.downcast_ref::<Trap>() {
        Some(trap) => Error::Msg(format!("Error during function excecution ({trap}): {e:#}")),
        None => Error::Msg(format!("Error during function excecution: {e:#}")),
    }
}

pub fn run_sync(mut ctx: impl AsContextMut<Data = StoreData>, op: SyncOp) -> Result<Output> {
    let oob = |_| Error::msg("out of bounds memory access");
    match op {
        SyncOp::MemSize(m) => Ok(Output::U64(m.data_size(&ctx) as u64)),
        SyncOp::MemGrow(m, pages) => m
            .grow(&mut ctx, pages)
            .map(Output::U64)
            .map_err(|e| Error::Msg(format!("Failed to grow the memory: {e:#}."))),
        SyncOp::Read(m, offset, len) => {
            let end = offset.checked_add(len).ok_or_else(|| oob(()))?;
            if end > m.data_size(&ctx) {
                return Err(oob(()));
            }
            Ok(Output::Bytes(m.data(&ctx)[offset..end].to_vec()))
        }
        SyncOp::Write(m, offset, bytes) => {
            m.write(&mut ctx, offset, &bytes).map_err(|_| oob(()))?;
            Ok(Output::Unit)
        }
        SyncOp::GetFuel => ctx
            .as_context()
            .get_fuel()
            .map(Output::U64)
            .map_err(|e| Error::Msg(format!("Could not get fuel: {e:#}"))),
        SyncOp::SetFuel(n) => ctx
            .as_context_mut()
            .set_fuel(n)
            .map(|_| Output::Unit)
            .map_err(|e| Error::Msg(format!("Could not set fuel: {e:#}"))),
        SyncOp::GetGlobal(g) => Ok(Output::Val(g.get(&mut ctx))),
        SyncOp::SetGlobal(g, v) => g
            .set(&mut ctx, v)
            .map(|_| Output::Unit)
            .map_err(|e| Error::Msg(format!("Could not set global: {e:#}"))),
    }
}

pub async fn run_op<C>(mut ctx: C, op: Op) -> Result<Output>
where
    C: AsContextMut<Data = StoreData> + Send,
{
    match op {
        Op::Sync(s) => run_sync(ctx, s),
        Op::Call {
            func,
            params,
            mut results,
        } => {
            func.call_async(&mut ctx, &params, &mut results)
                .await
                .map_err(call_error)?;
            Ok(Output::Vals(results))
        }
        Op::Instantiate {
            mut linker,
            links,
            module,
        } => {
            for (name, linked) in links {
                let instance = linker.instantiate_async(&mut ctx, &linked).await?;
                linker.instance(&mut ctx, &name, instance)?;
            }
            let instance = linker.instantiate_async(&mut ctx, &module).await?;
            let named: Vec<(String, Extern)> = instance
                .exports(&mut ctx)
                .map(|e| (e.name().to_string(), e.into_extern()))
                .collect();
            let exports = named
                .into_iter()
                .map(|(name, item)| {
                    let func = item.clone().into_func().map(|f| {
                        let ty = f.ty(&ctx);
                        FuncSig {
                            params: ty.params().collect(),
                            results: ty
                                .results()
                                .map(|t| t.default_value().unwrap_or(Val::I32(0)))
                                .collect(),
                        }
                    });
                    Export { name, item, func }
                })
                .collect();
            Ok(Output::Instance(InstanceExports { module, exports }))
        }
        Op::ComponentCall {
            instance,
            index,
            params,
            n_results,
            counted,
        } => {
            let func = instance
                .instance
                .get_func(&mut ctx, index)
                .ok_or_else(|| Error::msg("exported function not found."))?;
            let mut results = vec![cm::Val::Bool(false); n_results];
            if let Err(e) = func.call_async(&mut ctx, &params, &mut results).await {
                return Err(component_failure(&mut ctx, e));
            }
            Ok(Output::ComponentVals {
                vals: results,
                instance,
                counted,
            })
        }
        Op::ResourceDrop(resource) => {
            if let Err(e) = resource.resource_drop_async(&mut ctx).await {
                return Err(component_failure(&mut ctx, e));
            }
            Ok(Output::Unit)
        }
        Op::ComponentInstantiate { pre, component } => {
            let instance = pre.instantiate_async(&mut ctx).await?;
            let resources = exported_resources(&mut ctx, &component, &instance);
            Ok(Output::ComponentInstance(instance, component, resources))
        }
    }
}

/// A failed component call. A trap, or a failed host function unwinding through the guest, leaves
/// wasmtime's component instances of the store unenterable: mark the store poisoned.
fn component_failure(ctx: &mut impl AsContextMut<Data = StoreData>, e: wasmtime::Error) -> Error {
    ctx.as_context_mut()
        .data()
        .poisoned
        .store(true, std::sync::atomic::Ordering::Relaxed);
    component_call_error(e)
}

/// Maps a failed component call to an error message.
pub fn component_call_error(e: wasmtime::Error) -> Error {
    match e.downcast_ref::<Trap>() {
        Some(trap) => Error::Msg(format!("Error executing function ({trap}): {e:#}")),
        None => Error::Msg(format!("Error executing function: {e:#}")),
    }
}
