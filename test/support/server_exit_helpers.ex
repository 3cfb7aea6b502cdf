defmodule Wasmex.ServerExitHelpers do
  @moduledoc false
  # Servers not linked to the test, whose death reaches the test only through a call
  # (test/features/server_exits_test.exs, test/features/server_queries_exits_test.exs).

  import ExUnit.Assertions

  import Wasmex.TestHelpers, only: [start_wasmex!: 1]
  import Wasmex.ComponentTestHelpers, only: [start_component!: 2, importer_imports: 1]

  # `f(x)` calls the Elixir import `env.slow(x)`, which sleeps `x` ms (or kills its server when
  # `x` is 0), then returns `x`.
  @slow_wat ~S"""
  (module
    (import "env" "slow" (func $slow (param i32) (result i32)))
    (func (export "f") (param i32) (result i32) local.get 0 call $slow))
  """

  @doc "The module of `unlinked_wasmex!/1`."
  def slow_wat, do: @slow_wat

  @doc "The imports of `slow_wat/0`."
  def slow_imports do
    %{
      env: %{
        slow:
          {:fn, [:i32], [:i32],
           fn
             _context, 0 ->
               Process.exit(self(), :kill)

             _context, ms ->
               Process.sleep(ms)
               ms
           end}
      }
    }
  end

  @doc "A `Wasmex` server running `slow_wat/0`, not linked to the test."
  def unlinked_wasmex!(opts \\ %{}) do
    pid = start_wasmex!(Map.merge(%{bytes: @slow_wat, imports: slow_imports()}, opts))
    Process.unlink(pid)
    pid
  end

  @doc """
  A `Wasmex.Components` server (component_imports.wasm) not linked to the test whose `greet`
  import runs `greet`.
  """
  def unlinked_component!(greet, opts \\ []) do
    imports = importer_imports(%{"wasmex:test/host@0.1.0" => %{"greet" => {:fn, greet}}})
    pid = start_component!("component_imports", [imports: imports] ++ opts)
    Process.unlink(pid)
    pid
  end

  @doc "Kills `pid`, waits until it is gone and returns it."
  def stopped_pid(pid) do
    ref = Process.monitor(pid)
    Process.exit(pid, :kill)
    assert_receive {:DOWN, ^ref, :process, ^pid, :killed}, 5_000
    pid
  end
end
