defmodule Wasmex.DoctestTest do
  use Wasmex.Case, async: true

  doctest Wasmex
  doctest Wasmex.Engine
  doctest Wasmex.Cache
  doctest Wasmex.Telemetry
  doctest Wasmex.EngineConfig
  doctest Wasmex.Store
  doctest Wasmex.StoreLimits
  doctest Wasmex.StoreOrCaller
  doctest Wasmex.Module
  doctest Wasmex.Instance
  doctest Wasmex.Memory
  doctest Wasmex.Pipe
  doctest Wasmex.Wat
  doctest Wasmex.Utils
  doctest Wasmex.Wasi.WasiOptions
  doctest Wasmex.Wasi.PreopenOptions
  doctest Wasmex.Wasi.WasiP2Options
end
