//! WASI configuration: the option structs as the NIFs see them and the WASI P1 and P2 contexts
//! built from them (the views that reach a store's contexts are in `store::data`).
//!
//! Plain data built on the NIF's thread. Preopening directories is I/O: options with preopens go
//! to store NIFs on dirty I/O schedulers, options without (`does_io`) to their normal-scheduler
//! twins, which skip the dirty hop (several microseconds of a fresh store's cost).

use std::collections::HashMap;

use rustler::{NifMap, ResourceArc};
use wasmtime_wasi::p1::WasiP1Ctx;
use wasmtime_wasi::{FsPerms, WasiCtx, WasiCtxBuilder};

use super::output::{Inherit, Output};
use crate::error::{Error, Result};
use crate::pipe::PipeResource;

#[derive(NifMap, Clone)]
pub struct PipeEx {
    resource: ResourceArc<PipeResource>,
}

#[derive(NifMap, Clone)]
pub struct PreopenEx {
    path: String,
    alias: Option<String>,
}

/// `%Wasmex.Wasi.WasiOptions{}` as the NIF sees it.
#[derive(NifMap, Clone)]
pub struct WasiOptionsEx {
    args: Vec<String>,
    env: HashMap<String, String>,
    preopen: Vec<PreopenEx>,
    stdin: Option<PipeEx>,
    stdout: Option<PipeEx>,
    stderr: Option<PipeEx>,
    log_output: bool,
}

/// The guest's stdout and stderr where no user pipe takes them (see `store::output`).
#[derive(Clone, Default)]
pub struct Captured {
    pub stdout: Option<Output>,
    pub stderr: Option<Output>,
}

impl Captured {
    /// Whether either stream keeps lines for Elixir to log (`log_output: true`).
    pub fn logs(&self) -> bool {
        [&self.stdout, &self.stderr]
            .into_iter()
            .any(|out| out.as_ref().is_some_and(Output::logs))
    }
}

/// Fills the parts WASI P1 and P2 options share. `inherit` says which of stdin, stdout and
/// stderr go to the BEAM's own streams when no pipe is given (P2's `inherit_*`); stderr without
/// a pipe is always captured (its tail goes into trap errors), and with `log` stdout too.
fn fill_builder(
    b: &mut WasiCtxBuilder,
    args: &[String],
    env: HashMap<String, String>,
    preopen: Vec<PreopenEx>,
    stdio: [Option<PipeEx>; 3],
    inherit: [bool; 3],
    log: bool,
) -> Result<Captured> {
    b.args(args);
    let mut env: Vec<(String, String)> = env.into_iter().collect();
    env.sort();
    b.envs(&env);
    let [stdin, stdout, stderr] = stdio;
    let mut captured = Captured::default();
    match stdin {
        Some(p) => {
            b.stdin(p.resource.pipe.clone());
        }
        None if inherit[0] => {
            b.inherit_stdin();
        }
        None => {}
    }
    match stdout {
        Some(p) => {
            b.stdout(p.resource.pipe.clone());
        }
        // Logged lines are not also printed.
        None if log => {
            let out = Output::new(Inherit::No, true);
            b.stdout(out.clone());
            captured.stdout = Some(out);
        }
        None if inherit[1] => {
            b.inherit_stdout();
        }
        None => {}
    }
    match stderr {
        Some(p) => {
            b.stderr(p.resource.pipe.clone());
        }
        None => {
            let to = if inherit[2] && !log {
                Inherit::Stderr
            } else {
                Inherit::No
            };
            let out = Output::new(to, log);
            b.stderr(out.clone());
            captured.stderr = Some(out);
        }
    }
    for dir in preopen {
        let guest = dir.alias.unwrap_or_else(|| dir.path.clone());
        b.preopened_dir(&dir.path, &guest, FsPerms::ReadWrite)
            .map_err(|e| Error::msg(format!("Could not preopen `{}`: {e:#}", dir.path)))?;
    }
    Ok(captured)
}

impl WasiOptionsEx {
    /// Whether building the context does file system I/O (preopened directories).
    pub fn does_io(&self) -> bool {
        !self.preopen.is_empty()
    }
}

impl WasiP2OptionsEx {
    /// Whether building the context does file system I/O (preopened directories).
    pub fn does_io(&self) -> bool {
        !self.preopen.is_empty()
    }
}

pub fn wasi_from(ex: WasiOptionsEx) -> Result<(WasiP1Ctx, Captured)> {
    let mut b = WasiCtxBuilder::new();
    let captured = fill_builder(
        &mut b,
        &ex.args,
        ex.env,
        ex.preopen,
        [ex.stdin, ex.stdout, ex.stderr],
        [false; 3],
        ex.log_output,
    )?;
    Ok((b.build_p1(), captured))
}

/// `%Wasmex.Wasi.WasiP2Options{}` as the NIF sees it.
#[derive(NifMap, Clone)]
pub struct WasiP2OptionsEx {
    inherit_stdin: bool,
    inherit_stdout: bool,
    inherit_stderr: bool,
    allow_http: bool,
    args: Vec<String>,
    env: HashMap<String, String>,
    preopen: Vec<PreopenEx>,
    stdin: Option<PipeEx>,
    stdout: Option<PipeEx>,
    stderr: Option<PipeEx>,
    log_output: bool,
}

pub fn wasi_p2_from(ex: WasiP2OptionsEx) -> Result<(WasiCtx, bool, Captured)> {
    let mut b = WasiCtxBuilder::new();
    if ex.allow_http {
        b.inherit_network();
        b.allow_ip_name_lookup(true);
    }
    let captured = fill_builder(
        &mut b,
        &ex.args,
        ex.env,
        ex.preopen,
        [ex.stdin, ex.stdout, ex.stderr],
        [ex.inherit_stdin, ex.inherit_stdout, ex.inherit_stderr],
        ex.log_output,
    )?;
    Ok((b.build(), ex.allow_http, captured))
}
