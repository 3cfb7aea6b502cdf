defmodule Wasmex.Components.DoctestTest do
  use Wasmex.Case, async: true

  doctest Wasmex.Components
  doctest Wasmex.Components.Store
  doctest Wasmex.Components.Component
  doctest Wasmex.Components.Instance
  doctest Wasmex.Components.FieldConverter
  doctest Wasmex.Components.ComponentServer
end
