defmodule Wasmex.Features.Compat015Test do
  # Behaviour Wasmex 0.15.1 documented that this library must keep (issue 8 item 8).
  use ExUnit.Case, async: true

  import Wasmex.ComponentTestHelpers

  @legacy_component ~S"""
  (component
    (core module $m
      (memory (export "mem") 1)
      (func (export "realloc") (param i32 i32 i32 i32) (result i32) i32.const 8)
      (func (export "answer") (result i32) i32.const 42))
    (core instance $i (instantiate $m))
    (func (export "answer") (result u32)
      (canon lift (core func $i "answer") (memory $i "mem") (realloc (func $i "realloc")))))
  """

  test "Wat.to_wasm accepts the legacy `(memory $inst \"mem\")` canon option, as wat 1.255 did" do
    assert {:ok, bytes} = Wasmex.Wat.to_wasm(@legacy_component)
    {:ok, pid} = Wasmex.Components.start_link(bytes: bytes)
    assert Wasmex.Components.call_function(pid, "answer", []) == {:ok, 42}
  end

  test "WIT errors start with the 0.15.1 texts" do
    assert {:error, "Failed to parse WIT: " <> _} =
             Wasmex.Components.GuestResource.Discovery.from_wit("package a:b; oops")

    two = "package a:b;\nworld w {}\nworld v {}\n"

    assert {:error, "Failed to select world: " <> _} =
             Wasmex.Components.GuestResource.Discovery.from_wit(two)
  end

  test "option and result errors name the atom, and (argument N) follows the whole text" do
    pid = start_component!("component_types")

    assert Wasmex.Components.call_function(pid, "echo-option", [:random_atom]) ==
             {:error,
              "Invalid atom: random_atom, expected ':none' or '{:some, term}' tuple (argument 1)"}

    assert Wasmex.Components.call_function(pid, "echo-result-empty", [:random_atom]) ==
             {:error,
              "Invalid atom: random_atom, expected ':ok' or ':error' as result (argument 1)"}

    assert Wasmex.Components.call_function(pid, "echo-result", [{:maybe, 1}]) ==
             {:error,
              "Invalid value Tuple, expected ':ok' or ':error' as first element in result-tuple (argument 1)"}
  end
end
