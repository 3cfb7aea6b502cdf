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
}

/// Fills the parts WASI P1 and P2 options share.
fn fill_builder(
    b: &mut WasiCtxBuilder,
    args: &[String],
    env: HashMap<String, String>,
    preopen: Vec<PreopenEx>,
    stdio: [Option<PipeEx>; 3],
) -> Result<()> {
    b.args(args);
    let mut env: Vec<(String, String)> = env.into_iter().collect();
    env.sort();
    b.envs(&env);
    let [stdin, stdout, stderr] = stdio;
    if let Some(p) = stdin {
        b.stdin(p.resource.pipe.clone());
    }
    if let Some(p) = stdout {
        b.stdout(p.resource.pipe.clone());
    }
    if let Some(p) = stderr {
        b.stderr(p.resource.pipe.clone());
    }
    for dir in preopen {
        let guest = dir.alias.unwrap_or_else(|| dir.path.clone());
        b.preopened_dir(&dir.path, &guest, FsPerms::ReadWrite)
            .map_err(|e| Error::msg(format!("Could not preopen `{}`: {e:#}", dir.path)))?;
    }
    Ok(())
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

pub fn wasi_from(ex: WasiOptionsEx) -> Result<WasiP1Ctx> {
    let mut b = WasiCtxBuilder::new();
    fill_builder(
        &mut b,
        &ex.args,
        ex.env,
        ex.preopen,
        [ex.stdin, ex.stdout, ex.stderr],
    )?;
    Ok(b.build_p1())
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
}

pub fn wasi_p2_from(ex: WasiP2OptionsEx) -> Result<(WasiCtx, bool)> {
    let mut b = WasiCtxBuilder::new();
    if ex.inherit_stdin && ex.stdin.is_none() {
        b.inherit_stdin();
    }
    if ex.inherit_stdout && ex.stdout.is_none() {
        b.inherit_stdout();
    }
    if ex.inherit_stderr && ex.stderr.is_none() {
        b.inherit_stderr();
    }
    if ex.allow_http {
        b.inherit_network();
        b.allow_ip_name_lookup(true);
    }
    fill_builder(
        &mut b,
        &ex.args,
        ex.env,
        ex.preopen,
        [ex.stdin, ex.stdout, ex.stderr],
    )?;
    Ok((b.build(), ex.allow_http))
}
